import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WorkerProcess, type WorkerSpec } from '../../src/runner/worker.js';
import { BENCH_PIPELINE, GpuActivity, GpuSlot } from '../../src/runner/pool.js';
import { laneEnv } from '../../src/runner/bench-workers.js';

const FIX = join(process.cwd(), 'test', 'fixtures', 'workers');
const spec = (script: string, env: Record<string, string> = {}, startTimeoutMs = 10000): WorkerSpec => ({
  python: 'python3',
  args: [script.includes('/') ? script : join(FIX, script)],
  env,
  startTimeoutMs,
  label: 'test',
});
const trial = { type: 'trial' as const, family: 'w8a8-int8' as const, config: { BLOCK_SIZE_M: 16 }, problems: [{ M: 1, N: 64, K: 64 }] };

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a well-behaved worker says hello and answers a trial', async () => {
  const w = new WorkerProcess(spec('echo.py'));
  const hello = await w.start();
  assert.ok(hello.ok && hello.value.device.name === 'FIXTURE GPU');
  const got = await w.request(trial, 5000);
  assert.ok(got.ok && got.value.type === 'result' && got.value.results[0]!.us === 10);
  await w.stop();
});

test('a line that is not JSON is a protocol failure and the worker is killed', async () => {
  const w = new WorkerProcess(spec('garbage.py'));
  assert.ok((await w.start()).ok);
  const pid = w.pid!;
  const got = await w.request(trial, 5000);
  assert.ok(!got.ok);
  assert.equal(got.failure.kind, 'protocol');
  assert.match(got.failure.message, /not JSON/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(alive(pid), false);
});

test('JSON that fails the protocol schema is a protocol failure naming the field', async () => {
  const w = new WorkerProcess(spec('wrong_shape.py'));
  assert.ok((await w.start()).ok);
  const got = await w.request(trial, 5000);
  assert.ok(!got.ok && got.failure.kind === 'protocol');
  assert.match(got.failure.message, /bad message/);
});

test('a request that never comes back times out and the process group is killed', async () => {
  const w = new WorkerProcess(spec('hang.py'));
  assert.ok((await w.start()).ok);
  const pid = w.pid!;
  const t0 = Date.now();
  const got = await w.request(trial, 400);
  assert.ok(!got.ok && got.failure.kind === 'timeout');
  assert.ok(Date.now() - t0 < 3000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(alive(pid), false);
});

test('requests written ahead are answered in order, each timed from when the worker starts on it', async () => {
  // 250 ms a request, 400 ms allowed: the third would time out if its clock ran from when it was written.
  const w = new WorkerProcess(spec('echo.py', { FIXTURE_SLEEP_MS: '250' }));
  assert.ok((await w.start()).ok);
  const asked = [1, 2, 3].map((M) => w.request({ ...trial, problems: [{ M, N: 64, K: 64 }] }, 400));
  assert.equal(w.inFlight, 3);
  const got = await Promise.all(asked);
  assert.deepEqual(
    got.map((g) => g.ok && g.value.type === 'result' && g.value.id),
    ['test-1', 'test-2', 'test-3'],
  );
  assert.equal(w.inFlight, 0);
  await w.stop();
});

test('when the worker hangs, the request it works on times out and those behind it come back not started', async () => {
  const w = new WorkerProcess(spec('hang.py'));
  assert.ok((await w.start()).ok);
  const [first, second] = await Promise.all([w.request(trial, 300), w.request(trial, 300)]);
  assert.ok(!first!.ok && first!.failure.kind === 'timeout');
  assert.ok(!second!.ok && second!.failure.kind === 'aborted');
  assert.match(second!.failure.message, /not started: no answer within 0.3 s/);
  const after = await w.request(trial, 300);
  assert.ok(!after.ok && after.failure.kind === 'aborted');
});

test('a GPU slot writes requests ahead; one never started because the worker died is sent again, not failed', async () => {
  // Each worker answers one request, then dies on the next: the second dies with the worker (retried once) and
  // the third, written behind it, was never started (sent again to the next worker, not counted as an attempt).
  const slot = new GpuSlot(0, '0', () => spec('echo.py', { FIXTURE_DIE_AFTER: '1', FIXTURE_SLEEP_MS: '100' }));
  assert.ok(await slot.ensure());
  const asked = [1, 2, 3].map((M) => slot.bench({ ...trial, problems: [{ M, N: 64, K: 64 }] }, 5000));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(slot.worker!.inFlight, BENCH_PIPELINE);
  const out = await Promise.all(asked);
  assert.deepEqual(out.map((o) => [o.ok, o.restarted]), [[true, false], [true, true], [true, true]]);
  assert.equal(slot.problems, 3);
  assert.equal(slot.restarts, 2);
  await slot.stop();

  // A config that kills the worker with a sticky error is recorded (no retry); the request behind it still runs.
  const crashing = new GpuSlot(1, '1', () => spec('echo.py', { FIXTURE_CRASH_M: '2', FIXTURE_SLEEP_MS: '50' }));
  const got = await Promise.all([1, 2, 3].map((M) => crashing.bench({ ...trial, problems: [{ M, N: 64, K: 64 }] }, 5000)));
  assert.deepEqual(got.map((o) => (o.ok ? 'ok' : o.status)), ['ok', 'crash', 'ok']);
  assert.equal(crashing.restarts, 1);
  await crashing.stop();
});

test('a worker that cannot start gives one clear line (no torch, no hello, no python)', async () => {
  const noTorch = await new WorkerProcess(spec('no_torch.py')).start();
  assert.ok(!noTorch.ok && noTorch.failure.kind === 'start');
  assert.match(noTorch.failure.message, /no module torch/);
  const silent = new WorkerProcess(spec('silent.py', {}, 500));
  const r = await silent.start();
  assert.ok(!r.ok && /no hello within/.test(r.failure.message));
  const missing = await new WorkerProcess({ ...spec('echo.py'), python: '/nonexistent/python3' }).start();
  assert.ok(!missing.ok && /cannot run \/nonexistent\/python3|did not start/.test(missing.failure.message), !missing.ok ? missing.failure.message : '');
});

test('a GPU slot restarts a dead worker, retries the request once, and gives up after repeated start failures', async () => {
  const slot = new GpuSlot(0, '0', () => spec('echo.py', { FIXTURE_DIE_AFTER: '1' }));
  const first = await slot.bench(trial, 5000);
  assert.ok(first.ok && !first.restarted);
  const second = await slot.bench(trial, 5000); // the worker dies; a fresh one answers
  assert.ok(second.ok && second.restarted);
  assert.equal(slot.restarts, 1);
  await slot.stop();

  const states: string[] = [];
  const dead = new GpuSlot(1, '1', () => spec('no_torch.py'), { onState: (_g, s) => states.push(s) });
  const out = await dead.bench(trial, 5000);
  assert.ok(!out.ok && /gone/.test(out.message));
  assert.equal(dead.state, 'gone');
  assert.deepEqual(states.filter((s) => s === 'restarting').length, 2);
});

test('a GPU counts as starved only while none of its workers has a request', async () => {
  const activity = new GpuActivity();
  const lanes = [0, 1].map((lane) => new GpuSlot(0, '0', () => spec('echo.py', { FIXTURE_SLEEP_MS: '100' }), {}, activity));
  assert.ok((await Promise.all(lanes.map((s) => s.ensure()))).every(Boolean));
  // the lanes' requests overlap: never starved; then nothing at all for 300 ms: starved that long
  await Promise.all([lanes[0]!.bench(trial, 5000), new Promise((r) => setTimeout(r, 50)).then(() => lanes[1]!.bench(trial, 5000))]);
  assert.equal(activity.starvedMs, 0);
  await new Promise((r) => setTimeout(r, 300));
  await lanes[1]!.bench(trial, 5000);
  assert.ok(activity.starvedMs >= 290, `starved ${activity.starvedMs} ms`);
  await Promise.all(lanes.map((s) => s.stop()));
});

test("a GPU's bench workers get its lock file and split its input cache", () => {
  assert.deepEqual(laneEnv({ A: '1' }, '/l/gpu0.lock', 2, undefined), { A: '1', TRITUNE_GPU_LOCK: '/l/gpu0.lock', TRITUNE_INPUT_CACHE_GB: '8' });
  assert.equal(laneEnv({}, 'x', 4, '6').TRITUNE_INPUT_CACHE_GB, '1.5');
  assert.equal(laneEnv({}, 'x', 2, 'lots').TRITUNE_INPUT_CACHE_GB, undefined); // inherited as given
});
