import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';

/**
 * `npm test` (scripts/test-all.sh) and its setup steps, run for real in a temp folder whose package.json gives each
 * step a tiny script: every step appends its name to ran.log, and the ones named in `fail` exit with that code.
 */
const STEPS = ['setup:python', 'setup:chromium', 'build', 'setup:servers', 'test:ts', 'test:py', 'test:configs'];

function project(fail: Record<string, number> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-test-all-'));
  const scripts = Object.fromEntries(STEPS.map((s) => [s, `echo ${s} >> ran.log${fail[s] ? `; exit ${fail[s]}` : ''}`]));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', version: '0.0.0', scripts }));
  return dir;
}

const bash = (script: string, cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('bash', [join(ROOT, 'scripts', script)], { cwd, env, encoding: 'utf8' });

const ran = (dir: string) => readFileSync(join(dir, 'ran.log'), 'utf8').trim().split('\n');
const summaryLine = (out: string, step: string) => out.split('\n').find((l) => l.trimStart().startsWith(`${step} `)) ?? '';

test('npm test runs every step after a failing suite, prints one line per step and exits 1 naming it', () => {
  const dir = project({ 'test:ts': 3 });
  const r = bash('test-all.sh', dir);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.deepEqual(ran(dir), STEPS, 'every step ran, in order');
  const summary = r.stdout.slice(r.stdout.indexOf('== summary'));
  assert.match(summaryLine(summary, 'test:ts'), /FAILED \(exit 3\)/);
  for (const s of STEPS.filter((s) => s !== 'test:ts')) assert.match(summaryLine(summary, s), / ok /, s);
  assert.match(r.stdout, /npm test: 1 of 7 steps failed: test:ts\n$/);
});

test('a failed build leaves the steps that run its output not run (and failed); the Python suite still runs', () => {
  const dir = project({ build: 2, 'setup:chromium': 1 });
  const r = bash('test-all.sh', dir);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.deepEqual(ran(dir), ['setup:python', 'setup:chromium', 'build', 'setup:servers', 'test:py']);
  assert.match(summaryLine(r.stdout, 'test:ts'), /not run \(build failed\)/);
  assert.match(summaryLine(r.stdout, 'test:configs'), /not run \(build failed\)/);
  assert.match(r.stdout, /npm test: 4 of 7 steps failed: setup:chromium build test:ts test:configs\n$/);
});

test('npm test exits 0 only when every step passed', () => {
  const dir = project();
  const r = bash('test-all.sh', dir);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(ran(dir), STEPS);
  assert.match(r.stdout, /npm test: all 7 steps passed\n$/);
});

test('with-venv.sh makes .venv/ the python3 on PATH and TRITUNE_PYTHON, and changes nothing without it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-venv-'));
  const show = () =>
    spawnSync('sh', [join(ROOT, 'scripts', 'with-venv.sh'), 'sh', '-c', 'command -v python3; echo "py=$TRITUNE_PYTHON"'], {
      cwd: dir,
      env: { ...process.env, TRITUNE_PYTHON: '' },
      encoding: 'utf8',
    }).stdout;
  const before = show();
  assert.ok(!before.includes(dir) && before.endsWith('py=\n'), before);
  mkdirSync(join(dir, '.venv', 'bin'), { recursive: true });
  writeFileSync(join(dir, '.venv', 'bin', 'python3'), '#!/bin/sh\n');
  chmodSync(join(dir, '.venv', 'bin', 'python3'), 0o755);
  const venvPython = join(dir, '.venv', 'bin', 'python3');
  assert.equal(show(), `${venvPython}\npy=${venvPython}\n`);
});

test('setup-python.sh makes .venv/ once, skips pip while the requirements file is unchanged, and names a missing Python', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-setup-python-'));
  writeFileSync(join(dir, 'requirements-test.txt'), 'pip\n'); // met by every venv: no download
  const env = { ...process.env, TRITUNE_PYTHON: '' };
  const first = bash('setup-python.sh', dir, env);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /installing requirements-test\.txt into \.venv\n[^]*\.venv ready\n$/);
  assert.ok(existsSync(join(dir, '.venv', 'bin', 'python3')));
  const again = bash('setup-python.sh', dir, env);
  assert.equal(again.stdout, 'setup:python: .venv is up to date with requirements-test.txt\n');
  writeFileSync(join(dir, 'requirements-test.txt'), '# changed\npip\n');
  assert.match(bash('setup-python.sh', dir, env).stdout, /installing requirements-test\.txt/);
  const missing = bash('setup-python.sh', mkdtempSync(join(tmpdir(), 'tritune-setup-python-')), { ...env, TRITUNE_PYTHON: 'no-such-python3' });
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'setup:python: no-such-python3 not found: install Python 3 or set TRITUNE_PYTHON to a Python 3 interpreter\n');
});

test('setup-python.sh: a Python that cannot make a venv, on a machine without apt-get, is one line and exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-setup-python-'));
  writeFileSync(join(dir, 'requirements-test.txt'), 'pip\n');
  const bin = join(dir, 'bin'); // only what the script needs besides apt-get, and a python3 whose venv module fails
  mkdirSync(bin);
  for (const tool of ['sha256sum', 'cut', 'cat', 'rm', 'id']) symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
  writeFileSync(join(bin, 'python3'), '#!/bin/sh\ncase "$1" in -m) echo "ensurepip is not available" >&2; exit 1;; -c) echo python3.11-venv;; esac\n');
  chmodSync(join(bin, 'python3'), 0o755);
  const r = spawnSync('/bin/bash', [join(ROOT, 'scripts', 'setup-python.sh')], { cwd: dir, env: { PATH: bin }, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, 'setup:python: python3 cannot create a virtual environment and python3.11-venv cannot be installed here: install python3.11-venv (or your system\'s venv module for python3)\n');
});

test('setup-chromium.sh: a missing Chromium that cannot be installed is one line and exit 1, never a skip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tritune-chromium-'));
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync('/bin/bash', [join(ROOT, 'scripts', 'setup-chromium.sh')], { cwd: dir, env: { PATH: join(dir, 'empty'), ...env }, encoding: 'utf8' });
  const none = run({}); // no chromium and no apt-get on PATH
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^setup:chromium: chromium is missing and there is no apt-get to install it: [^\n]*CHROMIUM=<path>\n$/);
  const bad = run({ CHROMIUM: join(dir, 'nope') });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, `setup:chromium: CHROMIUM=${join(dir, 'nope')} is not an executable file\n`);
  const given = join(dir, 'chromium');
  writeFileSync(given, '#!/bin/sh\n');
  chmodSync(given, 0o755);
  const ok = run({ CHROMIUM: given });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `setup:chromium: ${given}\n`);
});
