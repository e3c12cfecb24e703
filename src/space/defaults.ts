import type { ConfigEntry, DeviceInfo, Family } from '../schema/index.js';
import { nextPow2 } from './key.js';
import { moeGemms, mReason, shapeReason } from './prune.js';

/** The problem a default config is chosen for (E and top_k only for MoE, group_size for W4A16 families). */
export interface DefaultProblem {
  M: number;
  N: number;
  K: number;
  E?: number;
  top_k?: number;
  group_size?: number;
  zero_points?: boolean;
  /** MoE: 'up' (the default, as in kernels/), 'down', or 'layer' (N = intermediate, K = hidden). */
  gemm?: 'up' | 'down' | 'layer';
}

/** kernels/w8a8.py: vLLM's triton_scaled_mm tile rule; GROUP_SIZE_M 1, warps and stages at Triton's 4 and 3. */
function w8a8Default(p: DefaultProblem): ConfigEntry {
  const mp2 = Math.max(32, nextPow2(p.M));
  const smallN = p.N < 8192;
  const [bm, bn, bk] =
    mp2 <= 32 ? (smallN ? [64, 64, 256] : [64, 128, 256]) : mp2 <= 64 ? [64, 64, 256] : mp2 <= 128 ? [64, 128, 128] : [128, 128, 128];
  return { BLOCK_SIZE_M: bm!, BLOCK_SIZE_N: bn!, BLOCK_SIZE_K: bk!, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3, SPLIT_K: 1 };
}

/** kernels/w4a16.py: vLLM's Triton AWQ GEMM below 256 tokens, the Triton tutorial's first config above. */
function w4a16Default(p: DefaultProblem): ConfigEntry {
  if (p.M < 256) return { BLOCK_SIZE_M: 32, BLOCK_SIZE_N: 32, BLOCK_SIZE_K: 32, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 2, SPLIT_K: 8, K_UNROLL: 1 };
  return { BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 256, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3, SPLIT_K: 1, K_UNROLL: 1 };
}

/** The shared memory limit kernels/moe_w4a16.py checks against (H100/H200 opt-in per block). */
const MOE_SMEM: DeviceInfo = { name: 'moe-default', capability: [9, 0], sm_count: 1, shared_mem_per_block: 227 * 1024, l2_bytes: 0, memory_bytes: 0, hbm_GBps: null };

/**
 * kernels/moe_w4a16.py: tiles by mean pairs per expert t = M*top_k/E (its H200 sweep's winners), clipped to the
 * problem (BLOCK_SIZE_N to its narrowest GEMM), BLOCK_SIZE_K halved until valid (for a layer: for both GEMMs).
 */
function moeDefault(p: DefaultProblem): ConfigEntry {
  const t = (p.M * (p.top_k ?? 1)) / (p.E ?? 1);
  const c: Record<string, number> =
    t <= 8
      ? { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 32, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 4 }
      : t <= 64
        ? { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3 }
        : { BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 256, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 8, num_warps: 8, num_stages: 3 };
  c.BLOCK_SIZE_M = Math.min(c.BLOCK_SIZE_M!, Math.max(16, nextPow2(p.M)));
  const shape = { N: p.N, K: p.K, E: p.E, top_k: p.top_k, group_size: p.group_size ?? 128, zero_points: p.zero_points ?? false, gemm: p.gemm ?? 'up' };
  c.BLOCK_SIZE_N = Math.min(c.BLOCK_SIZE_N!, Math.max(16, nextPow2(Math.min(...moeGemms(shape).map((g) => g.N)))));
  const invalid = () => shapeReason('moe-w4a16', c, shape, MOE_SMEM) ?? mReason('moe-w4a16', c, shape, p.M, MOE_SMEM);
  while (c.BLOCK_SIZE_K! > 16 && invalid()) c.BLOCK_SIZE_K! /= 2;
  return c as ConfigEntry;
}

/** The untuned baseline a server uses without a tuned file; mirrors each kernels/<family>.py default_config. */
export function defaultConfig(family: Family, problem: DefaultProblem): ConfigEntry {
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return w8a8Default(problem);
  if (family === 'w4a16') return w4a16Default(problem);
  return moeDefault(problem);
}
