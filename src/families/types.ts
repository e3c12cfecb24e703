import type { BlockQuant, ConfigEntry, DeviceInfo, Family, ModelShapes, ServerQuant } from '../schema/index.js';

/**
 * A weight shape as tritune tunes it, the one type every layer passes around: W is [N, K]. E and top_k for MoE
 * families; group_size (and zero_points) for W4A16 ones; gemm for MoE: 'layer' (N = intermediate, K = hidden) is
 * both expert GEMMs with one config, as servers use a tuned file.
 */
export interface WeightShape {
  N: number;
  K: number;
  E?: number;
  top_k?: number;
  group_size?: number;
  zero_points?: boolean;
  gemm?: 'up' | 'down' | 'layer';
  /** Server MoE families: the layer's quantization; server block GEMMs: fp8 or int8. */
  quant?: ServerQuant | BlockQuant;
  /** Server block GEMMs: the weight block [block_n, block_k] one scale covers. */
  block_n?: number;
  block_k?: number;
}

/** One problem: a weight shape at M rows (tokens). */
export type ShapeAtM = WeightShape & { M: number };

/** The values each config axis takes; a space is the product of its axes. */
export type Axes = Record<string, number[]>;

export type Config = Record<string, number>;

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
  block_k_over_group: 'BLOCK_SIZE_K over the quantization group size (a K block lies in one group)',
  accumulator_registers: 'fp32 accumulator over 128 registers per thread (BLOCK_SIZE_M x BLOCK_SIZE_N / threads)',
  block_k_vs_quant_block: 'BLOCK_SIZE_K does not divide the fp8 weight block (the server caps it there)',
  block_k_vs_weight_block: "BLOCK_SIZE_K does not divide the weight block's block_k (one scale per K tile)",
  sm90_fp8_keys: "SWAP_AB / SPLIT_K select SGLang's SM90 fp8 kernel: not this GPU or dtype",
  swap_ab_wide_m: 'SWAP_AB with BLOCK_SIZE_M over 64 (the transpose pays for narrow token tiles)',
  dequant_gemm_fixed: 'DEQUANT_GEMM with a key the prefill path ignores off its one value (kernels/w4a16.py DEQUANT_FIXED)',
  dequant_gemm_decode: 'DEQUANT_GEMM below 256 tokens, where writing W costs more than the GEMM (per M)',
  tma_dequant_gemm: 'TMA with DEQUANT_GEMM (TMA is a path of the fused kernel)',
  tma_k_multiple: 'TMA with K not a multiple of 32 (a row of packed words must be whole 16 bytes)',
  tma_arch: 'TMA on a GPU before Hopper (sm_90)',
  reg_a_path: 'REG_A with DEQUANT_GEMM or TMA, or a key it ignores off its one value (kernels/w4a16.py REG_A_FIXED)',
  reg_a_decode: 'REG_A below 256 tokens, where its token tile of 64 or more is mostly empty (per M)',
  reg_a_block_k: 'REG_A with BLOCK_SIZE_K not 64 or 128, not dividing K or the group size',
  reg_a_tile: 'REG_A with a tile its wgmma cannot take (BLOCK_SIZE_N a multiple of 16 x num_warps, BLOCK_SIZE_M 64, 128 or 256), K / BLOCK_SIZE_K odd or one stage',
  reg_a_registers: 'REG_A over 176 registers a thread for the accumulator, two fragments and the words (kernels/w4a16_gluon_prefill.py rega_registers)',
  reg_a_arch: 'REG_A on a GPU before Hopper (sm_90: wgmma)',
  fused_block_m_256: "W4A16's fused kernel with BLOCK_SIZE_M 256 (the token tile of REG_A): 1.16-2.03x its best tile at every M of the W4A16 journal",
  wna16_cuda_path: "not runnable by vLLM's small-batch wna16 CUDA kernel (BLOCK_SIZE_K a multiple of the group size, BLOCK_SIZE_M <= 64; per M)",
} as const;
export type PruneReason = keyof typeof PRUNE_REASONS;

