import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/index.js';
import { seedConfigs } from '../families/index.js';
import { createStrategy, plannedEvaluations, type Strategy, type StrategyInput } from '../search/index.js';
import { unitPairs, type Unit } from './units.js';

/** What picks a unit's strategy: its name, --budget (per weight shape) and --seed. */
export interface SearchChoice {
  strategy: string;
  /** --budget: evaluations per weight shape, shared by its units in proportion to their pairs. */
  budget?: number;
  seed: number;
}

/** Seeds every unit evaluates at each of its Ms: the default config of each M and the family's path seeds
 * (seedConfigs), and the incumbents. */
function seedsOf(unit: Unit): ConfigEntry[] {
  const { family, shape } = unit.job;
  const space = new Set(unit.job.space.configs.map(configKey));
  const seen = new Map(seedConfigs(family, shape, unit.ms, (c) => space.has(configKey(c))).map((c) => [configKey(c), c]));
  for (const M of unit.ms) {
    const inc = unit.job.incumbents.get(M);
    if (inc) seen.set(configKey(inc), inc);
  }
  return [...seen.values()];
}

/** The options of a unit's strategy, the same for the run and for its plan. */
function strategyInput(unit: Unit, choice: SearchChoice): StrategyInput {
  const shapePairs = unit.job.ms.reduce((n, M) => n + unit.job.space.configs.filter((c) => unit.job.space.fitsM(c, M)).length, 0);
  const budget = choice.budget === undefined ? undefined : Math.max(1, Math.round((choice.budget * unitPairs(unit)) / Math.max(1, shapePairs)));
  return {
    configs: unit.job.space.configs,
    ms: unit.ms,
    ...(budget === undefined ? {} : { budget }),
    seeds: seedsOf(unit),
    seed: choice.seed,
    fits: unit.job.space.fitsM,
    runs: unit.job.space.runsM,
  };
}

/** The strategy instance that searches one unit. */
export const unitStrategy = (unit: Unit, choice: SearchChoice): Strategy => createStrategy(choice.strategy, strategyInput(unit, choice));

/** The most trials a unit's strategy spends, as the strategy itself counts them (what --dry-run plans). */
export const plannedTrials = (unit: Unit, choice: SearchChoice): number => plannedEvaluations(choice.strategy, strategyInput(unit, choice));
