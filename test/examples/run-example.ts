import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, snapshot, tune } from '../cli/run-cli.js';
import { comparable, ENV, SMALL_SPACE } from '../cli/tune-run.js';

/**
 * How the examples under examples/ are run here, without a cluster and without a GPU. Every example reads what
 * differs between a cluster and this test from a few environment variables, and the test sets exactly those:
 *   TUNE_ARGS      what to tune: here five shapes on the sim backend with a small space, instead of a model on cuda
 *   VALIDATE_ARGS  --allow-simulated, since the merged files hold simulated results
 *   RESULTS        the shared volume or folder: here a temp folder
 *   TRITUNE_HOME   the unpacked bundle: here the repository itself (it has bin/tune, dist/ and kernels/ alike)
 * plus the variables the scheduler sets (JOB_COMPLETION_INDEX; SLURM_ARRAY_TASK_ID and its kin). The commands
 * themselves are taken from the example files.
 */
export const PYTHON = process.env.TRITUNE_PYTHON || 'python3';
export const EXAMPLES = join(ROOT, 'examples');

const SHAPES = '6144x2560,2560x4096,4096x4096,2560x9728,9728x2560';

/** A temp folder with the small space; `sim` holds the variables above for it. */
export function simSetup(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-example-'));
  writeFileSync(join(dir, 'space.json'), JSON.stringify(SMALL_SPACE));
  const tuneArgs = `--shapes ${SHAPES} --kernel w8a8-int8 --backend sim --batch-sizes 1,16,128 --space ${join(dir, 'space.json')}`;
  return {
    dir,
    env: { ...ENV, TUNE_ARGS: tuneArgs, VALIDATE_ARGS: '--allow-simulated', RESULTS: join(dir, 'results'), TRITUNE_HOME: ROOT, NO_COLOR: '1' },
  };
}

/** One unsharded run of the same TUNE_ARGS: what the merged shards must equal. */
export function unshardedRun(dir: string, tuneArgs: string): Map<string, string> {
  const r = tune([...tuneArgs.split(' '), '--state', join(dir, 'ref-state'), '--out', join(dir, 'ref-out')], { env: ENV });
  if (r.code !== 0) throw new Error(`unsharded run failed: ${r.stderr}`);
  return comparable(snapshot(join(dir, 'ref-out')));
}

/** The merged files, comparable with unshardedRun's (sidecars without their command lines). */
export const merged = (dir: string): Map<string, string> => comparable(snapshot(join(dir, 'results', 'merged')));

export interface Ran {
  code: number | null;
  out: string;
}

/** Runs argv to its end as a scheduler would, with `env` over this process's environment. */
export function runTask(argv: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, TRITUNE_DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Every document of a YAML file, parsed by PyYAML (which kubernetes-validate, in requirements-test.txt, brings). */
export function yamlDocs(path: string): Array<Record<string, any>> {
  const r = spawnSync(PYTHON, ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot parse ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<Record<string, any>>;
}

/** Checks manifests against the Kubernetes JSON Schema, strictly (unknown fields are errors), offline. */
export function kubernetesValidate(paths: string[], version: string): Ran {
  const r = spawnSync(PYTHON, ['-m', 'kubernetes_validate', '--strict', '--kubernetes-version', version, ...paths], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

/**
 * A folder with a stand-in for a scheduler's client (kubectl, sbatch) that appends its arguments, one call a line,
 * to `<dir>/calls` and prints `answer`: enough to run a submit script and see what it asks for, in which order.
 */
export function recordingClient(name: string, answer: string): { bin: string; calls: () => string[] } {
  const bin = mkdtempSync(join(tmpdir(), `tritune-${name}-`));
  const script = join(bin, name);
  writeFileSync(script, `#!/bin/sh\necho "$*" >> "${join(bin, 'calls')}"\necho '${answer}'\n`);
  chmodSync(script, 0o755);
  return { bin, calls: () => readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n') };
}

/** Runs a script with bash in `cwd`, `bin` first on PATH (a recording client), `env` over this environment. */
export function runScript(cwd: string, script: string, env: Record<string, string>, bin: string): Ran {
  const r = spawnSync('bash', [script], { cwd, encoding: 'utf8', env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` } });
  return { code: r.status, out: r.stdout + r.stderr };
}
