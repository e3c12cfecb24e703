import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
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

export function loadIncumbents(jobs: ShapeJob[], opts: IncumbentSource & { journalPath: string; force: boolean }): void {
  const path = join(dirname(opts.journalPath), INCUMBENTS_FILE);
  let frozen: z.infer<typeof Frozen> = {};
  if (existsSync(path)) {
    const r = Frozen.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (r.success) frozen = r.data;
  }
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
