import { z } from 'zod';
import type { ConfigEntry } from '../schema/index.js';
import type { LedgerView } from './ledger.js';

export type Effort = 'quick' | 'full';

/** One unit of work: measure `config` at each M in `ms` (one worker request, the config compiled once). */
export interface Ask {
  config: ConfigEntry;
  ms: number[];
  effort: Effort;
}

/** The answer to one (config, M) pair of an ask; us null when the trial failed (any status but ok). */
export interface Evaluation {
  config: ConfigEntry;
  M: number;
  us: number | null;
  effort: Effort;
  /** Relative spread of the samples behind us, when the runner knows it (kept for the sidecar). */
  spread?: number | null;
}

/** A config with its time at one M, µs: what strategies rank and the final selection compares. */
export interface TimedConfig {
  config: ConfigEntry;
  us: number;
}

/**
 * A search strategy: pure and deterministic (no processes, no clock, no Math.random). The conductor loops
 * `while ((asks = s.ask()).length) s.tell(await run(asks))`.
 */
export interface Strategy {
  /** The next batch to measure; [] when the search is finished. */
  ask(): Ask[];
  tell(evals: Evaluation[]): void;
  /** Per M, the fastest config measured (full-effort times preferred over quick ones). */
  best(): Map<number, TimedConfig>;
  /** Per M, the configs timed at full effort (fastest first): the candidates for the final selection. */
  finalists(): Map<number, TimedConfig[]>;
  /** (config, M) pairs evaluated so far, at any effort. */
  evaluations(): number;
  /** Every time told so far, per M and config: the one record of a unit's measured times. */
  readonly ledger: LedgerView;
  /**
   * Optional hint, never a promise: configs the next ask() will likely contain, most likely first, given the
   * current round's evaluations so far (`partial`, not yet told). Pure: changes no state, so what is measured
   * does not depend on it; the conductor compiles these ahead while the GPU measures the current round.
   */
  upcoming?(partial: Evaluation[], limit: number): ConfigEntry[];
}

/** A config of the family's keys (checked against the family's entry schema when the space is enumerated). */
const Config = z.record(z.string(), z.number().int()) as unknown as z.ZodType<ConfigEntry>;
const isFits = (v: unknown): v is (config: ConfigEntry, M: number) => boolean => typeof v === 'function';

/** Options every strategy takes (validated before a strategy is built; `--budget` sets budget). */
export const StrategyOptions = z.strictObject({
  /** The candidate configs of one weight shape (already pruned per shape), in a deterministic order. */
  configs: z.array(Config).min(1, 'the space has no configs left after pruning'),
  /** The M values to tune. */
  ms: z.array(z.number().int().positive()).min(1),
  /** Most (config, M) evaluations to spend, seeds excluded; default: best-first's KNOBS.budgetFraction (20 %) of the pairs, or all (exhaustive). */
  budget: z.number().int().positive().optional(),
  /** Configs always evaluated at every M: incumbents from an existing file and the default config. */
  seeds: z.array(Config).default([]),
  /** Seed of the strategy's pseudo-random choices. */
  seed: z.number().int().nonnegative().default(0),
  /** The space's per-M filter (enumerateSpace().fitsM); every pair fits when absent. */
  fits: z.custom<(config: ConfigEntry, M: number) => boolean>(isFits, 'fits must be a function').optional(),
  /** Whether the kernel can run a config at M (enumerateSpace().runsM): seeds are evaluated only where it can. Every
   * pair runs when absent. */
  runs: z.custom<(config: ConfigEntry, M: number) => boolean>(isFits, 'runs must be a function').optional(),
});
export type StrategyInput = z.input<typeof StrategyOptions>;
export type StrategyOptions = z.output<typeof StrategyOptions>;
