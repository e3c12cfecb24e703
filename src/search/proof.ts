import { enumerateSpace, configKey } from '../space/index.js';
import { kernelFamily } from '../families/index.js';
import type { ConfigEntry, DeviceInfo, Family } from '../schema/index.js';
import { createStrategy } from './index.js';
import { ReplayJournal, replay } from './replay.js';

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

const parseShape = (key: string) => Object.fromEntries(key.split(',').map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)])) as { N: number; K: number };

/**
 * Replays a strategy over every weight shape of an exhaustive journal, against the exhaustive optimum of the
 * same space (the family's default configs included, as every strategy evaluates them): how close its picks
 * land and what it spends. What the proof test and docs/BENCHMARKS.md's Search section report.
 */
export function scoreStrategy(journal: ReplayJournal, family: Family, space: string, strategy: string, seeds: number[], budget?: (pairs: number) => number): ReplayScore {
  const device = journal.header?.device as DeviceInfo;
  const score: ReplayScore = { strategy, entries: [], evaluations: 0, exhaustiveEvaluations: 0, missing: 0 };
  for (const shape of journal.shapes()) {
    const { N, K } = parseShape(shape);
    const ms = journal.ms(shape);
    const sp = enumerateSpace(family, space, { shape: { N, K }, ms, device });
    const defaults = [...new Map(ms.map((M) => kernelFamily(family).defaultConfig({ M, N, K })).map((c) => [configKey(c), c])).values()];
    for (const M of ms) for (const c of sp.configs) if (sp.fitsM(c, M) && !journal.trial(shape, c, M, 'full')) score.missing++;
    if (score.missing) continue;
    const optimum = new Map(ms.map((M) => [M, journal.optimum(shape, M, [...sp.configs.filter((c) => sp.fitsM(c, M)), ...defaults])!.us]));
    const ex = createStrategy('exhaustive', { configs: sp.configs, ms, fits: sp.fitsM, seeds: defaults });
    replay(ex, journal, shape);
    for (const seed of seeds) {
      const s = createStrategy(strategy, { configs: sp.configs, ms, fits: sp.fitsM, seeds: defaults, seed, budget: budget?.(sp.pairs) });
      replay(s, journal, shape);
      for (const [M, picked] of s.best()) {
        const us = journal.trial(shape, picked.config as ConfigEntry, M, 'full')!.us!;
        score.entries.push({ shape, M, seed, ratio: us / optimum.get(M)! });
      }
      score.evaluations += s.evaluations();
      score.exhaustiveEvaluations += ex.evaluations();
    }
  }
  return score;
}
