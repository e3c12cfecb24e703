import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveShapes } from '../../src/models/hf.js';
import { resolveModel } from '../../src/models/resolve.js';
import { blockQuantOf, checkpointQuant } from '../../src/models/block.js';
import { ModelShapes, type HFConfig } from '../../src/schema/index.js';
import { UserError } from '../../src/errors.js';

const nk = (s: ModelShapes) => Object.fromEntries(s.dense.map((d) => [d.name, [d.N, d.K]]));
const FP8 = { quant_method: 'fp8', weight_block_size: [128, 128], activation_scheme: 'dynamic', fmt: 'e4m3' };

test('Qwen3-8B-FP8: Qwen3-8B\'s shapes, block-quantized fp8 [128, 128]; its MoE files default to fp8 blocks too', () => {
  const s = resolveModel('qwen3-8b-fp8');
  assert.deepEqual(s.block_quant, { quant: 'fp8', block_n: 128, block_k: 128 });
  assert.deepEqual(s.dense, resolveModel('qwen3-8b').dense);
  assert.equal(checkpointQuant(s), 'fp8_w8a8_block');
  assert.equal(checkpointQuant(resolveModel('qwen3-8b')), 'bf16');
  assert.ok(ModelShapes.safeParse(s).success);
});

test('DeepSeek-V3: MLA projections, dense MLP and the shared expert as vLLM builds them, split for tp', () => {
  assert.deepEqual(nk(resolveModel('deepseek-v3')), {
    fused_qkv_a_proj: [1536 + 512 + 64, 7168], // q_a_proj and kv_a_proj_with_mqa merged, replicated
    q_b_proj: [128 * 192, 1536],
    kv_b_proj: [128 * 256, 512],
    o_proj: [7168, 128 * 128],
    gate_up_proj: [2 * 18432, 7168],
    down_proj: [7168, 18432],
    'shared_experts.gate_up_proj': [2 * 2048, 7168],
    'shared_experts.down_proj': [7168, 2048],
  });
  const tp8 = resolveModel('deepseek-v3', 8);
  assert.deepEqual(nk(tp8).fused_qkv_a_proj, [2112, 7168], 'replicated: not split');
  assert.deepEqual(nk(tp8).kv_b_proj, [4096, 512]);
  assert.deepEqual(tp8.moe.map((m) => [m.E, m.N, m.K, m.top_k]), [[256, 512, 7168, 8], [256, 7168, 256, 8]]);
});

test('MLA without q_lora_rank (DeepSeek-V2-Lite) has q_proj and kv_a_proj_with_mqa', () => {
  const cfg: HFConfig = { hidden_size: 2048, num_attention_heads: 16, q_lora_rank: null, kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, intermediate_size: 10944 };
  assert.deepEqual(nk(deriveShapes('v2-lite', cfg, 1)), {
    q_proj: [16 * 192, 2048],
    kv_a_proj_with_mqa: [576, 2048],
    kv_b_proj: [16 * 256, 512],
    o_proj: [2048, 16 * 128],
    gate_up_proj: [2 * 10944, 2048],
    down_proj: [2048, 10944],
  });
});

test('quantization_config: fp8 and blockwise_int8 with weight_block_size are block-quantized; others are not', () => {
  const base: HFConfig = { hidden_size: 4096, intermediate_size: 12288, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128 };
  assert.deepEqual(deriveShapes('a', { ...base, quantization_config: FP8 }, 1).block_quant, { quant: 'fp8', block_n: 128, block_k: 128 });
  const int8 = deriveShapes('b', { ...base, quantization_config: { quant_method: 'blockwise_int8', weight_block_size: [64, 128] } }, 2);
  assert.deepEqual(int8.block_quant, { quant: 'int8', block_n: 64, block_k: 128 });
  assert.equal(deriveShapes('c', { ...base, quantization_config: { quant_method: 'fp8' } }, 1).block_quant, undefined, 'per-tensor fp8');
  assert.equal(deriveShapes('d', { ...base, quantization_config: { quant_method: 'gptq', weight_block_size: [128, 128] } }, 1).block_quant, undefined);
  assert.throws(() => deriveShapes('e', { ...base, quantization_config: { quant_method: 'fp8', weight_block_size: [128] } }, 1), /weight_block_size must be two positive integers/);
  // without a checkpoint's, --quant declares the blocks
  const plain = resolveModel('qwen3-8b');
  assert.deepEqual(blockQuantOf(plain, 'fp8_w8a8_block'), { quant: 'fp8', block_n: 128, block_k: 128 });
  assert.deepEqual(blockQuantOf(plain, 'int8_w8a8'), { quant: 'int8', block_n: 128, block_k: 128 });
  assert.equal(blockQuantOf(plain, 'bf16'), undefined);
});

test('splits vLLM refuses for a block-quantized checkpoint are errors naming the layer', () => {
  const cfg: HFConfig = { hidden_size: 2048, intermediate_size: 5504, num_attention_heads: 16, num_key_value_heads: 4, head_dim: 128, quantization_config: FP8 };
  assert.equal(deriveShapes('ok', cfg, 1).dense.length, 4);
  // tp 2: gate and up are 2752 wide per rank, not whole blocks
  assert.throws(() => deriveShapes('m', cfg, 2), (e: unknown) => e instanceof UserError && /gate_up_proj output partition 2752 is not a multiple of the weight block's block_n 128 at --tp 2/.test(e.message));
  // tp 8 of an intermediate size twice as large: 1376 per rank
  assert.throws(() => deriveShapes('m', { ...cfg, intermediate_size: 5504 * 2 }, 8), /output partition 1376|K 1376/);
  // tp 1: the fused q, k (all but the last of a merged layer) must be whole blocks: k is 64 wide here
  assert.throws(() => deriveShapes('m', { ...cfg, head_dim: 64, num_key_value_heads: 1 }, 1), /qkv_proj output partition 64 is not a multiple/);
  // the same shapes without block quantization are fine
  assert.equal(deriveShapes('m', { ...cfg, quantization_config: undefined }, 2).dense.length, 4);
});
