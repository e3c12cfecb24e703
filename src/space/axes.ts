import type { Family } from '../schema/index.js';

/** The values each config axis takes; a space is the product of its axes. */
export type Axes = Record<string, number[]>;

/**
 * The exhaustive W8A8 space: vLLM's MoE tuning space (BM 16-256, BN 32-256, BK 64-256, GROUP_M 1-64, warps 4/8,
 * stages 2-5: 1920 configs) times SPLIT_K 1-8, which the dense small-M shapes need to fill the GPU.
 */
const W8A8_EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [64, 128, 256],
  GROUP_SIZE_M: [1, 16, 32, 64],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
};

/**
 * The default W8A8 space: the axes that decide the winner on the Qwen3 shapes (tile, warps, stages, split-K);
 * GROUP_SIZE_M fixed at 8 (L2 swizzle matters little once weights stream from HBM), BLOCK_SIZE_N from 64
 * (narrower tiles only add CTAs, which SPLIT_K does more cheaply).
 */
const W8A8_DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [64, 128, 256],
  BLOCK_SIZE_K: [64, 128, 256],
  GROUP_SIZE_M: [8],
  num_warps: [4, 8],
  num_stages: [3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
};

/** W4A16 dense: A is 16-bit, so BK stays smaller; K_UNROLL packs several quantization groups per iteration. */
const W4A16_DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128],
  GROUP_SIZE_M: [8],
  num_warps: [4, 8],
  num_stages: [2, 3, 4],
  SPLIT_K: [1, 2, 4, 8],
  K_UNROLL: [1, 2],
};

const W4A16_EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128, 256],
  GROUP_SIZE_M: [1, 8, 16, 32],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
  K_UNROLL: [1, 2, 4],
};

/** MoE W4A16: vLLM's fused_moe axes (its 1920-config space is the exhaustive one, plus BK 32 for int4 groups). */
const MOE_EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128, 256],
  GROUP_SIZE_M: [1, 16, 32, 64],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
};

const MOE_DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128],
  GROUP_SIZE_M: [1, 16],
  num_warps: [4, 8],
  num_stages: [2, 3, 4],
};

/** Named spaces per family. */
export const SPACES: Record<Family, { default: Axes; exhaustive: Axes }> = {
  'w8a8-int8': { default: W8A8_DEFAULT, exhaustive: W8A8_EXHAUSTIVE },
  'w8a8-fp8': { default: W8A8_DEFAULT, exhaustive: W8A8_EXHAUSTIVE },
  w4a16: { default: W4A16_DEFAULT, exhaustive: W4A16_EXHAUSTIVE },
  'moe-w4a16': { default: MOE_DEFAULT, exhaustive: MOE_EXHAUSTIVE },
};

/** Every combination of the axes, in a fixed order (first axis outermost, values as listed). */
export function product(axes: Axes, keys: string[]): Array<Record<string, number>> {
  let out: Array<Record<string, number>> = [{}];
  for (const key of keys) {
    const values = axes[key] ?? [];
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  }
  return out;
}
