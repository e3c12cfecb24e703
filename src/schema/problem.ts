import { z } from 'zod';

const dim = z.number().int().positive();
export const OutDtype = z.enum(['bf16', 'fp16']);

/** One GEMM problem a trial measures: C[M,N] = A[M,K] . W[N,K]^T, plus the family's quantization options. */
export const W8A8Problem = z.strictObject({
  M: dim,
  N: dim,
  K: dim,
  scale_a: z.enum(['tensor', 'token']).default('token'),
  scale_b: z.enum(['tensor', 'channel']).default('channel'),
  bias: z.boolean().default(false),
  out_dtype: OutDtype.default('bf16'),
});

/** group_size -1 means one scale per output channel (per-channel quantization). */
export const GroupSize = z.union([z.literal(32), z.literal(64), z.literal(128), z.literal(-1)]);

export const W4A16Problem = z.strictObject({
  M: dim,
  N: dim,
  K: dim,
  group_size: GroupSize.default(128),
  zero_points: z.boolean().default(true),
  act_dtype: OutDtype.default('bf16'),
});

/**
 * One expert GEMM of a MoE layer over M tokens. gemm 'up': [M*top_k, K] x [E, N, K] with N = 2*intermediate
 * (fused gate_up); 'down': [M*top_k, K=intermediate] x [E, N=hidden, K], weighted by the router weights.
 * gemm 'layer': both, with one config, as servers use a tuned file: N = intermediate (per TP rank), K = hidden;
 * up GEMM, silu(gate) * up, down GEMM, sum over top_k (kernels/moe_w4a16.py).
 */
export const MoEProblem = z.strictObject({
  M: dim,
  N: dim,
  K: dim,
  E: dim,
  top_k: dim,
  gemm: z.enum(['up', 'down', 'layer']).default('up'),
  group_size: GroupSize.default(128),
  zero_points: z.boolean().default(false),
  routing: z.enum(['uniform', 'skewed']).default('uniform'),
  seed: z.number().int().nonnegative().default(0),
  act_dtype: OutDtype.default('bf16'),
});

/** Quantizations of the servers' fused-MoE kernels (kernels/servers/moe.py): bf16/fp16 weights; fp8 e4m3 weights with
 * [128, 128] block scales and per-token-group activations; fp8 per tensor; int8 weights and activations; int4 or
 * int8 weights with bf16 activations (wna16: int4 by group_size, int8 per channel). */
export const ServerQuant = z.enum(['bf16', 'fp8_w8a8_block', 'fp8_w8a8', 'int8_w8a8', 'int4_w4a16', 'int8_w8a16']);
export type ServerQuant = z.infer<typeof ServerQuant>;

/**
 * One fused-MoE layer as a server runs it (vllm-moe, sglang-moe): N = the per-rank intermediate size I, K = hidden;
 * up GEMM [2I, hidden], SiLU-and-mul, down GEMM [hidden, I], weighted sum over top_k, all with one config.
 */
export const ServerMoEProblem = z.strictObject({
  M: dim,
  N: dim,
  K: dim,
  E: dim,
  top_k: dim,
  quant: ServerQuant.default('bf16'),
  /** int4_w4a16: weights per scale along K. */
  group_size: z.union([z.literal(32), z.literal(64), z.literal(128)]).default(128),
  /** Activation dtype. */
  dtype: OutDtype.default('bf16'),
  routing: z.enum(['uniform', 'skewed']).default('uniform'),
  seed: z.number().int().nonnegative().default(0),
});

/** Weight and activation type of a block-quantized W8A8 GEMM (fp8 e4m3, or int8). */
export const BlockQuant = z.enum(['fp8', 'int8']);
export type BlockQuant = z.infer<typeof BlockQuant>;

/**
 * One dense linear layer of a block-quantized checkpoint as a server runs it (vllm-w8a8-block, sglang-w8a8-block):
 * W [N, K] per rank with one scale per [block_n, block_k] block (HF quantization_config.weight_block_size), the
 * activation quantized per token and block_k-column group at run time; the output in out_dtype.
 */
export const ServerBlockProblem = z.strictObject({
  M: dim,
  N: dim,
  K: dim,
  quant: BlockQuant.default('fp8'),
  block_n: dim.default(128),
  block_k: dim.default(128),
  out_dtype: OutDtype.default('bf16'),
  seed: z.number().int().nonnegative().default(0),
});

export type W8A8Problem = z.infer<typeof W8A8Problem>;
export type W4A16Problem = z.infer<typeof W4A16Problem>;
export type MoEProblem = z.infer<typeof MoEProblem>;
export type ServerMoEProblem = z.infer<typeof ServerMoEProblem>;
export type ServerBlockProblem = z.infer<typeof ServerBlockProblem>;
export const Problem = z.union([MoEProblem, W4A16Problem, W8A8Problem, ServerMoEProblem, ServerBlockProblem]);
export type Problem = z.infer<typeof Problem>;
