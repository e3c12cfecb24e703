import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { TimedConfig } from './types.js';

export type Decision = 'new' | 'kept' | 'replaced';

export interface SelectInput {
  /** Configs timed at full effort for this M in this run (the incumbent may be among them). */
  candidates: TimedConfig[];
  /** The entry already in the file, re-measured in this run on the same GPU (us null: it failed now). */
  incumbent?: { config: ConfigEntry; us: number | null };
  /** Relative margin a challenger must beat the incumbent by (0.02 = 2 %). */
  keepWithin: number;
}

export interface Selected extends TimedConfig {
  decision: Decision;
}

/**
 * Hysteresis: the fastest candidate wins, except that an incumbent is kept unless the challenger is faster by
 * more than keepWithin, so re-tuning an unchanged setup rewrites (almost) nothing. Null when nothing ran.
 */
export function selectWinner({ candidates, incumbent, keepWithin }: SelectInput): Selected | null {
  const best = [...candidates].sort((a, b) => a.us - b.us || (configKey(a.config) < configKey(b.config) ? -1 : 1))[0];
  const inc = incumbent && typeof incumbent.us === 'number' ? { config: incumbent.config, us: incumbent.us } : undefined;
  if (!incumbent) return best ? { config: best.config, us: best.us, decision: 'new' } : null;
  if (!inc) return best ? { config: best.config, us: best.us, decision: 'replaced' } : null;
  if (!best || configKey(best.config) === configKey(inc.config)) return { ...inc, decision: 'kept' };
  const gain = (inc.us - best.us) / inc.us;
  return gain > keepWithin ? { config: best.config, us: best.us, decision: 'replaced' } : { ...inc, decision: 'kept' };
}
