import type { ConfigEntry } from '../schema/index.js';
import { cdiv, denseBlockM, nextPow2, sharedMemoryRule, splitOnFullGrid, tritonInt } from './rules.js';
import type { Axes, Config, KernelFamily, MRule, ShapeAtM, WeightShape } from './types.js';

/** W4A16 (kernels/w4a16.py): AWQ/GPTQ int4 weights with group scales and zero points, bf16/fp16 activations. */

/** A is 16-bit, so BK stays smaller; K_UNROLL packs several quantization groups per iteration. */
const DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128],
  GROUP_SIZE_M: [8],
  num_warps: [4, 8],
  num_stages: [2, 3, 4],
  SPLIT_K: [1, 2, 4, 8],
  K_UNROLL: [1, 2],
  // the transposed product is measured (docs/BENCHMARKS.md, bench/w4a16_swap.py) but not yet searched by default: the
  // exhaustive journals that prove the default search were recorded without it
  SWAP_AB: [0],
};

const EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128, 256],
  GROUP_SIZE_M: [1, 8, 16, 32],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
  K_UNROLL: [1, 2, 4],
  SWAP_AB: [0, 1],
};

const MAX_WORKSPACE_BYTES = 2 ** 30; // kernels/w4a16.py

/**
 * kernels/w4a16.py _smem_bytes, an upper bound: stages x K_UNROLL copies of the bf16 A tile and the packed int4
 * tile, plus one bf16 copy of the dequantized tile (checked there on an H200: refuses every config Triton failed
 * for shared memory).
 */
const sharedMemoryBytes = (c: Config): number =>
  c.num_stages! * c.K_UNROLL! * (c.BLOCK_SIZE_M! * c.BLOCK_SIZE_K! * 2 + Math.floor((c.BLOCK_SIZE_K! * c.BLOCK_SIZE_N!) / 2)) + c.BLOCK_SIZE_K! * c.BLOCK_SIZE_N! * 2;

/** Rows of A one GEMV program takes (kernels/w4a16.py gemv_rows): min(16, next_pow2(M)). */
const gemvRows = (M: number): number => Math.min(16, nextPow2(M));

/** BLOCK_SIZE_M 16 without SWAP_AB is the GEMV path (kernels/w4a16.py _run). */
const isGemv = (c: Config): boolean => c.BLOCK_SIZE_M === 16 && c.SWAP_AB !== 1;

/** The GEMV takes gemvRows(M) rows into a [rows, BLOCK_SIZE_K/8, BLOCK_SIZE_N] fp32 register tile, refused beyond 64
 * per thread. */
const gemvRegisters: MRule = (c, _s, M) =>
  isGemv(c) && Math.floor((gemvRows(M) * (c.BLOCK_SIZE_K! / 8) * c.BLOCK_SIZE_N!) / (32 * c.num_warps!)) > 64
    ? 'gemv_registers'
    : null;

/**
 * Both kernels take M unspecialized and N, K and the zero-point row stride ceil(N/8) as plain ints (kernels/w4a16.py
 * compile_variant); their constexprs beyond the config are the group size, zero points, EVEN_K (K % (BLOCK_SIZE_K *
 * K_UNROLL) == 0) and, on the GEMV path (BLOCK_SIZE_M 16 without SWAP_AB), its rows per program, the one thing of M in a
 * binary.
 * Activation dtype and packing are the defaults here (bf16, plain). So shapes that agree on those share binaries.
 */
function compileKey(s: WeightShape, _shapeKey: string, c: Config, configKey: string, ms: number[]): string {
  const evenK = s.K % (c.BLOCK_SIZE_K! * c.K_UNROLL!) === 0;
  const rows = isGemv(c) ? [...new Set(ms.map(gemvRows))].sort((a, b) => a - b).join(',') : '-';
  const ints = `N:${tritonInt(s.N)}|N8:${tritonInt(cdiv(s.N, 8))}|K:${tritonInt(s.K)}`;
  return `w4a16|${configKey}|${ints}|group:${s.group_size ?? 128}|zp:${s.zero_points ?? true}|even:${evenK}|rows:${rows}`;
}

/** kernels/w4a16.py default_config: vLLM's Triton AWQ GEMM below 256 tokens, the Triton tutorial's first config above. */
function defaultConfig(p: ShapeAtM): ConfigEntry {
  if (p.M < 256) return { BLOCK_SIZE_M: 32, BLOCK_SIZE_N: 32, BLOCK_SIZE_K: 32, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 2, SPLIT_K: 8, K_UNROLL: 1, SWAP_AB: 0 };
  return { BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 256, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3, SPLIT_K: 1, K_UNROLL: 1, SWAP_AB: 0 };
}

const groups = (s: WeightShape): number => (s.group_size === -1 ? 1 : Math.floor(s.K / (s.group_size ?? 128)));

export const w4a16: KernelFamily = {
  name: 'w4a16',
  spaces: { default: DEFAULT, exhaustive: EXHAUSTIVE },
  // kernels/w4a16.py invalid_reason, in its order
  shapeRules: [
    (c, s) => (c.SPLIT_K! > cdiv(s.K, c.BLOCK_SIZE_K! * c.K_UNROLL!) ? 'split_k_no_k' : null),
    (c, s) => (c.BLOCK_SIZE_K! * c.K_UNROLL! > 2 * s.K ? 'tile_over_problem' : null),
    sharedMemoryRule(sharedMemoryBytes),
    // a heuristic, like splitOnFullGrid: the transpose pays where the token tile is narrower than the MMA
    (c) => (c.SWAP_AB === 1 && c.BLOCK_SIZE_M! > 64 ? 'swap_ab_wide_m' : null),
  ],
  mRules: [
    (c, s, M) => (c.SPLIT_K! > 1 && c.SPLIT_K! * M * s.N * 4 > MAX_WORKSPACE_BYTES ? 'split_k_workspace' : null),
    gemvRegisters,
    denseBlockM,
    splitOnFullGrid,
  ],
  kernelRules: ['split_k_no_k', 'tile_over_problem', 'split_k_workspace', 'gemv_registers', 'shared_memory'],
  sharedMemoryBytes,
  defaultConfig,
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
  specializesOnM: true,
  peak: () => 'bf16',
};
