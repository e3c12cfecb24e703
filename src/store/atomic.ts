import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp-file path in the same folder as `path` (so the rename stays on one file system). */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/** Writes `text` to a temp file beside `path` and fsyncs it; returns the temp path (rename it with commit). */
export function stageFile(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw err;
  }
  for (const s of staged) renameSync(s.tmp, s.path);
}

/** One file, atomically (temp file + rename). */
export const writeFileAtomic = (path: string, text: string): void => writeFilesAtomically([{ path, text }]);
