import { enumerateSpace, configKey } from '../space/index.js';
import { seedConfigs } from '../families/index.js';
import type { ConfigEntry, DeviceInfo, Family } from '../schema/index.js';
import { createStrategy } from './index.js';
import { ReplayJournal, replay } from './replay.js';
import { journalShape } from './journal-shape.js';

export interface EntryOutcome {
  shape: string;
  M: number;
  seed: number;
  /** Journal time (full effort) of the config the strategy picked, over the exhaustive optimum. */
  ratio: number;
}

export interface ReplayScore {
  strategy: string;
  entries: EntryOutcome[];
  /** Evaluations the strategy spent, and what the exhaustive strategy spends on the same space and seeds. */
  evaluations: number;
  exhaustiveEvaluations: number;
  /** Pairs of the space the journal does not hold (0 for an exhaustive journal). */
  missing: number;
}

/** How a replay is run: the budget as a function of the pairs a strategy instance faces, and how Ms are grouped. */
export interface ScoreOptions {
  /** The strategy's budget for an instance facing this many (config, M) pairs; the strategy's default when absent. */
  budget?: (pairs: number) => number;
  /**
   * Groups a shape's Ms into strategy instances, as `tune` groups them into units (src/runner/units.ts chunkMs);
   * each instance is seeded with the default configs of its own Ms, as a unit is. Absent: one instance per shape.
   */
  units?: (ms: number[]) => number[][];
}

/**
 * Replays a strategy over every weight shape of an exhaustive journal, against the exhaustive optimum of the
 * same space (the family's default configs included, as every strategy evaluates them): how close its picks
 * land and what it spends. What the proof test and docs/BENCHMARKS.md's Search section report.
 */
export function scoreStrategy(journal: ReplayJournal, family: Family, space: string, strategy: string, seeds: number[], opts: ScoreOptions = {}): ReplayScore {
  const score: ReplayScore = { strategy, entries: [], evaluations: 0, exhaustiveEvaluations: 0, missing: 0 };
  for (const shape of journal.shapes()) {
    const { sp, allMs, defaultsOf, fitting, missing } = shapeSetup(journal, family, space, shape);
    score.missing += missing;
    if (score.missing) continue;
    const optimum = new Map(allMs.map((M) => [M, journal.optimum(shape, M, [...fitting(M), ...defaultsOf(allMs)])!.us]));
    for (const ms of opts.units?.(allMs) ?? [allMs]) {
      const defaults = defaultsOf(ms);
      const pairs = ms.reduce((n, M) => n + fitting(M).length, 0);
      const ex = createStrategy('exhaustive', { configs: sp.configs, ms, fits: sp.fitsM, runs: sp.runsM, seeds: defaults });
      replay(ex, journal, shape);
      for (const seed of seeds) {
        const s = createStrategy(strategy, { configs: sp.configs, ms, fits: sp.fitsM, runs: sp.runsM, seeds: defaults, seed, budget: opts.budget?.(pairs) });
        replay(s, journal, shape);
        for (const [M, picked] of s.best()) {
          const us = journal.trial(shape, picked.config as ConfigEntry, M, 'full')!.us!;
          score.entries.push({ shape, M, seed, ratio: us / optimum.get(M)! });
        }
        score.evaluations += s.evaluations();
        score.exhaustiveEvaluations += ex.evaluations();
      }
    }
  }
  return score;
}

/** One journal shape as a replay sees it: its space, Ms, per-M fitting configs, default configs, and the pairs it lacks. */
function shapeSetup(journal: ReplayJournal, family: Family, space: string, shape: string) {
  const device = journal.header?.device as DeviceInfo;
  const weightShape = journalShape(journal, family, shape);
  const allMs = journal.ms(shape);
  const sp = enumerateSpace(family, space, { shape: weightShape, ms: allMs, device });
  const inSpace = new Set(sp.configs.map(configKey));
  const defaultsOf = (ms: number[]) => seedConfigs(family, weightShape, ms, (c) => inSpace.has(configKey(c)));
  const fitting = (M: number) => sp.configs.filter((c) => sp.fitsM(c, M));
  let missing = 0;
  for (const M of allMs) for (const c of fitting(M)) if (!journal.trial(shape, c, M, 'full')) missing++;
  return { sp, allMs, defaultsOf, fitting, missing };
}

/** How well a strategy's compile hint (`upcoming`) named the configs its next rounds asked. */
export interface HintScore {
  /** Configs a round asked that its unit had not built before (timed or asked at any M), after a hint was given. */
  fresh: number;
  /** Of those, the ones the hint before the round named. */
  named: number;
  /** Configs the hints named, and how many of them the next round asked. */
  hinted: number;
  used: number;
  /** Hints asked, and the milliseconds they took (the conductor computes each on its one thread). */
  calls: number;
  ms: number;
}

/**
 * Replays the default strategy over a journal as `tune` runs it (units of the runner's split, each seeded with its
 * own Ms' default configs) and, in every round, asks its hint for the next one (`limit` configs), given the first
 * `at` share of the round's evaluations (0: none yet, 1: all of them), as the runner compiles ahead.
 */
export function hintScore(journal: ReplayJournal, family: Family, space: string, seeds: number[], opts: { units: (ms: number[]) => number[][]; limit: number; at: number }): HintScore {
  const score: HintScore = { fresh: 0, named: 0, hinted: 0, used: 0, calls: 0, ms: 0 };
  for (const shape of journal.shapes()) {
    const { sp, allMs, defaultsOf, missing } = shapeSetup(journal, family, space, shape);
    if (missing) throw new Error(`${shape}: the journal lacks ${missing} pairs of the ${space} space`);
    for (const ms of opts.units(allMs))
      for (const seed of seeds) {
        const s = createStrategy('best-first', { configs: sp.configs, ms, fits: sp.fitsM, runs: sp.runsM, seeds: defaultsOf(ms), seed });
        const built = new Set<string>();
        for (let asks = s.ask(); asks.length; ) {
          const evals = journal.answer(shape, asks);
          const t0 = performance.now();
          const hint = new Set((s.upcoming?.(evals.slice(0, Math.ceil(opts.at * evals.length)), opts.limit) ?? []).map(configKey));
          score.ms += performance.now() - t0;
          score.calls++;
          for (const a of asks) built.add(configKey(a.config));
          s.tell(evals);
          asks = s.ask();
          const next = new Set(asks.map((a) => configKey(a.config)));
          const fresh = [...next].filter((k) => !built.has(k));
          score.fresh += fresh.length;
          score.named += fresh.filter((k) => hint.has(k)).length;
          score.hinted += hint.size;
          score.used += [...hint].filter((k) => next.has(k)).length;
        }
      }
  }
  return score;
}