/** A rule that holds for every M of a shape, and one that depends on M; each names its reason or returns null. */
export type ShapeRule = (c: Config, s: WeightShape, d: DeviceInfo) => PruneReason | null;
export type MRule = (c: Config, s: WeightShape, M: number, d: DeviceInfo) => PruneReason | null;

/** Which datasheet compute peak a family's math runs at (the roofline's flat part). */
export type PeakKind = 'int8' | 'fp8' | 'bf16';

/** One weight shape of a model for a family, and the layer it comes from. */
export interface ModelShape {
  shape: WeightShape;
  layer: string;
}

/**
 * Everything the TypeScript side knows of one kernel family: the twin of kernels/<family>.py, registered in
 * src/families/index.ts as kernels/family.py registers the Python module. Formats (dtype tag, name grammar, config
 * keys, problem fields) are data in src/schema/formats.ts; rules that mirror kernels/<family>.py are checked pair by
 * pair against it (test/families/mirror.test.ts).
 */
export interface KernelFamily {
  name: Family;
  /** Named search spaces. */
  spaces: { default: Axes; exhaustive: Axes };
  /** Static pruning, in the kernel's order: per shape (hold for every M) and per M. */
  shapeRules: ShapeRule[];
  mRules: MRule[];
  /** The reasons that mirror kernels/<family>.py invalid_reason exactly; the others drop what cannot win. */
  kernelRules: PruneReason[];
  /** Shared memory one CTA needs, in bytes, by the family's own estimate. */
  sharedMemoryBytes(c: Config, shape: WeightShape): number;
  /** The untuned config the kernel (or the server) uses without a tuned file. */
  defaultConfig(p: ShapeAtM): ConfigEntry;
  /** Configs every search also starts from at an M, besides the default: one for each path of the kernel that the
   * default does not take there (W4A16's REG_A), so that a search on a small budget reaches it (seedConfigs). */
  pathSeeds?(p: ShapeAtM): ConfigEntry[];
  /** The GEMMs one problem launches (a MoE 'layer': its up and down GEMM); rules and costs add over them. */
  gemms(shape: WeightShape): WeightShape[];
  /** The weight shapes of a model this family tunes; what a model without any is missing, for the error. */
  shapesOf(model: ModelShapes, opts: { groupSize: number; quant: ServerQuant }): ModelShape[];
  layerKind: string;
  /** The problem dict of one worker request (src/schema/formats.ts problem schema; defaults fill the rest). */
  problem(shape: WeightShape, M: number): Record<string, unknown>;
  /** 2 x multiply-adds, and the minimum bytes one launch moves (the roofline's numerator); kernels/ has the same. */
  flops(shape: WeightShape, M: number): number;
  bytes(shape: WeightShape, M: number): number;
  /**
   * What Triton specializes the binaries of one compile job (a config over a shape's Ms) on: jobs with one key share
   * one compile, so the key names everything that changes a binary, what of the Ms too where the kernel
   * specializes on M (kernels/<family>.py compile_variant).
   */
  compileKey(shape: WeightShape, shapeKey: string, config: Config, configKey: string, ms: number[]): string;
  /** Whether compile workers can compile without a GPU (kernels/<family>.py has compile_only). */
  compileOnly: boolean;
  /**
   * Whether the binaries differ by M (kernels/<family>.py compile_variant differs between Ms): a compile job then
   * covers every M of its unit, and its key names them, so another unit of the same shape gets its own compiled.
   */
  specializesOnM: boolean;
  /** The math a shape runs at: which datasheet peak is its roofline's flat part. */
  peak(shape: WeightShape): PeakKind;
  /** Values for the file-name grammar beyond the shape's own fields (a server's N, dtype tag, block shape). */
  nameFields?(shape: WeightShape): Record<string, number | string | undefined>;
  /** The device part of file names, where the reader maps names its own way (vLLM: every H200 is NVIDIA_H200). */
  deviceSlug?(deviceName: string): string;
  /** Server families: how the server is made to read the files written to `folder` (one line, for `tune models`). */
  readFrom?(folder: string): string;
  /** Server families: where the release's own tuned file of this name lies under its shipped-configs folder. */
  shippedPath?(shipped: string, name: string, triton: string | null): string | null;
}
