import { join } from 'node:path';
import type { BlockQuant, ConfigEntry } from '../schema/index.js';
import { blockQuantOf } from '../models/block.js';
import { SERVER_SPACE, cdiv, denseBlockM, splitOnFullGrid } from './rules.js';
import type { Axes, Config, KernelFamily, MRule, PruneReason, ShapeAtM, ShapeRule, WeightShape } from './types.js';

/**
 * The servers' own block-quantized W8A8 GEMM (kernels/server_block.py): vLLM's w8a8_triton_block_scaled_mm (fp8) and
 * SGLang's w8a8_block_fp8_matmul_triton / w8a8_block_int8_matmul, one dense linear layer W [N, K] per rank with one
 * scale per [block_n, block_k] block. What differs between the servers (default stages, names, int8) is stated per
 * server below and checked against the server's own functions (test/families/mirror.test.ts).
 */

/** The servers' tuning space (SERVER_SPACE: vLLM's benchmark_w8a8_block_fp8.py searches the same). */
const EXHAUSTIVE: Axes = SERVER_SPACE;

/** The default space: GROUP_SIZE_M 1, 16 or 32 (the servers' default is 32; L2 reuse of the weight across M tiles). */
const DEFAULT: Axes = { ...EXHAUSTIVE, GROUP_SIZE_M: [1, 16, 32] };

/** SGLang's SM90 fp8 keys (src/schema/config.ts SGLangBlockEntry): the transposed MMA, and split-K up to 16 (the values
 * SGLang's own H200 files use; its launcher asserts a power of two). */
const SM90_AXES: Axes = { SWAP_AB: [0, 1], SPLIT_K: [1, 2, 4, 8, 16] };

const sm90Kernel = (c: Config): boolean => c.SWAP_AB === 1 || (c.SPLIT_K ?? 1) > 1;

const quantOf = (s: WeightShape): BlockQuant => (s.quant ?? 'fp8') as BlockQuant;
const blockOf = (s: WeightShape): [number, number] => [s.block_n ?? 128, s.block_k ?? 128];

// kernels/server_block.py invalid_reason: one activation and one weight scale per K tile
const blockKRule: ShapeRule = (c, s) => (blockOf(s)[1] % c.BLOCK_SIZE_K! ? 'block_k_vs_weight_block' : null);

/** SGLang's SM90 kernel runs for fp8 on compute capability 9.0 only; elsewhere its keys reach a kernel without them
 * (kernels/server_block.py invalid_reason states the dtype half; the device half fails in the server itself). */
const sm90Only: ShapeRule = (c, s, d) => (sm90Kernel(c) && (quantOf(s) !== 'fp8' || d.capability[0] !== 9 || d.capability[1] !== 0) ? 'sm90_fp8_keys' : null);

/** Heuristics of the SM90 keys, like splitOnFullGrid: the transpose pays where the token tile is narrower than the
 * MMA (every SWAP_AB entry SGLang ships has BLOCK_SIZE_M <= 64), and a split past the K tiles only adds empty CTAs. */
const sm90Heuristics: ShapeRule[] = [
  (c) => (c.SWAP_AB === 1 && c.BLOCK_SIZE_M! > 64 ? 'swap_ab_wide_m' : null),
  (c, s) => ((c.SPLIT_K ?? 1) > cdiv(s.K, c.BLOCK_SIZE_K!) ? 'split_k_no_k' : null),
];

interface Server {
  name: 'vllm-w8a8-block' | 'sglang-w8a8-block';
  quants: BlockQuant[];
  /** The default config's num_stages (the rest: BLOCK_SIZE_M 64, the block, GROUP_SIZE_M 32, 4 warps). */
  stages: number;
  /** Axes beyond the six keys, with the rules they bring (SGLang's SM90 kernel). */
  extra?: { axes: Axes; shapeRules: ShapeRule[]; mRules: MRule[]; kernelRules: PruneReason[]; absent: Config };
  deviceSlug: NonNullable<KernelFamily['deviceSlug']>;
}

