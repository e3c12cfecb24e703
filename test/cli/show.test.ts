import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nearestM } from '../../src/store/lookup.js';
import { FIXTURES, tune, W8A8_FILE } from './run-cli.js';

test('nearestM: nearest key, ties to the smaller', () => {
  const keys = [1, 16, 64, 256];
  assert.equal(nearestM(keys, 1), 1);
  assert.equal(nearestM(keys, 40), 16, '40 is 24 from 16 and 24 from 64: the smaller wins');
  assert.equal(nearestM(keys, 41), 64);
  assert.equal(nearestM(keys, 100000), 256);
  assert.equal(nearestM([8], 1), 8);
});

test('show --json prints the entry a server would use, with its measurement', () => {
  const file = join(FIXTURES, W8A8_FILE);
  const r = tune(['show', file, '--m', '20', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.key, 16, '20 is 4 from 16 and 4 from 24: ties go to the smaller');
  assert.equal(out.family, 'w8a8-int8');
  assert.deepEqual(Object.keys(out.config), ['BLOCK_SIZE_M', 'BLOCK_SIZE_N', 'BLOCK_SIZE_K', 'GROUP_SIZE_M', 'num_warps', 'num_stages', 'SPLIT_K']);
  assert.equal(out.measured.us, 4.192);
  assert.equal(out.simulated, false);
});

test('show prints a table by default', () => {
  const r = tune(['show', join(FIXTURES, W8A8_FILE), '--m', '5000']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /M key used\s*│\s*4096/);
  assert.match(r.stdout, /SPLIT_K\s*│\s*1/);
});
