import { closeSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { fsError, UserError } from '../errors.js';
import { processAlive, tempPathFor } from './atomic.js';

/** What a lock file holds: who took it. */
interface Holder {
  pid: number;
  host: string;
  command: string;
}

const readHolder = (path: string): Holder | null => {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, command: String(h.command ?? '') } : null;
  } catch {
    return null; // unreadable: being written this instant, or torn by a crash
  }
};

/**
 * An exclusive lock on a journal folder, so two `tune` runs never append to one journal at once: the lock file
 * is created with O_EXCL (via link(2) of a complete temp file, so it is never seen half-written). A lock whose
 * process no longer runs on this machine was left by a killed run and is taken over (the note says so); a live
 * one, or one taken on another machine, is refused naming its holder.
 */
export class JournalLock {
  private constructor(readonly path: string) {}

  static acquire(path: string, command: string): { lock: JournalLock; note: string | null } {
    const me: Holder = { pid: process.pid, host: hostname(), command };
    const tmp = tempPathFor(path);
    try {
      const fd = openSync(tmp, 'wx', 0o644);
      writeSync(fd, JSON.stringify(me) + '\n');
      closeSync(fd);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw fsError(err, 'write', path);
    }
    try {
      let note: string | null = null;
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, path);
          return { lock: new JournalLock(path), note };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'lock', path);
        }
        const holder = readHolder(path);
        // our own pid in it cannot be a live run (this process has not taken the lock yet): a container restarted
        // under the same host name (a Kubernetes indexed Job's retried pod) gives its processes the same pids again
        const stale = holder !== null && holder.host === me.host && (holder.pid === me.pid || !processAlive(holder.pid));
        if (!stale || attempt > 0) {
          const who = holder ? `pid ${holder.pid} on ${holder.host}: ${holder.command}` : 'a run whose lock file is unreadable';
          throw new UserError(
            `another tune run is using this journal (${who}); wait for it to finish, or use another --state folder ` +
              `(if no such run is alive, delete ${path})`,
          );
        }
        rmSync(path, { force: true });
        note = `took over ${path}, left by a run that no longer runs (pid ${holder!.pid})`;
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Gives the lock back (only a lock this process holds). */
  release(): void {
    if (readHolder(this.path)?.pid === process.pid) rmSync(this.path, { force: true });
  }
}
