import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/index.js';
import type { Evaluation, Strategy } from '../search/types.js';
import type { CompileJob, CompilePool } from './compile.js';
import { kernelFamily } from '../families/index.js';
import type { Unit } from './units.js';

/** How long a unit waits for its queued compiles (the pool busy with other units) before compiling on the GPU. */
const QUEUED_WAIT_MS = 2000;

/**
 * The compile job of one of a unit's configs, over the given Ms. Where binaries differ by M it covers every M of
 * the unit, and the family's compileKey names what of those Ms decides the binaries: the hint's job and each later
 * ask's are then one job, and another unit of the same shape gets its own unless its Ms build the same binaries.
 */
export function compileJobOf(unit: Unit, config: ConfigEntry, ms: number[]): CompileJob {
  const { family, shape, key: shapeKey } = unit.job;
  const kf = kernelFamily(family);
  const over = kf.specializesOnM ? unit.ms : ms;
  return {
    key: kf.compileKey(shape, shapeKey, config as Record<string, number>, configKey(config), over),
    family,
    config: config as Record<string, number>,
    problems: over.map((M) => kf.problem(shape, M)),
  };
}

/**
 * The next of the pending asks to measure: keeps the first `lookAhead` compiling and picks whichever is
 * compiled first, so the GPU never waits on one slow compile; when none is compiling for it, the first (the
 * bench worker then compiles it itself). Null when the run is being interrupted.
 */
export async function nextCompiled(
  compile: CompilePool,
  pending: number[],
  jobOf: (i: number) => CompileJob,
  opts: { lookAhead: number; stopping: () => boolean },
): Promise<number | null> {
  let waitedQueued = 0;
  for (;;) {
    if (opts.stopping()) return null;
    const window = pending.slice(0, opts.lookAhead);
    for (const i of window) compile.prefetch(jobOf(i));
    const states = window.map((i) => compile.state(jobOf(i).key));
    const done = window[states.indexOf('done')];
    if (done !== undefined) return done;
    if (states.includes('running')) {
      await compile.firstDone(window.map((i) => jobOf(i).key));
      continue;
    }
    if (states.includes('queued') && waitedQueued < QUEUED_WAIT_MS) {
      await new Promise((r) => setTimeout(r, 20)); // the compile workers are busy with other units' configs
      waitedQueued += 20;
      continue;
    }
    return pending[0]!;
  }
}

/**
 * Compiles ahead of the asks: the configs the strategy will likely ask next (its hint, recomputed as this
 * round's times arrive), at low priority, so idle compile workers have them ready when the next round starts.
 * A config no longer hinted is cancelled.
 */
export class CompileHint {
  private hinted = new Set<string>();

  constructor(
    private readonly unit: Unit,
    private readonly strategy: Strategy,
    private readonly compile: CompilePool,
    /** Most configs compiled ahead; 0: none. */
    private readonly limit: number,
  ) {}

  /** Re-reads the hint given this round's evaluations so far. */
  update(partial: Evaluation[]): void {
    if (!this.strategy.upcoming || this.limit <= 0) return;
    const next = new Map<string, CompileJob>();
    for (const config of this.strategy.upcoming(partial, this.limit)) {
      const job = compileJobOf(this.unit, config, this.unit.ms); // every M: a family may specialize on it
      next.set(job.key, job);
    }
    for (const k of this.hinted) if (!next.has(k)) this.compile.cancel(k);
    for (const job of next.values()) this.compile.prefetch(job, true);
    this.hinted = new Set(next.keys());
  }
}
