import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configKey } from '../../src/space/index.js';
import { kernelFamily, type WeightShape } from '../../src/families/index.js';

/** The compile jobs' dedup key names what changes a binary (kernels/<family>.py compile_variant, and the
 * specialization test/python/test_compile_only.py checks against Triton's own keys). */
const keyOf = (family: 'w4a16' | 'moe-w4a16', shape: WeightShape, config: Record<string, number>, ms: number[]) =>
  kernelFamily(family).compileKey(shape, '', config, configKey(config), ms);

const CFG = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 2, SPLIT_K: 1, K_UNROLL: 1 };

test('w4a16: shapes share binaries by int classes; M never counts (one binary for every M)', () => {
  const s = { N: 4096, K: 4096, group_size: 128 };
  assert.equal(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', { ...s, N: 6144, K: 12288 }, CFG, [1]));
  assert.notEqual(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', { ...s, N: 4100 }, CFG, [1])); // N % 16 and ceil(N/8) % 16
  assert.notEqual(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', { ...s, K: 4096 + 16 }, CFG, [1])); // K / 8 % 16
  assert.notEqual(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', { ...s, zero_points: false }, CFG, [1]));
  assert.notEqual(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', { ...s, group_size: 32 }, CFG, [1]));
  const g32 = { ...s, group_size: 32 };
  assert.notEqual(keyOf('w4a16', g32, CFG, [1]), keyOf('w4a16', { ...g32, K: 4096 + 32 }, CFG, [1])); // EVEN_K
  assert.equal(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', s, CFG, [2, 64, 4096]));
  assert.notEqual(keyOf('w4a16', s, CFG, [1]), keyOf('w4a16', s, { ...CFG, BLOCK_SIZE_M: 64 }, [1]));
});

test('moe-w4a16: every shape field; neither M nor GROUP_SIZE_M counts (one binary for every M and grouping)', () => {
  const s: WeightShape = { N: 768, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 };
  const c = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };
  const base = keyOf('moe-w4a16', s, c, [1, 8]);
  assert.equal(base, keyOf('moe-w4a16', s, c, [8, 1, 8]));
  for (const other of [{ top_k: 6 }, { gemm: 'up' as const }, { zero_points: true }, { E: 64 }, { group_size: 32 }])
    assert.notEqual(base, keyOf('moe-w4a16', { ...s, ...other }, c, [1, 8]), JSON.stringify(other));
  assert.equal(base, keyOf('moe-w4a16', s, c, [1, 16, 4096]));
  // GROUP_SIZE_M is an unspecialized int argument: one binary for its values (test/python/test_compile_only.py)
  assert.equal(base, keyOf('moe-w4a16', s, { ...c, GROUP_SIZE_M: 16 }, [1, 8]));
  assert.notEqual(base, keyOf('moe-w4a16', s, { ...c, num_stages: 4 }, [1, 8]));
});
