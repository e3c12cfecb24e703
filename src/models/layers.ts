import type { ModelShapes, MoEWeightShape } from '../schema/index.js';
import { UserError } from '../errors.js';

/**
 * One MoE tuning shape per layer, as servers load tuned files: vLLM names the file E={E},N={intermediate} (its N is
 * w2's input size, the per-rank moe_intermediate_size) and launches both expert GEMMs with the config it holds, so
 * the layer is the unit to tune. Each expert GEMM determines its layer: up [2I, hidden] -> N = I, K = hidden;
 * down [hidden, I] -> N = I, K = hidden; a 'layer' shape passes through. Shapes already split for TP stay split.
 * Duplicates (the up and down GEMM of one layer) fold into one, named by their common stem ('experts.gate_up'
 * and 'experts.down' -> 'experts'), in first-seen order.
 */
export function moeLayers(model: Pick<ModelShapes, 'model' | 'moe'>): MoEWeightShape[] {
  const layers = new Map<string, MoEWeightShape & { names: string[] }>();
  for (const m of model.moe) {
    const { N, K } = layerDims(model.model, m);
    const key = `${m.E}/${N}/${K}/${m.top_k}`;
    const name = stem(m.name);
    const had = layers.get(key);
    if (!had) layers.set(key, { name, E: m.E, N, K, top_k: m.top_k, gemm: 'layer', names: [name] });
    else if (!had.names.includes(name)) had.names.push(name);
  }
  return [...layers.values()].map(({ names, ...l }) => ({ ...l, name: names.join('+') }));
}

/** The layer (N = intermediate I, K = hidden) a MoE GEMM belongs to. */
function layerDims(model: string, m: MoEWeightShape): { N: number; K: number } {
  if (m.gemm === 'layer') return { N: m.N, K: m.K };
  if (m.gemm === 'down') return { N: m.K, K: m.N };
  if (m.N % 2 !== 0) throw new UserError(`${model}: MoE up GEMM ${m.name} has N ${m.N}, not 2 x an intermediate size; fix its model-shapes entry`);
  return { N: m.N / 2, K: m.K };
}

const stem = (name: string): string => name.replace(/\.(gate_up|gate_up_proj|w13|up|down|down_proj|w2)$/, '');
