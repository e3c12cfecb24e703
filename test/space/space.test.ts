import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configKey, enumerateSpace } from '../../src/space/index.js';
import { allFamilies, kernelFamily } from '../../src/families/index.js';
import { UserError } from '../../src/errors.js';
import { entryKeys, type W8A8Entry } from '../../src/schema/index.js';
import { H200 } from './devices.js';

const MS = [1, 4, 16, 64, 128, 512, 1024, 4096];

test('configKey is canonical: key order does not matter', () => {
  assert.equal(configKey({ b: 2, a: 1 }), 'a=1,b=2');
  assert.equal(configKey({ a: 1, b: 2 }), configKey({ b: 2, a: 1 }));
});

test('the exhaustive spaces are at least as wide as vLLM\'s 1920-config MoE space', () => {
  for (const { name: family, spaces } of allFamilies()) {
    const size = Object.values(spaces.exhaustive).reduce((n, v) => n * v.length, 1);
    assert.ok(size >= 1920, `${family}: ${size}`);
    const def = Object.values(spaces.default).reduce((n, v) => n * v.length, 1);
    assert.ok(def < size, `${family}: default ${def} not smaller than exhaustive ${size}`);
  }
});

test('enumerateSpace is deterministic, counts every pruned config once and keeps no config over shared memory', () => {
  const ctx = { shape: { N: 6144, K: 2560 }, ms: MS, device: H200 };
  const a = enumerateSpace('w8a8-int8', 'default', ctx);
  const b = enumerateSpace('w8a8-int8', 'default', ctx);
  assert.deepEqual(a.configs, b.configs);
  assert.equal(a.spaceId, 'default');
  const prunedTotal = Object.values(a.pruned).reduce((s, n) => s + n, 0);
  assert.equal(a.configs.length + prunedTotal, a.total);
  assert.ok((a.pruned.shared_memory ?? 0) > 0);
  for (const c of a.configs) assert.ok(kernelFamily('w8a8-int8').sharedMemoryBytes(c, ctx.shape) <= H200.shared_mem_per_block);
  assert.equal(new Set(a.configs.map(configKey)).size, a.configs.length);
});

test('per-M rules: big BLOCK_SIZE_M is not tried at small M, split-K not on a full grid', () => {
  const s = enumerateSpace('w8a8-int8', 'default', { shape: { N: 2560, K: 4096 }, ms: MS, device: H200 });
  const c = s.configs.find((x) => x.BLOCK_SIZE_M === 256 && (x as W8A8Entry).SPLIT_K === 1)!;
  assert.equal(s.fitsM(c, 1), false);
  assert.equal(s.fitsM(c, 4096), true);
  const split = s.configs.find((x) => x.BLOCK_SIZE_M === 64 && x.BLOCK_SIZE_N === 64 && (x as W8A8Entry).SPLIT_K === 4)!;
  assert.equal(s.fitsM(split, 64), true);
  assert.equal(s.fitsM(split, 4096), false);
  assert.ok((s.prunedByM[1]?.block_m_over_m ?? 0) > 0);
  assert.ok((s.prunedByM[4096]?.split_k_full_grid ?? 0) > 0);
  const fitting = MS.reduce((n, M) => n + s.configs.filter((x) => s.fitsM(x, M)).length, 0);
  assert.equal(s.pairs, fitting);
});

test('runsM: a config the kernel refuses at M (a kernel rule) does not run there; a heuristic prune still runs', () => {
  const s = enumerateSpace('w4a16', 'default', { shape: { N: 2560, K: 4096, group_size: 128 }, ms: [16, 4096], device: H200 });
  const dequant = s.configs.find((x) => (x as { DEQUANT_GEMM?: number }).DEQUANT_GEMM === 1)!;
  assert.equal(s.runsM(dequant, 16), false); // dequant_gemm_decode: kernels/w4a16.py refuses it
  assert.equal(s.runsM(dequant, 4096), true);
  const big = s.configs.find((x) => x.BLOCK_SIZE_M === 128 && !(x as { DEQUANT_GEMM?: number }).DEQUANT_GEMM)!;
  assert.equal(s.fitsM(big, 16), false); // block_m_over_m: wasted rows, but it runs
  assert.equal(s.runsM(big, 16), true);
});

test('SPLIT_K that leaves a split without K is pruned', () => {
  const s = enumerateSpace('w8a8-int8', 'exhaustive', { shape: { N: 256, K: 512 }, ms: [16], device: H200 });
  assert.ok((s.pruned.split_k_no_k ?? 0) > 0);
  for (const c of s.configs) assert.ok((c as W8A8Entry).SPLIT_K * c.BLOCK_SIZE_K <= 512 || (c as W8A8Entry).SPLIT_K === 1);
});

