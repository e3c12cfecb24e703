import type { ConfigEntry } from '../schema/index.js';
import { configKey, keyMemo } from '../space/key.js';

/** The sorted values each axis takes across the configs. */
function axisValues(configs: readonly ConfigEntry[]): Map<string, number[]> {
  const out = new Map<string, Set<number>>();
  for (const c of configs) for (const [k, v] of Object.entries(c)) (out.get(k) ?? out.set(k, new Set()).get(k)!).add(v);
  return new Map([...out].map(([k, s]) => [k, [...s].sort((a, b) => a - b)]));
}

/** Axis pairs that move together: warps with the tile they cover, stages with the K step they pipeline. */
const COUPLED: Array<[string, string]> = [
  ['num_warps', 'BLOCK_SIZE_M'],
  ['num_warps', 'BLOCK_SIZE_N'],
  ['num_warps', 'BLOCK_SIZE_K'],
  ['num_stages', 'BLOCK_SIZE_K'],
  ['BLOCK_SIZE_M', 'BLOCK_SIZE_K'],
  ['BLOCK_SIZE_N', 'BLOCK_SIZE_K'],
  ['SPLIT_K', 'BLOCK_SIZE_M'],
  ['SPLIT_K', 'BLOCK_SIZE_N'],
];

/** The value of `values` nearest to v on a log scale (the lower one on a tie). */
const nearest = (values: number[], v: number): number =>
  values.reduce((a, b) => (Math.abs(Math.log2(b / v)) < Math.abs(Math.log2(a / v)) ? b : a));

/**
 * The neighbourhood of a space (the configs one step apart), built once per unit; a config's key is computed once
 * (configKey sorts and joins, and the search asks for keys in its inner loops).
 */
export class Neighbourhood {
  /** The sorted values of each axis. */
  readonly axes: Map<string, number[]>;
  private readonly byKey: Map<string, ConfigEntry>;
  private readonly memo = new Map<string, ConfigEntry[]>();

  constructor(configs: readonly ConfigEntry[]) {
    this.axes = axisValues(configs);
    this.byKey = new Map(configs.map((c) => [this.key(c), c]));
  }

  /** configKey, remembered per config object. */
  readonly key = keyMemo();

  /**
   * Configs of the space one step away along one axis, or along two coupled axes at once (a bigger tile often
   * needs more warps, so neither single move improves); pruned configs are not in the space, so never proposed.
   * A config off the space's grid (a seed: vLLM's default has GROUP_SIZE_M 1, an incumbent may come from another
   * space) steps from its nearest point on the grid, which is a neighbour too, so the search can start from it.
   */
  of(config: ConfigEntry): ConfigEntry[] {
    const key = this.key(config);
    let out = this.memo.get(key);
    if (!out) this.memo.set(key, (out = this.compute(config)));
    return out;
  }

  private compute(config: ConfigEntry): ConfigEntry[] {
    const c = { ...(config as Record<string, number>) };
    let offGrid = false;
    for (const [axis, values] of this.axes) {
      const v = c[axis];
      if (v !== undefined && !values.includes(v)) {
        c[axis] = nearest(values, v);
        offGrid = true;
      }
    }
    const steps = (axis: string): number[] => {
      const values = this.axes.get(axis);
      if (!values || c[axis] === undefined) return [];
      const i = values.indexOf(c[axis]!);
      return [values[i - 1], values[i + 1]].filter((v): v is number => v !== undefined);
    };
    const moves: Array<Record<string, number>> = offGrid ? [{}] : [];
    for (const axis of this.axes.keys()) for (const v of steps(axis)) moves.push({ [axis]: v });
    for (const [a, b] of COUPLED) for (const va of steps(a)) for (const vb of steps(b)) moves.push({ [a]: va, [b]: vb });
    const out: ConfigEntry[] = [];
    for (const m of moves) {
      const nb = this.byKey.get(configKey({ ...c, ...m }));
      if (nb) out.push(nb);
    }
    return out;
  }
}
