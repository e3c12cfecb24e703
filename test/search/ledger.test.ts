import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/search/ledger.js';

const A = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 8, num_warps: 4, num_stages: 3 };
const B = { ...A, BLOCK_SIZE_M: 32 };

test('the ledger keeps each pair once per effort; its last word is the full-effort timing, even a failed one; the search ranks by the first', () => {
  const ledger = new Ledger([1, 16]);
  ledger.record([
    { config: A, M: 1, us: 10, effort: 'quick', spread: 0.02 },
    { config: B, M: 1, us: 12, effort: 'quick', spread: 0.01 },
    { config: A, M: 16, us: 30, effort: 'quick', spread: 0.03 },
  ]);
  assert.deepEqual(ledger.timingOf(A, 1), { us: 10, spread: 0.02 });
  ledger.record([
    { config: A, M: 1, us: null, effort: 'full', spread: 0.5 },
    { config: B, M: 1, us: 11, effort: 'full', spread: 0.04 },
  ]);
  assert.deepEqual(ledger.timingOf(A, 1), { us: null, spread: null }, 'a failed full re-time overrides the quick time');
  assert.deepEqual(ledger.timingOf(B, 1), { us: 11, spread: 0.04 });
  assert.equal(ledger.timingOf(B, 16), undefined);
  assert.deepEqual(ledger.ranked(1, 'quick').map((t) => t.us), [10, 12]);
  // the search ranks a pair by its quick time, a pair timed at full effort only (a seed) by that
  ledger.record([{ config: B, M: 16, us: 25, effort: 'full', spread: 0.01 }]);
  assert.deepEqual(ledger.searchTimes(16), [{ config: B, us: 25 }, { config: A, us: 30 }]);
  assert.deepEqual(ledger.searchTimes(1).map((t) => t.us), [10, 12]);
  assert.deepEqual(ledger.finalists().get(1), [{ config: B, us: 11 }]);
  assert.equal(ledger.evaluationsAt(1), 4);
  assert.equal(ledger.evaluationsAt(16), 2);
  assert.equal(ledger.evaluations(), 6);
});
