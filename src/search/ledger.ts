import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { Ask, Effort, Evaluation, Measured } from './types.js';

interface Row {
  config: ConfigEntry;
  quick?: number | null;
  full?: number | null;
}

/** What a strategy has asked and learned, per M and config; shared bookkeeping of every strategy. */
export class Ledger {
  private readonly rows = new Map<number, Map<string, Row>>();
  private readonly asked = new Set<string>();
  private count = 0;

  constructor(readonly ms: number[]) {
    for (const M of ms) this.rows.set(M, new Map());
  }

  /** Whether (config, M, effort) was already asked (asking twice is avoided). */
  wasAsked(config: ConfigEntry, M: number, effort: Effort): boolean {
    return this.asked.has(`${M}|${effort}|${configKey(config)}`);
  }

  /** Groups pairs into asks, one per (config, effort), in first-seen order; marks them asked. */
  toAsks(pairs: Array<{ config: ConfigEntry; M: number; effort: Effort }>): Ask[] {
    const byConfig = new Map<string, Ask>();
    for (const { config, M, effort } of pairs) {
      const tag = `${M}|${effort}|${configKey(config)}`;
      if (this.asked.has(tag)) continue;
      this.asked.add(tag);
      const k = `${effort}|${configKey(config)}`;
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
      const key = configKey(e.config);
      const row = perM.get(key) ?? { config: e.config };
      if (row[e.effort] === undefined) this.count++;
      row[e.effort] = e.us;
      perM.set(key, row);
    }
  }

  evaluations(): number {
    return this.count;
  }

  /** Configs measured at M with a time, fastest first, by the given effort ('any' prefers full over quick). */
  ranked(M: number, effort: Effort | 'any' = 'any'): Measured[] {
    const out: Measured[] = [];
    for (const row of this.rows.get(M)?.values() ?? []) {
      const us = effort === 'any' ? (row.full ?? row.quick) : row[effort];
      if (typeof us === 'number') out.push({ config: row.config, us });
    }
    return out.sort((a, b) => a.us - b.us || (configKey(a.config) < configKey(b.config) ? -1 : 1));
  }

  /** Whether anything was measured (or failed) for this pair at any effort. */
  seen(config: ConfigEntry, M: number): boolean {
    return this.rows.get(M)?.has(configKey(config)) ?? false;
  }

  best(): Map<number, Measured> {
    const out = new Map<number, Measured>();
    for (const M of this.ms) {
      const top = this.ranked(M, 'full')[0] ?? this.ranked(M, 'quick')[0];
      if (top) out.set(M, top);
    }
    return out;
  }

  finalists(): Map<number, Measured[]> {
    return new Map(this.ms.map((M) => [M, this.ranked(M, 'full')]));
  }
}
