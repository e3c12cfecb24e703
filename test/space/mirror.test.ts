import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { allReasons, configKey, defaultConfig, KERNEL_RULES, product, SPACES, type DefaultProblem } from '../../src/space/index.js';
import { entryKeys, type Family } from '../../src/schema/index.js';
import { H200 } from './devices.js';

/** Asks kernels/<family>.py (through a real python3) for its default configs and invalid_reason verdicts. */
function kernelRules(family: Family, problems: Array<Record<string, unknown>>, configs: Array<Record<string, number>>) {
  const out = execFileSync('python3', ['test/space/kernel_rules.py'], {
    input: JSON.stringify({ family, problems, configs }),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, TRITON_INTERPRET: '1' },
  });
  return JSON.parse(out) as { defaults: Array<Record<string, number>>; invalid: boolean[][] };
}

interface Case {
  family: Family;
  problems: Array<DefaultProblem & Record<string, unknown>>;
  space: 'default' | 'exhaustive';
}

const ms = [1, 3, 16, 33, 64, 100, 128, 200, 255, 256, 512, 1024, 4096];
const dense = (shapes: Array<[number, number]>, extra: Record<string, unknown> = {}) =>
  shapes.flatMap(([N, K]) => ms.map((M) => ({ M, N, K, ...extra })));

const CASES: Case[] = [
  { family: 'w8a8-int8', space: 'default', problems: dense([[6144, 2560], [2560, 4096], [19456, 2560], [2560, 9728], [256, 512], [8192, 96]]) },
  { family: 'w8a8-fp8', space: 'default', problems: dense([[6144, 2560], [16384, 1024]]) },
  {
    family: 'w4a16',
    space: 'default',
    problems: [...dense([[4096, 4096], [11008, 4096]], { group_size: 128 }), ...dense([[4096, 11008], [64, 256]], { group_size: 32 })],
  },
  {
    family: 'moe-w4a16',
    space: 'exhaustive',
    problems: [
      ...[1, 8, 64, 512, 4096].map((M) => ({ M, N: 1536, K: 2048, E: 128, top_k: 8, group_size: 128 })),
      ...[1, 100, 2048].map((M) => ({ M, N: 2048, K: 768, E: 128, top_k: 8, gemm: 'down', group_size: 128 })),
      ...[4, 300].map((M) => ({ M, N: 96, K: 192, E: 8, top_k: 2, group_size: 32 })),
      ...[16, 1024].map((M) => ({ M, N: 14336, K: 4096, E: 8, top_k: 2, group_size: -1 })),
      ...[8, 640].map((M) => ({ M, N: 768, K: 2048, E: 64, top_k: 6, group_size: 32, zero_points: true })),
      // 'layer' (N = intermediate, K = hidden): both GEMMs' rules; Qwen3-30B-A3B, Mixtral-8x7B, and shapes where
      // only one GEMM rules a config out (I = 96: BK 64 fails the down GEMM; I = 32: BN 128 over the up GEMM's 64)
      ...[1, 64, 2048].map((M) => ({ M, N: 768, K: 2048, E: 128, top_k: 8, gemm: 'layer' as const, group_size: 128 })),
      ...[16, 1024].map((M) => ({ M, N: 14336, K: 4096, E: 8, top_k: 2, gemm: 'layer' as const, group_size: -1 })),
      ...[4, 300].map((M) => ({ M, N: 96, K: 4096, E: 8, top_k: 2, gemm: 'layer' as const, group_size: 32, zero_points: true })),
      ...[4].map((M) => ({ M, N: 32, K: 4096, E: 8, top_k: 2, gemm: 'layer' as const, group_size: 32 })),
    ],
  },
];

for (const { family, problems, space } of CASES) {
  test(`${family}: defaultConfig and the kernel-rule pruning agree with kernels/ (python)`, () => {
    const configs = product(SPACES[family][space], entryKeys(family));
    const py = kernelRules(family, problems, configs);
    problems.forEach((p, i) => {
      const what = JSON.stringify(p);
      assert.deepEqual(defaultConfig(family, p), py.defaults[i], `default_config differs for ${what}`);
      const shape = { N: p.N, K: p.K, E: p.E, top_k: p.top_k, group_size: p.group_size, zero_points: p.zero_points as boolean | undefined, gemm: p.gemm };
      let disagree = 0;
      let example = '';
      configs.forEach((c, j) => {
        const mirrored = allReasons(family, c, shape, p.M, H200).some((r) => KERNEL_RULES[family].includes(r));
        if (mirrored !== py.invalid[i]![j]) {
          disagree++;
          example ||= `${configKey(c)}: ts ${mirrored ? 'prunes' : 'keeps'}, python ${py.invalid[i]![j] ? 'invalid' : 'valid'}`;
        }
      });
      assert.equal(disagree, 0, `${disagree} configs disagree for ${what}, e.g. ${example}`);
    });
  });
}
