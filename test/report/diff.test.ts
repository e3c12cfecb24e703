import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffFile, diffSides, regressions, summaryLine, type ConfigDoc } from '../../src/report/diff.js';
import { renderDiffTable } from '../../src/report/diff-table.js';
import { COMMENT_MARKER, renderDiffMarkdown } from '../../src/report/markdown.js';
import { entry, fixtureMeta, metaEntry } from './fixtures.js';

/** A doc with the given M -> (BLOCK_SIZE_M, us) entries; us null means no sidecar entry. */
function doc(entries: Record<number, [number, number]>, withMeta = true): ConfigDoc {
  const body: ConfigDoc['body'] = {};
  const meta: Record<string, ReturnType<typeof metaEntry>> = {};
  for (const [m, [bm, us]] of Object.entries(entries)) {
    body[m] = entry(bm);
    meta[m] = metaEntry(Number(m), 1024, 1024, us);
  }
  return { source: 'fixture', body, meta: withMeta ? fixtureMeta('w8a8-int8', { N: 1024, K: 1024 }, meta) : null };
}

test('diffFile: changed keys old -> new, measured speedup, added and removed entries', () => {
  const f = diffFile('a.json', doc({ 1: [16, 10], 16: [16, 20], 64: [64, 40] }), doc({ 16: [32, 16], 64: [64, 41], 256: [64, 90] }));
  assert.equal(f.status, 'changed');
  assert.deepEqual(f.entries.map((e) => [e.M, e.status]), [[1, 'removed'], [16, 'changed'], [64, 'unchanged'], [256, 'added']]);
  const e16 = f.entries[1]!;
  assert.deepEqual(e16.keys, [{ key: 'BLOCK_SIZE_M', old: 16, new: 32 }]);
  assert.equal(e16.oldUs, 20);
  assert.equal(e16.newUs, 16);
  assert.equal(e16.speedup, 20 / 16);
  assert.equal(e16.vsDefault, 1.5); // fixture default_us = 1.5 x us
  assert.equal(f.entries[0]!.newUs, null);
  assert.equal(f.entries[3]!.oldUs, null);
});

test('diffSides: whole files added/removed, summary counts, geomean and worst', () => {
  const oldSide = new Map([['x.json', doc({ 1: [16, 10], 2: [16, 10] })], ['gone.json', doc({ 1: [16, 5] })]]);
  const newSide = new Map([['x.json', doc({ 1: [32, 8], 2: [32, 12.5] })], ['new.json', doc({ 1: [16, 5] })]]);
  const r = diffSides(oldSide, newSide);
  assert.deepEqual(r.files.map((f) => [f.path, f.status]), [['gone.json', 'removed'], ['new.json', 'added'], ['x.json', 'changed']]);
  assert.deepEqual(r.summary.entries, { added: 1, removed: 1, changed: 2, unchanged: 0 });
  assert.ok(Math.abs(r.summary.geomeanSpeedup! - Math.sqrt((10 / 8) * (10 / 12.5))) < 1e-12);
  assert.deepEqual(r.summary.worst, { path: 'x.json', M: 2, speedup: 0.8 });
  assert.match(summaryLine(r.summary), /3 file\(s\) differ \(1 changed, 1 added, 1 removed, 0 unchanged\)/);
  assert.match(summaryLine(r.summary), /worst 0\.80x at x\.json M=2/);
});

test('regressions: only changed entries slower than the threshold count', () => {
  const r = diffSides(
    new Map([['f.json', doc({ 1: [16, 10], 2: [16, 10], 4: [16, 10] })]]),
    // M=1 changed and 10% slower; M=2 changed and 4% slower; M=4 unchanged config re-measured 50% slower
    new Map([['f.json', doc({ 1: [32, 11], 2: [32, 10.4], 4: [16, 15] })]]),
  );
  assert.deepEqual(regressions(r, 5).map((x) => x.entry.M), [1]);
  assert.deepEqual(regressions(r, 3).map((x) => x.entry.M), [1, 2]);
  assert.deepEqual(regressions(r, 10.5), []);
});

test('no sidecar: the diff still shows key changes, says there is nothing measured, and never flags a regression', () => {
  const r = diffSides(new Map([['f.json', doc({ 1: [16, 10] }, false)]]), new Map([['f.json', doc({ 1: [64, 99] }, false)]]));
  const e = r.files[0]!.entries[0]!;
  assert.equal(e.status, 'changed');
  assert.equal(e.speedup, null);
  assert.ok(r.files[0]!.notes.some((n) => /no sidecar/.test(n)));
  assert.deepEqual(regressions(r, 0), []);
});

test('simulated sidecars and device mismatches are called out', () => {
  const a = doc({ 1: [16, 10] });
  const b = doc({ 1: [32, 9] });
  b.meta!.device = { ...b.meta!.device, name: 'NVIDIA H200' };
  const notes = diffFile('f.json', a, b).notes.join('\n');
  assert.match(notes, /both sidecars are SIMULATED/);
  assert.match(notes, /different devices: NVIDIA H100 80GB HBM3 -> NVIDIA H200/);
});

test('renderers: the table and the Markdown comment carry the change, times, speedup and summary', () => {
  const r = diffSides(new Map([['d/f.json', doc({ 16: [16, 20], 64: [64, 40] })]]), new Map([['d/f.json', doc({ 16: [32, 16], 64: [64, 40] })]]));
  const table = renderDiffTable(r);
  assert.match(table, /d\/f\.json \(changed\)/);
  assert.match(table, /BLOCK_SIZE_M 16->32/);
  assert.match(table, /20\.00 .*16\.00 .*1\.25x .*1\.50x/);
  assert.doesNotMatch(table, /│\s+64 │/, 'unchanged entries are hidden by default');
  assert.match(renderDiffTable(r, { all: true }), /│\s+64 │ unchanged/);
  const md = renderDiffMarkdown(r);
  assert.ok(md.startsWith(COMMENT_MARKER));
  assert.match(md, /\| 16 \| BLOCK_SIZE_M 16 → 32 \| 20\.00 \| 16\.00 \| 1\.25x \| 1\.50x \|/);
  assert.match(md, /\*\*1 file\(s\) differ/);
  assert.doesNotMatch(md, /WARNING/);
  const slower = diffSides(new Map([['f.json', doc({ 1: [16, 10] })]]), new Map([['f.json', doc({ 1: [32, 12] })]]));
  assert.match(renderDiffMarkdown(slower), /\[!WARNING\]/);
  // a whole new file: one line in the table, its entries (with their configs) collapsed in the Markdown
  const added = diffSides(new Map(), new Map([['n.json', doc({ 1: [16, 10], 8: [32, 12] })]]));
  assert.match(renderDiffTable(added), /n\.json \(added\)\n {2}note: .*\n {2}2 entries, M 1\.\.8; tuned vs default 1\.50x \(geomean\)\n/);
  assert.doesNotMatch(renderDiffTable(added), /│/);
  const addedMd = renderDiffMarkdown(added);
  assert.match(addedMd, /<details>\n<summary><code>n\.json<\/code> \(added: 2 entries, M 1\.\.8/);
  assert.match(addedMd, /\| 8 \| 32x128x128 g8 w4 s3 SPLIT_K=1 \| - \| 12\.00 \| - \| 1\.50x \|/);
});
