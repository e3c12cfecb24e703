import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ROOT, type CliRun } from './run-cli.js';
import { BASE_ARGS, comparable, ENV, journalTrials, outputs, runAsync, runSync, trialId, workdir } from './tune-run.js';

/**
 * The state and output folders as they are found on real machines: shared by two runs, left by a killed run or an
 * older tritune, reached through symbolic links, named with bytes that are not UTF-8. Each through the real CLI on
 * the sim backend: one line and exit 2 where it must refuse, the same files as a clean run where it goes on.
 */
const SMALL = ['--batch-sizes', '1,4'];
const run = (dir: string, extra: string[] = [], env: Record<string, string> = {}) => runSync(dir, [...BASE_ARGS, ...SMALL, ...extra], env);

function oneLine(r: CliRun, message: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^trials \d/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(lines[0]!, message);
}

const journalDir = (dir: string): string => {
  const root = join(dir, 'st', 'journals');
  return join(root, readdirSync(root).find((n) => !n.startsWith('.'))!);
};

let reference: Map<string, string> | undefined;
/** The files of a clean run of the same command. */
function clean(): Map<string, string> {
  if (!reference) {
    const dir = workdir();
    assert.equal(run(dir).code, 0);
    reference = comparable(outputs(dir));
  }
  return reference;
}

test('two tune runs on one state folder at once: the second is refused naming the first; the first ends as a clean run', async () => {
  const dir = workdir();
  const first = runAsync(dir, [...BASE_ARGS, ...SMALL, '--json'], { TRITUNE_SIM_DELAY_MS: '20' });
  await first.waitFor((e) => e.event === 'trial');
  const second = run(dir);
  oneLine(second, /^tune: another tune run is using this journal \(pid \d+ on .*npx tune .*\); wait for it to finish, or use another --state folder/);
  const r = await first.done;
  assert.equal(r.code, 0, r.stderr);
  const ids = journalTrials(dir).map(trialId);
  assert.equal(new Set(ids).size, ids.length, 'no trial journaled twice');
  assert.deepEqual(comparable(outputs(dir)), clean());
  assert.ok(!existsSync(join(journalDir(dir), 'lock')), 'the lock is given back at the end');
  const after = run(dir);
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stdout, /^0 trials/m, 'once the first is done, the second resumes from its journal');
});

test('a lock left by a killed run is taken over with a note; a lock taken on another machine is refused', () => {
  const dir = workdir();
  assert.equal(run(dir).code, 0);
  const lock = join(journalDir(dir), 'lock');
  writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'npx tune (killed)' }));
  const r = run(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /took over .*lock, left by a run that no longer runs \(pid 4194305\)/);
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', command: 'npx tune --model x' }));
  oneLine(run(dir), /another tune run is using this journal \(pid 1 on elsewhere: npx tune --model x\).*delete .*lock/);
});

test('a state folder from an older tritune: old frozen incumbents, an old journal header, a journal without sources', () => {
  const dir = workdir();
  assert.equal(run(dir).code, 0);
  const jd = journalDir(dir);
  const incumbents = join(jd, 'incumbents.json');
  const journal = join(jd, 'journal.ndjson');
  const good = { incumbents: readFileSync(incumbents, 'utf8'), journal: readFileSync(journal, 'utf8') };
  // before the shipped-file incumbents, entries were frozen as {id: {M: config}}
  writeFileSync(incumbents, JSON.stringify({ 'x|NVIDIA SIM-H200|w8a8-int8|N=6144,K=2560': { 1: { BLOCK_SIZE_M: 16 } } }));
  oneLine(run(dir), /incumbents\.json: not frozen incumbents of this tritune version \(.*\); run with --no-resume/);
  writeFileSync(incumbents, good.incumbents);
  const [header, ...rest] = good.journal.split('\n');
  writeFileSync(journal, [JSON.stringify({ ...JSON.parse(header!), journal_version: 0 }), ...rest].join('\n'));
  oneLine(run(dir), /journal\.ndjson was written by another tritune version \(journal_version 0; this one reads 1\); run with --no-resume/);
  const h = JSON.parse(header!) as { fingerprint: Record<string, unknown>; source_files?: unknown };
  delete h.fingerprint.sources;
  delete h.source_files;
  writeFileSync(journal, [JSON.stringify(h), ...rest].join('\n'));
  oneLine(run(dir), /was written before tritune recorded kernel sources/);
  const fresh = run(dir, ['--no-resume']);
  assert.equal(fresh.code, 0, fresh.stderr); // a new journal; the old one and its incumbents are kept aside
  assert.ok(readdirSync(jd).some((n) => /^journal\..+\.ndjson$/.test(n)));
});

