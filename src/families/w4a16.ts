import type { ConfigEntry } from '../schema/index.js';
import { accumulatorRule, cdiv, denseBlockM, sharedMemoryRule, splitOnFullGrid, tmaRules, tritonInt } from './rules.js';
import type { Axes, Config, KernelFamily, ShapeAtM, WeightShape } from './types.js';

/** W4A16 (kernels/w4a16.py): AWQ/GPTQ int4 weights with group scales and zero points, bf16/fp16 activations. One
 * kernel for every M (kernels/w4a16_mma.py): the transposed product, the weight tile on the MMA's wide side
 * (BLOCK_SIZE_N, 64 rows per warp group) and the token tile on its narrow side (BLOCK_SIZE_M, 16 at decode); TMA 1
 * loads its packed words through a tensor descriptor. Two prefill paths instead: DEQUANT_GEMM 1 (W dequantized, then
 * cuBLAS) and REG_A 1 (kernels/w4a16_gluon_prefill.py: the dequantized weights in the wgmma's register operand). */

/** K_UNROLL 2 and BLOCK_SIZE_K 32 won no entry of the Qwen3-4B files tuned before TMA came in (docs/BENCHMARKS.md),
 * so the default space spends their configs on TMA and a K block of 256 (24 of the 44 TMA winners of the W4A16
 * record use it). */
const DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [64, 128, 256],
  BLOCK_SIZE_K: [64, 128, 256],
  GROUP_SIZE_M: [8],
  num_warps: [4, 8],
  num_stages: [2, 3, 4],
  SPLIT_K: [1, 2, 4, 8],
  K_UNROLL: [1],
  DEQUANT_GEMM: [0, 1],
  TMA: [0, 1],
  REG_A: [0, 1],
};

const EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128, 256],
  GROUP_SIZE_M: [1, 8, 16, 32],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
  SPLIT_K: [1, 2, 4, 8, 16],
  K_UNROLL: [1, 2, 4],
  DEQUANT_GEMM: [0, 1],
  TMA: [0, 1],
  REG_A: [0, 1],
};

const MAX_WORKSPACE_BYTES = 2 ** 30; // kernels/w4a16.py

/** kernels/w4a16.py DEQUANT_FIXED, DEQUANT_MIN_M, DEQUANT_DEFAULT_M: the prefill path (DEQUANT_GEMM 1) reads
 * BLOCK_SIZE_N, BLOCK_SIZE_K and num_warps; the other keys take one value each, so the space holds no twins. */
const DEQUANT_FIXED: Config = { BLOCK_SIZE_M: 16, GROUP_SIZE_M: 8, num_stages: 2, SPLIT_K: 1, K_UNROLL: 1 };
const DEQUANT_MIN_M = 256;
const DEQUANT_DEFAULT_M = 512;
/** kernels/w4a16.py REG_A_FIXED and REG_A_MIN_M; kernels/w4a16_gluon_prefill.py REG_A_REGISTERS. */
const REG_A_FIXED: Config = { SPLIT_K: 1, K_UNROLL: 1 };
const REG_A_MIN_M = 256;
const REG_A_REGISTERS = 176;

/** kernels/w4a16_gluon_prefill.py rega_registers: 32-bit registers a thread holds across a step of REG_A, the fp32
 * accumulator [BLOCK_SIZE_N, BLOCK_SIZE_M], two steps' A fragments and the packed words. */
const regARegisters = (c: Config): number => {
  const slabs = c.BLOCK_SIZE_N! / (16 * c.num_warps!);
  const accumulator = (c.BLOCK_SIZE_N! * c.BLOCK_SIZE_M!) / (32 * c.num_warps!);
  return accumulator + 2 * slabs * (c.BLOCK_SIZE_K! / 16) * 4 + 4 * slabs * 2 * (c.BLOCK_SIZE_K! / 32);
};

/** kernels/w4a16_gluon_prefill.py block_k_reason (bf16 is the default activation here) and invalid_reason's tiles,
 * with kernels/w4a16.py _reg_a_reason's token tiles (64, 128 or 256: the kernel also takes 16 and 32, a probe's). */
const regABlockK = (c: Config, s: WeightShape): boolean => {
  const g = s.group_size ?? 128;
  const bk = c.BLOCK_SIZE_K!;
  return (bk !== 64 && bk !== 128) || s.K % bk !== 0 || (g !== -1 && g % bk !== 0);
};
const regATile = (c: Config, s: WeightShape): boolean =>
  c.BLOCK_SIZE_N! % (16 * c.num_warps!) !== 0 ||
  ![64, 128, 256].includes(c.BLOCK_SIZE_M!) ||
  (s.K / c.BLOCK_SIZE_K!) % 2 !== 0 ||
  c.num_stages! < 2;

