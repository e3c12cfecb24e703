import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectWinner } from '../../src/search/select.js';
import type { ConfigEntry } from '../../src/schema/index.js';

const cfg = (bm: number): ConfigEntry => ({ BLOCK_SIZE_M: bm, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3, SPLIT_K: 1 });
const A = cfg(16);
const B = cfg(32);
const C = cfg(64);

test('without an incumbent the fastest candidate is new', () => {
  const r = selectWinner({ candidates: [{ config: A, us: 10 }, { config: B, us: 9 }], keepWithin: 0.02 });
  assert.deepEqual(r, { config: B, us: 9, decision: 'new' });
  assert.equal(selectWinner({ candidates: [], keepWithin: 0.02 }), null);
});

test('the incumbent is kept unless a challenger is faster by more than keepWithin', () => {
  const candidates = [{ config: B, us: 9.85 }, { config: C, us: 12 }];
  assert.deepEqual(selectWinner({ candidates, incumbent: { config: A, us: 10 }, keepWithin: 0.02 }), { config: A, us: 10, decision: 'kept' });
  assert.deepEqual(selectWinner({ candidates, incumbent: { config: A, us: 10 }, keepWithin: 0.01 }), { config: B, us: 9.85, decision: 'replaced' });
  // exactly at the margin: kept (a challenger must be faster by MORE than keepWithin)
  assert.equal(selectWinner({ candidates: [{ config: B, us: 9.8 }], incumbent: { config: A, us: 10 }, keepWithin: 0.02 })!.decision, 'kept');
});

test('an incumbent that is itself the fastest is kept at its new time', () => {
  const r = selectWinner({ candidates: [{ config: A, us: 7 }, { config: B, us: 8 }], incumbent: { config: A, us: 7 }, keepWithin: 0.02 });
  assert.deepEqual(r, { config: A, us: 7, decision: 'kept' });
});

test('an incumbent that fails now is replaced; with nothing else measured there is no winner', () => {
  assert.deepEqual(selectWinner({ candidates: [{ config: B, us: 20 }], incumbent: { config: A, us: null }, keepWithin: 0.02 }), { config: B, us: 20, decision: 'replaced' });
  assert.equal(selectWinner({ candidates: [], incumbent: { config: A, us: null }, keepWithin: 0.02 }), null);
});

test('keepWithin 0 picks the fastest, ties broken by config key (deterministic)', () => {
  const r = selectWinner({ candidates: [{ config: C, us: 9 }, { config: B, us: 9 }], incumbent: { config: A, us: 10 }, keepWithin: 0 });
  assert.equal(r!.decision, 'replaced');
  assert.deepEqual(r!.config, B);
});
