import type { ConfigEntry } from '../schema/index.js';
import { moeLayers } from '../models/layers.js';
import { configKey } from '../space/key.js';
import { KERNEL_SMEM, SERVER_SPACE, accumulatorRule, expectedActiveExperts, nextPow2, sharedMemoryRule, tmaRules } from './rules.js';
import type { Axes, Config, KernelFamily, ShapeAtM, ShapeRule, WeightShape } from './types.js';

/** MoE W4A16 (kernels/moe_w4a16.py): grouped int4-weight expert GEMMs, tuned per layer (both GEMMs, one config). Each
 * expert's product is transposed as in the dense W4A16 kernel: the weight tile (BLOCK_SIZE_N) on the MMA's wide side,
 * the expert's rows (BLOCK_SIZE_M) on its narrow one. */

/** vLLM's fused_moe axes (SERVER_SPACE, the servers' 1920-config space; its BK 32 serves int4 groups), each tile
 * without and with TMA (the kernel's own key). */
const EXHAUSTIVE: Axes = { ...SERVER_SPACE, TMA: [0, 1] };

/** On the H200 journal of the space before TMA came in (docs/BENCHMARKS.md) BLOCK_SIZE_K 32 and num_stages 2 were
 * never within 3 % of an (M, GEMM)'s best; the default space spends their configs on TMA. */
const DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128],
  BLOCK_SIZE_N: [64, 128, 256], // 64 rows per warp group (wgmma); 16 and 32 were 1.4-2x slower at M <= 16 on an H200
  BLOCK_SIZE_K: [64, 128],
  GROUP_SIZE_M: [1, 16],
  num_warps: [4, 8],
  num_stages: [3, 4],
  TMA: [0, 1],
};

/** kernels/moe_w4a16.py gemm_problems: a 'layer' (N = I, K = hidden) is up [2I, hidden] and down [hidden, I]. */
function gemms(s: WeightShape): WeightShape[] {
  if (s.gemm !== 'layer') return [s];
  return [
    { ...s, gemm: 'up', N: 2 * s.N },
    { ...s, gemm: 'down', N: s.K, K: s.N },
  ];
}

const groupOf = (s: WeightShape): number => (s.group_size === undefined || s.group_size === -1 ? s.K : s.group_size);

/**
 * kernels/moe_w4a16.py smem_bytes (fitted there to the compiled kernels): num_stages buffers of the bf16 activation
 * tile, one fewer of the packed int4 weight tile, a row of BLOCK_SIZE_N fp32, and with TMA 8 bytes per weight buffer.
 */
const sharedMemoryBytes = (c: Config): number =>
  c.num_stages! * c.BLOCK_SIZE_M! * c.BLOCK_SIZE_K! * 2 +
  Math.floor(((c.num_stages! - 1) * c.BLOCK_SIZE_K! * c.BLOCK_SIZE_N!) / 2) +
  c.BLOCK_SIZE_N! * 4 +
  (c.TMA ? 8 * (c.num_stages! - 1) : 0); // with TMA an mbarrier for each weight tile's buffer

/** A rule applied to each GEMM of the shape: the first GEMM's reason wins (kernels/moe_w4a16.py invalid_reason). */
const eachGemm =
  (rule: ShapeRule): ShapeRule =>
  (c, s, d) => {
    for (const g of gemms(s)) {
      const r = rule(c, g, d);
      if (r) return r;
    }
    return null;
  };

// kernels/moe_w4a16.py invalid_reason, in its order
const gemmRules: ShapeRule[] = [
  (c, s) => (s.K % c.BLOCK_SIZE_K! ? 'block_k_vs_k' : null),
  // each K block takes one scale row: BLOCK_SIZE_K divides the group
  (c, s) => (groupOf(s) % c.BLOCK_SIZE_K! ? (c.BLOCK_SIZE_K! > groupOf(s) ? 'block_k_over_group' : 'block_k_vs_group') : null),
  (c, s) => (c.BLOCK_SIZE_N! > Math.max(16, nextPow2(s.N)) ? 'tile_over_problem' : null),
  ...tmaRules,
  accumulatorRule,
  sharedMemoryRule(sharedMemoryBytes),
];
const shapeRules = gemmRules.map(eachGemm);
const mRules = [(c: Config, _s: WeightShape, M: number) => (c.BLOCK_SIZE_M! > Math.max(16, nextPow2(M)) ? ('block_m_over_m' as const) : null)];

/**
 * kernels/moe_w4a16.py default_config: tiles by mean pairs per expert t = M*top_k/E (its H200 journal's best),
 * clipped to the problem (BLOCK_SIZE_N to its narrowest GEMM), BLOCK_SIZE_K halved until valid (for a layer: both).
 */
function defaultConfig(p: ShapeAtM): ConfigEntry {
  const t = (p.M * (p.top_k ?? 1)) / (p.E ?? 1);
  const c: Config =
    t <= 8
      ? { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 4 }
      : t <= 64
        ? { BLOCK_SIZE_M: 32, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 16, num_warps: 4, num_stages: 4 }
        : { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 16, num_warps: 4, num_stages: 4 };
  const shape = clipToProblem(c, p);
  const invalid = () => [...shapeRules.map((r) => r(c, shape, KERNEL_SMEM)), ...mRules.map((r) => r(c, shape, p.M))].some((r) => r !== null);
  while (c.BLOCK_SIZE_K! > 16 && invalid()) c.BLOCK_SIZE_K! /= 2;
  return { ...c, TMA: 0 } as ConfigEntry; // spelled out as the space's configs are; 0 runs without Hopper too
}