/**
 * kernels/w4a16.py _smem_bytes, an upper bound: stages x K_UNROLL copies of the bf16 A tile and the packed int4 tile
 * (and, for a K block over several groups, 6 bytes of scale and zero-point word per packed word), plus the fp32 tile
 * the epilogue transposes.
 */
const sharedMemoryBytes = (c: Config, s: WeightShape): number => {
  // REG_A (kernels/w4a16_gluon_prefill.py smem_bytes): a ring of num_stages activation tiles and words, and
  // their barriers
  if (c.REG_A) return c.num_stages! * (c.BLOCK_SIZE_M! * c.BLOCK_SIZE_K! * 2 + 8 + (c.BLOCK_SIZE_N! * c.BLOCK_SIZE_K!) / 2);
  const g = s.group_size ?? 128;
  const scaleW = g !== -1 && c.BLOCK_SIZE_K! > g ? c.BLOCK_SIZE_N! * (c.BLOCK_SIZE_K! / 8) * 6 : 0;
  const perStage = c.BLOCK_SIZE_M! * c.BLOCK_SIZE_K! * 2 + Math.floor((c.BLOCK_SIZE_K! * c.BLOCK_SIZE_N!) / 2) + scaleW;
  return c.num_stages! * c.K_UNROLL! * perStage + c.BLOCK_SIZE_M! * c.BLOCK_SIZE_N! * 4;
};

/**
 * The kernel takes M unspecialized and N, K, K/8 and the zero-point row stride ceil(N/8) as plain ints
 * (kernels/w4a16.py compile_variant); its constexprs beyond the config are the group size, zero points, the activation
 * dtype and EVEN_K (K % (BLOCK_SIZE_K * K_UNROLL) == 0). The activation dtype is the default here (bf16), so shapes
 * share binaries.
 */
function compileKey(s: WeightShape, _shapeKey: string, c: Config, configKey: string, _ms: number[]): string {
  const evenK = s.K % (c.BLOCK_SIZE_K! * c.K_UNROLL!) === 0;
  const ints = `N:${tritonInt(s.N)}|N8:${tritonInt(cdiv(s.N, 8))}|K:${tritonInt(s.K)}|K8:${tritonInt(Math.floor(s.K / 8))}`;
  return `w4a16|${configKey}|${ints}|group:${s.group_size ?? 128}|zp:${s.zero_points ?? true}|even:${evenK}`;
}

/** A K block and the group nest: one divides the other (a block over several groups scales its weights); per-channel
 * (g = -1) always does. kernels/w4a16.py _nest. */
const nest = (bk: number, g: number): boolean => g === -1 || (bk > g ? bk % g : g % bk) === 0;

/** kernels/w4a16.py default_config: one fixed tile per regime (decode below 256 tokens, prefill above), the K block at
 * the group size (at most 128), at decode 128 wherever it nests with the group; from 512 tokens the prefill path
 * (DEQUANT_GEMM). DEQUANT_GEMM, TMA and REG_A are spelled out as 0 too, so the default and the space's config of one binary
 * share a key. */
function defaultConfig(p: ShapeAtM): ConfigEntry {
  const g = p.group_size ?? 128;
  const bk = g === -1 ? 128 : Math.min(128, g);
  if (p.M >= DEQUANT_DEFAULT_M) return { ...DEQUANT_FIXED, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: bk, num_warps: 4, DEQUANT_GEMM: 1, TMA: 0, REG_A: 0 } as ConfigEntry;
  if (p.M < 256) return { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: nest(128, g) ? 128 : bk, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3, SPLIT_K: 1, K_UNROLL: 1, DEQUANT_GEMM: 0, TMA: 0, REG_A: 0 };
  return { BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: bk, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3, SPLIT_K: 1, K_UNROLL: 1, DEQUANT_GEMM: 0, TMA: 0, REG_A: 0 };
}

/** The REG_A seed from REG_A_MIN_M tokens: the tile that won most rows of the Gluon prefill probe (docs/BENCHMARKS.md,
 * its runs A and C): 256 tokens x 128 weight rows, BLOCK_SIZE_K 64, 8 warps, a ring of 3. Where it cannot run (g32,
 * before Hopper) the search skips it. */
function pathSeeds(p: ShapeAtM): ConfigEntry[] {
  if (p.M < REG_A_MIN_M) return [];
  const tile = { BLOCK_SIZE_M: 256, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3 };
  return [{ ...tile, SPLIT_K: 1, K_UNROLL: 1, DEQUANT_GEMM: 0, TMA: 0, REG_A: 1 }];
}

