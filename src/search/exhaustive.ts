import { configKey } from '../space/key.js';
import type { Ask, Evaluation, Strategy, StrategyOptions } from './types.js';
import { Ledger } from './ledger.js';
import { prng, shuffled } from './prng.js';

/** The pairs exhaustive measures, seeds first (a pair may repeat; asking dedups). */
function pairsOf(opts: StrategyOptions) {
  const fits = opts.fits ?? (() => true);
  let pairs = opts.configs.flatMap((config) => opts.ms.filter((M) => fits(config, M)).map((M) => ({ config, M, effort: 'full' as const })));
  if (opts.budget !== undefined && opts.budget < pairs.length) pairs = shuffled(pairs, prng(opts.seed)).slice(0, opts.budget);
  const runs = opts.runs ?? (() => true);
  const seeds = opts.seeds.flatMap((config) => opts.ms.filter((M) => runs(config, M)).map((M) => ({ config, M, effort: 'full' as const })));
  return [...seeds, ...pairs];
}

/**
 * Every config at every M it fits, once, at full effort (what the vLLM and SGLang tuners do). With a budget
 * smaller than the space, a seeded random sample of that many pairs instead (random search). Seeds always run.
 */
export function exhaustive(opts: StrategyOptions): Strategy {
  const ledger = new Ledger(opts.ms);
  let done = false;
  return {
    ask(): Ask[] {
      if (done) return [];
      done = true;
      return ledger.toAsks(pairsOf(opts));
    },
    tell: (evals: Evaluation[]) => ledger.record(evals),
    ledger,
    best: () => ledger.best(),
    finalists: () => ledger.finalists(),
    evaluations: () => ledger.evaluations(),
  };
}

/** Evaluations exhaustive spends on these options (exact: it asks every pair once, whatever the times). */
export function exhaustivePlan(opts: StrategyOptions): number {
  return new Set(pairsOf(opts).map((p) => `${p.M}|${configKey(p.config)}`)).size;
}
