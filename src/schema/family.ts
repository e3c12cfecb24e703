import { z } from 'zod';

/** Kernel families tritune tunes; the names used on the command line, in requests and in journals. */
export const FAMILIES = ['w8a8-int8', 'w8a8-fp8', 'w4a16', 'moe-w4a16', 'vllm-moe', 'sglang-moe', 'vllm-w8a8-block', 'sglang-w8a8-block'] as const;
export const Family = z.enum(FAMILIES);
export type Family = z.infer<typeof Family>;

/** Backends a worker can run: a real GPU, Triton's CPU interpreter (correctness only), or the simulator. */
export const Backend = z.enum(['cuda', 'interpret', 'sim']);
export type Backend = z.infer<typeof Backend>;

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** A positive integer that must be a power of two (tl.arange and block shapes need it). */
export const powerOfTwo = (min: number, max: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(max)
    .refine(isPowerOfTwo, { message: 'must be a power of two' });

/**
 * The largest M (and weight dimension) tritune accepts: 2^20 = 1,048,576. A server's largest GEMM batch is its
 * token budget per step (vLLM's max_num_batched_tokens: 8192 by default), and the widest linear layer of a
 * published model is Llama-3.1-405B's fused gate_up (106,496 at tp 1). A value beyond it is a typo: refused in
 * --batch-sizes and shapes before anything is tuned (above 2^53 it would even be rounded silently), and as an M
 * key of a tuned-config file or sidecar (`tune validate` reports it).
 */
export const MAX_DIM = 2 ** 20;

/** M as it appears as a key of a tuned-config file: a positive decimal integer without leading zeros, at most MAX_DIM. */
export const MKey = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'M must be a positive decimal integer (no sign, no leading zeros)')
  .refine((k) => !/^[1-9][0-9]*$/.test(k) || Number(k) <= MAX_DIM, {
    message: `M is beyond ${MAX_DIM} (2^20), more tokens than any server batches into one GEMM`,
  })
  .describe(`M: a positive decimal integer, at most ${MAX_DIM} (2^20)`);
