import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fsError, UserError } from '../errors.js';
import { JournalLock } from './lock.js';
import { formatIssue } from '../schema/issues.js';
import {
  JournalHeader,
  JournalTrial,
  type DeviceInfo,
  type Fingerprint,
  type JournalTrial as Trial,
} from '../schema/index.js';

/**
 * The append-only record of every finished trial of one run, so an interrupted run resumes and redoes
 * nothing. Layout: <state>/journals/<family>.<space>.<backend>/journal.ndjson, a header line then one
 * trial per line. The folder is named by what the user asked for; the header's fingerprint also pins
 * what the worker is (device, triton, worker version), and a mismatch there is refused.
 */
export interface OpenJournalOptions {
  stateDir: string;
  fingerprint: Fingerprint;
  device?: DeviceInfo;
  /** The files behind fingerprint.sources (path -> sha256), kept in the header to name what changed. */
  sourceFiles?: Record<string, string>;
  command: string;
  /** false: set the existing journal aside (renamed, never deleted) and start a new one. */
  resume: boolean;
  now?: () => Date;
}

/** The incumbents frozen beside a journal when it was created (src/runner/incumbents.ts). */
export const INCUMBENTS_FILE = 'incumbents.json';

/** Seconds between fdatasync calls; a SIGKILL of this process loses nothing already written (page cache). */
const SYNC_EVERY_MS = 2000;

/** What to do when the journal cannot be written: nothing journaled before is lost. */
const RESUME_HINT = 'the trials journaled before are kept; free space (or fix the folder) and re-run the same command to resume';

export class Journal {
  private lastSync = 0;
  /** The write error that stopped this journal: every later append fails with it. */
  private failed: unknown = null;
  private constructor(
    readonly path: string,
    private fd: number,
    /** Trials already in the journal when it was opened (the resume set). */
    readonly previous: Trial[],
    /** Things a user should know about how it was opened (torn line dropped, old journal set aside). */
    readonly notes: string[],
    private readonly lock: JournalLock,
  ) {}

  /**
   * Opens (or creates) the journal of a fingerprint under the state folder, holding its lock until close: a second
   * run on the same journal is refused. File-system failures are UserErrors naming the path.
   */
  static open(opts: OpenJournalOptions): Journal {
    const dir = join(opts.stateDir, 'journals', journalName(opts.fingerprint));
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw fsError(err, 'create', dir);
    }
    const { lock, note } = JournalLock.acquire(join(dir, 'lock'), opts.command);
    try {
      const j = Journal.openLocked(dir, opts, lock);
      if (note) j.notes.unshift(note);
      return j;
    } catch (err) {
      lock.release();
      throw fsError(err, 'open the journal in', dir, 'or run with --no-resume, or use another --state folder');
    }
  }

  private static openLocked(dir: string, opts: OpenJournalOptions, lock: JournalLock): Journal {
    const path = join(dir, 'journal.ndjson');
    const notes: string[] = [];
    let previous: Trial[] = [];
    const stamp = (opts.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    if (existsSync(path) && !opts.resume) {
      const aside = join(dir, `journal.${stamp}.ndjson`);
      renameSync(path, aside);
      notes.push(`--no-resume: previous journal kept as ${aside}`);
    }
    if (existsSync(path)) {
      const read = readJournal(path, opts.fingerprint, opts.sourceFiles);
      previous = read.trials;
      notes.push(...read.notes);
      const fd = openSync(path, 'r+');
      if (read.truncateTo !== null) ftruncateSync(fd, read.truncateTo);
      closeSync(fd);
      const afd = openSync(path, 'a');
      if (read.needsNewline) writeAll(afd, '\n');
      return new Journal(path, afd, previous, notes, lock);
    }
    // a new journal reads the incumbents afresh: what was frozen beside an older one goes with it
    const frozen = join(dir, INCUMBENTS_FILE);
    if (existsSync(frozen)) renameSync(frozen, join(dir, `incumbents.${stamp}.json`));
    const fd = openSync(path, 'a');
    const header = JournalHeader.parse({
      type: 'header',
      journal_version: 1,
      fingerprint: opts.fingerprint,
      ...(opts.device ? { device: opts.device } : {}),
      ...(opts.sourceFiles ? { source_files: opts.sourceFiles } : {}),
      command: opts.command,
      created: (opts.now?.() ?? new Date()).toISOString(),
    });
    try {
      writeAll(fd, JSON.stringify(header) + '\n');
      fdatasyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(path, { force: true }); // a journal without its whole header would be refused by every later run
      throw fsError(err, 'write', path, 'free space (or fix the folder) and re-run');
    }
    return new Journal(path, fd, previous, notes, lock);
  }

  /**
   * Appends finished trials at once (one write, continued after a short one); synced to disk at most every
   * SYNC_EVERY_MS. A write that fails (full disk) leaves at most a torn last line, which resuming drops.
   */
  append(trials: Trial[]): void {
    if (trials.length === 0) return;
    if (this.failed) throw this.failed;
    const text = trials.map((t) => JSON.stringify(JournalTrial.parse(t))).join('\n') + '\n';
    try {
      writeAll(this.fd, text);
      const now = Date.now();
      if (now - this.lastSync >= SYNC_EVERY_MS) {
        fdatasyncSync(this.fd);
        this.lastSync = now;
      }
    } catch (err) {
      this.failed = fsError(err, 'append to', this.path, RESUME_HINT);
      throw this.failed;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      this.abandon();
      throw fsError(err, 'sync', this.path, RESUME_HINT);
    }
    this.abandon();
  }

  /** Closes without syncing and gives the lock back (after an error; a second call does nothing). */
  abandon(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.lock.release();
  }
}

