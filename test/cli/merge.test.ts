import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshot, tempWithFixtures, tune, W8A8_FILE, W8A8_META } from './run-cli.js';

/** Two shards: b re-measured M=1 faster with another config and added nothing else. */
function shards(): { a: string; b: string } {
  const a = tempWithFixtures('tritune-shard-a-');
  const b = tempWithFixtures('tritune-shard-b-');
  const cfg = JSON.parse(readFileSync(join(b, W8A8_FILE), 'utf8'));
  const meta = JSON.parse(readFileSync(join(b, W8A8_META), 'utf8'));
  cfg['1'].BLOCK_SIZE_N = 32;
  meta.entries['1'].us = 1.5;
  meta.updated = '2025-07-01T00:00:00.000Z';
  writeFileSync(join(b, W8A8_FILE), JSON.stringify(cfg, null, 4) + '\n');
  writeFileSync(join(b, W8A8_META), JSON.stringify(meta, null, 4) + '\n');
  return { a: join(a, 'tuned-configs'), b: join(b, 'tuned-configs') };
}

test('merge: any input order gives byte-identical output; the faster entry wins', () => {
  const { a, b } = shards();
  const out1 = mkdtempSync(join(tmpdir(), 'tritune-out-'));
  const out2 = mkdtempSync(join(tmpdir(), 'tritune-out-'));
  const r1 = tune(['merge', a, b, '--out', out1]);
  const r2 = tune(['merge', b, a, '--out', out2]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(snapshot(out1), snapshot(out2));
  assert.equal(snapshot(out1).size, 6);
  const merged = JSON.parse(readFileSync(join(out1, 'w8a8-int8', W8A8_FILE.split('/').at(-1)!), 'utf8'));
  assert.equal(merged['1'].BLOCK_SIZE_N, 32);
  assert.match(r1.stdout, /conflict w8a8-int8\/N=6144.* M=1: kept .*\(1\.50 µs\)/);
  // an unchanged shard merged with itself reproduces the input bytes exactly
  const out3 = mkdtempSync(join(tmpdir(), 'tritune-out-'));
  assert.equal(tune(['merge', a, a, '--out', out3]).code, 0);
  assert.deepEqual(snapshot(out3), snapshot(a));
});

test('merge refuses simulated inputs into tuned-configs/', () => {
  const { a } = shards();
  const meta = JSON.parse(readFileSync(join(a, W8A8_META.replace('tuned-configs/', '')), 'utf8'));
  writeFileSync(join(a, W8A8_META.replace('tuned-configs/', '')), JSON.stringify({ ...meta, backend: 'sim', simulated: true }, null, 4) + '\n');
  const target = join(mkdtempSync(join(tmpdir(), 'tritune-repo-')), 'tuned-configs');
  const r = tune(['merge', a, '--out', target]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to write simulated/);
});
