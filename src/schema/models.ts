import { z } from 'zod';

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

/** A model-shape file: what `tune models --json` prints and `--model shapes.json` accepts. */
export const ModelShapes = z.strictObject({
  model: z.string(),
  tp: z.number().int().positive(),
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
});

export type DenseWeightShape = z.infer<typeof DenseWeightShape>;
export type MoEWeightShape = z.infer<typeof MoEWeightShape>;
export type ModelShapes = z.infer<typeof ModelShapes>;
export type HFConfig = z.infer<typeof HFConfig>;
