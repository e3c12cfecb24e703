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

/** M as it appears as a key of a tuned-config file: a positive decimal integer without leading zeros. */
export const MKey = z.string().regex(/^[1-9][0-9]*$/, 'M must be a positive decimal integer (no sign, no leading zeros)');
