import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../cli/run-cli.js';
import { describeEstimate, estimateRun, type PlannedWork } from '../../src/runner/estimate.js';
import { MEASURED_RUNS } from './measured-runs.js';

interface PlanEvent {
  shapes: PlannedWork[];
  units: number;
  trials: number;
}

/** The plan `tune --dry-run` makes for a job on an H200: the sim backend named as one, so the servers' shipped H200
 * files are its incumbents (and the committed files, for a run that re-tuned over them). */
async function planOf(args: string[], overCommitted = false): Promise<PlanEvent> {
  const dir = mkdtempSync(join(tmpdir(), 'estimate-'));
  if (overCommitted) cpSync(join(ROOT, 'tuned-configs'), join(dir, 'out'), { recursive: true });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'bin', 'tune'), ...args, '--backend', 'sim', '--dry-run', '--json', '--state', join(dir, 'st'), '--out', join(dir, 'out')],
    { env: { ...process.env, TRITUNE_SIM_DEVICE: 'NVIDIA H200', TRITUNE_DEBUG: '' }, maxBuffer: 1 << 24 },
  );
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return events.find((e) => e.event === 'plan') as unknown as PlanEvent;
}

test('the estimate of every measured H200 run it is held to is within ±50 % of the measured wall', async (t) => {
  const plans = new Map<string, Promise<PlanEvent>>();
  const job = (run: (typeof MEASURED_RUNS)[number]) => `${run.args.join(' ')}${run.overCommitted ? ' (over the committed files)' : ''}`;
  for (const run of MEASURED_RUNS) if (!plans.has(job(run))) plans.set(job(run), planOf(run.args, run.overCommitted));
  const misses: string[] = [];
  for (const run of MEASURED_RUNS) {
    const plan = await plans.get(job(run))!;
    const e = estimateRun(plan.shapes, { device: 'NVIDIA H200', backend: 'cuda', gpus: run.gpus, compileWorkers: run.compileWorkers, units: plan.units });
    assert.equal(e.model, 'calibrated');
    const ratio = e.seconds! / run.wallS;
    const line = `${run.name}: estimated ${e.seconds!.toFixed(1)} s, measured ${run.wallS} s (${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(0)} %); trials planned ${plan.trials}${run.trials ? `, measured ${run.trials}` : ''}${run.held === true ? '' : `; not held: ${run.held}`}`;
    t.diagnostic(line);
    if (run.held !== true) continue;
    if (ratio < 0.5 || ratio > 1.5) misses.push(line);
    // the plan is the job that was measured: a run spends a little less than its plan's most; a run that timed each
    // seed twice spent those on top (a small share of a job), so its plan may also fall short of it by a little
    const [low, high] = run.seedsTimedTwice ? [0.9, 1.1] : [1.0, 1.1];
    if (run.trials) assert.ok(plan.trials >= run.trials * low && plan.trials <= run.trials * high, `${run.name}: planned ${plan.trials} trials, measured ${run.trials}${run.seedsTimedTwice ? ' with each seed timed twice' : ''}`);
  }
  assert.deepEqual(misses, []);
});

const MOE: PlannedWork[] = [{ family: 'vllm-moe', trials: 794 }];

test('the estimate says what it assumed: the calibration, trials and seconds per trial, compile jobs and workers, start-up', () => {
  const e = estimateRun(MOE, { device: 'NVIDIA H200', backend: 'cuda', gpus: 1, compileWorkers: 14, units: 4 });
  assert.match(describeEstimate(e), /^estimated 1m37s \(H200 calibration: 794 trials x 60 ms on 1 GPU\(s\) = 48s; 305 compile jobs x 3\.9 s over 14 compile workers = 1m25s; \+ 12s start-up\)$/);
  // a device never measured gets the H200's numbers, and says so
  const a100 = estimateRun(MOE, { device: 'NVIDIA A100-SXM4-80GB', backend: 'cuda', gpus: 1, compileWorkers: 14, units: 4 });
  assert.equal(a100.seconds, e.seconds);
  assert.match(describeEstimate(a100), /^estimated 1m37s \(no calibration for NVIDIA A100-SXM4-80GB: the H200's numbers: /);
});

test('the GPU side is spread over the GPUs that get a unit; without compile workers the bench workers compile too', () => {
  const one = estimateRun(MOE, { device: 'NVIDIA H200', backend: 'cuda', gpus: 1, compileWorkers: 14, units: 4 });
  const eight = estimateRun(MOE, { device: 'NVIDIA H200', backend: 'cuda', gpus: 8, compileWorkers: 14, units: 4 });
  assert.ok(one.model === 'calibrated' && eight.model === 'calibrated');
  assert.equal(eight.gpus_used, 4, '4 units keep at most 4 GPUs busy');
  assert.ok(Math.abs(eight.gpu_s - one.gpu_s / 4) < 0.1);
  const none = estimateRun(MOE, { device: 'NVIDIA H200', backend: 'cuda', gpus: 1, compileWorkers: 0, units: 4 });
  assert.ok(none.model === 'calibrated');
  assert.ok(Math.abs(none.seconds - (none.startup_s + none.gpu_s + none.compile_s)) < 0.2);
  assert.match(describeEstimate(none), /on the bench workers \(no compile workers\)/);
});

test('the sim backend keeps its own estimate (its configured delay); the interpret backend has none', () => {
  const sim = estimateRun(MOE, { device: 'NVIDIA H200', backend: 'sim', gpus: 2, compileWorkers: 0, units: 4 });
  assert.equal(sim.model, 'simulated');
  assert.match(describeEstimate(sim), /^estimated \S+ \(simulated backend\)$/);
  const interpret = estimateRun(MOE, { device: 'cpu', backend: 'interpret', gpus: 1, compileWorkers: 0, units: 4 });
  assert.equal(interpret.seconds, null);
  assert.match(describeEstimate(interpret), /^no time estimate \(the interpret backend/);
});
