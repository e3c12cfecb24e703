import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';

const script = join(ROOT, 'dist', 'scripts', 'hint-score.js');

test('hint-score: a malformed option is one line naming it and exit 2, before any journal is read', () => {
  for (const [bad, name] of [[['--limit', '0'], '--limit'], [['--at', '2'], '--at'], [['--seeds', '9-3'], '--seeds']] as const) {
    const r = spawnSync(process.execPath, [script, ...bad, 'no-such-journal.jsonl.gz'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^hint-score: ${name} `));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('hint-score and search-score: a journal that cannot be read is one line naming it and exit 2', () => {
  for (const tool of ['hint-score', 'search-score']) {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'scripts', `${tool}.js`), 'no-such-journal.jsonl.gz'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^${tool}: no-such-journal\\.jsonl\\.gz: ENOENT`));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('hint-score: on the MoE journal, the hint given a whole round names most of the next round and nothing it skips', () => {
  const r = spawnSync(process.execPath, [script, 'test/data/journals/moe-w4a16-default-h200.jsonl.gz', '--at', '1', '--seeds', '0'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const row = r.stdout.trim().split('\n').at(-1)!.split('|').map((c) => c.trim());
  assert.equal(row[1], 'the whole round');
  assert.ok(Number.parseFloat(row[3]!) >= 90, row.join(' | '));
  assert.equal(row[4], '100.0 %');
  assert.ok(Number.parseFloat(row[5]!) > 0, 'the time a hint takes');
});
