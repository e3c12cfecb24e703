import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { JournalRecord, configOfFileEntry, type ConfigEntry, type JournalHeader, type JournalTrial } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { Ask, Evaluation, Strategy, TimedConfig } from './types.js';

interface Cell {
  quick?: JournalTrial;
  full?: JournalTrial;
}

/**
 * Answers a strategy's asks from a recorded journal instead of a GPU (Kernel Tuner's simulation mode), so
 * strategies are compared offline on real measurements. A pair the journal lacks is an error: replaying is
 * only meaningful over the space that was recorded.
 */
export class ReplayJournal {
  readonly header: JournalHeader | null;
  private readonly cells = new Map<string, Cell>();
  private readonly byShape = new Map<string, Map<number, Map<string, Cell>>>();

  constructor(records: JournalRecord[]) {
    this.header = (records.find((r) => r.type === 'header') as JournalHeader | undefined) ?? null;
    const family = this.header?.fingerprint.family;
    for (const r of records) {
      if (r.type !== 'trial') continue;
      // a key the family gained since the recording is at the value that stands for its absence (the kernel's
      // default, what ran): the journal's configs read as a file written before it would (configOfFileEntry)
      const key = configKey(family ? configOfFileEntry(family, r.config) : r.config);
      const perM = this.byShape.get(r.shape) ?? this.byShape.set(r.shape, new Map()).get(r.shape)!;
      const perConfig = perM.get(r.M) ?? perM.set(r.M, new Map()).get(r.M)!;
      const cell = perConfig.get(key) ?? perConfig.set(key, {}).get(key)!;
      cell[r.effort] = r; // a later record of the same pair supersedes (a resumed run re-measured it)
      this.cells.set(`${r.shape}|${r.M}|${key}`, cell);
    }
  }

  /** Reads a journal file (.jsonl, or .jsonl.gz), validating every line. */
  static load(path: string): ReplayJournal {
    const raw = readFileSync(path);
    const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    const records = text
      .split('\n')
      .filter((l) => l.trim())
      .map((line, i) => {
        const parsed = JournalRecord.safeParse(JSON.parse(line));
        if (!parsed.success) throw new Error(`${path}:${i + 1}: ${parsed.error.issues[0]!.message}`);
        return parsed.data;
      });
    return new ReplayJournal(records);
  }

  /** Every recorded trial (the latest of each pair and effort). */
  *trials(): Generator<JournalTrial> {
    for (const cell of new Set(this.cells.values())) {
      if (cell.quick) yield cell.quick;
      if (cell.full) yield cell.full;
    }
  }

  shapes(): string[] {
    return [...this.byShape.keys()];
  }

  ms(shape: string): number[] {
    return [...(this.byShape.get(shape)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The recorded trial for this pair, preferring the asked effort. */
  trial(shape: string, config: ConfigEntry, M: number, effort: 'quick' | 'full'): JournalTrial | undefined {
    const cell = this.cells.get(`${shape}|${M}|${configKey(config)}`);
    return cell && (cell[effort] ?? cell[effort === 'quick' ? 'full' : 'quick']);
  }

  /** Measures one batch of asks from the journal. */
  answer(shape: string, asks: Ask[]): Evaluation[] {
    return asks.flatMap(({ config, ms, effort }) =>
      ms.map((M) => {
        const t = this.trial(shape, config, M, effort);
        if (!t) throw new Error(`journal has no trial for ${shape} M=${M} ${configKey(config)}`);
        return { config, M, us: t.status === 'ok' ? t.us : null, effort };
      }),
    );
  }

  /** The fastest ok trial at (shape, M) among `configs` (all recorded ones when omitted): the exhaustive optimum. */
  optimum(shape: string, M: number, configs?: ConfigEntry[]): TimedConfig | null {
    const allowed = configs && new Set(configs.map(configKey));
    let best: TimedConfig | null = null;
    for (const [key, cell] of this.byShape.get(shape)?.get(M) ?? []) {
      if (allowed && !allowed.has(key)) continue;
      const t = cell.full ?? cell.quick;
      if (t && t.status === 'ok' && t.us !== null && (!best || t.us < best.us)) best = { config: t.config as ConfigEntry, us: t.us };
    }
    return best;
  }
}

/** Runs a strategy to completion against a journal; returns the batches it took. */
export function replay(strategy: Strategy, journal: ReplayJournal, shape: string): number {
  let rounds = 0;
  for (let asks = strategy.ask(); asks.length; asks = strategy.ask()) {
    strategy.tell(journal.answer(shape, asks));
    rounds++;
  }
  return rounds;
}
