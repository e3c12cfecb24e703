import type { ConfigEntry } from '../schema/index.js';
import { keyMemo } from '../space/key.js';
import type { Ask, Effort, Evaluation, TimedConfig } from './types.js';

/** One timing of a (config, M) pair at one effort; us (and spread) null when the trial failed. */
export interface Timing {
  us: number | null;
  spread: number | null;
}

interface PairTimings {
  config: ConfigEntry;
  key: string;
  quick?: Timing;
  full?: Timing;
}

/**
 * What a strategy has asked and learned, per M and config: the one record of every time a unit measured. The
 * strategy writes it (tell); the final selection reads it (the strategy's `ledger`).
 */
export class Ledger {
  private readonly rows = new Map<number, Map<string, PairTimings>>();
  private readonly asked = new Set<string>();
  private readonly perM = new Map<number, number>();
  private count = 0;
  private readonly key = keyMemo();

  constructor(readonly ms: number[]) {
    for (const M of ms) this.rows.set(M, new Map());
  }

  /** Whether (config, M, effort) was already asked (asking twice is avoided). */
  wasAsked(config: ConfigEntry, M: number, effort: Effort): boolean {
    return this.asked.has(`${M}|${effort}|${this.key(config)}`);
  }

  /** Groups pairs into asks, one per (config, effort), in first-seen order; marks them asked. */
  toAsks(pairs: Array<{ config: ConfigEntry; M: number; effort: Effort }>): Ask[] {
    const byConfig = new Map<string, Ask>();
    for (const { config, M, effort } of pairs) {
      const tag = `${M}|${effort}|${this.key(config)}`;
      if (this.asked.has(tag)) continue;
      this.asked.add(tag);
      const k = `${effort}|${this.key(config)}`;
      const ask = byConfig.get(k) ?? { config, ms: [], effort };
      ask.ms.push(M);
      byConfig.set(k, ask);
    }
    for (const a of byConfig.values()) a.ms.sort((x, y) => x - y);
    return [...byConfig.values()];
  }

  record(evals: Evaluation[]): void {
    for (const e of evals) {
      const perM = this.rows.get(e.M);
      if (!perM) continue;
      const key = this.key(e.config);
      const row = perM.get(key) ?? { config: e.config, key };
      if (row[e.effort] === undefined) {
        this.count++;
        this.perM.set(e.M, (this.perM.get(e.M) ?? 0) + 1);
      }
      row[e.effort] = { us: e.us, spread: e.us === null ? null : (e.spread ?? null) };
      perM.set(key, row);
    }
  }

  /** (config, M) pairs evaluated, at any effort (a pair timed quick and full counts twice). */
  evaluations(): number {
    return this.count;
  }

  /** Evaluations at one M, at any effort. */
  evaluationsAt(M: number): number {
    return this.perM.get(M) ?? 0;
  }

  /** The pair's last word: its full-effort timing if it was timed at full effort (even a failed one), else its quick one. */
  timingOf(config: ConfigEntry, M: number): Timing | undefined {
    const row = this.rows.get(M)?.get(this.key(config));
    return row && (row.full ?? row.quick);
  }

  /** Configs timed at M at this effort, fastest first (failed ones left out). */
  ranked(M: number, effort: Effort): TimedConfig[] {
    return this.rank(M, (row) => row[effort]);
  }

  /**
   * Configs timed at M as the search ranks them, fastest first: by the quick time, or the full time of a pair timed
   * at full effort only (a seed, timed once). Quick and full times agree on the median (the W8A8 journal's pairs
   * timed at both: full / quick 0.9996, p10-p90 0.991-1.007), full ones only spread less.
   */
  searchTimes(M: number): TimedConfig[] {
    return this.rank(M, (row) => row.quick ?? row.full);
  }

  /** The configs whose picked timing at M holds a time, fastest first (ties by key). */
  private rank(M: number, pick: (row: PairTimings) => Timing | undefined): TimedConfig[] {
    const out: Array<TimedConfig & { key: string }> = [];
    for (const row of this.rows.get(M)?.values() ?? []) {
      const us = pick(row)?.us;
      if (typeof us === 'number') out.push({ config: row.config, us, key: row.key });
    }
    return out.sort((a, b) => a.us - b.us || (a.key < b.key ? -1 : 1)).map(({ config, us }) => ({ config, us }));
  }

  /** Whether anything was measured (or failed) for this pair at any effort. */
  seen(config: ConfigEntry, M: number): boolean {
    return this.rows.get(M)?.has(this.key(config)) ?? false;
  }

  best(): Map<number, TimedConfig> {
    const out = new Map<number, TimedConfig>();
    for (const M of this.ms) {
      const top = this.ranked(M, 'full')[0] ?? this.ranked(M, 'quick')[0];
      if (top) out.set(M, top);
    }
    return out;
  }

  finalists(): Map<number, TimedConfig[]> {
    return new Map(this.ms.map((M) => [M, this.ranked(M, 'full')]));
  }
}

/** What the final selection may read of a ledger. */
export type LedgerView = Pick<Ledger, 'timingOf' | 'evaluationsAt' | 'evaluations' | 'ranked'>;
