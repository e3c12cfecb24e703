import type { DeviceInfo, Family } from '../schema/index.js';
import { nextPow2 } from './key.js';
import { sharedMemoryBytes } from './smem.js';

type Cfg = Record<string, number>;

/** The weight shape a space is enumerated for (E and top_k for MoE, group_size for W4A16 families). */
export interface SpaceShape {
  N: number;
  K: number;
  E?: number;
  group_size?: number;
  top_k?: number;
  /** MoE: whether zero points are stored (their tiles take shared memory). */
  zero_points?: boolean;
  /** MoE: which GEMM; 'layer' (N = intermediate, K = hidden) is both, with one config. */
  gemm?: 'up' | 'down' | 'layer';
}

/** The GEMMs a MoE shape launches (kernels/moe_w4a16.py gemm_problems): a 'layer' is up [2N, K] and down [K, N]. */
export function moeGemms(s: SpaceShape): SpaceShape[] {
  if (s.gemm !== 'layer') return [s];
  return [
    { ...s, gemm: 'up', N: 2 * s.N },
    { ...s, gemm: 'down', N: s.K, K: s.N },
  ];
}

/** Why a config was pruned before any trial; `--dry-run` prints counts per reason. */
export const PRUNE_REASONS = {
  shared_memory: 'shared memory per CTA over the device limit',
  tile_over_problem: 'a tile far larger than N or K',
  block_k_vs_k: 'BLOCK_SIZE_K does not divide K',
  block_k_vs_group: 'BLOCK_SIZE_K and the quantization group size do not nest',
  split_k_no_k: 'SPLIT_K leaves a split with no K',
  split_k_workspace: 'the split-K workspace would exceed 1 GiB (per M)',
  block_m_over_m: 'BLOCK_SIZE_M far larger than M (per M)',
  split_k_full_grid: 'SPLIT_K > 1 while the unsplit grid already fills the GPU twice (per M)',
  gemv_registers: 'W4A16 GEMV path (BLOCK_SIZE_M 16): accumulator over 64 fp32 registers per thread (per M)',
} as const;
export type PruneReason = keyof typeof PRUNE_REASONS;

/**
 * The reasons that mirror each family's invalid_reason in kernels/<family>.py (a test checks they agree
 * exactly); the others drop configs that can run but cannot win, or (W8A8 shared memory) that Triton would
 * refuse at launch.
 */
export const KERNEL_RULES: Record<Family, PruneReason[]> = {
  'w8a8-int8': ['split_k_no_k'],
  'w8a8-fp8': ['split_k_no_k'],
  w4a16: ['split_k_no_k', 'tile_over_problem', 'split_k_workspace', 'gemv_registers', 'shared_memory'],
  'moe-w4a16': ['block_k_vs_k', 'block_k_vs_group', 'tile_over_problem', 'shared_memory', 'block_m_over_m'],
};

const cdiv = (a: number, b: number) => Math.ceil(a / b);
const MAX_WORKSPACE_BYTES = 2 ** 30; // kernels/w4a16.py
/** kernels/w4a16.py: BLOCK_SIZE_M 16 is the GEMV path; a program takes min(16, next_pow2(M)) rows into a
 * [rows, BLOCK_SIZE_K/8, BLOCK_SIZE_N] fp32 register tile, refused beyond 64 per thread. */
const gemvRegisters: MRule = (c, _s, M) =>
  c.BLOCK_SIZE_M === 16 && Math.floor((Math.min(16, nextPow2(M)) * (c.BLOCK_SIZE_K! / 8) * c.BLOCK_SIZE_N!) / (32 * c.num_warps!)) > 64
    ? 'gemv_registers'
    : null;

type ShapeRule = (c: Cfg, s: SpaceShape, d: DeviceInfo) => PruneReason | null;
type MRule = (c: Cfg, s: SpaceShape, M: number, d: DeviceInfo) => PruneReason | null;

const smem = (family: Family): ShapeRule => (c, s, d) => (sharedMemoryBytes(family, c, s) > d.shared_mem_per_block ? 'shared_memory' : null);

/** Split-K only pays while output tiles are too few for the SMs (heuristic). */
const splitOnFullGrid: MRule = (c, s, M, d) =>
  (c.SPLIT_K ?? 1) > 1 && cdiv(M, c.BLOCK_SIZE_M!) * cdiv(s.N, c.BLOCK_SIZE_N!) >= 2 * d.sm_count ? 'split_k_full_grid' : null;

