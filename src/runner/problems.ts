import type { Family } from '../schema/index.js';
import type { WeightShape } from '../store/naming.js';

/** A weight shape as the conductor tunes it: the file's shape plus what MoE problems need. */
export interface TuneShape extends WeightShape {
  top_k?: number;
  gemm?: 'up' | 'down' | 'layer';
}

/** A MoE 'layer' shape (N = intermediate I, K = hidden) as its up [2I, hidden] and down [hidden, I] GEMMs. */
const layerGemms = (s: TuneShape): TuneShape[] => [
  { ...s, gemm: 'up', N: 2 * s.N },
  { ...s, gemm: 'down', N: s.K, K: s.N },
];

/** The problem dict a worker request carries for one M (defaults of src/schema/problem.ts fill the rest). */
export function problemFor(family: Family, shape: TuneShape, M: number): Record<string, unknown> {
  if (family === 'moe-w4a16') {
    return { M, N: shape.N, K: shape.K, E: shape.E, top_k: shape.top_k ?? 1, gemm: shape.gemm ?? 'up', group_size: shape.group_size ?? 128 };
  }
  if (family === 'w4a16') return { M, N: shape.N, K: shape.K, group_size: shape.group_size ?? 128 };
  return { M, N: shape.N, K: shape.K };
}

/** Useful multiply-adds x 2 of one problem (MoE: every routed token row through one expert; a layer: both GEMMs). */
export function problemFlops(family: Family, shape: TuneShape, M: number): number {
  if (shape.gemm === 'layer') return layerGemms(shape).reduce((sum, g) => sum + problemFlops(family, g, M), 0);
  const rows = family === 'moe-w4a16' ? M * (shape.top_k ?? 1) : M;
  return 2 * rows * shape.N * shape.K;
}

/**
 * Minimum bytes one launch must move (inputs read once, output written once), the roofline's numerator.
 * W8A8: int8 A and W, bf16 C (scales are negligible). W4A16: bf16 A, int4 W plus bf16 scales (and 4-bit
 * zero points) per group. MoE: only the experts that receive a token are read; a layer: its two GEMMs'.
 */
export function problemBytes(family: Family, shape: TuneShape, M: number): number {
  if (shape.gemm === 'layer') return layerGemms(shape).reduce((sum, g) => sum + problemBytes(family, g, M), 0);
  const { N, K } = shape;
  if (family === 'w8a8-int8' || family === 'w8a8-fp8') return M * K + N * K + 2 * M * N;
  const g = shape.group_size ?? 128;
  const groups = g === -1 ? 1 : K / g;
  const weight = (N * K) / 2 + N * groups * (2 + (family === 'w4a16' ? 0.5 : 0));
  if (family === 'w4a16') return 2 * M * K + weight + 2 * M * N;
  const rows = M * (shape.top_k ?? 1);
  const E = shape.E ?? 1;
  const active = E * (1 - (1 - 1 / E) ** rows);
  return 2 * rows * K + active * weight + 2 * rows * N;
}
