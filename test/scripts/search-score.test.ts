import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';

const script = join(ROOT, 'dist', 'scripts', 'search-score.js');

test('search-score: a malformed --seeds is one line naming it and exit 2, before any journal is read', () => {
  for (const bad of [[], ['9-3'], ['x']]) {
    const r = spawnSync(process.execPath, [script, '--seeds', ...bad], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), /^search-score: --seeds .*: give a range of PRNG seeds/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
