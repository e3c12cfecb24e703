import type { DenseWeightShape, HFConfig, ModelShapes, MoEWeightShape } from '../schema/index.js';
import { UserError } from '../errors.js';

/**
 * Linear-layer GEMM shapes of one decoder layer, as the servers fuse them (vLLM names):
 *   qkv_proj  N = (heads + 2*kv_heads) * head_dim, K = hidden        column-parallel
 *   o_proj    N = hidden, K = heads * head_dim                        row-parallel
 *   gate_up   N = 2 * intermediate, K = hidden                        column-parallel
 *   down_proj N = hidden, K = intermediate                            row-parallel
 * MoE experts (per expert, E of them, top_k routed): up N = 2 * moe_intermediate, K = hidden;
 * down N = hidden, K = moe_intermediate. Tensor parallelism divides the column-parallel N and the
 * row-parallel K by tp; KV heads fewer than tp are replicated (one per rank), as vLLM does.
 */
export function deriveShapes(model: string, config: HFConfig, tp: number): ModelShapes {
  if (!Number.isInteger(tp) || tp < 1) throw new UserError(`--tp must be a positive whole number, got ${tp}`);
  const split = (what: string, n: number): number => {
    if (n % tp !== 0) throw new UserError(`${model}: ${what} = ${n} is not divisible by --tp ${tp}`);
    return n / tp;
  };
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = config.head_dim ?? hidden / heads;
  if (!Number.isInteger(headDim)) {
    throw new UserError(`${model}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}; give head_dim`);
  }
  const headsPerRank = split('num_attention_heads', heads);
  let kvPerRank: number;
  if (kvHeads >= tp) kvPerRank = split('num_key_value_heads', kvHeads);
  else if (tp % kvHeads === 0) kvPerRank = 1;
  else throw new UserError(`${model}: --tp ${tp} is not a multiple of num_key_value_heads ${kvHeads}, so KV heads cannot be replicated`);

  const dense: DenseWeightShape[] = [
    { name: 'qkv_proj', N: (headsPerRank + 2 * kvPerRank) * headDim, K: hidden },
    { name: 'o_proj', N: hidden, K: headsPerRank * headDim },
  ];
  const experts = config.num_experts ?? config.num_local_experts;
  const moe: MoEWeightShape[] = [];
  if (experts === undefined) {
    // a MoE config without its expert count would be tuned as a dense model, silently: say what is missing
    const moeField = MOE_FIELDS.find((f) => (config as Record<string, unknown>)[f] !== undefined);
    if (moeField) throw new UserError(`${model}: config.json has ${moeField} (a mixture-of-experts field) but neither num_experts nor num_local_experts; add the expert count`);
    const inter = requireField(model, config, 'intermediate_size');
    dense.push({ name: 'gate_up_proj', N: 2 * split('intermediate_size', inter), K: hidden });
    dense.push({ name: 'down_proj', N: hidden, K: split('intermediate_size', inter) });
  } else {
    const topK = requireField(model, config, 'num_experts_per_tok');
    const inter = config.moe_intermediate_size ?? requireField(model, config, 'intermediate_size');
    const perRank = split('moe_intermediate_size', inter);
    moe.push({ name: 'experts.gate_up', E: experts, N: 2 * perRank, K: hidden, top_k: topK, gemm: 'up' });
    moe.push({ name: 'experts.down', E: experts, N: hidden, K: perRank, top_k: topK, gemm: 'down' });
    if (hasDenseMlp(config)) {
      const dInter = requireField(model, config, 'intermediate_size');
      dense.push({ name: 'gate_up_proj', N: 2 * split('intermediate_size', dInter), K: hidden });
      dense.push({ name: 'down_proj', N: hidden, K: split('intermediate_size', dInter) });
    }
    const shared = num(config.shared_expert_intermediate_size);
    if (shared) {
      dense.push({ name: 'shared_expert.gate_up_proj', N: 2 * split('shared_expert_intermediate_size', shared), K: hidden });
      dense.push({ name: 'shared_expert.down_proj', N: hidden, K: split('shared_expert_intermediate_size', shared) });
    }
  }
  return { model, tp, dense, moe };
}

/** Fields only a mixture-of-experts config has. */
const MOE_FIELDS = ['num_experts_per_tok', 'moe_intermediate_size', 'n_routed_experts', 'shared_expert_intermediate_size'] as const;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** MoE models whose some layers keep a dense MLP (Qwen-MoE mlp_only_layers / decoder_sparse_step, DeepSeek first_k_dense_replace). */
function hasDenseMlp(config: HFConfig): boolean {
  const only = config.mlp_only_layers;
  if (Array.isArray(only) && only.length > 0) return true;
  if ((num(config.decoder_sparse_step) ?? 1) > 1) return true;
  return (num(config.first_k_dense_replace) ?? 0) > 0;
}

function requireField(model: string, config: HFConfig, key: 'intermediate_size' | 'num_experts_per_tok'): number {
  const v = config[key];
  if (v === undefined) throw new UserError(`${model}: config.json lacks ${key}, which this model's shapes need`);
  return v;
}
