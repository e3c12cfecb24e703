import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeResultDirs } from '../../src/store/merge.js';
import { writeTunedConfig } from '../../src/store/writer.js';
import { H100, metaFor, w8a8 } from './helpers.js';

const shard = (root: string, name: string, entries: Record<number, ReturnType<typeof w8a8>>, us: Record<number, number>, now: string) => {
  const dir = join(root, name);
  writeTunedConfig({ dir, family: 'w8a8-int8', shape: { N: 6144, K: 2560 }, device: H100.name, entries, meta: metaFor(us, { command: `tune --shard ${name}` }), now });
  return dir;
};

test('merge: faster measured entry wins per M; output is identical for any input order', () => {
  const root = mkdtempSync(join(tmpdir(), 'tritune-merge-'));
  const a = shard(root, 'a', { 1: w8a8(64), 16: w8a8(64) }, { 1: 5, 16: 9 }, '2025-06-01T00:00:00.000Z');
  const b = shard(root, 'b', { 16: w8a8(128), 64: w8a8(128) }, { 16: 7, 64: 11 }, '2025-06-02T00:00:00.000Z');
  const c = shard(root, 'c', { 1: w8a8(32) }, { 1: 6 }, '2025-06-02T00:00:00.000Z');
  const orders = [[a, b, c], [c, b, a], [b, a, c]];
  const outs = orders.map((o) => mergeResultDirs(o));
  for (const o of outs.slice(1)) assert.deepEqual([...o.files], [...outs[0]!.files]);
  const first = outs[0]!;
  assert.equal(first.files.size, 2);
  const [cfgText, metaText] = [...first.files.values()];
  const cfg = JSON.parse(cfgText!);
  assert.deepEqual(Object.keys(cfg), ['1', '16', '64']);
  assert.equal(cfg['1'].BLOCK_SIZE_N, 64, 'a (5 us) beats c (6 us) at M=1');
  assert.equal(cfg['16'].BLOCK_SIZE_N, 128, 'b (7 us) beats a (9 us) at M=16');
  const meta = JSON.parse(metaText!);
  assert.equal(meta.entries['16'].us, 7);
  assert.equal(meta.created, '2025-06-01T00:00:00.000Z');
  assert.equal(meta.updated, '2025-06-02T00:00:00.000Z');
  assert.match(meta.command, /--shard [bc]/);
  assert.deepEqual(first.conflicts.map((x) => x.M), [1, 16]);
});

test('merge: equal times break ties by the config itself, not by input order', () => {
  const root = mkdtempSync(join(tmpdir(), 'tritune-merge-'));
  const a = shard(root, 'a', { 1: w8a8(128) }, { 1: 5 }, '2025-06-01T00:00:00.000Z');
  const b = shard(root, 'b', { 1: w8a8(64) }, { 1: 5 }, '2025-06-01T00:00:00.000Z');
  const ab = mergeResultDirs([a, b]);
  const ba = mergeResultDirs([b, a]);
  assert.deepEqual([...ab.files], [...ba.files]);
});

test('merge refuses simulated and measured inputs for one file', () => {
  const root = mkdtempSync(join(tmpdir(), 'tritune-merge-'));
  const a = shard(root, 'a', { 1: w8a8(64) }, { 1: 5 }, '2025-06-01T00:00:00.000Z');
  const dir = join(root, 's');
  writeTunedConfig({ dir, family: 'w8a8-int8', shape: { N: 6144, K: 2560 }, device: H100.name, entries: { 2: w8a8(64) }, meta: metaFor({ 2: 1 }, { backend: 'sim' }) });
  assert.throws(() => mergeResultDirs([a, dir]), /some inputs are simulated/);
});