/** Clips a tile to the problem in place, as kernels/moe_w4a16.py default_config does (BLOCK_SIZE_M to M, BLOCK_SIZE_N to
 * the narrowest GEMM), and returns the problem's weight shape. */
function clipToProblem(c: Config, p: ShapeAtM): WeightShape {
  c.BLOCK_SIZE_M = Math.min(c.BLOCK_SIZE_M!, Math.max(16, nextPow2(p.M)));
  const shape: WeightShape = { N: p.N, K: p.K, E: p.E, top_k: p.top_k, group_size: p.group_size ?? 128, zero_points: p.zero_points ?? false, gemm: p.gemm ?? 'up' };
  c.BLOCK_SIZE_N = Math.min(c.BLOCK_SIZE_N!, Math.max(16, nextPow2(Math.min(...gemms(shape).map((g) => g.N)))));
  return shape;
}

/** The TMA path, which no default takes (they run without Hopper too): per regime of t = M*top_k/E the TMA tile that
 * won most Ms of that regime in the H200 journal of the layer (test/data/journals; docs/BENCHMARKS.md), t <= 8 16 x 256
 * tiles, above that 64 x 128 (both BLOCK_SIZE_K 128, 4 warps, 3 stages), clipped to the problem as the default is.
 * Where it cannot run (before Hopper, K not a multiple of 32, a tile the clipping leaves off the space) the search
 * skips it. */
function pathSeeds(p: ShapeAtM): ConfigEntry[] {
  const t = (p.M * (p.top_k ?? 1)) / (p.E ?? 1);
  const c: Config =
    t <= 8
      ? { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 256, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3, TMA: 1 }
      : { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 16, num_warps: 4, num_stages: 3, TMA: 1 };
  clipToProblem(c, p);
  return [c as ConfigEntry];
}

// kernels/moe_w4a16.py min_bytes counts the experts of its seeded routing; the roofline here takes the expected count
export { expectedActiveExperts };

/**
 * kernels/moe_w4a16.py moe_bytes, per GEMM: the active experts' int4 weights, scales and zero points, the
 * activations (M rows into the up GEMM, M*top_k into the down GEMM), the M*top_k output rows and their router data.
 */
function bytes(s: WeightShape, M: number): number {
  const topK = s.top_k ?? 1;
  const active = expectedActiveExperts(s.E ?? 1, topK, M);
  let total = 0;
  for (const q of gemms({ ...s, gemm: s.gemm ?? 'up' })) {
    const perExpert = (q.K * q.N) / 2 + Math.floor(q.K / groupOf(q)) * q.N * (2 + (q.zero_points ? 1 : 0));
    const rows = q.gemm === 'down' ? M * topK : M;
    total += active * perExpert + rows * q.K * 2 + M * topK * (q.N * 2 + 8);
  }
  return total;
}

/**
 * K is a constexpr and the ints M enters (the pair count M*top_k, the grid bound) are not specialized
 * (kernels/moe_w4a16.py compile_variant): one binary per config and shape serves every M. GROUP_SIZE_M is an int
 * argument, not specialized either, so configs that differ only in it share their binary: the key leaves it out. It
 * holds every field of the shape (the file's shape key leaves out top_k, gemm and zero points).
 */
function compileKey(s: WeightShape, _shapeKey: string, c: Config, _configKey: string, _ms: number[]): string {
  const { GROUP_SIZE_M: _grouping, ...binary } = c as Record<string, number>;
  const shape = `E:${s.E}|N:${s.N}|K:${s.K}|top_k:${s.top_k ?? 1}|gemm:${s.gemm ?? 'up'}|group:${s.group_size ?? 128}|zp:${s.zero_points ?? false}`;
  return `moe-w4a16|${configKey(binary)}|${shape}`;
}

export const moeW4a16: KernelFamily = {
  name: 'moe-w4a16',
  spaces: { default: DEFAULT, exhaustive: EXHAUSTIVE },
  shapeRules,
  mRules,
  kernelRules: ['block_k_vs_k', 'block_k_over_group', 'block_k_vs_group', 'tile_over_problem', 'tma_k_multiple', 'accumulator_registers', 'shared_memory', 'block_m_over_m'],
  sharedMemoryBytes,
  defaultConfig,
  pathSeeds,
  gemms,
  // one unit per MoE layer (N = intermediate, K = hidden): servers use one file and one config for both GEMMs
  shapesOf: (model, { groupSize }) =>
    moeLayers(model).map((m) => ({ shape: { N: m.N, K: m.K, E: m.E, top_k: m.top_k, gemm: m.gemm, group_size: groupSize }, layer: m.name })),
  layerKind: 'MoE expert',
  problem: (s, M) => ({
    M,
    N: s.N,
    K: s.K,
    E: s.E,
    top_k: s.top_k ?? 1,
    gemm: s.gemm ?? 'up',
    group_size: s.group_size ?? 128,
    ...(s.zero_points !== undefined ? { zero_points: s.zero_points } : {}),
  }),
  flops: (s, M) => gemms(s).reduce((sum, g) => sum + 2 * M * (s.top_k ?? 1) * g.N * g.K, 0),
  bytes,
  compileKey,
  compileOnly: true,
  specializesOnM: false,
  peak: () => 'bf16',
};
