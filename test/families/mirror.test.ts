import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { allReasons, configKey, product } from '../../src/space/index.js';
import { entryKeys, type Family } from '../../src/schema/index.js';
import { allFamilies, type KernelFamily, type WeightShape } from '../../src/families/index.js';
import { expectedActiveExperts } from '../../src/families/moe-w4a16.js';
import { defaultPython } from '../../src/runner/worker.js';
import { H200 } from '../space/devices.js';

/**
 * Every rule a family's TypeScript module states and its kernels/ module also states is checked here pair by pair,
 * through both registries: default config, the kernel-rule pruning, shared memory, flops, minimum bytes, the GEMMs
 * of a problem. The problems sent are the TypeScript module's own (family.problem), so the shape -> problem mapping
 * is checked too.
 */
interface PyAnswer {
  defaults: Array<Record<string, number>>;
  invalid: boolean[][];
  smem: Array<number[] | null>;
  flops: number[];
  bytes: number[];
  gemms: Array<Array<{ N: number; K: number }>>;
  compile_only: boolean;
  specializes_on_m: boolean;
}

function askPython(family: Family, problems: Array<Record<string, unknown>>, configs: Array<Record<string, number>>, active: Array<number | null>): PyAnswer {
  // the Python tune's workers run (TRITUNE_PYTHON or python3; npm test points both at .venv/)
  const out = execFileSync(defaultPython(), ['test/families/kernel_rules.py'], {
    input: JSON.stringify({ family, problems, configs, active }),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, TRITON_INTERPRET: '1' },
  });
  return JSON.parse(out) as PyAnswer;
}

const MS = [1, 3, 16, 33, 64, 100, 128, 200, 255, 256, 512, 1024, 4096];
type Case = { shape: WeightShape; ms: number[] };
const dense = (shapes: Array<[number, number]>, extra: Partial<WeightShape> = {}): Case[] => shapes.map(([N, K]) => ({ shape: { N, K, ...extra }, ms: MS }));
const moe = (ms: number[], shape: WeightShape): Case => ({ ms, shape });

/** The shapes each family is checked on, and which named space's configs. */
const CASES: Record<Family, { space: 'default' | 'exhaustive'; cases: Case[] }> = {
  'w8a8-int8': { space: 'default', cases: dense([[6144, 2560], [2560, 4096], [19456, 2560], [2560, 9728], [256, 512], [8192, 96]]) },
  'w8a8-fp8': { space: 'default', cases: dense([[6144, 2560], [16384, 1024]]) },
  w4a16: {
    space: 'default',
    cases: [...dense([[4096, 4096], [11008, 4096]], { group_size: 128 }), ...dense([[4096, 11008], [64, 256]], { group_size: 32 }), ...dense([[4096, 4096]], { group_size: 64, zero_points: false })],
  },
  'moe-w4a16': {
    space: 'exhaustive',
    cases: [
      moe([1, 8, 64, 512, 4096], { N: 1536, K: 2048, E: 128, top_k: 8, gemm: 'up', group_size: 128 }),
      moe([1, 100, 2048], { N: 2048, K: 768, E: 128, top_k: 8, gemm: 'down', group_size: 128 }),
      moe([4, 300], { N: 96, K: 192, E: 8, top_k: 2, gemm: 'up', group_size: 32 }),
      moe([16, 1024], { N: 14336, K: 4096, E: 8, top_k: 2, gemm: 'up', group_size: -1 }),
      moe([8, 640], { N: 768, K: 2048, E: 64, top_k: 6, gemm: 'up', group_size: 32, zero_points: true }),
      // 'layer' (N = intermediate, K = hidden): both GEMMs' rules; Qwen3-30B-A3B, Mixtral-8x7B, and shapes where
      // only one GEMM rules a config out (I = 96: BK 64 fails the down GEMM; I = 32: BN 128 over the up GEMM's 64)
      moe([1, 64, 2048, 4096], { N: 768, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 }),
      moe([16, 1024], { N: 14336, K: 4096, E: 8, top_k: 2, gemm: 'layer', group_size: -1 }),
      moe([4, 300], { N: 96, K: 4096, E: 8, top_k: 2, gemm: 'layer', group_size: 32, zero_points: true }),
      moe([4], { N: 32, K: 4096, E: 8, top_k: 2, gemm: 'layer', group_size: 32 }),
      // I = 208: the down GEMM's rows of 26 words are not whole 16 bytes, so TMA is ruled out there alone
      moe([4, 64], { N: 208, K: 2048, E: 8, top_k: 2, gemm: 'layer', group_size: -1 }),
    ],
  },
  // vLLM's own get_default_config (and its wna16 fill-in) through kernels/server_moe.py: Qwen3-30B-A3B and
  // Mixtral-8x7B layers in each quantization, over Ms that cross every branch of vLLM's rules
  'vllm-moe': {
    space: 'default',
    cases: [
      ...(['bf16', 'fp8_w8a8_block', 'fp8_w8a8', 'int8_w8a8', 'int8_w8a16', 'int4_w4a16'] as const).map((quant) =>
        moe([1, 2, 4, 8, 16, 20, 24, 33, 40, 64, 65, 96, 128, 256, 512, 513, 1024, 4096, 20000], {
          N: 768,
          K: 2048,
          E: 128,
          top_k: 8,
          quant,
          ...(quant === 'int4_w4a16' ? { group_size: 128 } : {}),
        }),
      ),
      moe([1, 4, 64, 4096], { N: 14336, K: 4096, E: 8, top_k: 2, quant: 'bf16' }),
      moe([1, 16, 100], { N: 14336, K: 4096, E: 8, top_k: 2, quant: 'int4_w4a16', group_size: 64 }),
    ],
  },
  // SGLang's own get_default_config the same way
  'sglang-moe': {
    space: 'default',
    cases: [
      ...(['bf16', 'fp8_w8a8_block', 'fp8_w8a8', 'int8_w8a8', 'int8_w8a16', 'int4_w4a16'] as const).map((quant) =>
        moe([1, 8, 64, 127, 128, 129, 512, 4096], { N: 768, K: 2048, E: 128, top_k: 8, quant, ...(quant === 'int4_w4a16' ? { group_size: 128 } : {}) }),
      ),
      moe([1, 8, 9, 4096], { N: 14336, K: 4096, E: 8, top_k: 2, quant: 'fp8_w8a8' }),
    ],
  },
  // the servers' block GEMMs: their own default (read from their launchers) and the block_k rule, on Qwen3-8B and
  // DeepSeek-V3 shapes with [128, 128] blocks, and blocks whose block_k rules out other BLOCK_SIZE_K
  'vllm-w8a8-block': {
    space: 'exhaustive',
    cases: [
      ...dense([[6144, 4096], [4096, 4096], [24576, 4096], [4096, 12288], [2112, 7168], [32768, 512]], { quant: 'fp8', block_n: 128, block_k: 128 }),
      ...dense([[576, 7168]], { quant: 'fp8', block_n: 64, block_k: 64 }),
      ...dense([[1000, 2048]], { quant: 'fp8', block_n: 128, block_k: 256 }),
    ],
  },
  'sglang-w8a8-block': {
    space: 'exhaustive',
    cases: [
      ...dense([[6144, 4096], [4096, 12288], [2112, 7168]], { quant: 'fp8', block_n: 128, block_k: 128 }),
      ...dense([[4096, 4096], [32768, 512]], { quant: 'int8', block_n: 128, block_k: 128 }),
      ...dense([[576, 7168]], { quant: 'int8', block_n: 64, block_k: 32 }),
      ...dense([[1000, 2048]], { quant: 'fp8', block_n: 256, block_k: 256 }),
    ],
  },
};

