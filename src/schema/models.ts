import { z } from 'zod';
import { BlockQuant } from './problem.js';

/** One dense linear layer as a GEMM weight: W is [N, K] (out_features x in_features), after TP splitting. */
export const DenseWeightShape = z.strictObject({
  name: z.string(),
  N: z.number().int().positive(),
  K: z.number().int().positive(),
});

/**
 * The expert GEMMs of a MoE layer: E experts, each [N, K]; tokens are routed to top_k experts. gemm 'layer' is
 * the layer's two GEMMs as one tuning unit (N = intermediate, K = hidden; see MoEProblem).
 */
export const MoEWeightShape = z.strictObject({
  name: z.string(),
  E: z.number().int().positive(),
  N: z.number().int().positive(),
  K: z.number().int().positive(),
  top_k: z.number().int().positive(),
  gemm: z.enum(['up', 'down', 'layer']),
});

/**
 * A checkpoint's block quantization (HF config.json quantization_config: quant_method fp8 or blockwise_int8 with
 * weight_block_size [block_n, block_k]): every dense linear layer is a block-quantized W8A8 GEMM.
 */
export const BlockQuantization = z.strictObject({
  quant: BlockQuant,
  block_n: z.number().int().positive(),
  block_k: z.number().int().positive(),
});

/** A model-shape file: what `tune models --json` prints and `--model shapes.json` accepts. */
export const ModelShapes = z.strictObject({
  model: z.string(),
  tp: z.number().int().positive(),
  block_quant: BlockQuantization.optional(),
  dense: z.array(DenseWeightShape),
  moe: z.array(MoEWeightShape),
});

/** The subset of a Hugging Face config.json the shape derivation reads. */
export const HFConfig = z.looseObject({
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive().optional(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().nullable().optional(),
  num_experts: z.number().int().positive().optional(),
  num_local_experts: z.number().int().positive().optional(),
  num_experts_per_tok: z.number().int().positive().optional(),
  moe_intermediate_size: z.number().int().positive().optional(),
  n_routed_experts: z.number().int().positive().optional(),
  n_shared_experts: z.number().int().positive().nullable().optional(),
  // multi-head latent attention (DeepSeek-V2/V3): q_lora_rank null means a plain q_proj
  q_lora_rank: z.number().int().positive().nullable().optional(),
  kv_lora_rank: z.number().int().positive().optional(),
  qk_nope_head_dim: z.number().int().positive().optional(),
  qk_rope_head_dim: z.number().int().positive().optional(),
  v_head_dim: z.number().int().positive().optional(),
  quantization_config: z.looseObject({ quant_method: z.string().optional(), weight_block_size: z.array(z.number()).nullable().optional() }).optional(),
});

export type DenseWeightShape = z.infer<typeof DenseWeightShape>;
export type MoEWeightShape = z.infer<typeof MoEWeightShape>;
export type ModelShapes = z.infer<typeof ModelShapes>;
export type HFConfig = z.infer<typeof HFConfig>;
export type BlockQuantization = z.infer<typeof BlockQuantization>;
