/**
 * The default M grid (batch sizes / token counts) tuned per weight shape; `tune validate` warns about
 * gaps against it. The single place this list lives: the conductor imports it from here.
 */
export const DEFAULT_M_GRID: readonly number[] = Object.freeze([
  1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096,
]);

