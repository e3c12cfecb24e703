import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, tempWithFixtures, tune, W8A8_FILE, W8A8_META } from './run-cli.js';

test('validate passes the committed fixtures, warning about M-grid gaps without failing', () => {
  const r = tune(['validate', join(FIXTURES, 'tuned-configs')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /3 file\(s\): 3 ok, 0 with errors, 2 with warnings/);
  assert.match(r.stdout, /warning: M grid not covered: 2 4 8 24/);
});

test('validate defaults to tuned-configs/ in the current folder', () => {
  const dir = tempWithFixtures();
  const r = tune(['validate'], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /3 file\(s\)/);
  const empty = mkdtempSync(join(tmpdir(), 'tritune-empty-'));
  const missing = tune(['validate'], { cwd: empty });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^tune: tuned-configs does not exist/);
});

test('validate rejects files whose sidecar says sim backend (exit 1)', () => {
  const dir = tempWithFixtures();
  const metaPath = join(dir, W8A8_META);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  writeFileSync(metaPath, JSON.stringify({ ...meta, backend: 'sim', simulated: true }, null, 4) + '\n');
  const r = tune(['validate', join(dir, 'tuned-configs')]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /FAIL .*int8_w8a8\.json\n  error: sidecar: results come from the sim backend/);
});

test('validate: missing sidecar, sidecar M not in file, wrong folder, unknown name are findings', () => {
  const dir = tempWithFixtures();
  const meta = JSON.parse(readFileSync(join(dir, W8A8_META), 'utf8'));
  meta.entries['5'] = meta.entries['4'];
  writeFileSync(join(dir, W8A8_META), JSON.stringify(meta, null, 4) + '\n');
  const w4 = 'N=4096,K=4096,device_name=NVIDIA_H100_80GB_HBM3,dtype=int4_w4a16,group_size=128.json';
  const other = join(dir, 'other', 'w8a8-fp8');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, w4), readFileSync(join(dir, 'tuned-configs', 'w4a16', w4)));
  writeFileSync(join(other, 'shapes.json'), '{}\n');
  const r = tune(['validate', '--json', join(dir, 'tuned-configs'), other]);
  assert.equal(r.code, 1);
  const reports = JSON.parse(r.stdout) as Array<{ path: string; findings: string[] }>;
  const by = (s: string) => reports.find((x) => x.path.includes(s))!.findings.join(' | ');
  assert.match(by('int8_w8a8'), /sidecar: entries for M not in the file: 5/);
  assert.match(by(join('other', 'w8a8-fp8', 'N=4096')), /folder: the file name is a w4a16 name but the file is in w8a8-fp8\//);
  assert.match(by(join('other', 'w8a8-fp8', 'N=4096')), /sidecar: .*is missing/);
  assert.match(by('shapes.json'), /name: not a tuned-config file name/);
  assert.equal(reports.filter((x) => x.findings.length === 0).length, 2);
});

test('validate --help exits 0', () => {
  const r = tune(['validate', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: tune validate/);
});

test('validate warns (exit 0) about a valid file in a non-canonical layout', () => {
  const dir = tempWithFixtures();
  const file = join(dir, W8A8_FILE);
  writeFileSync(file, JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))));
  const r = tune(['validate', file]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /warning: layout differs from the canonical one/);
});

test('validate --allow-simulated: sim results are a warning, not a finding; other findings still fail', () => {
  const dir = tempWithFixtures();
  const metaPath = join(dir, W8A8_META);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  writeFileSync(metaPath, JSON.stringify({ ...meta, backend: 'sim', simulated: true }, null, 4) + '\n');
  const r = tune(['validate', '--allow-simulated', join(dir, 'tuned-configs')]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /ok {3}.*int8_w8a8\.json .*\n(  warning: .*\n)*  warning: sidecar: results come from the sim backend/);
  meta.entries['5'] = meta.entries['4'];
  writeFileSync(metaPath, JSON.stringify({ ...meta, backend: 'sim', simulated: true }, null, 4) + '\n');
  const bad = tune(['validate', '--allow-simulated', join(dir, 'tuned-configs')]);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, /error: sidecar: entries for M not in the file: 5/);
});
