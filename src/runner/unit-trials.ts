import type { ConfigEntry, JournalTrial, TrialStatus } from '../schema/index.js';
import { configKey } from '../space/index.js';
import type { Ask, Evaluation } from '../search/types.js';
import { trialKey, type Journal } from '../store/journal.js';
import type { BenchOutcome, GpuSlot } from './pool.js';
import { kernelFamily } from '../families/index.js';
import type { Unit } from './units.js';

/** A family's journal and the trials it already holds (by trialKey), shared by the units of that family. */
export interface FamilyJournal {
  journal: Journal;
  known: Map<string, JournalTrial>;
}

/** A journaled trial as its strategy is told it (a failed trial has no time). */
export const evaluationOf = (config: ConfigEntry, t: JournalTrial): Evaluation => {
  const ok = t.status === 'ok';
  return { config, M: t.M, us: ok ? t.us : null, effort: t.effort, spread: ok ? t.spread : null };
};

/** What the journal answers of one round of asks, and what is left to measure. */
export interface JournalAnswers {
  /** Per ask (in ask order), the evaluations found in the journal. */
  evals: Evaluation[][];
  /** Per ask index, the Ms the journal lacks (asks it answered in full are absent). */
  missing: Map<number, number[]>;
}

/** Answers a round of asks from the journal where it can; `onAnswered` hears how many, ask by ask. */
export function answerFromJournal(unit: Unit, asks: Ask[], known: Map<string, JournalTrial>, onAnswered: (n: number) => void): JournalAnswers {
  const shapeKey = unit.job.key;
  const evals: Evaluation[][] = asks.map(() => []);
  const missing = new Map<number, number[]>();
  asks.forEach((ask, i) => {
    const ck = configKey(ask.config);
    const lacking: number[] = [];
    for (const M of ask.ms) {
      const rec = known.get(trialKey(shapeKey, M, ck, ask.effort));
      if (rec) evals[i]!.push(evaluationOf(ask.config, rec));
      else lacking.push(M);
    }
    if (lacking.length < ask.ms.length) onAnswered(ask.ms.length - lacking.length);
    if (lacking.length) missing.set(i, lacking);
  });
  return { evals, missing };
}

/** One trial record per problem of a bench request: the worker's result, or its failure for every problem. */
function trialsOf(out: BenchOutcome, unit: Unit, ask: Ask, ms: number[], gpu: number): JournalTrial[] {
  const at = new Date().toISOString();
  return ms.map((M, i) => {
    const r = out.ok ? out.result.results.find((x) => x.index === i) : undefined;
    const status: TrialStatus = out.ok ? (r?.status ?? 'crash') : out.status;
    const message = out.ok ? (r ? r.message : 'worker gave no result for this problem') : out.message;
    return {
      type: 'trial' as const,
      shape: unit.job.key,
      M,
      config: ask.config as Record<string, number>,
      effort: ask.effort,
      status,
      us: status === 'ok' ? (r?.us ?? null) : null,
      spread: status === 'ok' ? (r?.spread ?? null) : null,
      gpu,
      message: message ?? null,
      at,
    };
  });
}

/**
 * Journals one ask's config as failed at the given Ms without measuring it: its compile worker found a binary over
 * the GPUs' shared memory, in a family whose shared memory is the same at every M (CompilePool.refusal).
 */
export function refuse(unit: Unit, slot: GpuSlot, ask: Ask, ms: number[], message: string, opts: { record: FamilyJournal }): JournalTrial[] {
  const results = ms.map((_, index) => ({ index, status: 'invalid' as const, us: null, spread: null, samples: 0, max_err: null, message }));
  const out: BenchOutcome = { ok: true, restarted: false, result: { type: 'result', id: 'compile-refusal', simulated: false, compile_ms: null, wall_ms: 0, timed_ms: 0, results } };
  return record(trialsOf(out, unit, ask, ms, slot.index), unit, ask, opts.record);
}

function record(fresh: JournalTrial[], unit: Unit, ask: Ask, journal: FamilyJournal): JournalTrial[] {
  journal.journal.append(fresh);
  const ck = configKey(ask.config);
  for (const t of fresh) journal.known.set(trialKey(unit.job.key, t.M, ck, t.effort), t);
  return fresh;
}

/**
 * Measures one ask's config at the given Ms in one request on the GPU and journals the trials at once.
 * Null when the run is being interrupted (a request killed by Ctrl-C, or its GPU given up, is not a result).
 */
export async function measure(
  unit: Unit,
  slot: GpuSlot,
  ask: Ask,
  ms: number[],
  opts: { timeoutMs: number; record: FamilyJournal; stopping: () => boolean },
): Promise<JournalTrial[] | null> {
  const { family, shape } = unit.job;
  const problems = ms.map((M) => kernelFamily(family).problem(shape, M));
  const out = await slot.bench({ type: 'trial', family, config: ask.config, problems, check: true, effort: ask.effort }, opts.timeoutMs * problems.length);
  if (opts.stopping()) return null;
  return record(trialsOf(out, unit, ask, ms, slot.index), unit, ask, opts.record);
}
