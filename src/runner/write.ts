import type { Hello } from '../schema/index.js';
import type { Progress } from '../report/progress.js';
import { renderResultsTable, type ResultRow } from '../report/table.js';
import type { CompilePool } from './compile.js';
import type { Driven, Interrupt } from './drive.js';
import { decideShape, writeShape } from './finalize.js';
import type { TuneOptions } from './options.js';
import type { GpuSlot } from './pool.js';
import { summarize } from './summary.js';
import type { ShapeJob } from './units.js';
import type { UnitOutcome } from './unit.js';

/** A clock that SOURCE_DATE_EPOCH can pin, so two runs over the same results write identical sidecars. */
const runClock = (): string => {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  return (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date()).toISOString();
};

/** The results table's rows and the files written. */
export interface Written {
  rows: ResultRow[];
  files: string[];
}

/**
 * Decides every shape's entries and writes its file and sidecar, each atomically, at the end of the run.
 * Null when interrupted: the file being written is finished, no other begun.
 */
export function writeFiles(
  jobs: ShapeJob[],
  outcomes: UnitOutcome[],
  run: { opts: TuneOptions; hello: Hello; progress: Progress; interrupt: Interrupt },
): Written | null {
  const { opts, progress } = run;
  const now = runClock();
  const written: Written = { rows: [], files: [] };
  for (const job of jobs) {
    if (run.interrupt.requested) return null;
    const decided = decideShape(job, outcomes.filter((o) => o.unit.job === job), opts.keepWithin, now);
    written.rows.push(...decided.rows);
    if (decided.empty.length) progress.note(`${job.family} ${job.key}: no config ran at M=${decided.empty.join(',')}; those entries are left out`);
    const file = writeShape(decided, { out: opts.out, hello: run.hello, command: opts.command, now, force: opts.force });
    if (file) {
      written.files.push(file.path);
      progress.event('file', { path: file.path, meta: file.metaPath, entries: Object.keys(decided.entries).length });
    }
  }
  return written;
}

/** The end of a run: the results table, the files written and the summary line (or the `done` event with --json). */
export function reportRun(written: Written, driven: Driven, run: { opts: TuneOptions; progress: Progress; slots: GpuSlot[]; compile: CompilePool }): void {
  const sim = run.opts.backend === 'sim';
  const { rows, files } = written;
  const summary = summarize(run.slots, { wallMs: driven.wallMs, freshTrials: driven.freshTrials, failedTrials: driven.failedTrials, compiled: run.compile.compiled, refused: run.compile.refused, compileWaitMs: run.compile.waitedMs });
  if (sim) summary.busy = null; // the simulator's timed_ms is simulated GPU time, not wall time it spent
  if (run.opts.json) {
    run.progress.event('done', { files, simulated: sim, ...summary, results: rows });
  } else {
    process.stdout.write(renderResultsTable(rows, { simulated: sim, color: Boolean(process.stdout.isTTY) }) + '\n');
    for (const f of files) process.stdout.write(`wrote ${f}\n`);
    process.stdout.write(summaryLine(summary, sim) + '\n');
  }
}

function summaryLine(s: ReturnType<typeof summarize>, sim: boolean): string {
  const label = sim ? ' (simulated)' : '';
  return (
    `${s.trials} trials (${s.failed} failed) in ${(s.wall_ms / 1000).toFixed(1)} s on ${s.gpus} GPU(s)${label}: ` +
    `${s.ms_per_trial === null ? '-' : s.ms_per_trial.toFixed(2)} ms of GPU wall per trial, ` +
    `GPUs busy timing ${s.busy === null ? '-' : (100 * s.busy).toFixed(0)}%, ${s.restarts} worker restart(s); ` +
    `${s.compiled} compiled ahead (${s.refused} over the GPUs' shared memory, not measured), ${(s.compile_wait_ms / 1000).toFixed(1)} s waiting on them, ` +
    `${(s.first_launch_ms / 1000).toFixed(1)} s in first launches on the GPUs`
  );
}
