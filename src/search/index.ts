import { UserError } from '../errors.js';
import { exhaustive } from './exhaustive.js';
import { bestFirst } from './best-first.js';
import { StrategyOptions, type Strategy, type StrategyInput } from './types.js';

export type { Ask, Evaluation, Effort, Measured, Strategy, StrategyInput } from './types.js';
export { StrategyOptions } from './types.js';
export { selectWinner, type Decision } from './select.js';

/** The strategy registry: `--strategy <name>`. 'best-first' is the default. */
export const STRATEGIES = {
  'best-first': bestFirst,
  exhaustive,
} as const satisfies Record<string, (opts: StrategyOptions) => Strategy>;
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
  const alias = STRATEGY_ALIASES[name];
  if (alias) return alias;
  throw new UserError(`unknown strategy '${name}': use one of ${Object.keys(STRATEGIES).join(', ')}`);
}

/** Builds a strategy by name (or alias) after validating its options (bad names and options are user errors). */
export function createStrategy(name: string, input: StrategyInput): Strategy {
  const make = STRATEGIES[strategyName(name)];
  const parsed = StrategyOptions.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`strategy ${name}: ${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return make(parsed.data);
}
