import type { DenseWeightShape, HFConfig, ModelShapes, MoEWeightShape } from '../schema/index.js';
import { UserError } from '../errors.js';
import { blockQuantization, checkBlockSplits, type Linear } from './block.js';

/**
 * Linear-layer GEMM shapes of one decoder layer, as the servers fuse them (vLLM names):
 *   qkv_proj  N = (heads + 2*kv_heads) * head_dim, K = hidden        column-parallel
 *   o_proj    N = hidden, K = heads * head_dim                        row-parallel
 *   gate_up   N = 2 * intermediate, K = hidden                        column-parallel
 *   down_proj N = hidden, K = intermediate                            row-parallel
 * MoE experts (per expert, E of them, top_k routed): up N = 2 * moe_intermediate, K = hidden;
 * down N = hidden, K = moe_intermediate. Tensor parallelism divides the column-parallel N and the
 * row-parallel K by tp; KV heads fewer than tp are replicated (one per rank), as vLLM does. Multi-head latent
 * attention replaces qkv_proj (mlaAttention). A block-quantized checkpoint (quantization_config.weight_block_size)
 * carries its block_quant, and splits that vLLM refuses for it are errors (checkBlockSplits).
 */
export function deriveShapes(model: string, config: HFConfig, tp: number): ModelShapes {
  if (!Number.isInteger(tp) || tp < 1) throw new UserError(`--tp must be a positive whole number, got ${tp}`);
  const split = (what: string, n: number): number => {
    if (n % tp !== 0) throw new UserError(`${model}: ${what} = ${n} is not divisible by --tp ${tp}`);
    return n / tp;
  };
  const hidden = config.hidden_size;
  const linears: Linear[] = config.kv_lora_rank !== undefined ? mlaAttention(model, config, split) : attention(model, config, tp, split);
  const mlp = (name: string, inter: number, what: string) => {
    const perRank = split(what, inter);
    linears.push({ name: `${name}gate_up_proj`, N: 2 * perRank, K: hidden, kind: 'column', parts: [perRank, perRank] });
    linears.push({ name: `${name}down_proj`, N: hidden, K: perRank, kind: 'row', parts: [hidden] });
  };
  const experts = config.num_experts ?? config.num_local_experts ?? config.n_routed_experts;
  const moe: MoEWeightShape[] = [];
  if (experts === undefined) {
    // a MoE config without its expert count would be tuned as a dense model, silently: say what is missing
    const moeField = MOE_FIELDS.find((f) => (config as Record<string, unknown>)[f] !== undefined);
    if (moeField) throw new UserError(`${model}: config.json has ${moeField} (a mixture-of-experts field) but neither num_experts, num_local_experts nor n_routed_experts; add the expert count`);
    mlp('', requireField(model, config, 'intermediate_size'), 'intermediate_size');
  } else {
    const topK = requireField(model, config, 'num_experts_per_tok');
    const inter = config.moe_intermediate_size ?? requireField(model, config, 'intermediate_size');
    const perRank = split('moe_intermediate_size', inter);
    moe.push({ name: 'experts.gate_up', E: experts, N: 2 * perRank, K: hidden, top_k: topK, gemm: 'up' });
    moe.push({ name: 'experts.down', E: experts, N: hidden, K: perRank, top_k: topK, gemm: 'down' });
    if (hasDenseMlp(config)) mlp('', requireField(model, config, 'intermediate_size'), 'intermediate_size');
    // Qwen-MoE names the shared expert's size; DeepSeek counts shared experts of the routed experts' size
    const shared = num(config.shared_expert_intermediate_size) ?? (num(config.n_shared_experts) ? num(config.n_shared_experts)! * inter : undefined);
    if (shared) mlp(config.n_shared_experts ? 'shared_experts.' : 'shared_expert.', shared, 'the shared experts\' intermediate size');
  }
  const blockQuant = blockQuantization(model, config);
  if (blockQuant) checkBlockSplits(model, linears, blockQuant, tp);
  const dense: DenseWeightShape[] = linears.map(({ name, N, K }) => ({ name, N, K }));
  return { model, tp, ...(blockQuant ? { block_quant: blockQuant } : {}), dense, moe };
}

/** Grouped-query attention: the fused qkv_proj and o_proj. */
function attention(model: string, config: HFConfig, tp: number, split: (what: string, n: number) => number): Linear[] {
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
  const [q, kv] = [headsPerRank * headDim, kvPerRank * headDim];
  return [
    { name: 'qkv_proj', N: q + 2 * kv, K: hidden, kind: 'column', parts: [q, kv, kv] },
    { name: 'o_proj', N: hidden, K: q, kind: 'row', parts: [hidden] },
  ];
}

/**
 * Multi-head latent attention (DeepSeek-V2/V3), as vLLM builds it: with q_lora_rank, fused_qkv_a_proj (q_a_proj and
 * kv_a_proj_with_mqa merged, replicated on every rank) and q_b_proj; without, q_proj and kv_a_proj_with_mqa; then
 * kv_b_proj (column-parallel; it runs on prefill tokens, decode absorbs it) and o_proj (row-parallel).
 */
function mlaAttention(model: string, config: HFConfig, split: (what: string, n: number) => number): Linear[] {
  const need = (key: 'qk_nope_head_dim' | 'qk_rope_head_dim' | 'v_head_dim'): number => {
    const v = config[key];
    if (v === undefined) throw new UserError(`${model}: config.json has kv_lora_rank but lacks ${key}, which MLA shapes need`);
    return v;
  };
  const hidden = config.hidden_size;
  const [nope, rope, vDim, kvRank] = [need('qk_nope_head_dim'), need('qk_rope_head_dim'), need('v_head_dim'), config.kv_lora_rank!];
  const heads = split('num_attention_heads', config.num_attention_heads);
  const qRank = config.q_lora_rank ?? undefined;
  const q: Linear[] = qRank
    ? [
        { name: 'fused_qkv_a_proj', N: qRank + kvRank + rope, K: hidden, kind: 'replicated', parts: [qRank, kvRank + rope] },
        { name: 'q_b_proj', N: heads * (nope + rope), K: qRank, kind: 'column', parts: [heads * (nope + rope)] },
      ]
    : [
        { name: 'q_proj', N: heads * (nope + rope), K: hidden, kind: 'column', parts: [heads * (nope + rope)] },
        { name: 'kv_a_proj_with_mqa', N: kvRank + rope, K: hidden, kind: 'replicated', parts: [kvRank + rope] },
      ];
  return [
    ...q,
    { name: 'kv_b_proj', N: heads * (nope + vDim), K: kvRank, kind: 'column', parts: [heads * (nope + vDim)] },
    { name: 'o_proj', N: hidden, K: heads * vDim, kind: 'row', parts: [hidden] },
  ];
}

/** Fields only a mixture-of-experts config has. */
const MOE_FIELDS = ['num_experts_per_tok', 'moe_intermediate_size', 'shared_expert_intermediate_size'] as const;

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
