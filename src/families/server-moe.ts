import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigEntry, ServerQuant } from '../schema/index.js';
import { moeLayers } from '../models/layers.js';
import { SERVER_SPACE, expectedActiveExperts, nextPow2 } from './rules.js';
import type { Axes, Config, KernelFamily, MRule, PeakKind, ShapeAtM, ShapeRule, WeightShape } from './types.js';

/**
 * The servers' own fused-MoE layer (kernels/server_moe.py): vLLM's fused_experts or SGLang's fused_moe with one
 * config for both GEMMs, as their tuning scripts run it. N = the per-rank intermediate size I, K = hidden, the
 * quantization a shape field. What differs between the servers (keys, names, defaults, rules) is stated per server
 * below and checked against the server's own functions (test/families/mirror.test.ts).
 */

/** The servers' tuning space (SERVER_SPACE; its BLOCK_SIZE_K 32 serves int4 groups). vLLM adds SPLIT_K 1: its
 * launchers set it (its wna16 kernel needs the key). */
const EXHAUSTIVE: Axes = SERVER_SPACE;

/** The default space: the tile, warps and stages axes; GROUP_SIZE_M 1 or 16 (L2 reuse matters little once each
 * expert's weights are read once per batch). */
const DEFAULT: Axes = { ...SERVER_SPACE, GROUP_SIZE_M: [1, 16] };

const FP8_BLOCK = 128;
const WNA16: ServerQuant[] = ['int4_w4a16', 'int8_w8a16'];
const WEIGHT_BYTES: Record<ServerQuant, number> = { bf16: 2, fp8_w8a8_block: 1, fp8_w8a8: 1, int8_w8a8: 1, int8_w8a16: 1, int4_w4a16: 0.5 };
const quantOf = (s: WeightShape): ServerQuant => (s.quant ?? 'bf16') as ServerQuant;
const groupOf = (s: WeightShape): number => s.group_size ?? 128;

/** kernels/server_moe.py wna16_cuda_path: vLLM serves int4 batches with M * top_k / E <= 6 with its CUDA kernel. */
const wna16CudaPath = (s: WeightShape, M: number): boolean =>
  quantOf(s) === 'int4_w4a16' && [32, 64, 128].includes(groupOf(s)) && (M * (s.top_k ?? 1)) / (s.E ?? 1) <= 6;

// kernels/server_moe.py invalid_reason, in its order (both servers)
const shapeRules: ShapeRule[] = [
  (c, s) => (quantOf(s) === 'fp8_w8a8_block' && (c.BLOCK_SIZE_K! > FP8_BLOCK || FP8_BLOCK % c.BLOCK_SIZE_K!) ? 'block_k_vs_quant_block' : null),
  (c, s) => {
    if (!WNA16.includes(quantOf(s))) return null;
    const [g, bk] = [groupOf(s), c.BLOCK_SIZE_K!];
    return (bk <= g ? g % bk : bk % g) ? 'block_k_vs_group' : null;
  },
];
const cudaPathRule: MRule = (c, s, M) => (wna16CudaPath(s, M) && (c.BLOCK_SIZE_K! % groupOf(s) || c.BLOCK_SIZE_M! > 64) ? 'wna16_cuda_path' : null);
/** Rows of a tile past an expert's share of the pairs are wasted: BLOCK_SIZE_M beyond twice next_pow2(M*top_k/E), and 16. */
const blockMOverM: MRule = (c, s, M) => (c.BLOCK_SIZE_M! > Math.max(16, 2 * nextPow2(Math.ceil((M * (s.top_k ?? 1)) / (s.E ?? 1)))) ? 'block_m_over_m' : null);

/**
 * vLLM 0.33.0's get_default_config on CUDA, as the launch ends up running it: block-quantized fp8 by its own rule;
 * wna16 only sets BLOCK_SIZE_M, and its Triton launcher fills BLOCK_SIZE_N/K (get_moe_wna16_block_config, for the up
 * GEMM; the down GEMM's fill-in differs at M = 1); Triton's num_warps 4 and num_stages 3 where none is given.
 * Checked against vLLM's own functions (test/families/mirror.test.ts).
 */
