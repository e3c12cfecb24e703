import type { Family } from '../schema/index.js';
import type { Progress } from '../report/progress.js';
import type { CompilePool } from './compile.js';
import { envCount, type TuneOptions } from './options.js';
import type { GpuSlot } from './pool.js';
import type { Unit } from './units.js';
import { plannedTrials } from './unit-search.js';
import type { FamilyJournal } from './unit-trials.js';
import { runUnit, type UnitOutcome } from './unit.js';

/** Units in flight per GPU, shared by its bench workers (12 rather than 6: shorter W4A16 and MoE jobs, the same
 * winners, on two H200 hosts; docs/BENCHMARKS.md runs X and Y); TRITUNE_UNITS_PER_GPU overrides. */
const UNITS_PER_GPU = 12;
const unitsPerGpu = (): number => envCount('TRITUNE_UNITS_PER_GPU', UNITS_PER_GPU);
/** Per unit, configs compiled ahead on the strategy's hint: TRITUNE_HINT_COMPILES (0 turns it off), else `fallback`. */
const hintCompiles = (fallback: number): number => envCount('TRITUNE_HINT_COMPILES', fallback, 0);

/** Refuses a bad TRITUNE_UNITS_PER_GPU or TRITUNE_HINT_COMPILES in one line, before the run starts anything. */
export function checkDriveKnobs(): void {
  unitsPerGpu();
  hintCompiles(0);
}

/** Set once the run is interrupted (Ctrl-C, SIGTERM): no unit starts, none is finished, no file begun. */
export interface Interrupt {
  requested: boolean;
}

/** What the units are driven with: the run's options and what was started for them. */
export interface DriveContext {
  opts: TuneOptions;
  progress: Progress;
  journals: Map<Family, FamilyJournal>;
  compile: CompilePool;
  interrupt: Interrupt;
}

/** What driving the units came to. */
export interface Driven {
  outcomes: UnitOutcome[];
  /** Units left unfinished (every GPU was given up, or the run was interrupted). */
  left: number;
  wallMs: number;
  freshTrials: number;
  failedTrials: number;
}

/**
 * Runs every unit on the GPUs whose worker started: a few units per GPU at once (while one waits for its
 * configs to compile, another's are measured), each unit start to end on one GPU; a unit of a GPU given up
 * goes back to the queue for another.
 */
export async function driveUnits(units: Unit[], live: GpuSlot[], plannedTotal: number, estimatedSeconds: number | null, dc: DriveContext): Promise<Driven> {
  const { opts, progress, compile, interrupt } = dc;
  const queue: Unit[] = [...units];
  const outcomes: UnitOutcome[] = [];
  const t0 = Date.now();
  let freshTrials = 0;
  let failedTrials = 0;
  progress.start(plannedTotal, 0, estimatedSeconds);
  const gpus = new Set(live.map((s) => s.index)).size; // a GPU may have several bench workers (slots)
  const lookAhead = Math.max(2, Math.ceil((2 * opts.compileWorkers) / gpus));
  const hintAhead = opts.compileWorkers === 0 ? 0 : hintCompiles(Math.max(4, Math.ceil((2 * opts.compileWorkers) / gpus)));

  // an unexpected error in one unit (the journal's disk is full) stops every unit, so nothing runs or appends after it
  let failed = false;
  const drive = async (slot: GpuSlot) => {
    try {
      await driveSlot(slot);
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  const driveSlot = async (slot: GpuSlot) => {
    for (let unit = queue.shift(); unit && !interrupt.requested && !failed; unit = queue.shift()) {
      progress.gpu({ index: slot.index, device: slot.device, state: 'busy', doing: unit.id });
      const outcome = await runUnit(unit, slot, {
        strategy: opts.strategy,
        ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
        seed: opts.seed,
        timeoutMs: opts.timeoutS * 1000,
        record: dc.journals.get(unit.job.family)!,
        compile,
        lookAhead,
        speculate: hintAhead,
        stopping: () => interrupt.requested || failed || slot.state === 'gone',
        onTrials: (fresh, fromJournal) => {
          const failed = fresh.filter((t) => t.status !== 'ok').length;
          freshTrials += fresh.length;
          failedTrials += failed;
          progress.trials(fresh.length + fromJournal, failed, fresh.length ? { gpu: slot.index, unit: unit.id, trials: fresh.length, failed } : undefined);
        },
      });
      if (outcome) {
        outcomes.push(outcome);
        progress.setTotal(progress.total + outcome.strategy.evaluations() - plannedTrials(unit, opts));
      } else if (slot.state === 'gone') {
        queue.unshift(unit); // another GPU redoes what this one did not finish (finished trials come from the journal)
        return;
      }
    }
  };
  const perGpu = unitsPerGpu();
  // a GPU with several bench workers (TRITUNE_WORKERS_PER_GPU) shares its units among them
  const perSlot = Math.ceil((perGpu * gpus) / live.length);
  const loops: Array<Promise<void>> = [];
  for (let k = 0; k < perSlot; k++) for (const s of live) loops.push(drive(s)); // round-robin: every GPU starts on a unit
  const settled = await Promise.allSettled(loops);
  const error = settled.find((r) => r.status === 'rejected');
  if (error) throw error.reason;
  const wallMs = Date.now() - t0;
  progress.stop();
  return { outcomes, left: queue.length, wallMs, freshTrials, failedTrials };
}
