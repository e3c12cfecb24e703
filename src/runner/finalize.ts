import type { ConfigEntry, Hello, MetaEntry } from '../schema/index.js';
import { kernelFamily } from '../families/index.js';
import { selectWinner, type Timing } from '../search/index.js';
import { writeTunedConfig, type WriteResult } from '../store/writer.js';
import type { ResultRow } from '../report/table.js';
import type { ShapeJob } from './units.js';
import type { UnitOutcome } from './unit.js';

/** The decided entries of one weight shape, ready to write. */
export interface ShapeResult {
  job: ShapeJob;
  entries: Record<string, ConfigEntry>;
  meta: Record<string, MetaEntry>;
  rows: ResultRow[];
  /** Ms where no config produced a time (every trial failed). */
  empty: number[];
}

const usOf = (t: Timing | undefined): number | null => t?.us ?? null;

/**
 * Picks each M's winner from the ledger of the one unit (one GPU) that owned it: the full-effort finalists of
 * its strategy, then hysteresis against the incumbent re-measured in the same run.
 */
export function decideShape(job: ShapeJob, outcomes: UnitOutcome[], keepWithin: number, measuredAt: string): ShapeResult {
  const result: ShapeResult = { job, entries: {}, meta: {}, rows: [], empty: [] };
  for (const M of job.ms) {
    const outcome = outcomes.find((o) => o.unit.ms.includes(M));
    if (!outcome) continue;
    const { ledger } = outcome.strategy;
    let candidates = outcome.strategy.finalists().get(M) ?? [];
    if (candidates.length === 0) candidates = [...(outcome.strategy.best().get(M) ? [outcome.strategy.best().get(M)!] : [])];
    const incConfig = job.incumbents.get(M);
    const incumbent = incConfig ? { config: incConfig, us: usOf(ledger.timingOf(incConfig, M)) } : undefined;
    const sel = selectWinner({ candidates, ...(incumbent ? { incumbent } : {}), keepWithin });
    const kf = kernelFamily(job.family);
    const dflt = kf.defaultConfig({ ...job.shape, M });
    const defaultUs = usOf(ledger.timingOf(dflt, M));
    const flops = kf.flops(job.shape, M);
    if (!sel) {
      result.empty.push(M);
      result.rows.push({ shape: job.key, M, config: null, us: null, flops, defaultUs, decision: 'none' });
      continue;
    }
    const spread = ledger.timingOf(sel.config, M)?.spread ?? 0;
    // the server release's own file, as the server would use it at M: the baseline a tuned file must beat
    const shipped: Record<string, number> = job.incumbentsFrom === 'shipped' && incumbent?.us ? { 'shipped file': incumbent.us } : {};
    result.entries[String(M)] = sel.config;
    result.meta[String(M)] = {
      us: sel.us,
      spread,
      default_us: defaultUs,
      baselines: shipped,
      decision: sel.decision,
      trials: ledger.evaluationsAt(M),
      flops,
      bytes: kf.bytes(job.shape, M),
      measured_at: measuredAt,
    };
    result.rows.push({ shape: job.key, M, config: sel.config as Record<string, number>, us: sel.us, flops, defaultUs, decision: sel.decision });
  }
  return result;
}

/** Writes one shape's file and sidecar (merged with what is there, validated, atomic). */
export function writeShape(
  r: ShapeResult,
  opts: { out: string; hello: Hello; command: string; now: string; force: boolean },
): WriteResult | null {
  if (Object.keys(r.entries).length === 0) return null;
  const { N, K, E, group_size, top_k, quant, block_n, block_k } = r.job.shape;
  const { shipped: _where, ...server } = opts.hello.sources[r.job.family]?.server ?? { name: '' };
  return writeTunedConfig({
    dir: opts.out,
    family: r.job.family,
    shape: { N, K, ...(E !== undefined ? { E } : {}), ...(group_size !== undefined ? { group_size } : {}), ...(quant !== undefined ? { top_k, quant } : {}), ...(block_n !== undefined ? { block_n, block_k } : {}) },
    device: opts.hello.device.name,
    entries: r.entries,
    meta: {
      backend: opts.hello.backend,
      simulated: opts.hello.simulated,
      ...('sources' in server ? { server } : {}),
      device: opts.hello.device,
      versions: opts.hello.versions,
      command: opts.command,
      entries: r.meta,
    },
    force: opts.force,
    now: opts.now,
  });
}