function vllmDefault(p: ShapeAtM): Config {
  const q = quantOf(p);
  const E = p.E ?? 1;
  if (q === 'fp8_w8a8_block') {
    const [bn, stages] = p.M <= 8 ? [64, p.M <= 4 ? 4 : 3] : [FP8_BLOCK, 3];
    return { BLOCK_SIZE_M: p.M <= 64 ? 16 : 64, BLOCK_SIZE_N: bn, BLOCK_SIZE_K: FP8_BLOCK, GROUP_SIZE_M: p.M <= 16 ? 1 : 32, num_warps: 4, num_stages: stages };
  }
  if (q === 'int4_w4a16') {
    // at M * top_k / E <= 6 vLLM on CUDA runs its compiled kernel; its Triton-kernel default is what is timed there
    const bm = p.M <= 20 ? 16 : p.M <= 40 ? 32 : 64;
    const [bn, bk] = p.M === 1 ? [32, 64] : [64, 32];
    return { BLOCK_SIZE_M: bm, BLOCK_SIZE_N: bn, BLOCK_SIZE_K: bk, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };
  }
  const bm = p.M <= 32 ? 16 : p.M <= 96 ? 32 : p.M <= 512 ? 64 : 128;
  return {
    BLOCK_SIZE_M: bm,
    BLOCK_SIZE_N: p.M <= 64 ? 64 : 128,
    BLOCK_SIZE_K: q === 'fp8_w8a8' || p.M <= 64 ? 128 : 64,
    GROUP_SIZE_M: Math.floor(p.M / Math.max(E, 1)) > 128 ? 16 : 1,
    num_warps: p.M <= 128 ? 4 : 8,
    num_stages: p.M <= 32 ? 4 : 3,
  };
}

/**
 * SGLang 0.5.23's get_default_config on an H100/H200 (227 KB of shared memory per block: not its low-memory fp8 rule):
 * fp8 by its own rules, the rest 64x64x32 (16x32x64 while M <= E); Triton's num_warps 4 / num_stages 3 where none.
 */
function sglangDefault(p: ShapeAtM): Config {
  const q = quantOf(p);
  const E = p.E ?? 1;
  const triton = { num_warps: 4, num_stages: 3 };
  if (q === 'fp8_w8a8_block') return { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: FP8_BLOCK, BLOCK_SIZE_K: FP8_BLOCK, GROUP_SIZE_M: 32, num_warps: 4, num_stages: 3 };
  if (q === 'fp8_w8a8') {
    return p.M <= E
      ? { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 4 }
      : { BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 256, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 32, num_warps: 8, num_stages: 4 };
  }
  return p.M <= E
    ? { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 32, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 1, ...triton }
    : { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 32, GROUP_SIZE_M: 8, ...triton };
}


/** kernels/server_moe.py expert_bytes: one expert's w1 [2I, hidden] and w2 [hidden, I] with their scales. */
function expertBytes(s: WeightShape): number {
  const q = quantOf(s);
  const elems = 3 * s.N * s.K;
  const scales: Partial<Record<ServerQuant, number>> = {
    fp8_w8a8_block: (elems / FP8_BLOCK ** 2) * 4,
    fp8_w8a8: 2 * 4,
    int8_w8a8: (2 * s.N + s.K) * 4,
    int8_w8a16: (2 * s.N + s.K) * 4,
    int4_w4a16: (elems / groupOf(s)) * 2,
  };
  return elems * WEIGHT_BYTES[q] + (scales[q] ?? 0);
}

const PEAK: Record<ServerQuant, PeakKind> = { bf16: 'bf16', fp8_w8a8_block: 'fp8', fp8_w8a8: 'fp8', int8_w8a8: 'int8', int8_w8a16: 'bf16', int4_w4a16: 'bf16' };

/** vLLM's _get_config_dtype_str as fused_experts calls it: no int8_w8a8 flag, so int8_w8a8 layers share the bf16 file. */
const VLLM_DTYPE: Record<ServerQuant, string | undefined> = {
  bf16: undefined,
  fp8_w8a8_block: 'fp8_w8a8',
  fp8_w8a8: 'fp8_w8a8',
  int8_w8a8: undefined,
  int8_w8a16: 'int8_w8a16',
  int4_w4a16: 'int4_w4a16',
};
/** SGLang's get_config_dtype_str: int8_w8a8 named too (and, per channel, marked so in the name). */
const SGLANG_DTYPE: Record<ServerQuant, string | undefined> = { ...VLLM_DTYPE, int8_w8a8: 'int8_w8a8' };

interface Server {
  name: 'vllm-moe' | 'sglang-moe';
  /** Config keys beyond the six (vLLM's SPLIT_K). */
  extraAxes: Axes;
  defaults: (p: ShapeAtM) => Config;
  /** Rules only this server has. */
  mRules: MRule[];
  kernelRules: KernelFamily['kernelRules'];
  nameFields: NonNullable<KernelFamily['nameFields']>;
  deviceSlug: NonNullable<KernelFamily['deviceSlug']>;
  shippedPath: NonNullable<KernelFamily['shippedPath']>;
  readFrom: NonNullable<KernelFamily['readFrom']>;
}

const fp8BlockFields = (s: WeightShape) => (quantOf(s) === 'fp8_w8a8_block' ? { block_n: FP8_BLOCK, block_k: FP8_BLOCK } : {});

