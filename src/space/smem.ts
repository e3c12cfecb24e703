import type { Family } from '../schema/index.js';

type Cfg = Record<string, number>;

/**
 * Shared memory one CTA needs, in bytes, by each family's own estimate. W8A8: the pipeline keeps `num_stages`
 * copies of the 8-bit A and B tiles (kernels/w8a8.py leaves this to Triton; the recorded GPU journal checks it).
 * W4A16 and MoE: the formulas of kernels/w4a16.py and kernels/moe_w4a16.py, mirrored.
 */
export function sharedMemoryBytes(family: Family, c: Cfg): number {
  const bm = c.BLOCK_SIZE_M ?? 0;
  const bn = c.BLOCK_SIZE_N ?? 0;
  const bk = c.BLOCK_SIZE_K ?? 0;
  const stages = c.num_stages ?? 1;
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return stages * (bm * bk + bn * bk);
  // stages-1 copies of the bf16 A tile and the packed int4 tile, plus one bf16 copy of the dequantized tile
  if (family === 'w4a16') return Math.max(stages - 1, 1) * (bm * bk * 2 + Math.floor((bk * bn) / 2)) + bk * bn * 2;
  // MoE: the bf16 activation tile and the int32 weight tile as loaded, per stage
  return stages * (bm * bk * 2 + bk * bn * 4);
}
