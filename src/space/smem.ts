import type { Family } from '../schema/index.js';

type Cfg = Record<string, number>;

/**
 * Shared memory one CTA needs, in bytes, by each family's own estimate. W8A8 (kernels/w8a8.py leaves this to
 * Triton): the pipeline keeps copies of the 8-bit A and B tiles, `num_stages` of them on the wgmma path
 * (BLOCK_SIZE_M >= 64 on Hopper) and `num_stages - 1` on the mma path; exact against every out-of-resources
 * size Triton 3.6 reported on an H200 in the committed journal (test/search/proof.test.ts checks it).
 * W4A16 and MoE: the formulas of kernels/w4a16.py and kernels/moe_w4a16.py, mirrored.
 */
export function sharedMemoryBytes(family: Family, c: Cfg, shape: { K?: number; group_size?: number; zero_points?: boolean } = {}): number {
  const bm = c.BLOCK_SIZE_M ?? 0;
  const bn = c.BLOCK_SIZE_N ?? 0;
  const bk = c.BLOCK_SIZE_K ?? 0;
  const stages = c.num_stages ?? 1;
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return (bm >= 64 ? stages : stages - 1) * (bm + bn) * bk;
  // an upper bound: stages x K_UNROLL copies of the bf16 A tile and the packed int4 tile, plus one bf16 copy of
  // the dequantized tile (checked there on an H200: refuses every config Triton failed for shared memory)
  if (family === 'w4a16') return stages * (c.K_UNROLL ?? 1) * (bm * bk * 2 + Math.floor((bk * bn) / 2)) + bk * bn * 2;
  // MoE (fitted there to the H200's OutOfResources sizes): stages-1 buffers of the int32 weight tile as loaded,
  // the bf16 activation tile and, when BK spans groups, the scale (and zero) tiles; one dequantized tile; one more
  // activation tile when BLOCK_SIZE_M >= 128 (two layer configs that failed on the H200 at 262 KB)
  const g = shape.group_size === undefined || shape.group_size === -1 ? (shape.K ?? Infinity) : shape.group_size;
  const perStage = bk * bn * 4 + bm * bk * 2 + (bk > g ? bk * bn * (2 + (shape.zero_points ? 1 : 0)) : 0);
  return (stages - 1) * perStage + bk * bn * 2 + (bm >= 128 ? bm * bk * 2 : 0);
}
