import type { HFConfig } from '../schema/index.js';

/**
 * Built-in models: the fields of each model's Hugging Face config.json that the shape derivation
 * reads, copied from the published config.json files (Qwen/Qwen3-4B, Qwen/Qwen3-8B,
 * meta-llama/Llama-3.1-8B, Qwen/Qwen2.5-7B, mistralai/Mistral-7B-v0.3, Qwen/Qwen3-30B-A3B,
 * mistralai/Mixtral-8x7B-v0.1, Qwen/Qwen3-8B-FP8, deepseek-ai/DeepSeek-V3).
 */
export interface Preset {
  /** The canonical name, as `tune models` lists it. */
  name: string;
  /** The Hugging Face repository the numbers come from. */
  repo: string;
  config: HFConfig;
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'Qwen3-4B',
    repo: 'Qwen/Qwen3-4B',
    config: { hidden_size: 2560, intermediate_size: 9728, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128 },
  },
  {
    name: 'Qwen3-8B',
    repo: 'Qwen/Qwen3-8B',
    config: { hidden_size: 4096, intermediate_size: 12288, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128 },
  },
  {
    // Qwen3-8B's shapes with fp8 e4m3 weights in [128, 128] blocks (its quantization_config)
    name: 'Qwen3-8B-FP8',
    repo: 'Qwen/Qwen3-8B-FP8',
    config: {
      hidden_size: 4096,
      intermediate_size: 12288,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 128,
      quantization_config: { quant_method: 'fp8', weight_block_size: [128, 128] },
    },
  },
  {
    name: 'Llama-3.1-8B',
    repo: 'meta-llama/Llama-3.1-8B',
    config: { hidden_size: 4096, intermediate_size: 14336, num_attention_heads: 32, num_key_value_heads: 8 },
  },
  {
    name: 'Qwen2.5-7B',
    repo: 'Qwen/Qwen2.5-7B',
    config: { hidden_size: 3584, intermediate_size: 18944, num_attention_heads: 28, num_key_value_heads: 4 },
  },
  {
    name: 'Mistral-7B-v0.3',
    repo: 'mistralai/Mistral-7B-v0.3',
    config: { hidden_size: 4096, intermediate_size: 14336, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128 },
  },
  {
    name: 'Qwen3-30B-A3B',
    repo: 'Qwen/Qwen3-30B-A3B',
    config: {
      hidden_size: 2048,
      intermediate_size: 6144,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      head_dim: 128,
      num_experts: 128,
      num_experts_per_tok: 8,
      moe_intermediate_size: 768,
      // every layer is sparse (decoder_sparse_step 1, mlp_only_layers []): no dense MLP
      decoder_sparse_step: 1,
      mlp_only_layers: [],
    },
  },
  {
    name: 'Mixtral-8x7B',
    repo: 'mistralai/Mixtral-8x7B-v0.1',
    config: {
      hidden_size: 4096,
      // Mixtral's intermediate_size is the per-expert size; it has no dense MLP
      intermediate_size: 14336,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      num_local_experts: 8,
      num_experts_per_tok: 2,
    },
  },
  {
    // multi-head latent attention, 256 routed experts and one shared, the first 3 layers dense; fp8 [128, 128] blocks
    name: 'DeepSeek-V3',
    repo: 'deepseek-ai/DeepSeek-V3',
    config: {
      hidden_size: 7168,
      intermediate_size: 18432,
      moe_intermediate_size: 2048,
      num_attention_heads: 128,
      num_key_value_heads: 128,
      n_routed_experts: 256,
      n_shared_experts: 1,
      num_experts_per_tok: 8,
      first_k_dense_replace: 3,
      q_lora_rank: 1536,
      kv_lora_rank: 512,
      qk_nope_head_dim: 128,
      qk_rope_head_dim: 64,
      v_head_dim: 128,
      quantization_config: { quant_method: 'fp8', weight_block_size: [128, 128] },
    },
  },
];

/** Lowercased name without an `org/` prefix, so `qwen3-4b`, `Qwen/Qwen3-4B` and `QWEN3-4B` all match. */
const norm = (s: string): string => s.trim().toLowerCase().replace(/^.*\//, '');

/** The preset called `name` (case-insensitive, org prefix optional), or undefined. */
export function findPreset(name: string): Preset | undefined {
  const n = norm(name);
  return PRESETS.find((p) => norm(p.name) === n || norm(p.repo) === n);
}

export const presetNames = (): string[] => PRESETS.map((p) => p.name);
