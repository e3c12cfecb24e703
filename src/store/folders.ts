import { closeSync, lstatSync, mkdirSync, openSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fsError, UserError } from '../errors.js';
import { removeStaleTemps, tempPathFor } from './atomic.js';

const isDanglingLink = (path: string): boolean => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Checks a folder a command will write into, before any work is done: `option` names it in the message (e.g.
 * `--out`). A path that is a file is refused. With `probe`, the folder is created and a file is created and
 * removed in it, so a read-only, unwritable or full disk is found now rather than after every trial has run.
 */
export function checkFolder(path: string, option: string, probe: boolean): void {
  if (path.includes('\uFFFD')) {
    throw new UserError(`${option} ${path}: the path is not valid UTF-8 (shown with \uFFFD), and tritune would write to another folder; rename it`);
  }
  let isDir: boolean | null = null;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, 'use', `${option} ${path}`);
  }
  if (isDir === null && isDanglingLink(path)) {
    throw new UserError(`${option} ${path} is a symbolic link to ${readlinkSync(path)}, which does not exist; create it or give another folder`);
  }
  if (isDir === false) throw new UserError(`${option} ${path} is a file, not a folder; give a folder (it is created if missing)`);
  if (!probe) return;
  const probeFile = tempPathFor(join(path, 'write-check'));
  try {
    mkdirSync(path, { recursive: true });
    removeStaleTemps(probeFile);
    closeSync(openSync(probeFile, 'wx'));
    rmSync(probeFile);
  } catch (err) {
    throw fsError(err, 'write into', `${option} ${path}`, 'give a folder you can write to');
  }
}