/** Dense kernels: rows of a tile past M are wasted, beyond twice next_pow2(M) (and 32, the smallest useful tile). */
const denseBlockM: MRule = (c, _s, M) => (c.BLOCK_SIZE_M! > Math.max(32, 2 * nextPow2(M)) ? 'block_m_over_m' : null);

const RULES: Record<'w8a8' | 'w4a16' | 'moe', { shape: ShapeRule[]; m: MRule[] }> = {
  // kernels/w8a8.py: SPLIT_K in 1..cdiv(K, BLOCK_SIZE_K); shared memory is left to Triton there, estimated here
  w8a8: {
    shape: [
      smem('w8a8-int8'),
      (c, s) => (c.BLOCK_SIZE_N! > Math.max(16, 2 * nextPow2(s.N)) || c.BLOCK_SIZE_K! > Math.max(32, 2 * nextPow2(s.K)) ? 'tile_over_problem' : null),
      (c, s) => ((c.SPLIT_K ?? 1) > cdiv(s.K, c.BLOCK_SIZE_K!) ? 'split_k_no_k' : null),
    ],
    m: [denseBlockM, splitOnFullGrid],
  },
  // kernels/w4a16.py invalid_reason, in its order
  w4a16: {
    shape: [
      (c, s) => (c.SPLIT_K! > cdiv(s.K, c.BLOCK_SIZE_K! * c.K_UNROLL!) ? 'split_k_no_k' : null),
      (c, s) => (c.BLOCK_SIZE_K! * c.K_UNROLL! > 2 * s.K ? 'tile_over_problem' : null),
      smem('w4a16'),
    ],
    m: [(c, s, M) => (c.SPLIT_K! > 1 && c.SPLIT_K! * M * s.N * 4 > MAX_WORKSPACE_BYTES ? 'split_k_workspace' : null), gemvRegisters, denseBlockM, splitOnFullGrid],
  },
  // kernels/moe_w4a16.py invalid_reason, in its order; a 'layer' config must pass for both GEMMs
  moe: {
    shape: ([
      (c, s) => (s.K % c.BLOCK_SIZE_K! ? 'block_k_vs_k' : null),
      (c, s) => {
        const g = s.group_size === undefined || s.group_size === -1 ? s.K : s.group_size;
        const bk = c.BLOCK_SIZE_K!;
        return (bk <= g ? g % bk : bk % g) ? 'block_k_vs_group' : null;
      },
      (c, s) => (c.BLOCK_SIZE_N! > Math.max(16, nextPow2(s.N)) ? 'tile_over_problem' : null),
      smem('moe-w4a16'),
    ] satisfies ShapeRule[]).map(eachGemm),
    m: [(c, _s, M) => (c.BLOCK_SIZE_M! > Math.max(16, nextPow2(M)) ? 'block_m_over_m' : null)],
  },
};

/** A MoE shape rule applied to each GEMM of the shape: the first GEMM's reason wins. */
function eachGemm(rule: ShapeRule): ShapeRule {
  return (c, s, d) => {
    for (const g of moeGemms(s)) {
      const r = rule(c, g, d);
      if (r) return r;
    }
    return null;
  };
}

const rulesOf = (f: Family) => RULES[f === 'w4a16' ? 'w4a16' : f === 'moe-w4a16' ? 'moe' : 'w8a8'];

/** Every rule, per-shape and per-M, that rules this config out at M (tests compare these with the kernels). */
export function allReasons(family: Family, c: Cfg, shape: SpaceShape, M: number, device: DeviceInfo): PruneReason[] {
  const { shape: s, m } = rulesOf(family);
  return [...s.map((r) => r(c, shape, device)), ...m.map((r) => r(c, shape, M, device))].filter((r): r is PruneReason => r !== null);
}

/** The first per-shape rule that rules this config out, or null: these hold for every M of the shape. */
export function shapeReason(family: Family, c: Cfg, shape: SpaceShape, device: DeviceInfo): PruneReason | null {
  for (const rule of rulesOf(family).shape) {
    const r = rule(c, shape, device);
    if (r) return r;
  }
  return null;
}

/** The first per-M rule that rules this config out at this M, or null (strategies ask only fitting pairs). */
export function mReason(family: Family, c: Cfg, shape: SpaceShape, M: number, device: DeviceInfo): PruneReason | null {
  for (const rule of rulesOf(family).m) {
    const r = rule(c, shape, M, device);
    if (r) return r;
  }
  return null;
}
