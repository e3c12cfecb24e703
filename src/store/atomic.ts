import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsError } from '../errors.js';

/** A temp-file path in the same folder as `path` (so the rename stays on one file system). */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True while a process with this id runs (on this machine); EPERM: it runs as another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that writers of `path` left when they died mid-write (a full disk, a kill): those named
 * by tempPathFor whose process no longer runs. A live writer's temp file is left alone.
 */
export function removeStaleTemps(path: string): void {
  const pattern = new RegExp(`^\\.${escapeRe(basename(path))}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // no folder yet: nothing stale
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) rmSync(join(dirname(path), name), { force: true });
  }
}

/** Removes a temp file if it can; a folder that turned read-only keeps it until removeStaleTemps. */
function discard(tmp: string): void {
  try {
    rmSync(tmp, { force: true });
  } catch {
    // removed by the next writer of the same file (removeStaleTemps)
  }
}

/**
 * Writes `text` to a temp file beside `path` and fsyncs it; returns the temp path (rename it with commit).
 * A failure (full disk, permissions) removes the temp file and throws a UserError naming `path`.
 */
export function stageFile(path: string, text: string): string {
  const tmp = tempPathFor(path);
  let fd = -1;
  try {
    mkdirSync(dirname(path), { recursive: true });
    removeStaleTemps(path);
    fd = openSync(tmp, 'wx', 0o644);
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    discard(tmp);
    throw fsError(err, 'write', path, 'nothing was replaced');
  }
  return tmp;
}

/**
 * Writes several files so that each one is either its old or its new content, never half-written:
 * every file is staged first, then renamed into place in the given order. A failure while staging
 * leaves every target untouched and removes the temp files.
 */
export function writeFilesAtomically(files: Array<{ path: string; text: string }>): void {
  const staged: Array<{ tmp: string; path: string }> = [];
  try {
    for (const f of files) staged.push({ tmp: stageFile(f.path, f.text), path: f.path });
  } catch (err) {
    for (const s of staged) discard(s.tmp);
    throw err;
  }
  for (const [i, s] of staged.entries()) {
    try {
      renameSync(s.tmp, s.path);
    } catch (err) {
      for (const left of staged.slice(i)) discard(left.tmp);
      throw fsError(err, 'replace', s.path, i === 0 ? 'nothing was replaced' : `${staged[i - 1]!.path} was written`);
    }
  }
}

/** One file, atomically (temp file + rename). */
export const writeFileAtomic = (path: string, text: string): void => writeFilesAtomically([{ path, text }]);
