import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { fsError, UserError } from '../errors.js';
import { formatIssue } from '../schema/issues.js';
import type { ConfigEntry } from '../schema/index.js';
import { WireConfig } from '../schema/index.js';
import { writeFileAtomic } from '../store/atomic.js';
import { INCUMBENTS_FILE } from '../store/journal.js';
import { readIncumbents, type IncumbentSource } from './jobs.js';
import type { ShapeJob } from './units.js';

/**
 * Incumbents are the entries already in --out when a run starts. They are frozen beside the journal the
 * first time, so a resumed run (or a re-run of a finished one) sees the same incumbents, and not the
 * files it wrote itself: resuming then asks exactly the same trials and writes exactly the same files.
 * A new journal (--no-resume, or none there yet) sets the frozen ones aside and reads the incumbents afresh.
 */
const Frozen = z.record(z.string(), z.strictObject({ from: z.enum(['out', 'shipped']).nullable(), entries: z.record(z.string(), WireConfig) }));

/**
 * The incumbents frozen beside a journal. One that is unreadable, or in an older tritune's format, is refused:
 * reading them afresh instead would silently change what a resumed run asks.
 */
function readFrozen(path: string): z.infer<typeof Frozen> {
  const fix = 'run with --no-resume to start a new journal (the old files are kept) or use another --state folder';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fsError(err, 'read', path, fix);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message.split('\n')[0]}); ${fix}`);
  }
  const r = Frozen.safeParse(json);
  if (!r.success) throw new UserError(`${path}: not frozen incumbents of this tritune version (${formatIssue(r.error.issues[0]!)}); ${fix}`);
  return r.data;
}

export function loadIncumbents(jobs: ShapeJob[], opts: IncumbentSource & { journalPath: string; force: boolean }): void {
  const path = join(dirname(opts.journalPath), INCUMBENTS_FILE);
  const frozen = existsSync(path) ? readFrozen(path) : {};
  let changed = false;
  for (const job of jobs) {
    const id = `${resolve(opts.out)}|${opts.device}|${job.family}|${job.key}`;
    if (!(id in frozen)) {
      let found: ReturnType<typeof readIncumbents> = { entries: new Map(), from: null };
      try {
        found = readIncumbents(job, job.ms, opts);
      } catch (err) {
        if (!opts.force) throw err;
      }
      frozen[id] = { from: found.from, entries: Object.fromEntries([...found.entries].map(([M, c]) => [String(M), c as Record<string, number>])) };
      changed = true;
    }
    job.incumbents = new Map(Object.entries(frozen[id]!.entries).map(([M, c]) => [Number(M), c as ConfigEntry]));
    job.incumbentsFrom = frozen[id]!.from;
  }
  if (changed) writeFileAtomic(path, JSON.stringify(frozen, null, 1) + '\n');
}
