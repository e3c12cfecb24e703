import type { JournalTrial } from '../schema/index.js';
import type { Ask, Evaluation, Strategy } from '../search/types.js';
import type { CompilePool } from './compile.js';
import type { GpuSlot } from './pool.js';
import type { Unit } from './units.js';
import { unitStrategy, type SearchChoice } from './unit-search.js';
import { answerFromJournal, evaluationOf, measure, refuse, type FamilyJournal } from './unit-trials.js';
import { CompileHint, compileJobOf, nextCompiled } from './unit-compile.js';

/** What a finished unit hands to the final selection: its strategy, whose ledger holds every time measured. */
export interface UnitOutcome {
  unit: Unit;
  strategy: Strategy;
}

export interface UnitContext extends SearchChoice {
  /** Per-problem timeout; a request of n problems gets n times this. */
  timeoutMs: number;
  /** The journal of the unit's family. */
  record: FamilyJournal;
  compile: CompilePool;
  lookAhead: number;
  /** Most configs compiled ahead on the strategy's hint (Strategy.upcoming) per unit; 0: none. */
  speculate: number;
  stopping: () => boolean;
  /** Called after every answered ask: fresh trials, failed among them, and those answered by the journal. */
  onTrials: (fresh: JournalTrial[], fromJournal: number) => void;
}

/**
 * Runs one unit to the end on one GPU, round by round: what the strategy asks is answered from the journal
 * where it can be, the rest measured in the order it compiles, and the round told back in ask order.
 * Null when the run is being interrupted.
 */
export async function runUnit(unit: Unit, slot: GpuSlot, ctx: UnitContext): Promise<UnitOutcome | null> {
  const strategy = unitStrategy(unit, ctx);
  const hint = new CompileHint(unit, strategy, ctx.compile, ctx.speculate);
  for (let asks = strategy.ask(); asks.length > 0; asks = strategy.ask()) {
    const evals = await answerRound(unit, slot, asks, hint, ctx);
    if (!evals) return null;
    strategy.tell(evals);
  }
  return { unit, strategy };
}

/** One round: its evaluations in ask order (whatever order the GPU measured them in); null when interrupted. */
async function answerRound(unit: Unit, slot: GpuSlot, asks: Ask[], hint: CompileHint, ctx: UnitContext): Promise<Evaluation[] | null> {
  const { evals, missing } = answerFromJournal(unit, asks, ctx.record.known, (n) => ctx.onTrials([], n));
  const pending = [...missing.keys()];
  hint.update(evals.flat());
  const jobOf = (i: number) => compileJobOf(unit, asks[i]!.config, missing.get(i)!);
  while (pending.length > 0) {
    const pick = await nextCompiled(ctx.compile, pending, jobOf, ctx);
    if (pick === null) return null;
    pending.splice(pending.indexOf(pick), 1);
    await ctx.compile.ready(jobOf(pick).key);
    const refusal = ctx.compile.refusal(jobOf(pick).key);
    const fresh = refusal !== null ? refuse(unit, slot, asks[pick]!, missing.get(pick)!, refusal, ctx) : await measure(unit, slot, asks[pick]!, missing.get(pick)!, ctx);
    if (!fresh) return null;
    for (const t of fresh) evals[pick]!.push(evaluationOf(asks[pick]!.config, t));
    ctx.onTrials(fresh, 0);
    if (pending.length % 4 === 0) hint.update(evals.flat()); // not after every request: the hint costs CPU
  }
  return evals.flat();
}
