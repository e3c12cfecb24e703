import type { ConfigEntry } from '../schema/index.js';
import type { TimedConfig } from './types.js';

/** Knobs of the estimate (fixed: chosen on the committed exhaustive journals). */
export const ESTIMATE = {
  /** A measured config counts e^-1 as much per axis step between it and the config estimated. */
  stepsPerE: 1,
  /** A time measured at an M this many octaves away counts 1 / (1 + mDecay x octaves) as much. */
  mDecay: 1,
  /** What a config far from every measured one is taken to be: this log time over the best (~1.35x), with this weight. */
  priorLog: 0.3,
  priorWeight: 0.05,
  /** An axis is flat once >= flatPairs one-step pairs along it changed the time by < flatTolerance on average. */
  flatTolerance: 0.01,
  flatPairs: 4,
};

/** e^(-steps / stepsPerE) for a whole number of steps, each computed once. */
const stepWeights: number[] = [];
const stepWeight = (steps: number): number => (stepWeights[steps] ??= Math.exp(-steps / ESTIMATE.stepsPerE));

interface Row {
  pos: number[];
  /** The position as one number (mixed radix, one digit per axis: its index + 1, 0 when absent). */
  code: number;
  /** log(us / the best us at its M) */
  y: number;
}

/**
 * What the times measured so far say about configs not measured at an M, built per round from the ledger's quick
 * times: a config is estimated as the weighted mean of the measured times near it (log time over each M's best;
 * nearer in axis steps and in M counts more), so a neighbour next to fast measured configs is tried before one
 * next to slow ones. It also names the flat axes: those along which one step has never changed the time much
 * (MoE's GROUP_SIZE_M), so a step along them only is left for last.
 */
export class Landscape {
  private readonly names: string[];
  private readonly rows: Map<number, Row[]>;
  /** The flat axes' names, and their indices in a position. */
  readonly flat: string[];
  private readonly flatAt: Set<number>;

  /** Per axis, what one step up it adds to a row's code. */
  private readonly stride: number[];

  constructor(private readonly axes: Map<string, number[]>, ranked: Map<number, TimedConfig[]>) {
    this.names = [...axes.keys()];
    let scale = 1;
    this.stride = this.names.map((axis) => {
      const at = scale;
      scale *= axes.get(axis)!.length + 1;
      return at;
    });
    if (scale > Number.MAX_SAFE_INTEGER) throw new Error(`Landscape: a space of ${scale} positions is too large to code`);
    const code = (pos: number[]) => pos.reduce((c, p, i) => c + (p + 1) * this.stride[i]!, 0);
    this.rows = new Map(
      [...ranked].map(([M, list]) => [
        M,
        list.map((t) => {
          const pos = this.position(t.config);
          return { pos, code: code(pos), y: Math.log(t.us / list[0]!.us) };
        }),
      ]),
    );
    const byCode = [...this.rows.values()].map((rows) => new Map(rows.map((r) => [r.code, r.y])));
    this.flat = this.names.filter((axis, a) => this.isFlat(axis, a, byCode));
    this.flatAt = new Set(this.flat.map((axis) => this.names.indexOf(axis)));
  }

  /** Each axis value's index on its axis (a value off the grid: its nearest point on a log scale; absent: -1). */
  position(config: ConfigEntry): number[] {
    return this.names.map((axis) => {
      const values = this.axes.get(axis)!;
      const v = (config as Record<string, number>)[axis];
      if (v === undefined) return -1;
      const exact = values.indexOf(v);
      if (exact >= 0) return exact;
      const apart = (x: number) => (x > 0 && v > 0 ? Math.abs(Math.log2(x / v)) : Math.abs(x - v));
      let best = 0;
      for (let i = 1; i < values.length; i++) if (apart(values[i]!) < apart(values[best]!)) best = i;
      return best;
    });
  }

  /** Whether one step up axis `a` (same M, every other axis equal) changed the time by < flatTolerance on average, over >= flatPairs measured pairs. */
  private isFlat(axis: string, a: number, byCode: Map<number, number>[]): boolean {
    const length = this.axes.get(axis)!.length;
    if (length < 2) return false;
    let n = 0;
    let sum = 0;
    let m = 0;
    for (const rows of this.rows.values()) {
      const at = byCode[m++]!;
      for (const r of rows) {
        if (r.pos[a]! + 1 >= length) continue; // no step up from the axis' last value
        const y = at.get(r.code + this.stride[a]!);
        if (y === undefined) continue;
        n++;
        sum += Math.abs(y - r.y);
      }
    }
    return n >= ESTIMATE.flatPairs && sum / n < ESTIMATE.flatTolerance;
  }

  /** A config's position with its flat axes left out: configs with the same twin key differ along flat axes only. */
  twinKey(config: ConfigEntry): string {
    return this.position(config).map((p, i) => (this.flatAt.has(i) ? '*' : p)).join(',');
  }

  /** Estimated log time of a config at M over M's best measured time. */
  estimate(config: ConfigEntry, M: number): number {
    const pos = this.position(config);
    let weight = ESTIMATE.priorWeight;
    let sum = weight * ESTIMATE.priorLog;
    for (const [other, rows] of this.rows) {
      const wM = 1 / (1 + ESTIMATE.mDecay * Math.abs(Math.log2(other / M)));
      for (const r of rows) {
        let steps = 0;
        for (let i = 0; i < pos.length; i++) steps += Math.abs(pos[i]! - r.pos[i]!);
        const w = wM * stepWeight(steps);
        weight += w;
        sum += w * r.y;
      }
    }
    return sum / weight;
  }

  /** Candidates by their estimate at M, the fastest-looking first (ties keep the given order). */
  order(candidates: ConfigEntry[], M: number): ConfigEntry[] {
    return candidates
      .map((c, i) => ({ c, i, e: this.estimate(c, M) }))
      .sort((a, b) => a.e - b.e || a.i - b.i)
      .map((x) => x.c);
  }
}
