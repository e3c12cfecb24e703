import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deriveShapes } from '../../src/models/hf.js';
import { findPreset, PRESETS } from '../../src/models/presets.js';
import { moeLayers } from '../../src/models/layers.js';
import { parseShapesOption, resolveModel } from '../../src/models/resolve.js';
import { DEFAULT_M_GRID } from '../../src/store/grid.js';
import { ModelShapes } from '../../src/schema/index.js';
import { UserError } from '../../src/errors.js';
import { FIXTURES } from '../cli/run-cli.js';

const nk = (s: ModelShapes) => Object.fromEntries(s.dense.map((d) => [d.name, [d.N, d.K]]));

test('Qwen3-4B: fused qkv, o_proj, gate_up, down as vLLM builds them', () => {
  assert.deepEqual(nk(resolveModel('qwen3-4b')), {
    qkv_proj: [6144, 2560],
    o_proj: [2560, 4096],
    gate_up_proj: [19456, 2560],
    down_proj: [2560, 9728],
  });
});

test('--tp splits column-parallel N and row-parallel K', () => {
  assert.deepEqual(nk(resolveModel('Llama-3.1-8B', 2)), {
    qkv_proj: [3072, 4096],
    o_proj: [4096, 2048],
    gate_up_proj: [14336, 4096],
    down_proj: [4096, 7168],
  });
  // Qwen2.5-7B has 4 KV heads: at tp 8 each rank holds a replicated one... but 28 heads do not split 8 ways
  assert.throws(() => resolveModel('qwen2.5-7b', 8), (e: unknown) => e instanceof UserError && /num_attention_heads = 28 is not divisible by --tp 8/.test(e.message));
  // Qwen3-30B-A3B has 4 KV heads: at tp 8 they are replicated (one per rank), as vLLM does
  const moe = resolveModel('Qwen/Qwen3-30B-A3B', 8);
  assert.deepEqual(nk(moe), { qkv_proj: [(4 + 2) * 128, 2048], o_proj: [2048, 512] });
  assert.deepEqual(moe.moe, [
    { name: 'experts.gate_up', E: 128, N: 192, K: 2048, top_k: 8, gemm: 'up' },
    { name: 'experts.down', E: 128, N: 2048, K: 96, top_k: 8, gemm: 'down' },
  ]);
});

test('MoE presets: E, N, K per expert and top_k; Mixtral uses intermediate_size per expert', () => {
  const mix = resolveModel('mixtral-8x7b');
  assert.deepEqual(mix.moe.map((m) => [m.E, m.N, m.K, m.top_k]), [[8, 28672, 4096, 2], [8, 4096, 14336, 2]]);
  assert.deepEqual(nk(mix), { qkv_proj: [6144, 4096], o_proj: [4096, 4096] }, 'no dense MLP');
});

test('every preset yields a valid model-shapes value, and the lookup is forgiving about case and org', () => {
  assert.ok(PRESETS.length >= 7);
  for (const p of PRESETS) assert.ok(ModelShapes.safeParse(resolveModel(p.name)).success, p.name);
  assert.equal(findPreset('MISTRAL-7B-V0.3')?.name, 'Mistral-7B-v0.3');
  assert.equal(findPreset('mistralai/Mistral-7B-v0.3')?.name, 'Mistral-7B-v0.3');
});

test('a Hugging Face config.json (file or folder) gives the same shapes as the preset', () => {
  const fromDir = resolveModel(join(FIXTURES, 'hf', 'Qwen3-4B'));
  assert.equal(fromDir.model, 'Qwen3-4B');
  assert.deepEqual(fromDir.dense, resolveModel('qwen3-4b').dense);
  const mix = resolveModel(join(FIXTURES, 'hf', 'mixtral-8x7b.config.json'), 2);
  assert.deepEqual(mix.moe.map((m) => [m.N, m.K]), [[14336, 4096], [4096, 7168]]);
});

