/** A problem with the user's input or usage: printed as one line, exit code 2. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Exit codes used by every command. */
export const EXIT = { ok: 0, finding: 1, usage: 2, interrupted: 130 } as const;

/**
 * Text from a file or a path made safe for a terminal, on one line: control characters (escape sequences,
 * newlines, C1 codes) are shown as JSON escapes (`\u001b`), so a bad file can neither recolour nor rewrite the screen.
 */
export const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** What the disk or the OS said, in words: the errno codes a user can act on (full disk, permissions, ...). */
const FS_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system or the file-size limit',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'something else already exists there',
  ENOENT: 'no such file or folder',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'name too long',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** The errno code of a file-system error a user can act on, or null for anything else. */
export function fsErrorCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in FS_REASONS ? code : null;
}

/**
 * A file-system failure as a one-line UserError naming the path: `cannot <doing> <path>: <reason> (<CODE>)`,
 * plus what to do (`hint`). Anything that is not such a failure is returned unchanged, to be rethrown.
 */
export function fsError(err: unknown, doing: string, path: string, hint = ''): unknown {
  const code = fsErrorCode(err);
  if (!code) return err;
  return new UserError(`cannot ${doing} ${path}: ${FS_REASONS[code]} (${code})${hint ? `; ${hint}` : ''}`);
}

/**
 * The top-level mapping of an error to a user-facing one: a UserError as it is; a file-system failure that escaped
 * a store (full disk, permissions, read-only) as a UserError naming its path; null for a bug (exit 70).
 */
export function asUserError(err: unknown): UserError | null {
  if (err instanceof UserError) return err;
  const e = err as NodeJS.ErrnoException;
  if (fsErrorCode(err) && typeof e.path === 'string') return fsError(err, e.syscall ? `${e.syscall}` : 'use', e.path) as UserError;
  return null;
}
