import type { ConfigEntry, Family } from '../schema/index.js';
import type { EnumeratedSpace } from '../space/index.js';
import { kernelFamily, type WeightShape } from '../families/index.js';

/** Everything tuned for one (family, weight shape): one output file. */
export interface ShapeJob {
  family: Family;
  shape: WeightShape;
  /** shapeKey(family, shape): the journal's and the merge's key. */
  key: string;
  /** Layer names of the model that have this shape. */
  layers: string[];
  ms: number[];
  space: EnumeratedSpace;
  /** Incumbent configs from the existing file in --out, by M. */
  incumbents: Map<number, ConfigEntry>;
  /** Where they came from: the file in --out, or the file the server release ships (server families). */
  incumbentsFrom?: 'out' | 'shipped' | null;
}

/** A unit of scheduling: one shape's chunk of Ms, run start to end on one GPU by its own strategy instance. */
export interface Unit {
  id: string;
  job: ShapeJob;
  ms: number[];
  /** Estimated GPU cost in arbitrary units, for largest-first scheduling. */
  cost: number;
}

/** Most Ms per unit. Chunking depends on the M grid only (never on the GPU count) so results do not either. */
export const MAX_MS_PER_UNIT = 5;

/** Splits an ascending M list into consecutive chunks of at most MAX_MS_PER_UNIT, sizes as even as possible. */
export function chunkMs(ms: number[], max = MAX_MS_PER_UNIT): number[][] {
  const n = Math.max(1, Math.ceil(ms.length / max));
  const out: number[][] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(ms.length / n) + (i < ms.length % n ? 1 : 0);
    out.push(ms.slice(at, at + size));
    at += size;
  }
  return out.filter((c) => c.length > 0);
}

/**
 * Cost of one (config, M) trial relative to a tiny one: a fixed per-trial overhead plus the kernel's
 * own time, taken as flops over a nominal 2e11 flop per unit (so a 4096x19456x2560 GEMM costs ~3).
 */
const pairCost = (family: Family, shape: WeightShape, M: number): number => 1 + kernelFamily(family).flops(shape, M) / 2e11;

/** The units of every job, most expensive first (ties by id, so the order is deterministic). */
export function makeUnits(jobs: ShapeJob[]): Unit[] {
  const units: Unit[] = [];
  for (const job of jobs) {
    for (const ms of chunkMs(job.ms)) {
      let cost = 0;
      for (const M of ms) {
        const pairs = job.space.configs.filter((c) => job.space.fitsM(c, M)).length;
        cost += pairs * pairCost(job.family, job.shape, M);
      }
      units.push({ id: `${job.family}/${job.key}/M${ms[0]}-${ms[ms.length - 1]}`, job, ms, cost });
    }
  }
  return units.sort((a, b) => b.cost - a.cost || (a.id < b.id ? -1 : 1));
}

/** (config, M) pairs of a unit that the space allows. */
export const unitPairs = (unit: Unit): number =>
  unit.ms.reduce((n, M) => n + unit.job.space.configs.filter((c) => unit.job.space.fitsM(c, M)).length, 0);
