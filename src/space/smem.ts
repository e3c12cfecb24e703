import type { Family } from '../schema/index.js';

type Cfg = Record<string, number>;

/**
 * Shared memory one CTA needs, in bytes: the software pipeline keeps `num_stages` copies of the A and B tiles.
 * W4A16 families also stage the dequantized 16-bit B tile once (layout conversion before tl.dot) and the
 * per-group scales. An estimate: Triton's allocator may reuse buffers, so a config slightly over the device
 * limit by this count can still run; the worker's out-of-resources status settles those.
 */
export function sharedMemoryBytes(family: Family, c: Cfg): number {
  const bm = c.BLOCK_SIZE_M ?? 0;
  const bn = c.BLOCK_SIZE_N ?? 0;
  const bk = c.BLOCK_SIZE_K ?? 0;
  const stages = c.num_stages ?? 1;
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return stages * (bm * bk + bn * bk);
  const unroll = c.K_UNROLL ?? 1;
  const k = bk * unroll;
  const perStage = bm * k * 2 + (bn * k) / 2 + bn * unroll * 2 * 2;
  return stages * perStage + bn * k * 2;
}
