import type { ConfigEntry, Family } from '../schema/index.js';
import { nextPow2 } from './key.js';

/** The problem a default config is chosen for (E and top_k only for MoE, group_size for W4A16 families). */
export interface DefaultProblem {
  M: number;
  N: number;
  K: number;
  E?: number;
  top_k?: number;
  group_size?: number;
}

/** vLLM's tile rule for its Triton scaled-mm (see the anchors README); warps and stages at Triton's defaults. */
function w8a8Default(p: DefaultProblem): ConfigEntry {
  const mp2 = Math.max(32, nextPow2(p.M));
  const smallN = p.N < 8192;
  const [bm, bn, bk] =
    mp2 <= 32 ? (smallN ? [64, 64, 256] : [64, 128, 256]) : mp2 <= 64 ? [64, 64, 256] : mp2 <= 128 ? [64, 128, 128] : [128, 128, 128];
  return { BLOCK_SIZE_M: bm, BLOCK_SIZE_N: bn, BLOCK_SIZE_K: bk, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3, SPLIT_K: 1 };
}

function w4a16Default(p: DefaultProblem): ConfigEntry {
  const g = p.group_size ?? 128;
  const bk = g > 0 ? Math.min(g, 128) : 128;
  const bm = p.M <= 16 ? 16 : p.M <= 64 ? 64 : 128;
  return { BLOCK_SIZE_M: bm, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: bk, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3, SPLIT_K: 1, K_UNROLL: 1 };
}

/** vLLM's fused_moe get_default_config for unquantized-style tiles. */
function moeDefault(p: DefaultProblem): ConfigEntry {
  const e = p.E ?? 1;
  if (p.M <= e) return { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 32, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };
  return { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 32, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3 };
}

/** The untuned baseline a server uses without a tuned file; mirrors each kernels/<family>.py default_config. */
export function defaultConfig(family: Family, problem: DefaultProblem): ConfigEntry {
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return w8a8Default(problem);
  if (family === 'w4a16') return w4a16Default(problem);
  return moeDefault(problem);
}
