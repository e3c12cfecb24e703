import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WorkerProcess, type WorkerSpec } from '../../src/runner/worker.js';
import { GpuSlot } from '../../src/runner/pool.js';

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
