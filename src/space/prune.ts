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
}

/** Why a config was pruned before any trial. Each rule is one named reason; `--dry-run` prints counts per reason. */
export const PRUNE_REASONS = {
  shared_memory: 'shared memory per CTA over the device limit',
  tile_over_problem: 'BLOCK_SIZE_N or BLOCK_SIZE_K far larger than N or K',
  block_k_vs_group: 'BLOCK_SIZE_K does not divide the quantization group size (a K tile would straddle groups)',
  split_k_no_k: 'SPLIT_K leaves a split with less than one BLOCK_SIZE_K of K',
  block_m_over_m: 'BLOCK_SIZE_M more than twice next_pow2(M) (per M)',
  split_k_full_grid: 'SPLIT_K > 1 while the unsplit grid already fills the GPU twice (per M)',
} as const;
export type PruneReason = keyof typeof PRUNE_REASONS;

const isW4 = (f: Family) => f === 'w4a16' || f === 'moe-w4a16';

/** The first per-shape rule that rules this config out, or null: these hold for every M of the shape. */
export function shapeReason(family: Family, c: Cfg, shape: SpaceShape, device: DeviceInfo): PruneReason | null {
  const bn = c.BLOCK_SIZE_N ?? 0;
  const bk = c.BLOCK_SIZE_K ?? 0;
  const split = c.SPLIT_K ?? 1;
  const kStep = bk * (c.K_UNROLL ?? 1);
  if (sharedMemoryBytes(family, c) > device.shared_mem_per_block) return 'shared_memory';
  if (bn > Math.max(32, 2 * nextPow2(shape.N)) || bk > Math.max(32, 2 * nextPow2(shape.K))) return 'tile_over_problem';
  const g = shape.group_size ?? -1;
  if (isW4(family) && g > 0 && g % bk !== 0) return 'block_k_vs_group';
  if (split > 1 && split * kStep > shape.K) return 'split_k_no_k';
  return null;
}

/** The per-M rule that rules this config out for this M, or null (the strategy asks only fitting pairs). */
export function mReason(family: Family, c: Cfg, shape: SpaceShape, M: number, device: DeviceInfo): PruneReason | null {
  const bm = c.BLOCK_SIZE_M ?? 0;
  // an expert never sees more than M tokens, so the dense rule bounds MoE tiles as well
  if (bm > Math.max(32, 2 * nextPow2(M))) return 'block_m_over_m';
  const split = c.SPLIT_K ?? 1;
  if (family !== 'moe-w4a16' && split > 1) {
    const tiles = Math.ceil(M / bm) * Math.ceil(shape.N / (c.BLOCK_SIZE_N ?? 1));
    if (tiles >= 2 * device.sm_count) return 'split_k_full_grid';
  }
  return null;
}
