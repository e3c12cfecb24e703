import type { ConfigEntry, JournalTrial, TrialStatus } from '../schema/index.js';
import { configKey } from '../space/index.js';
import type { Ask, Evaluation, Strategy } from '../search/types.js';
import { trialKey, type Journal } from '../store/journal.js';
import { compileKey, type CompilePool } from './compile.js';
import type { GpuSlot } from './pool.js';
import { problemFor } from './problems.js';
import type { Unit } from './units.js';
import { unitStrategy, type SearchChoice } from './unit-search.js';

/** How long a unit waits for its queued compiles (the pool busy with other units) before compiling on the GPU. */
const QUEUED_WAIT_MS = 2000;

/** What a finished unit hands to the final selection: its strategy, whose ledger holds every time measured. */
export interface UnitOutcome {
  unit: Unit;
  strategy: Strategy;
}

export interface UnitContext extends SearchChoice {
  /** Per-problem timeout; a request of n problems gets n times this. */
  timeoutMs: number;
  journal: Journal;
  /** Trials already journaled, by trialKey. */
  known: Map<string, JournalTrial>;
  compile: CompilePool;
  lookAhead: number;
  /** Most configs compiled ahead on the strategy's hint (Strategy.upcoming) per unit; 0: none. */
  speculate: number;
  stopping: () => boolean;
  /** Called after every answered ask: fresh trials, failed among them, and those answered by the journal. */
  onTrials: (fresh: JournalTrial[], fromJournal: number) => void;
}

/** A journaled trial as its strategy is told it (a failed trial has no time). */
const evaluationOf = (config: ConfigEntry, t: JournalTrial): Evaluation => {
  const ok = t.status === 'ok';
  return { config, M: t.M, us: ok ? t.us : null, effort: t.effort, spread: ok ? t.spread : null };
};

/** Runs one unit to the end on one GPU; returns null when the run is being interrupted. */
export async function runUnit(unit: Unit, slot: GpuSlot, ctx: UnitContext): Promise<UnitOutcome | null> {
  const { family, shape, key: shapeKey } = unit.job;
  const strategy = unitStrategy(unit, ctx);
  const missingOf = (ask: Ask) => ask.ms.filter((M) => !ctx.known.has(trialKey(shapeKey, M, configKey(ask.config), ask.effort)));
  const compileJob = (ask: Ask, ms: number[]) => ({
    key: compileKey(family, shape, shapeKey, ask.config as Record<string, number>, configKey(ask.config)),
    family,
    config: ask.config as Record<string, number>,
    problems: ms.map((M) => problemFor(family, shape, M)),
  });

  /** One request on the GPU; its trials are journaled at once. Null when the run is being interrupted. */
  const measure = async (ask: Ask, missing: number[]): Promise<JournalTrial[] | null> => {
    const problems = missing.map((M) => problemFor(family, shape, M));
    const out = await slot.bench({ type: 'trial', family, config: ask.config, problems, check: true, effort: ask.effort }, ctx.timeoutMs * problems.length);
    if (ctx.stopping()) return null; // killed by Ctrl-C (or the GPU was given up): not a result
    const at = new Date().toISOString();
    const fresh: JournalTrial[] = missing.map((M, i) => {
      const r = out.ok ? out.result.results.find((x) => x.index === i) : undefined;
      const status: TrialStatus = out.ok ? (r?.status ?? 'crash') : out.status;
      const message = out.ok ? (r ? r.message : 'worker gave no result for this problem') : out.message;
      return {
        type: 'trial' as const,
        shape: shapeKey,
        M,
        config: ask.config as Record<string, number>,
        effort: ask.effort,
        status,
        us: status === 'ok' ? (r?.us ?? null) : null,
        spread: status === 'ok' ? (r?.spread ?? null) : null,
        gpu: slot.index,
        message: message ?? null,
        at,
      };
    });
    ctx.journal.append(fresh);
    const ck = configKey(ask.config);
    for (const t of fresh) ctx.known.set(trialKey(shapeKey, t.M, ck, t.effort), t);
    return fresh;
  };

  // Compiles ahead of the asks: the configs the strategy will likely ask next (its hint, recomputed as this
  // round's times arrive), at low priority, so idle compile workers have them ready when the next round starts.
  let hinted = new Set<string>();
  const speculate = (partial: Evaluation[]) => {
    if (!strategy.upcoming || ctx.speculate <= 0) return;
    const next = new Map<string, ReturnType<typeof compileJob>>();
    for (const config of strategy.upcoming(partial, ctx.speculate)) {
      const job = compileJob({ config, ms: unit.ms, effort: 'quick' }, unit.ms.slice(0, 1));
      next.set(job.key, job);
    }
    for (const k of hinted) if (!next.has(k)) ctx.compile.cancel(k);
    for (const job of next.values()) ctx.compile.prefetch(job, true);
    hinted = new Set(next.keys());
  };

  for (let asks = strategy.ask(); asks.length > 0; asks = strategy.ask()) {
    // Per ask, its evaluations: told in ask order, whatever order the GPU measured them in.
    const evals: Evaluation[][] = asks.map(() => []);
    const missingBy = new Map<number, number[]>();
    asks.forEach((ask, i) => {
      const missing = missingOf(ask);
      const ck = configKey(ask.config);
      let fromJournal = 0;
      for (const M of ask.ms) {
        const rec = ctx.known.get(trialKey(shapeKey, M, ck, ask.effort));
        if (!rec || missing.includes(M)) continue;
        fromJournal++;
        evals[i]!.push(evaluationOf(ask.config, rec));
      }
      if (fromJournal) ctx.onTrials([], fromJournal);
      if (missing.length) missingBy.set(i, missing);
    });
    const pending = [...missingBy.keys()];
    speculate(evals.flat());
    const job = (i: number) => compileJob(asks[i]!, missingBy.get(i)!);
    let waitedQueued = 0;
    while (pending.length > 0) {
      if (ctx.stopping()) return null;
      // Keep the next few compiling; measure whichever is compiled first, so the GPU never waits on one slow compile.
      const window = pending.slice(0, ctx.lookAhead);
      for (const i of window) ctx.compile.prefetch(job(i));
      const states = window.map((i) => ctx.compile.state(job(i).key));
      let pick = window[states.indexOf('done')];
      if (pick === undefined && states.includes('running')) {
        await ctx.compile.firstDone(window.map((i) => job(i).key));
        continue;
      }
      if (pick === undefined && states.includes('queued') && waitedQueued < QUEUED_WAIT_MS) {
        await new Promise((r) => setTimeout(r, 20)); // the compile workers are busy with other units' configs
        waitedQueued += 20;
        continue;
      }
      pick ??= pending[0]!; // nothing compiling for it: the bench worker compiles it itself
      waitedQueued = 0;
      pending.splice(pending.indexOf(pick), 1);
      await ctx.compile.ready(job(pick).key);
      const fresh = await measure(asks[pick]!, missingBy.get(pick)!);
      if (!fresh) return null;
      for (const t of fresh) evals[pick]!.push(evaluationOf(asks[pick]!.config, t));
      ctx.onTrials(fresh, 0);
      if (pending.length % 4 === 0) speculate(evals.flat()); // not after every request: the hint costs CPU
    }
    strategy.tell(evals.flat());
  }
  return { unit, strategy };
}
