import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_ARGS, comparable, journalTrials, outputs, runSync, trialId, workdir } from './tune-run.js';

test("--strategy halving (best-first's old name) runs best-first: the same trials and the same files as the default", () => {
  const runs = [[], ['--strategy', 'best-first'], ['--strategy', 'halving']].map((extra) => {
    const dir = workdir('tune-strategy-');
    const r = runSync(dir, [...BASE_ARGS, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { files: comparable(outputs(dir)), trials: journalTrials(dir).map(trialId).sort() };
  });
  assert.ok(runs[0]!.files.size > 0);
  for (const r of runs.slice(1)) {
    assert.deepEqual(r.files, runs[0]!.files);
    assert.deepEqual(r.trials, runs[0]!.trials);
  }
});
