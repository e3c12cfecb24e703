import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tune } from '../cli/run-cli.js';

const WORKFLOW = readFileSync(join(ROOT, '.github', 'workflows', 'tune.yml'), 'utf8');

test('tune.yml: the shard matrix and SHARDS agree', () => {
  const matrix = /^\s+shard: \[([\d, ]+)\]/m.exec(WORKFLOW);
  const shards = /^\s+SHARDS: (\d+)/m.exec(WORKFLOW);
  assert.ok(matrix && shards, 'matrix or SHARDS not found');
  const indices = matrix[1]!.split(',').map((s) => Number(s.trim()));
  assert.deepEqual(indices, [...Array(Number(shards[1])).keys()]);
});

test('tune.yml: every `npx tune` line uses a command and options the CLI has', () => {
  const calls = [...WORKFLOW.matchAll(/npx tune ([^\n>|]*)/g)].map((m) => m[1]!.trim().split(/\s+/));
  assert.ok(calls.length >= 6, `only ${calls.length} npx tune calls found`);
  const help = new Map<string, string>();
  const used = new Set<string>();
  for (const args of calls) {
    const cmd = args[0] && !args[0].startsWith('-') ? args[0] : 'run'; // the default command is run
    used.add(cmd);
    if (!help.has(cmd)) {
      const r = tune([cmd, '--help']);
      assert.equal(r.code, 0, `tune ${cmd} --help: ${r.stderr}`);
      help.set(cmd, r.stdout);
    }
    for (const opt of args.filter((a) => a.startsWith('--'))) {
      assert.match(help.get(cmd)!, new RegExp(`${opt}\\b`), `tune ${cmd} has no option ${opt} (used in tune.yml)`);
    }
  }
  assert.deepEqual([...used].sort(), ['diff', 'merge', 'report', 'run', 'validate']);
});
