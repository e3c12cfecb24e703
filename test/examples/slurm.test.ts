import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tune } from '../cli/run-cli.js';
import { EXAMPLES, merged, recordingClient, runScript, runTask, simSetup, unshardedRun } from './run-example.js';

const SLURM = join(EXAMPLES, 'slurm');
const TUNE = join(SLURM, 'tune.sbatch');
const MERGE = join(SLURM, 'merge.sbatch');
const text = (path: string) => readFileSync(path, 'utf8');
/** The value of an #SBATCH option in a batch script (the lines sbatch reads). */
const sbatch = (path: string, option: string): string | undefined =>
  new RegExp(`^#SBATCH --${option}=(\\S+)`, 'm').exec(text(path))?.[1];

/** The task ids of `--array=a-b` (an optional `%k` limits how many run at once). */
function arrayTasks(): number[] {
  const spec = sbatch(TUNE, 'array');
  const m = /^(\d+)-(\d+)(%\d+)?$/.exec(spec ?? '');
  assert.ok(m, `tune.sbatch: --array=${spec} is not a range a-b`);
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** What Slurm sets in each task of the array (the job id is made up). */
const taskEnv = (tasks: number[], id: number): Record<string, string> => ({
  SLURM_JOB_ID: String(1000 + id),
  SLURM_ARRAY_JOB_ID: '1000',
  SLURM_ARRAY_TASK_ID: String(id),
  SLURM_ARRAY_TASK_MIN: String(tasks[0]),
  SLURM_ARRAY_TASK_MAX: String(tasks.at(-1)),
  SLURM_ARRAY_TASK_COUNT: String(tasks.length),
});

test('slurm: one GPU per task, four tasks, every #SBATCH line before the first command', () => {
  assert.equal(sbatch(TUNE, 'gres'), 'gpu:1');
  assert.deepEqual(arrayTasks(), [0, 1, 2, 3]);
  assert.equal(sbatch(MERGE, 'gres'), undefined, 'the merge needs no GPU');
  for (const path of [TUNE, MERGE]) {
    const lines = text(path).split('\n');
    const firstCommand = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
    const lastDirective = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
    assert.ok(lastDirective < firstCommand, `${path}: sbatch stops reading #SBATCH lines at the first command`);
  }
  // the default TUNE_ARGS is a command the CLI takes (on sim, as a plan only)
  const defaults = /: "\$\{TUNE_ARGS:=([^}]*)\}"/.exec(text(TUNE));
  assert.ok(defaults, 'tune.sbatch has a default TUNE_ARGS');
  const plan = tune([...defaults[1]!.split(' '), '--backend', 'sim', '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
});

test('slurm: the array\'s tasks as Slurm runs them, then the merge: the unsharded run\'s files', async () => {
  const { dir, env } = simSetup();
  const tasks = arrayTasks();
  const ran = await Promise.all(tasks.map((id) => runTask(['bash', TUNE], { ...env, ...taskEnv(tasks, id) })));
  ran.forEach((r, i) => assert.equal(r.code, 0, `task ${tasks[i]}: ${r.out}`));
  assert.deepEqual(readdirSync(join(env.RESULTS!, 'shards')).sort(), tasks.map(String));
  const m = await runTask(['bash', MERGE], { ...env, SLURM_JOB_ID: '1004' });
  assert.equal(m.code, 0, m.out);
  assert.match(m.out, /5 file\(s\): 5 ok, 0 with errors/);
  const whole = unshardedRun(dir, env.TUNE_ARGS!);
  assert.equal(whole.size, 10, 'five config files and their sidecars');
  assert.deepEqual(merged(dir), whole);
});

test('slurm: an array that starts at 1 (--array=1-4) is sharded 0..3 all the same', async () => {
  const { dir, env } = simSetup();
  const tasks = [1, 2, 3, 4];
  for (const id of tasks) {
    const r = await runTask(['bash', TUNE], { ...env, ...taskEnv(tasks, id) });
    assert.equal(r.code, 0, r.out);
  }
  assert.equal((await runTask(['bash', MERGE], env)).code, 0);
  assert.deepEqual(merged(dir), unshardedRun(dir, env.TUNE_ARGS!));
});

test('slurm: submit.sh queues the merge with afterok on the array\'s job id', () => {
  const sbatchClient = recordingClient('sbatch', '4242;cluster1');
  const cwd = mkdtempSync(join(tmpdir(), 'tritune-slurm-submit-'));
  const r = runScript(cwd, join(SLURM, 'submit.sh'), { TRITUNE_HOME: '/opt/tritune' }, sbatchClient.bin);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(sbatchClient.calls(), [`--parsable ${TUNE}`, `--parsable --dependency=afterok:4242 --kill-on-invalid-dep=yes ${MERGE}`]);
  assert.match(r.out, /job array 4242; merge: job 4242,/);
  const missing = runScript(cwd, join(SLURM, 'submit.sh'), { TRITUNE_HOME: '' }, sbatchClient.bin);
  assert.notEqual(missing.code, 0);
  assert.match(missing.out, /TRITUNE_HOME/);
});
