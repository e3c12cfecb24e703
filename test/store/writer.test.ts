import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTunedConfig, isPublishedDir } from '../../src/store/writer.js';
import { readMeta, readTunedConfig } from '../../src/store/reader.js';
import { UserError } from '../../src/errors.js';
import { H100, metaFor, w8a8 } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tritune-writer-'));
const base = (dir: string) => ({ dir, family: 'w8a8-int8' as const, shape: { N: 6144, K: 2560 }, device: H100.name, now: '2025-06-02T00:00:00.000Z' });

test('writes a new file with sorted keys, 4-space indent, trailing newline, and its sidecar', () => {
  const dir = tmp();
  const r = writeTunedConfig({ ...base(dir), entries: { 64: w8a8(128), 1: w8a8(64), 16: w8a8(64, 2) }, meta: metaFor({ 1: 5, 16: 6, 64: 9 }) });
  assert.equal(r.path, join(dir, 'w8a8-int8', 'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.json'));
  const text = readFileSync(r.path, 'utf8');
  assert.ok(text.startsWith('{\n    "1": {\n        "BLOCK_SIZE_M": 16,\n'), text.slice(0, 60));
  assert.ok(text.endsWith('}\n'));
  assert.equal(text, JSON.stringify(JSON.parse(text), null, 4) + '\n', 'same bytes as json.dump(indent=4) + newline');
  assert.deepEqual(r.keys, [1, 16, 64]);
  const meta = readMeta(r.metaPath);
  assert.ok(meta.ok);
  assert.deepEqual(Object.keys(meta.value.entries), ['1', '16', '64']);
  assert.equal(meta.value.created, '2025-06-02T00:00:00.000Z');
  assert.deepEqual(readdirSync(join(dir, 'w8a8-int8')).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
});

test('merging keeps entries for other M, replaces the same M, and keeps created', () => {
  const dir = tmp();
  writeTunedConfig({ ...base(dir), entries: { 1: w8a8(64), 16: w8a8(64) }, meta: metaFor({ 1: 5, 16: 6 }) });
  const r = writeTunedConfig({ ...base(dir), now: '2025-06-03T00:00:00.000Z', entries: { 16: w8a8(128), 8: w8a8(32) }, meta: metaFor({ 16: 4, 8: 5 }) });
  const file = readTunedConfig(r.path);
  assert.ok(file.ok);
  assert.deepEqual(Object.keys(file.value.entries), ['1', '8', '16']);
  assert.equal(file.value.entries['16']!.BLOCK_SIZE_N, 128);
  assert.equal(file.value.entries['1']!.BLOCK_SIZE_N, 64);
  const meta = readMeta(r.metaPath);
  assert.ok(meta.ok);
  assert.equal(meta.value.entries['16']!.us, 4);
  assert.equal(meta.value.entries['1']!.us, 5);
  assert.equal(meta.value.created, '2025-06-02T00:00:00.000Z');
  assert.equal(meta.value.updated, '2025-06-03T00:00:00.000Z');
});

test('an existing invalid file is never overwritten unless force', () => {
  const dir = tmp();
  const r = writeTunedConfig({ ...base(dir), entries: { 1: w8a8(64) }, meta: metaFor({ 1: 5 }) });
  const broken = '{"1": {"BLOCK_SIZE_M": 17}}\n';
  writeFileSync(r.path, broken);
  assert.throws(
    () => writeTunedConfig({ ...base(dir), entries: { 2: w8a8(64) }, meta: metaFor({ 2: 5 }) }),
    (e: unknown) => e instanceof UserError && e.message.includes(r.path) && e.message.includes('1.BLOCK_SIZE_M') && e.message.includes('--force'),
  );
  assert.equal(readFileSync(r.path, 'utf8'), broken);
  writeTunedConfig({ ...base(dir), entries: { 2: w8a8(64) }, meta: metaFor({ 2: 5 }), force: true });
  const after = readTunedConfig(r.path);
  assert.ok(after.ok);
  assert.deepEqual(Object.keys(after.value.entries), ['2'], 'force replaces the unreadable file');
});

test('invalid new entries are refused before anything is written', () => {
  const dir = tmp();
  assert.throws(() => writeTunedConfig({ ...base(dir), entries: { 1: w8a8(48) }, meta: metaFor({ 1: 5 }) }), /1\.BLOCK_SIZE_N: must be a power of two/);
  assert.throws(() => writeTunedConfig({ ...base(dir), entries: { 0: w8a8(64) }, meta: metaFor({ 0: 5 }) }), /M "0" is not a positive integer/);
  assert.throws(() => writeTunedConfig({ ...base(dir), entries: { 1: w8a8(64) }, meta: metaFor({ 2: 5 }) }), /sidecar has entries for M not in the file \(2\)/);
  assert.deepEqual(readdirSync(dir), []);
});

test('simulated results are refused under any tuned-configs folder, allowed elsewhere', () => {
  const dir = tmp();
  const published = join(dir, 'repo', 'tuned-configs');
  assert.equal(isPublishedDir(published), true);
  assert.equal(isPublishedDir(join(dir, '.tritune', 'sim-out')), false);
  assert.throws(() => writeTunedConfig({ ...base(published), entries: { 1: w8a8(64) }, meta: metaFor({ 1: 5 }, { backend: 'sim' }) }), /refusing to write simulated.*sim-out/);
  const ok = writeTunedConfig({ ...base(join(dir, 'sim-out')), entries: { 1: w8a8(64) }, meta: metaFor({ 1: 5 }, { backend: 'sim' }) });
  const meta = readMeta(ok.metaPath);
  assert.ok(meta.ok && meta.value.simulated && meta.value.backend === 'sim');
  // measured results are not merged into a simulated file
  assert.throws(() => writeTunedConfig({ ...base(join(dir, 'sim-out')), entries: { 2: w8a8(64) }, meta: metaFor({ 2: 5 }) }), /refusing to mix simulated/);
});

test('a MoE file name shared by two weight shapes is refused, not mixed', () => {
  const dir = tmp();
  const moe = (K: number) => ({ dir, family: 'moe-w4a16' as const, shape: { E: 64, N: 2048, K, group_size: 128 }, device: H100.name });
  const entry = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };
  writeTunedConfig({ ...moe(2048), entries: { 1: entry }, meta: metaFor({ 1: 5 }) });
  assert.throws(() => writeTunedConfig({ ...moe(1024), entries: { 1: entry }, meta: metaFor({ 1: 5 }) }), /holds results for shape .*"K":2048.*not .*"K":1024/);
});
