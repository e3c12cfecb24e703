import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tune } from './run-cli.js';
import { tempDir, writeFixture } from '../report/fixtures.js';

const MS = [1, 16, 64, 256];
const SHAPE = { N: 6144, K: 2560 };
const NAME = 'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.json';

/** old/: one file; new/: the same file with M=64 retuned (BLOCK_SIZE_M 64 -> 128) and measured `slow64` x the old time. */
function twoFolders(slow64 = 0.8): { dir: string; oldDir: string; newDir: string } {
  const dir = tempDir('tritune-diff-');
  const [oldDir, newDir] = [join(dir, 'old'), join(dir, 'new')];
  writeFixture(oldDir, SHAPE, MS);
  writeFixture(newDir, SHAPE, MS, { bm: (m) => (m === 64 ? 128 : m <= 16 ? 16 : 64), slow: (m) => (m === 64 ? slow64 : 1) });
  return { dir, oldDir, newDir };
}

test('tune diff <old> <new>: folders and single files, table by default', () => {
  const { oldDir, newDir } = twoFolders();
  const r = tune(['diff', oldDir, newDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /w8a8-int8\/N=6144,K=2560,.*\.json \(changed\)/);
  assert.match(r.stdout, /64 │ BLOCK_SIZE_M 64->128 .*1\.25x/);
  assert.match(r.stdout, /1 file\(s\) differ \(1 changed, 0 added, 0 removed, 0 unchanged\); entries: 1 changed/);
  const files = tune(['diff', join(oldDir, 'w8a8-int8', NAME), join(newDir, 'w8a8-int8', NAME), '--json']);
  assert.equal(files.code, 0, files.stderr);
  const json = JSON.parse(files.stdout);
  assert.equal(json.files.length, 1);
  assert.deepEqual(json.files[0].entries.find((e: { M: number }) => e.M === 64).keys, [{ key: 'BLOCK_SIZE_M', old: 64, new: 128 }]);
  assert.equal(json.summary.entries.changed, 1);
});

test('tune diff --markdown prints a PR comment', () => {
  const { oldDir, newDir } = twoFolders();
  const r = tune(['diff', oldDir, newDir, '--markdown']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<!-- tritune-diff -->\n### tuned-configs diff/);
  assert.match(r.stdout, /\| 64 \| BLOCK_SIZE_M 64 → 128 \| [\d.]+ \| [\d.]+ \| 1\.25x \| 1\.50x \|/);
});

test('--fail-on-regression: exit 1 with a line per slower entry beyond the limit, else 0', () => {
  const { oldDir, newDir } = twoFolders(1.1); // M=64 retuned and measured 10% slower
  const bad = tune(['diff', oldDir, newDir, '--fail-on-regression', '5']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^regression: w8a8-int8\/N=6144.*M=64: [\d.]+ us -> [\d.]+ us \(\+10\.0%, limit 5%\)\n$/);
  const ok = tune(['diff', oldDir, newDir, '--fail-on-regression', '15']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(tune(['diff', oldDir, newDir]).code, 0, 'no flag, no failure');
});

test('bad input: one line, exit 2', () => {
  const { dir, oldDir, newDir } = twoFolders();
  const cases: Array<[string[], RegExp]> = [
    [['diff', join(dir, 'nope'), newDir], /nope: no such file or folder/],
    [['diff', oldDir], /needs <old> <new>/],
    [['diff', oldDir, newDir, '--fail-on-regression', 'lots'], /--fail-on-regression takes a percentage/],
    [['diff', oldDir, join(newDir, 'w8a8-int8', NAME)], /compare a file with a file/],
  ];
  writeFileSync(join(dir, 'broken.json'), '{"1": {');
  mkdirSync(join(dir, 'b2', 'w8a8-int8'), { recursive: true });
  writeFileSync(join(dir, 'b2', 'w8a8-int8', NAME), '{"1": {');
  cases.push([['diff', oldDir, join(dir, 'b2')], /b2\/w8a8-int8\/N=6144.*: \(root\): not valid JSON/]);
  // unsorted M keys are a schema problem the reader catches
  mkdirSync(join(dir, 'b3', 'w8a8-int8'), { recursive: true });
  const good = readFileSync(join(newDir, 'w8a8-int8', NAME), 'utf8');
  const body = JSON.parse(good) as Record<string, unknown>;
  writeFileSync(join(dir, 'b3', 'w8a8-int8', NAME), `{"64": ${JSON.stringify(body['64'])}, "1": ${JSON.stringify(body['1'])}}`);
  cases.push([['diff', oldDir, join(dir, 'b3')], /not sorted ascending/]);
  for (const [args, msg] of cases) {
    const r = tune(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.startsWith('tune: '), r.stderr);
  }
});

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('tune diff --base <rev>: the old side comes from git, the new side from the working tree', () => {
  const { dir, oldDir, newDir } = twoFolders();
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q');
  cpSync(oldDir, join(repo, 'tuned-configs'), { recursive: true });
  writeFixture(join(repo, 'tuned-configs'), { N: 2560, K: 4096 }, MS); // to be deleted
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'v1');
  rmSync(join(repo, 'tuned-configs'), { recursive: true });
  cpSync(newDir, join(repo, 'tuned-configs'), { recursive: true });
  writeFixture(join(repo, 'tuned-configs'), { N: 9728, K: 2560 }, MS); // new, untracked: it still counts

  const r = tune(['diff', '--base', 'HEAD', '--json'], { cwd: repo });
  assert.equal(r.code, 0, r.stderr);
  const files = JSON.parse(r.stdout).files as Array<{ path: string; status: string }>;
  assert.deepEqual(
    files.map((f) => [f.path.replace(/,device_name.*/, ''), f.status]),
    [
      ['tuned-configs/w8a8-int8/N=2560,K=4096', 'removed'],
      ['tuned-configs/w8a8-int8/N=6144,K=2560', 'changed'],
      ['tuned-configs/w8a8-int8/N=9728,K=2560', 'added'],
    ],
  );
  // a single file, from a subfolder of the repository
  const sub = join(repo, 'tuned-configs');
  const one = tune(['diff', '--base', 'HEAD', join('w8a8-int8', NAME)], { cwd: sub });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /BLOCK_SIZE_M 64->128/);
  assert.match(one.stdout, /^1 file\(s\) differ/m);
  // a committed-and-unchanged tree diffs clean
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'v2');
  const clean = tune(['diff', '--base', 'HEAD'], { cwd: repo });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^0 file\(s\) differ \(0 changed, 0 added, 0 removed, 2 unchanged\)/);
  // bad revisions and paths, and no repository at all
  for (const [args, cwd, msg] of [
    [['diff', '--base', 'no-such-branch'], repo, /--base no-such-branch: not a commit in this repository/],
    [['diff', '--base', 'HEAD', 'missing-folder'], repo, /missing-folder: no such file or folder, here or at HEAD/],
    [['diff', '--base', 'HEAD', '.'], dir, /is not inside a git repository/],
  ] as const) {
    const bad = tune([...args], { cwd });
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, msg);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
});