test('MoE models with dense layers keep the dense MLP shapes', () => {
  const s = deriveShapes('m', { hidden_size: 1024, num_attention_heads: 8, intermediate_size: 4096, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 512, mlp_only_layers: [0] }, 1);
  assert.deepEqual(nk(s).gate_up_proj, [8192, 1024]);
});

test('unknown models list the presets; bad config.json files name the problem', () => {
  assert.throws(() => resolveModel('gpt-5'), /unknown model "gpt-5"; presets: Qwen3-4B, Qwen3-8B, Qwen3-8B-FP8, Llama-3.1-8B, Qwen2.5-7B, Mistral-7B-v0.3, Qwen3-30B-A3B, Mixtral-8x7B, DeepSeek-V3/);
  assert.throws(() => resolveModel(join(FIXTURES, 'hf', 'no-hidden-size.config.json')), /hidden_size: required, but missing/);
  assert.throws(() => resolveModel('./nope/config.json'), /cannot read .*no such file/);
  assert.throws(() => resolveModel('qwen3-4b', 0), /--tp must be a positive whole number/);
});

test('parseShapesOption reads NxK and ExNxK:topk lists (MoE: a layer, N = intermediate, K = hidden)', () => {
  const s = parseShapesOption('6144x2560, 2560x4096,128x768x2048:8');
  assert.deepEqual(s.dense.map((d) => [d.N, d.K]), [[6144, 2560], [2560, 4096]]);
  assert.deepEqual(s.moe, [{ name: '128x768x2048:8', E: 128, N: 768, K: 2048, top_k: 8, gemm: 'layer' }]);
  assert.deepEqual(moeLayers(s), s.moe, 'a layer passes through');
  for (const bad of ['', '6144', '6144x', '0x2560', '6144x2560,', '6144*2560', '-1x5']) assert.throws(() => parseShapesOption(bad), UserError, bad);
});

test('DEFAULT_M_GRID is the design grid, ascending and frozen', () => {
  assert.deepEqual([...DEFAULT_M_GRID], [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096]);
  assert.ok(Object.isFrozen(DEFAULT_M_GRID));
});

test('moeLayers: one tuning shape per MoE layer, N = intermediate (per TP rank), K = hidden', () => {
  const layer = (model: string, tp = 1) => moeLayers(resolveModel(model, tp));
  assert.deepEqual(layer('qwen3-30b-a3b'), [{ name: 'experts', E: 128, N: 768, K: 2048, top_k: 8, gemm: 'layer' }]);
  assert.deepEqual(layer('qwen3-30b-a3b', 4), [{ name: 'experts', E: 128, N: 192, K: 2048, top_k: 8, gemm: 'layer' }]);
  assert.deepEqual(layer('mixtral-8x7b'), [{ name: 'experts', E: 8, N: 14336, K: 4096, top_k: 2, gemm: 'layer' }]);
  assert.deepEqual(layer('qwen3-4b'), [], 'a dense model has no MoE layer');
  // a shapes file with only one GEMM of a layer still names the layer; two layers stay two
  const shapes = {
    model: 'm',
    moe: [
      { name: 'a.down', E: 8, N: 1024, K: 256, top_k: 2, gemm: 'down' as const },
      { name: 'b.gate_up', E: 8, N: 1024, K: 1024, top_k: 2, gemm: 'up' as const },
      { name: 'c.gate_up', E: 8, N: 512, K: 1024, top_k: 2, gemm: 'up' as const },
    ],
  };
  assert.deepEqual(moeLayers(shapes).map((l) => [l.name, l.N, l.K]), [['a+c', 256, 1024], ['b', 512, 1024]]);
  const odd = { model: 'm', moe: [{ name: 'x', E: 8, N: 1023, K: 1024, top_k: 2, gemm: 'up' as const }] };
  assert.throws(() => moeLayers(odd), (e: unknown) => e instanceof UserError && /N 1023, not 2 x an intermediate size/.test(e.message));
});
