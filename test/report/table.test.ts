import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactConfig } from '../../src/report/table.js';

test('compactConfig: tile, group, warps, stages, then the extras; W4A16 prefill path as "dequant" and TMA as "tma", their 0 left out', () => {
  const base = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3 };
  assert.equal(compactConfig({ ...base, SPLIT_K: 4, K_UNROLL: 1, DEQUANT_GEMM: 0 }), '16x128x128 g8 w4 s3 sk4 ku1');
  assert.equal(compactConfig({ ...base, num_stages: 2, SPLIT_K: 1, K_UNROLL: 1, DEQUANT_GEMM: 1 }), '16x128x128 g8 w4 s2 sk1 ku1 dequant');
  assert.equal(compactConfig({ ...base, SPLIT_K: 2, K_UNROLL: 1, DEQUANT_GEMM: 0, TMA: 1 }), '16x128x128 g8 w4 s3 sk2 ku1 tma');
  assert.equal(compactConfig(base), '16x128x128 g8 w4 s3');
});