test('a corrupt incumbents.json or a journal that is a folder: one line naming it', () => {
  const dir = workdir();
  assert.equal(run(dir).code, 0);
  writeFileSync(join(journalDir(dir), 'incumbents.json'), '{"truncated": ');
  oneLine(run(dir), /st\/journals\/.*\/incumbents\.json: not valid JSON \(.*\); run with --no-resume/);
  const other = workdir();
  mkdirSync(join(other, 'st', 'journals', 'w8a8-int8.3a9166ca8cba.sim', 'journal.ndjson'), { recursive: true });
  oneLine(run(other), /cannot read st\/journals\/w8a8-int8\.3a9166ca8cba\.sim\/journal\.ndjson: it is a folder, not a file \(EISDIR\)/);
});

test('--state or --out naming a file, or a path through a file: refused before the workers start', () => {
  const dir = workdir();
  writeFileSync(join(dir, 'afile'), 'x');
  oneLine(run(dir, ['--state', 'afile']), /^tune: --state afile is a file, not a folder/);
  oneLine(run(dir, ['--out', 'afile']), /^tune: --out afile is a file, not a folder/);
  oneLine(run(dir, ['--out', 'afile/sub']), /^tune: cannot use --out afile\/sub: a part of the path is a file, not a folder \(ENOTDIR\)/);
  oneLine(run(dir, ['--state', '/dev/null']), /^tune: --state \/dev\/null is a file, not a folder/);
  assert.equal(readFileSync(join(dir, 'afile'), 'utf8'), 'x');
});

test('a temp file left by a writer that died is removed by the next write; a live writer\'s is left', () => {
  const dir = workdir();
  assert.equal(run(dir).code, 0);
  const folder = join(dir, 'out', 'w8a8-int8');
  const name = readdirSync(folder).find((n) => !n.endsWith('.meta.json'))!;
  const dead = `.${name}.${2 ** 22 + 1}.0badf00d.tmp`;
  const live = `.${name}.${process.pid}.0badf00d.tmp`;
  writeFileSync(join(folder, dead), '');
  writeFileSync(join(folder, live), '');
  assert.equal(run(dir, ['--no-resume']).code, 0);
  assert.ok(!existsSync(join(folder, dead)), 'the dead writer\'s temp file is gone');
  assert.ok(existsSync(join(folder, live)), 'a live writer\'s temp file is kept');
});

test('symbolic links: --out and --state through links work; a dangling --out link is refused; a link loop in validate ends', () => {
  const dir = workdir();
  mkdirSync(join(dir, 'real-out'));
  mkdirSync(join(dir, 'real-st'));
  symlinkSync('real-out', join(dir, 'out'));
  symlinkSync('real-st', join(dir, 'st'));
  const r = run(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(comparable(outputs(dir)), clean());
  assert.ok(readdirSync(join(dir, 'real-out', 'w8a8-int8')).length === 4, 'the files are in the link target');
  const other = workdir();
  symlinkSync('no-such-folder', join(other, 'out'));
  oneLine(run(other), /^tune: --out out is a symbolic link to no-such-folder, which does not exist; create it or give another folder$/);
  symlinkSync('.', join(dir, 'real-out', 'w8a8-int8', 'loop'));
  const v = runSync(dir, ['validate', 'real-out']);
  assert.equal(v.code, 1, v.stdout + v.stderr); // sim results are a finding, found once per file
  assert.equal((v.stdout.match(/^FAIL /gm) ?? []).length, 2, v.stdout);
});

/** Runs tune with one argument given as raw bytes (a file name that is not UTF-8), through the shell. */
function tuneWithBytes(cwd: string, before: string[], bytes: string, after: string[] = []): CliRun {
  const r = spawnSync('sh', ['-c', `exec "$0" "$@" "$(printf '${bytes}')" ${after.map((a) => `'${a}'`).join(' ')}`, process.execPath, join(ROOT, 'bin', 'tune'), ...before], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TRITUNE_DEBUG: '', ...ENV },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('paths that are not UTF-8: --out refused (it would write elsewhere); such a file in a validated folder is a finding', () => {
  const dir = workdir();
  const r = tuneWithBytes(dir, [...BASE_ARGS.slice(0, -2), ...SMALL, '--out'], 'out\\377');
  oneLine(r, /^tune: --out out\uFFFD: the path is not valid UTF-8/);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('out')), [], 'no folder was made under another name');
  const good = workdir();
  assert.equal(run(good).code, 0);
  const folder = join(good, 'out', 'w8a8-int8');
  const name = readdirSync(folder).find((n) => !n.endsWith('.meta.json'))!;
  spawnSync('sh', ['-c', `cp "$0" "$(printf 'N=64,K=64,device_name=\\377,dtype=int8_w8a8.json')"`, name], { cwd: folder });
  const v = runSync(good, ['validate', 'out']);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /FAIL out\/w8a8-int8\/N=64,K=64,device_name=\uFFFD,dtype=int8_w8a8\.json\n {2}error: \(file\): cannot open: its name is not valid UTF-8/);
});
