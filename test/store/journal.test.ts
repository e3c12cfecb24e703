import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Journal } from '../../src/store/journal.js';
import { UserError } from '../../src/errors.js';
import type { Fingerprint, JournalTrial } from '../../src/schema/index.js';

const fp: Fingerprint = { family: 'w8a8-int8', space: 'default', device: 'NVIDIA H200', triton: '3.6.0', worker_version: '1', backend: 'cuda' };
const trial = (M: number): JournalTrial => ({
  type: 'trial',
  shape: 'N=6144,K=2560',
  M,
  config: { BLOCK_SIZE_M: 16 },
  effort: 'full',
  status: 'ok',
  us: 10 + M,
  spread: 0.01,
  gpu: 0,
  message: null,
  at: '2026-11-21T00:00:00.000Z',
});
const open = (stateDir: string, over: Partial<Fingerprint> = {}, resume = true) =>
  Journal.open({ stateDir, fingerprint: { ...fp, ...over }, command: 'npx tune --model qwen3-4b', resume });

test('appended trials are read back by the next open', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const j = open(dir);
  j.append([trial(1), trial(2)]);
  j.close();
  const again = open(dir);
  assert.deepEqual(again.previous.map((t) => t.M), [1, 2]);
  again.close();
});

test('a torn last line is dropped and cut away, with a note', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const j = open(dir);
  j.append([trial(1)]);
  j.close();
  appendFileSync(j.path, JSON.stringify(trial(2)).slice(0, 40));
  const again = open(dir);
  assert.deepEqual(again.previous.map((t) => t.M), [1]);
  assert.match(again.notes.join('\n'), /torn last line/);
  again.append([trial(3)]);
  again.close();
  const lines = readFileSync(j.path, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3); // header, M=1, M=3: the torn bytes are gone
  assert.deepEqual(open(dir).previous.map((t) => t.M), [1, 3]);
});

test('a journal of another device is refused naming both values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  open(dir).close();
  assert.throws(
    () => open(dir, { device: 'NVIDIA H100 80GB HBM3' }),
    (e: unknown) => e instanceof UserError && /device="NVIDIA H200"/.test(e.message) && /device="NVIDIA H100 80GB HBM3"/.test(e.message) && /--no-resume/.test(e.message),
  );
  assert.throws(() => open(dir, { triton: '3.5.0' }), /triton="3.6.0".*triton="3.5.0"/);
});

test('--no-resume keeps the old journal aside and starts empty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const j = open(dir);
  j.append([trial(1)]);
  j.close();
  const fresh = open(dir, {}, false);
  assert.equal(fresh.previous.length, 0);
  fresh.close();
  const files = readdirSync(dirname(j.path)).sort();
  assert.equal(files.length, 2);
  assert.ok(files.some((f) => /^journal\..+\.ndjson$/.test(f)));
});
