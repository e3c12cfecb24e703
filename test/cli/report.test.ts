import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tune } from './run-cli.js';
import { tempDir, writeFixture } from '../report/fixtures.js';

test('tune report writes a self-contained index.html and two SVG charts per file', () => {
  const dir = tempDir('tritune-report-cli-');
  writeFixture(join(dir, 'tc'), { N: 6144, K: 2560 }, [1, 16, 256, 4096]);
  writeFixture(join(dir, 'tc'), { N: 2560, K: 4096 }, [1, 16], { meta: false });
  const out = join(dir, 'out');
  const r = tune(['report', join(dir, 'tc'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*index\.html \(2 file\(s\), 2 SVG charts\)/);
  const svgs = readdirSync(out).filter((f) => f.endsWith('.svg')).sort();
  assert.deepEqual(svgs, [
    'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.gbps.svg',
    'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.tflops.svg',
  ]);
  const svg = readFileSync(join(out, svgs[1]!), 'utf8');
  for (const name of ['tuned', 'default config', 'cublas_bf16', 'roofline']) assert.match(svg, new RegExp(`<text[^>]*>${name}</text>`));
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script|<link|src="http/, 'no scripts or external resources');
  assert.equal((html.match(/<svg /g) ?? []).length, 2, 'charts are inline');
  assert.match(html, /No sidecar/);
  assert.match(html, /SIMULATED/);
});

test('tune report: bad input is one line, exit 2', () => {
  const dir = tempDir('tritune-report-cli-');
  mkdirSync(join(dir, 'empty'));
  for (const [args, msg] of [
    [['report', join(dir, 'missing')], /missing: no such file or folder/],
    [['report', join(dir, 'empty'), '--out', join(dir, 'o')], /no tuned-config files under/],
  ] as const) {
    const r = tune([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