const VLLM: Server = {
  name: 'vllm-w8a8-block',
  quants: ['fp8'], // vLLM 0.33.0 has no block int8 GEMM
  stages: 2,
  // get_device_name_as_file_name: whitespace and '/' as _ (no H200 family mapping here, unlike its MoE names)
  deviceSlug: (name) => name.replace(/[\s/]+/g, '_'),
};

const SGLANG: Server = {
  name: 'sglang-w8a8-block',
  quants: ['fp8', 'int8'],
  stages: 3,
  extra: { axes: SM90_AXES, shapeRules: [sm90Only, ...sm90Heuristics], mRules: [splitOnFullGrid], kernelRules: ['sm90_fp8_keys'], absent: { SWAP_AB: 0, SPLIT_K: 1 } },
  deviceSlug: (name) => name.replace(/ /g, '_'), // get_device_name().replace(" ", "_")
};

function serverBlock(server: Server): KernelFamily {
  const extra = server.extra;
  return {
    name: server.name,
    spaces: { default: { ...DEFAULT, ...extra?.axes }, exhaustive: { ...EXHAUSTIVE, ...extra?.axes } },
    shapeRules: [blockKRule, ...(extra?.shapeRules ?? [])],
    mRules: [denseBlockM, ...(extra?.mRules ?? [])],
    kernelRules: ['block_k_vs_weight_block', ...(extra?.kernelRules ?? [])],
    sharedMemoryBytes: () => 0, // left to Triton: a config over the limit fails its trial as invalid
    defaultConfig: (p: ShapeAtM) => {
      const [bn, bk] = blockOf(p);
      return { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: bn, BLOCK_SIZE_K: bk, GROUP_SIZE_M: 32, num_warps: 4, num_stages: server.stages, ...extra?.absent } as ConfigEntry;
    },
    gemms: (shape) => [shape],
    shapesOf: (model, { quant }) => {
      const q = blockQuantOf(model, quant);
      if (!q || !server.quants.includes(q.quant)) return [];
      return model.dense.map((d) => ({ shape: { N: d.N, K: d.K, ...q }, layer: d.name }));
    },
    layerKind: `block-quantized ${server.quants.join(' or ')} linear (a checkpoint with weight_block_size, or --quant fp8_w8a8_block)`,
    problem: (s, M) => {
      const [bn, bk] = blockOf(s);
      return { M, N: s.N, K: s.K, quant: quantOf(s), block_n: bn, block_k: bk };
    },
    flops: (s, M) => 2 * M * s.N * s.K,
    // kernels/servers/block.py min_bytes: weight and block scales, quantized activation and group scales, bf16 output
    bytes: (s, M) => {
      const [bn, bk] = blockOf(s);
      return s.N * s.K + Math.ceil(s.N / bn) * Math.floor(s.K / bk) * 4 + M * s.K + M * Math.floor(s.K / bk) * 4 + 2 * M * s.N;
    },
    compileKey: (_s, shapeKey, _c, configKey, ms) => `${server.name}|${configKey}|${shapeKey}|M:${ms.join(',')}`, // every M its own binary
    compileOnly: true,
    specializesOnM: true,
    peak: (s) => (quantOf(s) === 'int8' ? 'int8' : 'fp8'),
    nameFields: (s) => {
      const [bn, bk] = blockOf(s);
      return { dtype: `${quantOf(s)}_w8a8`, block_n: bn, block_k: bk };
    },
    deviceSlug: server.deviceSlug,
    // the release's own configs/ folder, flat
    shippedPath: (shipped, name) => join(shipped, name),
    // no environment variable: the lookup reads only the configs/ folder beside its own module
    readFrom: (folder) => `copy ${folder}/*.json into the installed package's ${folder.slice(folder.indexOf('/') + 1)}/ (no environment variable)`,
  };
}

export const vllmW8a8Block = serverBlock(VLLM);
export const sglangW8a8Block = serverBlock(SGLANG);
