import { enumerateSpace, configKey } from '../space/index.js';
import { kernelFamily } from '../families/index.js';
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
  const device = journal.header?.device as DeviceInfo;
  const score: ReplayScore = { strategy, entries: [], evaluations: 0, exhaustiveEvaluations: 0, missing: 0 };
  for (const shape of journal.shapes()) {
    const weightShape = journalShape(journal, family, shape);
    const allMs = journal.ms(shape);
    const sp = enumerateSpace(family, space, { shape: weightShape, ms: allMs, device });
    const defaultsOf = (ms: number[]) => [...new Map(ms.map((M) => kernelFamily(family).defaultConfig({ ...weightShape, M })).map((c) => [configKey(c), c])).values()];
    const fitting = (M: number) => sp.configs.filter((c) => sp.fitsM(c, M));
    for (const M of allMs) for (const c of fitting(M)) if (!journal.trial(shape, c, M, 'full')) score.missing++;
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
