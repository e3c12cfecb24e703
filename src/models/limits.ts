import { MAX_DIM, type ModelShapes } from '../schema/index.js';
import { UserError } from '../errors.js';

/**
 * Refuses shapes no GEMM of a model has, before anything is tuned: a dimension beyond MAX_DIM (or one that
 * lost precision above 2^53), and a MoE layer routing each token to more experts (top_k) than it has (E).
 * `where` names the input (`--shapes`, a file).
 */
export function checkShapes(shapes: ModelShapes, where: string): ModelShapes {
  const dim = (layer: string, field: string, v: number) => {
    if (!Number.isSafeInteger(v) || v > MAX_DIM) {
      throw new UserError(`${where}: ${layer}: ${field} = ${v} is beyond ${MAX_DIM} (2^20), larger than any model's layer; check the number`);
    }
  };
  for (const d of shapes.dense) for (const f of ['N', 'K'] as const) dim(d.name, f, d[f]);
  for (const m of shapes.moe) {
    for (const f of ['E', 'N', 'K', 'top_k'] as const) dim(m.name, f, m[f]);
    if (m.top_k > m.E) throw new UserError(`${where}: ${m.name}: top_k = ${m.top_k} routes each token to more experts than the layer has (E = ${m.E}); top_k must be at most E`);
  }
  return shapes;
}
