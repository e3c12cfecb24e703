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

/** The plan event (the first --json event after the workers') and the trials journaled per shape. */
function planAndRun(args: string[]): { planned: Map<string, number>; total: number; ran: Map<string, number>; fresh: number } {
  const dir = workdir('tune-plan-');
  const r = runSync(dir, [...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const plan = events.find((e) => e.event === 'plan') as { trials: number; shapes: Array<{ shape: string; trials: number }> };
  const ran = new Map<string, number>();
  for (const t of journalTrials(dir)) ran.set(t.shape, (ran.get(t.shape) ?? 0) + 1);
  return { planned: new Map(plan.shapes.map((s) => [s.shape, s.trials])), total: plan.trials, ran, fresh: events.at(-1)!.trials as number };
}

test('the plan counts what the strategy runs: exactly for exhaustive; for best-first at most, within 2 % on the default space', () => {
  const ex = planAndRun([...BASE_ARGS, '--strategy', 'exhaustive']);
  assert.deepEqual(ex.planned, ex.ran);
  assert.equal(ex.total, ex.fresh);
  // best-first's final re-time may pick a config twice (a neighbouring M's winner among this M's top), so it
  // can spend a little less than planned; never more
  const bf = planAndRun(['--model', 'qwen3-4b', '--kernel', 'w8a8-int8', '--backend', 'sim', '--batch-sizes', '1,16,128,1024', '--state', 'st', '--out', 'out']);
  assert.equal(bf.planned.size, 4);
  for (const [shape, planned] of bf.planned) {
    const ran = bf.ran.get(shape)!;
    assert.ok(ran <= planned && planned <= ran * 1.02, `${shape}: planned ${planned}, ran ${ran}`);
  }
  assert.ok(bf.fresh <= bf.total && bf.total <= bf.fresh * 1.02, `planned ${bf.total}, ran ${bf.fresh}`);
});
