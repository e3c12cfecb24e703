import { UserError } from '../errors.js';
import { exhaustive } from './exhaustive.js';
import { halving } from './halving.js';
import { StrategyOptions, type Strategy, type StrategyInput } from './types.js';

export type { Ask, Evaluation, Effort, Measured, Strategy, StrategyInput } from './types.js';
export { StrategyOptions } from './types.js';
export { selectWinner, type Decision } from './select.js';

/** The strategy registry: `--strategy <name>`. 'halving' is the default. */
export const STRATEGIES = {
  halving,
  exhaustive,
} as const satisfies Record<string, (opts: StrategyOptions) => Strategy>;
export type StrategyName = keyof typeof STRATEGIES;
export const DEFAULT_STRATEGY: StrategyName = 'halving';

/** Builds a strategy by name after validating its options (bad names and options are user errors). */
export function createStrategy(name: string, input: StrategyInput): Strategy {
  const make = (STRATEGIES as Record<string, (o: StrategyOptions) => Strategy>)[name];
  if (!make) throw new UserError(`unknown strategy '${name}': use one of ${Object.keys(STRATEGIES).join(', ')}`);
  const parsed = StrategyOptions.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`strategy ${name}: ${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return make(parsed.data);
}
