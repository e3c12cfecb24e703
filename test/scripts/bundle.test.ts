import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';
import { SMALL_SPACE } from '../cli/tune-run.js';

const NAME = `tritune-${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;

const bundle = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('bash', [join(ROOT, 'scripts', 'bundle.sh'), ...args], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', ...env } });
const entries = (tarball: string): string[] => spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');

test('bundle: a tarball that runs `tune` from a folder with no access to the repository or its node_modules', () => {
  const out = mkdtempSync(join(tmpdir(), 'tritune-bundle-'));
  const built = bundle(['--out', out]);
  assert.equal(built.status, 0, built.stderr);
  const tarball = join(out, `${NAME}.tar.gz`);
  assert.match(built.stdout, new RegExp(`bundle: ${tarball.replace(/[.]/g, '\\.')} \\(`));
  const files = entries(tarball);
  assert.ok(files.every((f) => f.startsWith(`${NAME}/`)), 'one top folder');
  for (const f of ['bin/tune', 'dist/src/cli/index.js', 'kernels/worker.py', 'schemas/families.json', 'node_modules/commander/package.json', 'node_modules/zod/package.json', 'package.json', 'examples/slurm/tune.sbatch', 'docs/TUNE.md']) {
    assert.ok(files.includes(`${NAME}/${f}`), `${f} is in the bundle`);
  }
  const inside = files.map((f) => f.slice(NAME.length + 1));
  for (const bad of [/^node_modules\/typescript\//, /^node_modules\/@types\//, /^dist\/test\//, /^dist\/.*\.map$/, /__pycache__/, /^\.servers\//, /^tuned-configs\//]) {
    assert.deepEqual(inside.filter((f) => bad.test(f)), [], `nothing matching ${bad} in the bundle`);
  }

  // unpacked far from the repository: node finds no node_modules but the bundle's, the CLI no kernels/ but its own
  const node = mkdtempSync(join(tmpdir(), 'tritune-node-'));
  assert.equal(spawnSync('tar', ['-xzf', tarball, '-C', node]).status, 0);
  const env = { PATH: process.env.PATH!, HOME: node, NO_COLOR: '1', NODE_PATH: '', SOURCE_DATE_EPOCH: '1700000000', TRITUNE_SIM_DELAY_MS: '0' };
  const launcher = join(node, NAME, 'bin', 'tune');
  const help = spawnSync(process.execPath, [launcher, '--help'], { cwd: node, encoding: 'utf8', env });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: tune/);
  writeFileSync(join(node, 'space.json'), JSON.stringify(SMALL_SPACE));
  const run = spawnSync(process.execPath, [launcher, '--shapes', '6144x2560', '--backend', 'sim', '--batch-sizes', '1,16', '--space', 'space.json', '--state', 'st', '--out', 'out'], { cwd: node, encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(readdirSync(join(node, 'out', 'w8a8-int8')).length, 2, 'a config file and its sidecar');
  const check = spawnSync(process.execPath, [launcher, 'validate', '--allow-simulated', 'out'], { cwd: node, encoding: 'utf8', env });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // --with-servers adds the server sources and nothing else
  const servers = mkdtempSync(join(tmpdir(), 'tritune-servers-'));
  mkdirSync(join(servers, 'vllm-0.33.0'));
  writeFileSync(join(servers, 'vllm-0.33.0', '.tritune-complete.json'), '{}\n');
  const out2 = mkdtempSync(join(tmpdir(), 'tritune-bundle-'));
  const withServers = bundle(['--with-servers', '--out', out2], { TRITUNE_SERVERS_DIR: servers });
  assert.equal(withServers.status, 0, withServers.stderr);
  const files2 = entries(join(out2, `${NAME}.tar.gz`));
  assert.deepEqual(files2.filter((f) => !f.includes('/.servers/')), files.filter((f) => !f.includes('/.servers/')));
  assert.ok(files2.includes(`${NAME}/.servers/vllm-0.33.0/.tritune-complete.json`));
  const missing = bundle(['--with-servers', '--out', out2], { TRITUNE_SERVERS_DIR: join(servers, 'none') });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--with-servers: .*none does not exist; run npm run setup:servers first/);
  assert.ok(existsSync(join(out2, `${NAME}.tar.gz`)), 'a refused build leaves the last bundle alone');
});
