import type { ConfigEntry, Family } from '../schema/index.js';
import { cdiv, denseBlockM, nextPow2, sharedMemoryRule, splitOnFullGrid, tritonInt } from './rules.js';
import type { Axes, Config, KernelFamily, ShapeAtM, WeightShape } from './types.js';

/** W8A8 scaled matmul (kernels/w8a8.py): int8 or fp8 A and W, per-tensor/token/channel scales, split-K. */

/**
 * The exhaustive space: vLLM's MoE tuning space (BM 16-256, BN 32-256, BK 64-256, GROUP_M 1-64, warps 4/8,
 * stages 2-5: 1920 configs) times SPLIT_K 1-8, which the dense small-M shapes need to fill the GPU.
 */
const EXHAUSTIVE: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [32, 64, 128, 256],
  BLOCK_SIZE_K: [64, 128, 256],
  GROUP_SIZE_M: [1, 16, 32, 64],
  num_warps: [4, 8],
  num_stages: [2, 3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
};

/**
 * The default space: the axes that decide the winner on the Qwen3 shapes (tile, warps, stages, split-K);
 * GROUP_SIZE_M fixed at 8 (L2 swizzle matters little once weights stream from HBM), BLOCK_SIZE_N from 64
 * (narrower tiles only add CTAs, which SPLIT_K does more cheaply).
 */
const DEFAULT: Axes = {
  BLOCK_SIZE_M: [16, 32, 64, 128, 256],
  BLOCK_SIZE_N: [64, 128, 256],
  BLOCK_SIZE_K: [64, 128, 256],
  GROUP_SIZE_M: [8],
  num_warps: [4, 8],
  num_stages: [3, 4, 5],
  SPLIT_K: [1, 2, 4, 8],
};

/**
 * kernels/w8a8.py leaves shared memory to Triton; estimated here: the pipeline keeps copies of the 8-bit A and B
 * tiles, `num_stages` of them on the wgmma path (BLOCK_SIZE_M >= 64 on Hopper) and `num_stages - 1` on the mma path;
 * exact against every out-of-resources size Triton 3.6 reported on an H200 in the committed journal
 * (test/search/proof.test.ts checks it).
 */
const sharedMemoryBytes = (c: Config): number =>
  (c.BLOCK_SIZE_M! >= 64 ? c.num_stages! : c.num_stages! - 1) * (c.BLOCK_SIZE_M! + c.BLOCK_SIZE_N!) * c.BLOCK_SIZE_K!;

/** kernels/w8a8.py default_config: vLLM's triton_scaled_mm tile rule; GROUP_SIZE_M 1, warps and stages at Triton's 4 and 3. */
function defaultConfig(p: ShapeAtM): ConfigEntry {
  const mp2 = Math.max(32, nextPow2(p.M));
  const smallN = p.N < 8192;
  const [bm, bn, bk] =
    mp2 <= 32 ? (smallN ? [64, 64, 256] : [64, 128, 256]) : mp2 <= 64 ? [64, 64, 256] : mp2 <= 128 ? [64, 128, 128] : [128, 128, 128];
  return { BLOCK_SIZE_M: bm!, BLOCK_SIZE_N: bn!, BLOCK_SIZE_K: bk!, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3, SPLIT_K: 1 };
}

/**
 * The kernel takes M unspecialized and N, K and the strides as plain ints, which Triton specializes only on
 * divisibility by 16 (and on the value 1); its constexprs beyond the config are EVEN_K (K % (BLOCK_SIZE_K *
 * SPLIT_K) == 0) and problem options fixed per family here. So shapes that agree on those share one binary.
 */
function compileKey(name: Family) {
  return (shape: WeightShape, _shapeKey: string, config: Config, configKey: string): string => {
    const evenK = shape.K % (config.BLOCK_SIZE_K! * config.SPLIT_K!) === 0;
    return `${name}|${configKey}|N:${tritonInt(shape.N)}|K:${tritonInt(shape.K)}|even:${evenK}`;
  };
}

function w8a8(name: 'w8a8-int8' | 'w8a8-fp8'): KernelFamily {
  return {
    name,
    spaces: { default: DEFAULT, exhaustive: EXHAUSTIVE },
    // kernels/w8a8.py: SPLIT_K in 1..cdiv(K, BLOCK_SIZE_K); shared memory is left to Triton there, estimated here
    shapeRules: [
      sharedMemoryRule(sharedMemoryBytes),
      (c, s) => (c.BLOCK_SIZE_N! > Math.max(16, 2 * nextPow2(s.N)) || c.BLOCK_SIZE_K! > Math.max(32, 2 * nextPow2(s.K)) ? 'tile_over_problem' : null),
      (c, s) => ((c.SPLIT_K ?? 1) > cdiv(s.K, c.BLOCK_SIZE_K!) ? 'split_k_no_k' : null),
    ],
    mRules: [denseBlockM, splitOnFullGrid],
    kernelRules: ['split_k_no_k'],
    sharedMemoryBytes,
    defaultConfig,
    gemms: (shape) => [shape],
    shapesOf: (model) => model.dense.map((d) => ({ shape: { N: d.N, K: d.K }, layer: d.name })),
    layerKind: 'dense linear',
    problem: (shape, M) => ({ M, N: shape.N, K: shape.K }),
    flops: (shape, M) => 2 * M * shape.N * shape.K,
    // int8/fp8 A and W, per-token A scales and per-channel W scales (fp32), bf16 C (kernels/w8a8.py min_bytes)
    bytes: (shape, M) => M * shape.K + shape.N * shape.K + 4 * (M + shape.N) + 2 * M * shape.N,
    compileKey: compileKey(name),
    compileOnly: true,
    specializesOnM: false,
    peak: () => (name === 'w8a8-int8' ? 'int8' : 'fp8'),
  };
}

export const w8a8Int8 = w8a8('w8a8-int8');
export const w8a8Fp8 = w8a8('w8a8-fp8');
