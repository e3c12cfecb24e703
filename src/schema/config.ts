import { z } from 'zod';
import { MKey, powerOfTwo } from './family.js';

/** The six keys every Triton GEMM config file carries (the vLLM / SGLang format). */
const baseEntry = {
  BLOCK_SIZE_M: powerOfTwo(16, 256),
  BLOCK_SIZE_N: powerOfTwo(16, 256),
  BLOCK_SIZE_K: powerOfTwo(16, 512),
  GROUP_SIZE_M: powerOfTwo(1, 64),
  num_warps: powerOfTwo(1, 16),
  num_stages: z.number().int().min(1).max(8),
};

/** Split-K: how many CTAs share the K dimension of one output tile (1 = no split). */
const SPLIT_K = z.number().int().min(1).max(64);

export const W8A8Entry = z.strictObject({ ...baseEntry, SPLIT_K });
/** K_UNROLL: K blocks (of BLOCK_SIZE_K) processed per main-loop iteration. */
/** DEQUANT_GEMM: 1 = the prefill path (W dequantized once by a Triton pass, then the dense GEMM; kernels/w4a16.py). */
/** TMA: 1 = the fused kernel loads its packed words through a TMA tensor descriptor (Hopper; kernels/w4a16.py). */
/** REG_A: 1 = the Gluon prefill path, the dequantized weights in the wgmma's register operand (Hopper; kernels/w4a16.py). */
export const W4A16Entry = z.strictObject({
  ...baseEntry,
  SPLIT_K,
  K_UNROLL: powerOfTwo(1, 8),
  DEQUANT_GEMM: z.union([z.literal(0), z.literal(1)]).optional(),
  TMA: z.union([z.literal(0), z.literal(1)]).optional(),
  REG_A: z.union([z.literal(0), z.literal(1)]).optional(),
});
/** MoE TMA: 1 = each expert's packed weight tile through a TMA tensor descriptor (Hopper; kernels/moe_w4a16.py). */
export const MoEW4A16Entry = z.strictObject({ ...baseEntry, TMA: z.union([z.literal(0), z.literal(1)]).optional() });
/** vLLM's fused-MoE configs carry SPLIT_K (its wna16 kernel requires it; its other launchers set it to 1 themselves). */
export const VllmMoEEntry = z.strictObject({ ...baseEntry, SPLIT_K: z.literal(1) });

export type W8A8Entry = z.infer<typeof W8A8Entry>;
export type W4A16Entry = z.infer<typeof W4A16Entry>;
export type MoEW4A16Entry = z.infer<typeof MoEW4A16Entry>;
/** SGLang's fused-MoE configs: the six keys only (its kernels have no SPLIT_K). */
export const SGLangMoEEntry = z.strictObject({ ...baseEntry });
export type VllmMoEEntry = z.infer<typeof VllmMoEEntry>;
/** vLLM's block-quantized W8A8 GEMM configs: the six keys (what its launcher passes on every device). */
export const ServerBlockEntry = z.strictObject({ ...baseEntry });
/**
 * SGLang's block-quantized W8A8 GEMM configs. On SM90 an fp8 entry with SWAP_AB true or SPLIT_K > 1 runs another
 * kernel (_w8a8_block_fp8_matmul_hopper: the MMA transposed so the weight tile fills the MMA's M side; K split over
 * SPLIT_K CTAs whose fp32 partials a second kernel sums). In a config SWAP_AB is 0 or 1 like every axis; in a file it
 * is a boolean, and both keys are left out where they are 0 and 1 (SGLANG_BLOCK_OPTIONAL_KEYS).
 */
export const SGLangBlockEntry = z.strictObject({ ...baseEntry, SWAP_AB: z.union([z.literal(0), z.literal(1)]), SPLIT_K: powerOfTwo(1, 64) });
export type SGLangBlockEntry = z.infer<typeof SGLangBlockEntry>;
export type ConfigEntry = W8A8Entry | W4A16Entry | MoEW4A16Entry | VllmMoEEntry | SGLangBlockEntry;

/**
 * A tuned-config file body: M (decimal string) -> config. Key order and duplicates cannot be seen
 * after JSON.parse (integer-like keys are reordered by JS), so those are checked on the raw text
 * by the store's reader; this schema checks everything else.
 */
export const tunedConfigBody = (entry: z.ZodType) =>
  z.record(MKey, entry).refine((o) => Object.keys(o).length > 0, { message: 'file has no entries' });

export type TunedConfigFile = Record<string, ConfigEntry>;
