import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tune } from './run-cli.js';
import { BASE_ARGS, comparable, journalTrials, outputs, runAsync, runSync, trialId, workdir, type JTrial } from './tune-run.js';

/**
 * Recovery paths on the sim backend with real Python workers: each faulted or interrupted run must end
 * with the same files as an uninterrupted one, and journal no trial twice.
 */
const GPUS = ['--gpus', '0,1,2'];
const EXHAUSTIVE = ['--strategy', 'exhaustive'];

interface Reference {
  files: Map<string, string>;
  trials: JTrial[];
}
const clean: Record<string, Reference> = {};

function reference(extra: string[]): Reference {
  const dir = workdir('tune-ref-');
  const r = runSync(dir, [...BASE_ARGS, ...GPUS, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return { files: outputs(dir), trials: journalTrials(dir) };
}

before(() => {
  clean.default = reference([]);
  clean.exhaustive = reference(EXHAUSTIVE);
});

function assertSameRun(dir: string, ref: Reference): JTrial[] {
  assert.deepEqual(comparable(outputs(dir)), comparable(ref.files), 'the files differ from an uninterrupted run');
  const trials = journalTrials(dir);
  const ids = trials.map(trialId);
  assert.equal(new Set(ids).size, ids.length, 'a finished trial was redone');
  assert.deepEqual(new Set(ids), new Set(ref.trials.map(trialId)), 'the trials differ from an uninterrupted run');
  return trials;
}

/** A config the exhaustive reference measured but that won no entry: faulting it must not change the files. */
function loser(ref: Reference): Record<string, number> {
  const winners = new Set<string>();
  for (const [name, text] of ref.files) {
    if (name.endsWith('.meta.json')) continue;
    for (const c of Object.values(JSON.parse(text) as Record<string, Record<string, number>>)) winners.add(JSON.stringify(c, Object.keys(c).sort()));
  }
  const slowest = [...ref.trials].filter((t) => t.status === 'ok').sort((a, b) => b.us! - a.us!)[0]!;
  assert.ok(!winners.has(JSON.stringify(slowest.config, Object.keys(slowest.config).sort())));
  return slowest.config;
}

test('SIGKILL of a worker mid-run: the worker is restarted, the trial retried, the files unchanged', async () => {
  const dir = workdir();
  const run = runAsync(dir, [...BASE_ARGS, ...GPUS, '--json'], { TRITUNE_SIM_DELAY_MS: '3' });
  const worker = await run.waitFor((e) => e.event === 'worker' && e.gpu === 1);
  await run.waitFor((e) => e.event === 'trial' && e.gpu === 1);
  process.kill(worker.pid as number, 'SIGKILL');
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  const done = run.events.at(-1)!;
  assert.equal(done.event, 'done');
  assert.ok((done.restarts as number) >= 1, 'no worker restart was counted');
  assertSameRun(dir, clean.default!);
});

test('a hanging trial times out, is journaled as timeout, and the run goes on', () => {
  const ref = clean.exhaustive!;
  const bad = loser(ref);
  const dir = workdir();
  const r = runSync(dir, [...BASE_ARGS, ...GPUS, ...EXHAUSTIVE, '--timeout', '0.5'], {
    TRITUNE_SIM_FAULTS: JSON.stringify([{ fault: 'hang', match: bad }]),
  });
  assert.equal(r.code, 0, r.stderr);
  const trials = journalTrials(dir);
  const hung = trials.filter((t) => JSON.stringify(t.config) === JSON.stringify(bad));
  assert.ok(hung.length > 0 && hung.every((t) => t.status === 'timeout' && t.us === null));
  assert.deepEqual(comparable(outputs(dir)), comparable(ref.files));
  assert.equal(new Set(trials.map(trialId)).size, ref.trials.length);
});

test('an illegal-address crash is journaled as crash (not retried), the worker restarted, the files unchanged', () => {
  const ref = clean.exhaustive!;
  const bad = loser(ref);
  const dir = workdir();
  const r = runSync(dir, [...BASE_ARGS, ...GPUS, ...EXHAUSTIVE, '--json'], {
    TRITUNE_SIM_FAULTS: JSON.stringify([{ fault: 'illegal_address', match: bad }]),
  });
  assert.equal(r.code, 0, r.stderr);
  const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  const hits = journalTrials(dir).filter((t) => JSON.stringify(t.config) === JSON.stringify(bad));
  assert.ok(hits.length > 0 && hits.every((t) => t.status === 'crash'));
  assert.equal(done.restarts, new Set(hits.map((t) => `${t.shape}|${t.at}`)).size, 'one restart per crashed request, no retry');
  assertSameRun(dir, ref);
});

test('SIGINT: exit 130 with the resume command; re-running it finishes with the same files and no trial redone', async () => {
  const dir = workdir();
  const args = [...BASE_ARGS, ...GPUS];
  const run = runAsync(dir, [...args, '--json'], { TRITUNE_SIM_DELAY_MS: '3' });
  let seen = 0;
  await run.waitFor((e) => e.event === 'trial' && ++seen >= 6);
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^interrupted; resume with: npx tune --shapes 6144x2560,2560x4096 .* --json$/m);
  const before = journalTrials(dir).length;
  assert.ok(before > 0 && before < clean.default!.trials.length, `interrupted after ${before} trials`);
  assert.deepEqual(outputs(dir), new Map(), 'files are written only at the end');

  const resumed = runSync(dir, [...args, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const done = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.equal(done.trials, clean.default!.trials.length - before, 'the resumed run measured only what was missing');
  assertSameRun(dir, clean.default!);
});

test('--shard 0/2 and 1/2, then tune merge: byte-identical to the unsharded run', () => {
  const dir = workdir();
  for (const shard of ['0/2', '1/2']) {
    const r = runSync(dir, [...BASE_ARGS.slice(0, -2), '--out', `out-${shard[0]}`, '--shard', shard]);
    assert.equal(r.code, 0, r.stderr);
  }
  const one = (d: string) => readdirSync(join(dir, d, 'w8a8-int8')).filter((f) => !f.endsWith('.meta.json'));
  assert.equal(one('out-0').length, 1);
  assert.equal(one('out-1').length, 1);
  const m = tune(['merge', 'out-0', 'out-1', '--out', 'out'], { cwd: dir });
  assert.equal(m.code, 0, m.stderr);
  const ref = clean.default!;
  const merged = outputs(dir);
  for (const [name, text] of ref.files) {
    if (name.endsWith('.meta.json')) {
      const strip = (t: string) => ({ ...(JSON.parse(t) as Record<string, unknown>), command: null });
      assert.deepEqual(strip(merged.get(name)!), strip(text), `${name}: sidecar differs beyond its command line`);
    } else assert.equal(merged.get(name), text, `${name} differs`);
  }
  assert.equal(merged.size, ref.files.size);
  // the environment can carry the shard too (Kubernetes indexed Jobs)
  const env = runSync(dir, [...BASE_ARGS.slice(0, -2), '--out', 'out-env'], { JOB_COMPLETION_INDEX: '1', TRITUNE_SHARD_COUNT: '2' });
  assert.equal(env.code, 0, env.stderr);
  assert.deepEqual(readdirSync(join(dir, 'out-env', 'w8a8-int8')), readdirSync(join(dir, 'out-1', 'w8a8-int8')));
  assert.equal(readFileSync(join(dir, 'out-env', 'w8a8-int8', one('out-1')[0]!), 'utf8'), readFileSync(join(dir, 'out-1', 'w8a8-int8', one('out-1')[0]!), 'utf8'));
});

test('a config whose binary is over the GPUs\' shared memory is refused by its compile worker: journaled invalid, never measured', () => {
  const ref = clean.exhaustive!;
  const bad = loser(ref);
  const dir = workdir();
  const r = runSync(dir, [...BASE_ARGS, ...GPUS, ...EXHAUSTIVE, '--compile-workers', '1', '--json'], {
    TRITUNE_SIM_FAULTS: JSON.stringify([{ fault: 'shared_memory', match: bad }]),
  });
  assert.equal(r.code, 0, r.stderr);
  const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  const hits = journalTrials(dir).filter((t) => JSON.stringify(t.config) === JSON.stringify(bad));
  assert.ok(hits.length > 0 && hits.every((t) => t.status === 'invalid' && t.us === null));
  const refusedTrials = hits.filter((t) => /found by a compile worker/.test(t.message ?? ''));
  assert.ok(refusedTrials.length > 0 && done.refused! >= 1, 'no trial was refused by its compile worker');
  assert.deepEqual(comparable(outputs(dir)), comparable(ref.files));
  assert.equal(new Set(journalTrials(dir).map(trialId)).size, ref.trials.length);
});