/** Writes all of `text`, continuing after short writes (a nearly full disk writes what fits, then fails). */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** The journal folder name: readable, filesystem-safe, one per (family, space, backend). */
export function journalName(fp: Fingerprint): string {
  const space = /^[a-z0-9-]+$/.test(fp.space) ? fp.space : createHash('sha256').update(fp.space).digest('hex').slice(0, 12);
  return `${fp.family}.${space}.${fp.backend}`;
}

interface ReadJournal {
  trials: Trial[];
  notes: string[];
  /** Byte length to cut the file to (a torn last line), or null. */
  truncateTo: number | null;
  /** The last line is complete but lacks its newline. */
  needsNewline: boolean;
}

const FP_FIELDS = ['family', 'space', 'device', 'triton', 'worker_version', 'backend', 'sources'] as const;

/** Reads a journal, refusing one written under another fingerprint; a torn last line is dropped. */
export function readJournal(path: string, expected?: Fingerprint, sourceFiles?: Record<string, string>): ReadJournal {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fsError(err, 'read', path, 'run with --no-resume to start a new journal, or use another --state folder');
  }
  const notes: string[] = [];
  const lines = text.split('\n');
  const tail = lines.pop() ?? ''; // after the last newline: '' for a clean file
  let truncateTo: number | null = null;
  let needsNewline = false;
  if (tail !== '') {
    if (parseLine(tail)) {
      lines.push(tail);
      needsNewline = true;
    } else {
      truncateTo = Buffer.byteLength(text, 'utf8') - Buffer.byteLength(tail, 'utf8');
      notes.push(`${path}: dropped a torn last line (${Buffer.byteLength(tail, 'utf8')} bytes) left by an interrupted write`);
    }
  }
  if (lines.length === 0) throw new UserError(`${path} is empty; delete it or run with --no-resume`);
  const first = parseLine(lines[0]!) as { type?: unknown; journal_version?: unknown } | undefined;
  const header = JournalHeader.safeParse(first);
  if (!header.success) {
    const fix = 'run with --no-resume to start a new journal (the old one is kept) or use another --state folder';
    if (first?.type === 'header' && first.journal_version !== 1) {
      throw new UserError(`${path} was written by another tritune version (journal_version ${JSON.stringify(first.journal_version)}; this one reads 1); ${fix}`);
    }
    if (first?.type === 'header') throw new UserError(`${path} has a header this tritune version does not read (${formatIssue(header.error.issues[0]!)}); ${fix}`);
    throw new UserError(`${path}: first line is not a journal header; ${fix}`);
  }
  if (expected) {
    for (const field of FP_FIELDS) {
      const had = header.data.fingerprint[field];
      if (had !== expected[field]) {
        if (field === 'sources') throw new UserError(sourcesChanged(path, header.data.source_files, sourceFiles));
        throw new UserError(
          `${path} was written for ${field}=${JSON.stringify(had)} but this run has ${field}=${JSON.stringify(expected[field])}; ` +
            'run with --no-resume to start a new journal (the old one is kept) or use another --state folder',
        );
      }
    }
  }
  const trials: Trial[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const rec = JournalTrial.safeParse(parseLine(line));
    if (!rec.success) throw new UserError(`${path}:${i + 1}: not a journal record; run with --no-resume to start over`);
    trials.push(rec.data);
  }
  return { trials, notes, truncateTo, needsNewline };
}

/** The refusal of a journal whose trials ran on other kernel sources: which files changed, when the header says. */
function sourcesChanged(path: string, had: Record<string, string> | undefined, now: Record<string, string> | undefined): string {
  const fix = 'run with --no-resume to start a new journal (the old one is kept) or use another --state folder';
  if (!had) return `${path} was written before tritune recorded kernel sources (sources unknown), so its trials may come from another kernel; ${fix}`;
  const paths = [...new Set([...Object.keys(had), ...Object.keys(now ?? {})])].sort();
  const changed = paths.filter((p) => had[p] !== now?.[p]);
  return `${path} was written for other kernel sources (sources changed: ${changed.join(', ') || 'unknown'}), so its trials may not hold for this kernel; ${fix}`;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The key under which a trial is remembered: same shape, M, config and effort = same trial. */
export function trialKey(shape: string, M: number, configKey: string, effort: string): string {
  return `${shape}|${M}|${effort}|${configKey}`;
}