const groups = (s: WeightShape): number => (s.group_size === -1 ? 1 : Math.floor(s.K / (s.group_size ?? 128)));

export const w4a16: KernelFamily = {
  name: 'w4a16',
  spaces: { default: DEFAULT, exhaustive: EXHAUSTIVE },
  // kernels/w4a16.py invalid_reason, in its order
  shapeRules: [
    (c) => (c.REG_A && (c.DEQUANT_GEMM || c.TMA || Object.entries(REG_A_FIXED).some(([k, v]) => c[k] !== v)) ? 'reg_a_path' : null),
    (c, s) => (c.REG_A && regABlockK(c, s) ? 'reg_a_block_k' : null),
    (c, s) => (c.REG_A && regATile(c, s) ? 'reg_a_tile' : null),
    (c) => (c.REG_A && regARegisters(c) > REG_A_REGISTERS ? 'reg_a_registers' : null),
    // wgmma needs Hopper: not a rule of kernels/w4a16.py, which does not know the device
    (c, _s, d) => (c.REG_A && d.capability[0] < 9 ? 'reg_a_arch' : null),
    // drops what cannot win: the fused kernel's 256-token tile lost to its own best tile by 1.16-2.03x at every M of
    // the W4A16 journal (test/data/journals/w4a16-default-h200.jsonl.gz, 128 to 4096 tokens), 1.6-2.3x the optimum
    (c) => (!c.REG_A && c.BLOCK_SIZE_M === 256 ? 'fused_block_m_256' : null),
    (c) => (c.DEQUANT_GEMM && Object.entries(DEQUANT_FIXED).some(([k, v]) => c[k] !== v) ? 'dequant_gemm_fixed' : null),
    (c) => (c.TMA && c.DEQUANT_GEMM ? 'tma_dequant_gemm' : null),
    ...tmaRules,
    (c, s) => (c.SPLIT_K! > cdiv(s.K, c.BLOCK_SIZE_K! * c.K_UNROLL!) ? 'split_k_no_k' : null),
    (c, s) => (c.BLOCK_SIZE_K! * c.K_UNROLL! > 2 * s.K ? 'tile_over_problem' : null),
    (c, s) => (nest(c.BLOCK_SIZE_K!, s.group_size ?? 128) ? null : 'block_k_vs_group'),
    accumulatorRule,
    sharedMemoryRule(sharedMemoryBytes),
  ],
  mRules: [
    (c, _s, M) => (c.REG_A && M < REG_A_MIN_M ? 'reg_a_decode' : null),
    (c, _s, M) => (c.DEQUANT_GEMM && M < DEQUANT_MIN_M ? 'dequant_gemm_decode' : null),
    (c, s, M) => (c.SPLIT_K! > 1 && c.SPLIT_K! * M * s.N * 4 > MAX_WORKSPACE_BYTES ? 'split_k_workspace' : null),
    denseBlockM,
    splitOnFullGrid,
  ],
  kernelRules: [
    'reg_a_path', 'reg_a_block_k', 'reg_a_tile', 'reg_a_registers', 'reg_a_decode',
    'dequant_gemm_fixed', 'tma_dequant_gemm', 'tma_k_multiple', 'dequant_gemm_decode',
    'split_k_no_k', 'tile_over_problem', 'block_k_vs_group', 'split_k_workspace', 'accumulator_registers', 'shared_memory',
  ],
  sharedMemoryBytes,
  defaultConfig,
  pathSeeds,
  gemms: (shape) => [shape],
  shapesOf: (model, { groupSize }) => model.dense.map((d) => ({ shape: { N: d.N, K: d.K, group_size: groupSize }, layer: d.name })),
  layerKind: 'dense linear',
  problem: (s, M) => ({ M, N: s.N, K: s.K, group_size: s.group_size ?? 128, ...(s.zero_points !== undefined ? { zero_points: s.zero_points } : {}) }),
  flops: (s, M) => 2 * M * s.N * s.K,
  // kernels/w4a16.py min_bytes: bf16 A, int4 W, bf16 scales and (by default) packed 4-bit zero points per group, bf16 C
  bytes: (s, M) => {
    const G = groups(s);
    const zeros = (s.zero_points ?? true) ? G * cdiv(s.N, 8) * 4 : 0;
    return 2 * M * s.K + (s.N * s.K) / 2 + 2 * G * s.N + zeros + 2 * M * s.N;
  },
  compileKey,
  compileOnly: true,
  specializesOnM: false,
  peak: () => 'bf16',
};
