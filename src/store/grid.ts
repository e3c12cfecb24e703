/**
 * The default M grid (batch sizes / token counts) tuned per weight shape; `tune validate` warns about
 * gaps against it. The single place this list lives: the conductor imports it from here.
 */
export const DEFAULT_M_GRID: readonly number[] = Object.freeze([
  1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096,
]);

/**
 * The largest M (and weight dimension) tritune accepts: 2^20 = 1,048,576. A server's largest GEMM batch is its
 * token budget per step (vLLM's max_num_batched_tokens: 8192 by default), and the widest linear layer of a
 * published model is Llama-3.1-405B's fused gate_up (106,496 at tp 1); a value beyond this is a typo, and would
 * be tuned (and, above 2^53, silently rounded) before the writer refused it.
 */
export const MAX_DIM = 2 ** 20;