const maxSmem = (kf: KernelFamily, c: Record<string, number>, s: WeightShape) => Math.max(...kf.gemms(s).map((g) => kf.sharedMemoryBytes(c, g)));

for (const kf of allFamilies()) {
  const { space, cases } = CASES[kf.name];
  const pairs = cases.flatMap(({ shape, ms }) => ms.map((M) => ({ shape, M, problem: kf.problem(shape, M) })));
  const configs = product(kf.spaces[space], entryKeys(kf.name));
  // only the MoE bytes depend on routing: Python counts the experts of its seeded routing unless told the expected count
  const active = pairs.map(({ shape, M }) => (shape.E !== undefined ? expectedActiveExperts(shape.E, shape.top_k ?? 1, M) : null));
  let py: PyAnswer | undefined;
  const python = () => (py ??= askPython(kf.name, pairs.map((p) => p.problem), configs, active));

  test(`${kf.name}: the default config and the kernel-rule pruning agree with kernels/ (python)`, () => {
    pairs.forEach(({ shape, M, problem }, i) => {
      const what = JSON.stringify(problem);
      assert.deepEqual(kf.defaultConfig({ ...shape, M }), python().defaults[i], `default_config differs for ${what}`);
      let disagree = 0;
      let example = '';
      configs.forEach((c, j) => {
        const mirrored = allReasons(kf.name, c, shape, M, H200).some((r) => kf.kernelRules.includes(r));
        if (mirrored !== python().invalid[i]![j]) {
          disagree++;
          example ||= `${configKey(c)}: ts ${mirrored ? 'prunes' : 'keeps'}, python ${python().invalid[i]![j] ? 'invalid' : 'valid'}`;
        }
      });
      assert.equal(disagree, 0, `${disagree} configs disagree for ${what}, e.g. ${example}`);
    });
  });

  test(`${kf.name}: shared memory, flops, minimum bytes and the GEMM split agree with kernels/ (python)`, () => {
    pairs.forEach(({ shape, M, problem }, i) => {
      const what = JSON.stringify(problem);
      assert.deepEqual(kf.gemms(shape).map((g) => ({ N: g.N, K: g.K })), python().gemms[i], `GEMM split differs for ${what}`);
      assert.equal(kf.flops(shape, M), python().flops[i], `flops differ for ${what}`);
      const bytes = python().bytes[i]!;
      assert.ok(Math.abs(kf.bytes(shape, M) - bytes) <= 1e-9 * bytes, `bytes differ for ${what}: ts ${kf.bytes(shape, M)}, python ${bytes}`);
      const smem = python().smem[i];
      if (smem) configs.forEach((c, j) => assert.equal(maxSmem(kf, c, shape), smem[j], `shared memory differs for ${configKey(c)} at ${what}`));
    });
  });

  test(`${kf.name}: compile workers serve it as kernels/ does (compile_only, binaries per M)`, () => {
    assert.equal(kf.compileOnly, python().compile_only, 'compileOnly differs from kernels/ having compile_only');
    assert.equal(kf.specializesOnM, python().specializes_on_m, "specializesOnM differs from kernels/ compile_variant keeping M");
  });
}

test('the expected active-expert count is exact at the ends: top_k experts for one token, all of them for many', () => {
  assert.equal(expectedActiveExperts(128, 8, 1), 8);
  assert.ok(Math.abs(expectedActiveExperts(128, 8, 4096) - 128) < 1e-9);
});