test('MoE: BLOCK_SIZE_K and the quantization group must nest, and divide K', () => {
  const s = enumerateSpace('moe-w4a16', 'exhaustive', { shape: { N: 96, K: 192, E: 8, top_k: 2, group_size: 32 }, ms: [16], device: H200 });
  assert.ok((s.pruned.block_k_vs_k ?? 0) > 0);
  for (const c of s.configs) assert.ok(192 % c.BLOCK_SIZE_K === 0 && (c.BLOCK_SIZE_K <= 32 ? 32 % c.BLOCK_SIZE_K === 0 : c.BLOCK_SIZE_K % 32 === 0));
  const t = enumerateSpace('moe-w4a16', 'exhaustive', { shape: { N: 1536, K: 2048, E: 128, top_k: 8, group_size: 128 }, ms: [16], device: H200 });
  assert.equal(t.pruned.block_k_vs_group ?? 0, 0);
});

test('a space file is hashed into the space id; bad files are one-line user errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'space-'));
  const good = join(dir, 'good.json');
  const axes = { BLOCK_SIZE_M: [16, 32], BLOCK_SIZE_N: [64], BLOCK_SIZE_K: [128], GROUP_SIZE_M: [8], num_warps: [4], num_stages: [3], SPLIT_K: [1, 2] };
  writeFileSync(good, JSON.stringify({ family: 'w8a8-int8', axes }));
  const s = enumerateSpace('w8a8-int8', good, { shape: { N: 2560, K: 4096 }, ms: [16], device: H200 });
  assert.match(s.spaceId, /^file:[0-9a-f]{64}$/);
  assert.equal(s.total, 4);
  const missing = join(dir, 'missing.json');
  writeFileSync(missing, JSON.stringify({ family: 'w8a8-int8', axes: { ...axes, SPLIT_K: undefined } }));
  assert.throws(() => enumerateSpace('w8a8-int8', missing, { shape: { N: 1, K: 1 }, ms: [1], device: H200 }), (e: unknown) => e instanceof UserError && /missing SPLIT_K/.test(e.message));
  const notPow2 = join(dir, 'pow2.json');
  writeFileSync(notPow2, JSON.stringify({ family: 'w8a8-int8', axes: { ...axes, BLOCK_SIZE_N: [96] } }));
  assert.throws(() => enumerateSpace('w8a8-int8', notPow2, { shape: { N: 1, K: 1 }, ms: [1], device: H200 }), /BLOCK_SIZE_N: must be a power of two/);
  assert.throws(() => enumerateSpace('w8a8-int8', join(dir, 'nope.json'), { shape: { N: 1, K: 1 }, ms: [1], device: H200 }), UserError);
  assert.throws(() => enumerateSpace('w4a16', good, { shape: { N: 1, K: 1 }, ms: [1], device: H200 }), /is for w8a8-int8, not w4a16/);
});

test("SGLang's SM90 keys: searched for fp8 on compute capability 9.0 only, the transpose with narrow token tiles only", () => {
  const shape = { N: 4096, K: 4096, quant: 'fp8' as const, block_n: 128, block_k: 128 };
  const sm90 = (c: Record<string, number>) => c.SWAP_AB === 1 || c.SPLIT_K! > 1;
  const h200 = enumerateSpace('sglang-w8a8-block', 'default', { shape, ms: [1, 4096], device: H200 });
  assert.ok(h200.configs.some(sm90), 'an H200 searches the SM90 kernel');
  assert.ok(h200.configs.every((c) => (c as Record<string, number>).SWAP_AB === 0 || c.BLOCK_SIZE_M <= 64));
  assert.ok(!h200.fitsM({ ...h200.configs.find((c) => (c as Record<string, number>).SPLIT_K === 16 && c.BLOCK_SIZE_M === 16)! }, 4096), 'no split on a full grid');
  const a100 = enumerateSpace('sglang-w8a8-block', 'default', { shape, ms: [1], device: { ...H200, name: 'NVIDIA A100-SXM4-80GB', capability: [8, 0], sm_count: 108 } });
  assert.ok(!a100.configs.some(sm90) && a100.pruned.sm90_fp8_keys! > 0, 'elsewhere SGLang would hand the keys to a kernel without them');
  const int8 = enumerateSpace('sglang-w8a8-block', 'default', { shape: { ...shape, quant: 'int8' }, ms: [1], device: H200 });
  assert.ok(!int8.configs.some(sm90), "SGLang's int8 kernel has neither key");
  assert.ok(!enumerateSpace('vllm-w8a8-block', 'default', { shape, ms: [1], device: H200 }).configs.some((c) => 'SWAP_AB' in c), 'vLLM has no such keys');
});

test("every family's named spaces have an axis for each of its config keys (a missing axis would leave the product empty)", () => {
  for (const kf of allFamilies()) {
    for (const [name, axes] of Object.entries(kf.spaces)) {
      const missing = entryKeys(kf.name).filter((k) => !(axes as Record<string, number[]>)[k]?.length);
      assert.deepEqual(missing, [], `${kf.name} ${name} space lacks ${missing.join(', ')}`);
    }
  }
});
