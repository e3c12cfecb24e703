import type { DeviceInfo } from '../schema/index.js';
import type { Axes, Config, MRule, PruneReason, ShapeRule, WeightShape } from './types.js';

/** Rules and helpers several families share. */

export const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** The next power of two >= n (n >= 1). */
export const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

/** How Triton specializes an int kernel argument (neither constexpr nor do_not_specialize): the value 1, divisibility
 * by 16, or neither (kernels/compile_only.py specialization; 64-bit values do not occur in these shapes). */
export const tritonInt = (v: number): 'one' | 'd16' | 'any' => (v === 1 ? 'one' : v % 16 === 0 ? 'd16' : 'any');

/** A shared-memory rule from a family's estimate. */
export const sharedMemoryRule =
  (bytes: (c: Config, s: WeightShape) => number): ShapeRule =>
  (c, s, d) =>
    bytes(c, s) > d.shared_mem_per_block ? 'shared_memory' : null;

/** The TMA key's rules, the same in kernels/w4a16.py and kernels/moe_w4a16.py (TMA_K_MULTIPLE there): a row of K/8
 * packed words is a whole number of 16 bytes; and a descriptor needs Hopper, which the kernels do not check (they do
 * not know the device). */
const TMA_K_MULTIPLE = 32;
export const tmaRules: ShapeRule[] = [
  (c, s) => (c.TMA && s.K % TMA_K_MULTIPLE ? 'tma_k_multiple' : null),
  (c, _s, d) => (c.TMA && d.capability[0] < 9 ? 'tma_arch' : null),
];

/** The W4A16 kernels' fp32 accumulator: BLOCK_SIZE_M x BLOCK_SIZE_N / threads registers per thread, at most 128
 * (kernels/w4a16.py MAX_ACC_PER_THREAD; beyond it, spills). */
export const accumulatorRule: ShapeRule = (c) =>
  (c.BLOCK_SIZE_M! * c.BLOCK_SIZE_N!) / (32 * c.num_warps!) > 128 ? 'accumulator_registers' : null;

/** Split-K only pays while output tiles are too few for the SMs (heuristic). */
export const splitOnFullGrid: MRule = (c, s, M, d) =>
  (c.SPLIT_K ?? 1) > 1 && cdiv(M, c.BLOCK_SIZE_M!) * cdiv(s.N, c.BLOCK_SIZE_N!) >= 2 * d.sm_count ? 'split_k_full_grid' : null;

/** Dense kernels: rows of a tile past M are wasted, beyond twice next_pow2(M) (and 32, the smallest useful tile). */
export const denseBlockM: MRule = (c, _s, M) => (c.BLOCK_SIZE_M! > Math.max(32, 2 * nextPow2(M)) ? 'block_m_over_m' : null);

/** The servers' tuning scripts' space (vLLM's benchmark_moe.py and benchmark_w8a8_block_fp8.py
 * get_configs_compute_bound, SGLang's alike: 1920 configs, BLOCK_SIZE_M from 16). */
export const SERVER_SPACE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [32, 64, 128, 256],
  GROUP_SIZE_M: [1, 16, 32, 64],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
};

/** The first rule of a list that rules the config out, or null. */
export function firstReason<A extends unknown[]>(rules: Array<(c: Config, ...a: A) => PruneReason | null>, c: Config, ...args: A): PruneReason | null {
  for (const rule of rules) {
    const r = rule(c, ...args);
    if (r) return r;
  }
  return null;
}

/**
 * Experts that receive at least one of M tokens when each picks top_k distinct experts of E uniformly: the expected
 * count, E (1 - (1 - top_k/E)^M) (exactly top_k at M = 1). The MoE families' minimum bytes read these experts' weights.
 */
export const expectedActiveExperts = (E: number, topK: number, M: number): number => E * (1 - (1 - topK / E) ** M);

/** The shared memory limit kernels/ check against when they state it themselves (H100/H200 opt-in per block). */
export const KERNEL_SMEM: DeviceInfo = { name: 'kernel-limit', capability: [9, 0], sm_count: 1, shared_mem_per_block: 227 * 1024, l2_bytes: 0, memory_bytes: 0, hbm_GBps: null };
