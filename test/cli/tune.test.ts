import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_ARGS, comparable, journalTrials, outputs, runSync, trialId, workdir } from './tune-run.js';

test('end to end on 3 simulated GPUs: files for every shape, each entry decided on one GPU; a re-run redoes nothing', () => {
  const dir = workdir();
  const first = runSync(dir, [...BASE_ARGS, '--gpus', '0,1,2', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const events = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(events[0]!.event, 'worker');
  assert.ok(events.some((e) => e.event === 'plan'));
  const done = events.at(-1)!;
  assert.equal(done.event, 'done');
  assert.equal(done.simulated, true);

  const files = outputs(dir);
  const names = [...files.keys()].sort();
  assert.deepEqual(names, [
    'w8a8-int8/N=2560,K=4096,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8.json',
    'w8a8-int8/N=2560,K=4096,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8.meta.json',
    'w8a8-int8/N=6144,K=2560,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8.json',
    'w8a8-int8/N=6144,K=2560,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8.meta.json',
  ]);
  for (const [name, text] of files) {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (name.endsWith('.meta.json')) {
      assert.equal(body.simulated, true);
      assert.equal(body.backend, 'sim');
    } else assert.deepEqual(Object.keys(body), ['1', '4', '16', '64', '128', '512', '1024']);
  }

  const trials = journalTrials(dir);
  assert.equal(trials.length, done.trials);
  assert.equal(new Set(trials.map(trialId)).size, trials.length, 'a trial was journaled twice');
  const gpuOf = new Map<string, Set<number>>();
  for (const t of trials) gpuOf.set(`${t.shape}|${t.M}`, (gpuOf.get(`${t.shape}|${t.M}`) ?? new Set()).add(t.gpu));
  for (const [entry, gpus] of gpuOf) assert.equal(gpus.size, 1, `${entry} was measured on GPUs ${[...gpus]}`);
  assert.deepEqual(new Set(trials.map((t) => t.gpu)), new Set([0, 1, 2]), 'all three GPUs got work');

  const again = runSync(dir, [...BASE_ARGS, '--gpus', '0,1,2', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const doneAgain = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(doneAgain.trials, 0, 'the resumed run measured something again');
  assert.equal(journalTrials(dir).length, trials.length);
  assert.deepEqual(outputs(dir), files);

  // the compile look-ahead (CPU compile workers) changes when configs compile, never what is measured
  const warm = workdir();
  const ahead = runSync(warm, [...BASE_ARGS, '--gpus', '0,1,2', '--json', '--compile-workers', '2']);
  assert.equal(ahead.code, 0, ahead.stderr);
  const doneAhead = JSON.parse(ahead.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.ok((doneAhead.compiled ?? 0) > 0, 'no config was compiled ahead');
  assert.deepEqual(comparable(outputs(warm)), comparable(files));
});

test('--dry-run prints shapes, files, space sizes with pruning reasons, trials and a time estimate; writes nothing', () => {
  const dir = workdir();
  const r = runSync(dir, ['--model', 'qwen3-4b', '--backend', 'sim', '--space', 'exhaustive', '--state', 'st', '--out', 'out', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /N=6144,K=2560 {2}\(qkv_proj\)/);
  assert.match(r.stdout, /file: out\/w8a8-int8\/N=19456,K=2560,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8\.json/);
  assert.match(r.stdout, /space: \d+ configs, \d+ after pruning \(pruned: shared_memory \d+/);
  assert.match(r.stdout, /4 shape\(s\), \d+ unit\(s\) on 1 GPU\(s\), \d+ trials, estimated \S+ \(simulated backend\)/);
  assert.equal(existsSync(join(dir, 'out')), false);
  assert.equal(existsSync(join(dir, 'st', 'journals')), false);
});

test('bad input is one line and exit code 2', () => {
  const dir = workdir();
  const cases: Array<[string[], RegExp]> = [
    [['--backend', 'sim'], /nothing to tune: pass --model/],
    [['--model', 'qwen3-4b', '--backend', 'sim', '--kernel', 'w9a9'], /unknown --kernel "w9a9"/],
    [['--model', 'qwen3-4b', '--backend', 'sim', '--out', 'tuned-configs'], /refusing to write simulated/],
    [['--model', 'qwen3-4b', '--backend', 'sim', '--gpus', 'zero'], /--gpus must be 'all' or a comma-separated list/],
    [['--model', 'qwen3-4b', '--backend', 'sim', '--shard', '2/2'], /--shard 2\/2: the index i must be in 0\.\.1/],
    [['--model', 'qwen3-4b', '--backend', 'sim', '--strategy', 'magic', '--state', 'st'], /unknown strategy 'magic'/],
  ];
  for (const [args, re] of cases) {
    const r = runSync(dir, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('a worker that cannot start gives one clear message', () => {
  const dir = workdir();
  const r = runSync(dir, [...BASE_ARGS], { TRITUNE_KERNELS: join(process.cwd(), 'test', 'fixtures', 'workers', 'missing') });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^tune: no worker could start: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('the final table labels simulated numbers', () => {
  const dir = workdir();
  const r = runSync(dir, [...BASE_ARGS, '--batch-sizes', '1,16']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /us \(simulated\)/);
  assert.match(r.stdout, /vs default/);
  assert.match(r.stdout, /wrote out\/w8a8-int8\/N=6144,K=2560/);
  assert.ok(readFileSync(join(dir, 'out', 'w8a8-int8', 'N=6144,K=2560,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8.json'), 'utf8').endsWith('}\n'));
});

test('a bad knob in the environment is one line and exit code 2, before any trial', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ TRITUNE_WORKERS_PER_GPU: 'two' }, /^tune: TRITUNE_WORKERS_PER_GPU=two: give a whole number, 1 or more$/],
    [{ TRITUNE_PRELOAD: 'no' }, /^tune: TRITUNE_PRELOAD=no: give a whole number, 0 or more$/],
    [{ TRITUNE_BENCH_PIPELINE: '0' }, /^tune: TRITUNE_BENCH_PIPELINE=0: give a whole number, 1 or more$/],
    [{ TRITUNE_UNITS_PER_GPU: '2.5' }, /^tune: TRITUNE_UNITS_PER_GPU=2\.5: give a whole number, 1 or more$/],
    [{ TRITUNE_HINT_COMPILES: '-1' }, /^tune: TRITUNE_HINT_COMPILES=-1: give a whole number, 0 or more$/],
  ];
  for (const [env, re] of cases) {
    const dir = workdir();
    const r = runSync(dir, [...BASE_ARGS, '--json'], env);
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re);
    assert.equal(existsSync(join(dir, 'st', 'journals')), false, 'a journal was begun');
  }
});

test('two bench workers on one simulated GPU take turns on it: one GPU in the summary, the same files as one worker', () => {
  const one = workdir();
  const single = runSync(one, [...BASE_ARGS, '--json']);
  assert.equal(single.code, 0, single.stderr);
  const two = workdir();
  // the simulated GPU time (10 ms a problem) is held under the GPU's lock, so the two workers' add up
  const shared = runSync(two, [...BASE_ARGS, '--json'], { TRITUNE_WORKERS_PER_GPU: '2', TRITUNE_SIM_DELAY_MS: '10' });
  assert.equal(shared.code, 0, shared.stderr);
  const events = shared.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const hellos = events.filter((e) => e.event === 'worker');
  assert.equal(hellos.length, 2);
  assert.deepEqual(new Set(hellos.map((e) => e.gpu)), new Set([0]));
  assert.notEqual(hellos[0]!.pid, hellos[1]!.pid);
  const done = events.at(-1) as { gpus: number; wall_ms: number; trials: number; per_gpu: Array<{ gpu: number; trials: number }> };
  assert.equal(done.gpus, 1);
  assert.deepEqual(done.per_gpu.map((g) => [g.gpu, g.trials]), [[0, done.trials]]);
  assert.ok(done.wall_ms >= done.trials * 10, `${done.trials} problems of 10 ms each in ${done.wall_ms} ms: the workers held the GPU together`);
  assert.deepEqual(comparable(outputs(two)), comparable(outputs(one)));
});