const VLLM: Server = {
  name: 'vllm-moe',
  extraAxes: { SPLIT_K: [1] },
  defaults: vllmDefault,
  mRules: [cudaPathRule],
  kernelRules: ['block_k_vs_quant_block', 'block_k_vs_group', 'wna16_cuda_path'],
  // try_get_optimal_moe_config: N = w2.shape[2], doubled for int4 (so I either way); block shape only for fp8 blocks
  nameFields: (s) => ({ N: s.N, dtype: VLLM_DTYPE[quantOf(s)], ...fp8BlockFields(s) }),
  // get_config_file_name: the device name with whitespace and '/' as _, and any H200 variant as NVIDIA_H200
  deviceSlug: (name) => {
    const slug = name.replace(/[\s/]+/g, '_');
    return slug.split('_').includes('H200') ? 'NVIDIA_H200' : slug;
  },
  shippedPath: (shipped, name) => join(shipped, name), // get_moe_configs' fallback folder is flat
  readFrom: (folder) => `VLLM_TUNED_CONFIG_FOLDER=${folder}`,
};

const SGLANG: Server = {
  name: 'sglang-moe',
  extraAxes: {},
  defaults: sglangDefault,
  mRules: [],
  kernelRules: ['block_k_vs_quant_block', 'block_k_vs_group'],
  // try_get_optimal_moe_config: N = w2.shape[2] as is (I/2 for int4, two weights a byte)
  nameFields: (s) => ({
    N: quantOf(s) === 'int4_w4a16' ? s.N / 2 : s.N,
    dtype: SGLANG_DTYPE[quantOf(s)],
    ...fp8BlockFields(s),
    ...(quantOf(s) === 'int8_w8a8' ? { per_channel_quant: 'True' } : {}),
  }),
  // get_config_file_name: the device name with each space as _ (no family mapping)
  deviceSlug: (name) => name.replace(/ /g, '_'),
  shippedPath: sglangShippedPath,
  readFrom: (folder) => `SGLANG_MOE_CONFIG_DIR=${folder.replace(/\/configs\/triton_[0-9_]+$/, '')}`,
};

/**
 * The shipped file SGLang loads for a name: get_moe_configs reads configs/triton_<x_y_z>/ of the Triton it runs,
 * and where that folder lacks the name, the first other triton_* folder holding it, newest version first (with a
 * warning). Null when no folder has it.
 */
function sglangShippedPath(shipped: string, name: string, triton: string | null): string | null {
  if (!triton) return null;
  const own = `triton_${triton.replace(/\./g, '_')}`;
  if (existsSync(join(shipped, own, name))) return join(shipped, own, name);
  const version = (dir: string) => dir.slice('triton_'.length).split('_').map(Number);
  const newestFirst = (a: string, b: string) => {
    const [x, y] = [version(a), version(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
    return 0;
  };
  const others = existsSync(shipped) ? readdirSync(shipped).filter((d) => d.startsWith('triton_') && d !== own) : [];
  const found = others.sort(newestFirst).find((d) => existsSync(join(shipped, d, name)));
  return found ? join(shipped, found, name) : null;
}

function serverMoe(server: Server): KernelFamily {
  return {
    name: server.name,
    spaces: { default: { ...DEFAULT, ...server.extraAxes }, exhaustive: { ...EXHAUSTIVE, ...server.extraAxes } },
    shapeRules,
    mRules: [...server.mRules, blockMOverM],
    kernelRules: server.kernelRules,
    sharedMemoryBytes: () => 0, // left to Triton: a config over the limit fails its trial as invalid
    defaultConfig: (p) => ({ ...server.defaults(p), ...(server.extraAxes.SPLIT_K ? { SPLIT_K: 1 } : {}) }) as ConfigEntry,
    gemms: (shape) => [shape],
    shapesOf: (model, { groupSize, quant }) =>
      moeLayers(model).map((m) => ({
        shape: { N: m.N, K: m.K, E: m.E, top_k: m.top_k, quant, ...(quant === 'int4_w4a16' ? { group_size: groupSize } : {}) },
        layer: m.name,
      })),
    layerKind: 'MoE expert',
    problem: (s, M) => ({ M, N: s.N, K: s.K, E: s.E, top_k: s.top_k ?? 1, quant: quantOf(s), ...(s.group_size !== undefined ? { group_size: s.group_size } : {}) }),
    flops: (s, M) => 6 * M * (s.top_k ?? 1) * s.N * s.K,
    bytes: (s, M) => expectedActiveExperts(s.E ?? 1, s.top_k ?? 1, M) * expertBytes(s) + 4 * M * s.K,
    compileKey: (_s, shapeKey, _c, configKey, ms) => `${server.name}|${configKey}|${shapeKey}|M:${ms.join(',')}`, // every M its own binary
    compileOnly: true,
    specializesOnM: true,
    peak: (s) => PEAK[quantOf(s)],
    nameFields: server.nameFields,
    deviceSlug: server.deviceSlug,
    shippedPath: server.shippedPath,
    readFrom: server.readFrom,
  };
}

export const vllmMoe = serverMoe(VLLM);
export const sglangMoe = serverMoe(SGLANG);
