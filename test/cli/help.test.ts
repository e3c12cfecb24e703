import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tune } from './run-cli.js';

const flags = (help: string) => [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!);

test('tune --help shows every option of the default command (tune [options]), not only tune run --help', () => {
  const top = tune(['--help']);
  const run = tune(['run', '--help']);
  assert.equal(top.code, 0, top.stderr);
  assert.equal(run.code, 0, run.stderr);
  const runFlags = flags(run.stdout).filter((f) => f !== '--help');
  assert.ok(runFlags.includes('--model') && runFlags.includes('--batch-sizes') && runFlags.length > 20, runFlags.join(' '));
  const shown = new Set(flags(top.stdout));
  assert.deepEqual(runFlags.filter((f) => !shown.has(f)), [], 'options of tune run missing from tune --help');
  assert.match(top.stdout, /Commands:[^]*validate[^]*The default command: tune \[options\]/);
  assert.equal(tune(['help']).stdout, top.stdout, 'tune help prints the same');
  assert.doesNotMatch(tune(['validate', '--help']).stdout, /--model/, "a subcommand's help shows its own options only");
});
