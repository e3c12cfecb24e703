import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type CliRun } from './run-cli.js';
import { comparable, ENV, journalTrials, outputs, runSync, trialId, workdir, type JTrial } from './tune-run.js';

/**
 * A full disk and a read-only disk, for real: each run gets a private mount namespace (`unshare -rm`, no root
 * needed where unprivileged user namespaces are allowed) with a tiny tmpfs mounted where tune writes. The kernel
 * then answers ENOSPC or EROFS exactly as a full or read-only disk does, and nothing of tritune is mocked.
 * (A read-only folder made with chmod would not do: root ignores it. /dev/full does not fit the writers: they
 * create fresh temp files and a journal they must also read back.)
 */
const HAS_USERNS = spawnSync('unshare', ['-rm', 'true']).status === 0;
const SKIP = HAS_USERNS ? false : 'needs unprivileged user namespaces (unshare -rm) to mount a tiny tmpfs';

interface Mount {
  dir: string;
  size: string;
  ro?: boolean;
}

/**
 * Runs tune in `cwd` with each mount a fresh tmpfs; `before` and `after` are shell lines run around it inside the
 * namespace (the mounts vanish with it, so `after` copies out what a test reads).
 */
function tuneOnTinyDisk(cwd: string, mounts: Mount[], args: string[], shell: { before?: string; after?: string } = {}): CliRun {
  const mount = mounts.map((m) => `mkdir -p ${m.dir} && mount -t tmpfs -o size=${m.size}${m.ro ? ',ro' : ''} tmpfs ${m.dir}`).join(' && ');
  const script = `set -e; ${mount}; ${shell.before ?? ':'}; set +e; "$0" "$@"; rc=$?; ${shell.after ?? ':'}; exit $rc`;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', script, process.execPath, join(ROOT, 'bin', 'tune'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TRITUNE_DEBUG: '', NO_COLOR: '1', ...ENV },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const args = (ms: string, out = 'out', state = 'st'): string[] =>
  ['--shapes', '6144x2560,2560x4096', '--kernel', 'w8a8-int8', '--backend', 'sim', '--batch-sizes', ms, '--space', 'space.json', '--state', state, '--out', out];

/** One line on stderr, `tune: ...`, no stack trace, no internal error. */
function oneLine(r: CliRun, message: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').filter((l) => !/^trials \d/.test(l)).length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(r.stderr, message);
}

/** Every file under a folder (hidden ones included) with its bytes. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (readdirSafe(p)) walk(p, join(rel, name));
      else out.set(join(rel, name), readFileSync(p, 'utf8'));
    }
  };
  walk(dir, '');
  return out;
}
const readdirSafe = (p: string): boolean => {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
};

/** The ids of the complete trial lines of dir/st's journal (a write cut short by the full disk leaves a torn last line). */
function completeTrials(dir: string): string[] {
  const root = join(dir, 'st', 'journals');
  const text = readFileSync(join(root, readdirSync(root)[0]!, 'journal.ndjson'), 'utf8');
  const lines = text.split('\n').slice(0, -1); // what follows the last newline is torn
  return lines.map((l) => JSON.parse(l) as JTrial & { type: string }).filter((t) => t.type === 'trial').map(trialId);
}

test('a full disk under --out: one line naming the file, no temp file left, the old files intact, every trial kept', { skip: SKIP }, () => {
  const dir = workdir();
  assert.equal(runSync(dir, args('1,4')).code, 0);
  const before = files(join(dir, 'out'));
  const r = tuneOnTinyDisk(dir, [{ dir: 'full', size: '64k' }], args('1,4,16,64', 'full'), {
    before: 'cp -a out/. full/ && (dd if=/dev/zero of=full/filler bs=4k 2>/dev/null || true)',
    after: 'rm -f full/filler; mkdir -p saved && cp -a full/. saved/',
  });
  oneLine(r, /^tune: cannot write full\/w8a8-int8\/N=\d+,K=\d+,device_name=NVIDIA_SIM-H200,dtype=int8_w8a8\.json: no space left on device \(ENOSPC\); nothing was replaced$/m);
  assert.deepEqual(files(join(dir, 'saved')), before, 'the files on the full disk are byte-identical, and no temp file is left');
  // the trials were journaled on the other disk: writing elsewhere (over the same files, so the same incumbents seed
  // the search) now measures nothing again
  cpSync(join(dir, 'out'), join(dir, 'out2'), { recursive: true });
  const again = runSync(dir, args('1,4,16,64', 'out2'));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^0 trials \(0 failed\)/m);
});

test('a full disk under --state: one line naming the journal; resuming elsewhere keeps every trial journaled and ends as a clean run', { skip: SKIP }, () => {
  const ref = workdir();
  assert.equal(runSync(ref, args('1,4,16,64,128,512,1024')).code, 0);
  const dir = workdir();
  const r = tuneOnTinyDisk(dir, [{ dir: 'st', size: '24k' }], args('1,4,16,64,128,512,1024'), { after: 'mkdir -p saved && cp -a st/. saved/' });
  oneLine(r, /^tune: cannot append to st\/journals\/w8a8-int8\.\w+\.sim\/journal\.ndjson: no space left on device \(ENOSPC\); the trials journaled before are kept/m);
  assert.deepEqual(outputs(dir), new Map(), 'no file was written');
  rmSync(join(dir, 'st'), { recursive: true });
  renameSync(join(dir, 'saved'), join(dir, 'st'));
  const kept = completeTrials(dir);
  assert.ok(kept.length > 0, 'some trials were journaled before the disk filled');
  assert.ok(!existsSync(join(dir, 'st', 'journals', readdirSync(join(dir, 'st', 'journals'))[0]!, 'lock')), 'the lock was given back');
  const resumed = runSync(dir, args('1,4,16,64,128,512,1024'));
  assert.equal(resumed.code, 0, resumed.stderr);
  const all = journalTrials(dir).map(trialId);
  assert.deepEqual(all.slice(0, kept.length), kept, 'every trial journaled before the disk filled is still there, first');
  assert.equal(new Set(all).size, all.length, 'no trial was redone');
  assert.deepEqual(comparable(outputs(dir)), comparable(outputs(ref)), 'the files are those of an uninterrupted run');
});

test('a read-only --out or --state is refused at the start, before any trial', { skip: SKIP }, () => {
  const dir = workdir();
  oneLine(tuneOnTinyDisk(dir, [{ dir: 'out', size: '64k', ro: true }], args('1,4')), /^tune: cannot write into --out out: read-only file system \(EROFS\); give a folder you can write to$/m);
  assert.ok(!existsSync(join(dir, 'st', 'journals')), 'no journal was started');
  oneLine(tuneOnTinyDisk(dir, [{ dir: 'st', size: '64k', ro: true }], args('1,4')), /^tune: cannot write into --state st: read-only file system \(EROFS\)/m);
  assert.deepEqual(readdirSync(join(dir, 'out')), [], 'nothing was written (out is only the mount point of the first case)');
});
