import { UserError } from '../errors.js';
import { exhaustive, exhaustivePlan } from './exhaustive.js';
import { bestFirst, bestFirstPlan } from './best-first.js';
import { StrategyOptions, type Strategy, type StrategyInput } from './types.js';

export type { Ask, Evaluation, Effort, TimedConfig, Strategy, StrategyInput } from './types.js';
export type { LedgerView, Timing } from './ledger.js';
export { StrategyOptions } from './types.js';
export { selectWinner, type Decision } from './select.js';

/** A strategy as registered: how to build it, and the most evaluations it spends (the plan, known before any time). */
export interface StrategyEntry {
  create(opts: StrategyOptions): Strategy;
  plan(opts: StrategyOptions): number;
}

/** The strategy registry: `--strategy <name>`. 'best-first' is the default. */
export const STRATEGIES = {
  'best-first': { create: bestFirst, plan: bestFirstPlan },
  exhaustive: { create: exhaustive, plan: exhaustivePlan },
} as const satisfies Record<string, StrategyEntry>;
export type StrategyName = keyof typeof STRATEGIES;
export const DEFAULT_STRATEGY: StrategyName = 'best-first';

/**
 * Old names still accepted for a strategy: `halving` was best-first's first name (it never halved anything).
 * No file keeps a strategy name (journals, fingerprints and sidecars hold none, only the command as typed).
 */
export const STRATEGY_ALIASES: Readonly<Record<string, StrategyName>> = { halving: 'best-first' };

/** The registry name a --strategy value stands for (an alias resolved); unknown names are user errors. */
export function strategyName(name: string): StrategyName {
  if (Object.hasOwn(STRATEGIES, name)) return name as StrategyName;
  if (Object.hasOwn(STRATEGY_ALIASES, name)) return STRATEGY_ALIASES[name]!;
  throw new UserError(`unknown strategy '${name}': use one of ${Object.keys(STRATEGIES).join(', ')}`);
}

/** Validates a strategy's options; a bad option is a user error naming the strategy and the option. */
function parseOptions(name: string, input: StrategyInput): StrategyOptions {
  const parsed = StrategyOptions.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`strategy ${name}: ${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Builds a strategy by name (or alias) after validating its options (bad names and options are user errors). */
export function createStrategy(name: string, input: StrategyInput): Strategy {
  const entry = STRATEGIES[strategyName(name)];
  return entry.create(parseOptions(name, input));
}

/** The most (config, M) evaluations the named strategy spends on these options: what a plan counts. */
export function plannedEvaluations(name: string, input: StrategyInput): number {
  const entry = STRATEGIES[strategyName(name)];
  return entry.plan(parseOptions(name, input));
}
