import type { DeviceInfo, Family } from '../schema/index.js';
import { kernelFamily, type Config, type PruneReason, type WeightShape } from '../families/index.js';

/** Every rule, per-shape and per-M, that rules this config out at M (tests compare these with the kernels). */
export function allReasons(family: Family, c: Config, shape: WeightShape, M: number, device: DeviceInfo): PruneReason[] {
  const f = kernelFamily(family);
  return [...f.shapeRules.map((r) => r(c, shape, device)), ...f.mRules.map((r) => r(c, shape, M, device))].filter((r): r is PruneReason => r !== null);
}

/** The first per-shape rule that rules this config out, or null: these hold for every M of the shape. */
export function shapeReason(family: Family, c: Config, shape: WeightShape, device: DeviceInfo): PruneReason | null {
  for (const rule of kernelFamily(family).shapeRules) {
    const r = rule(c, shape, device);
    if (r) return r;
  }
  return null;
}

/** The first per-M rule that rules this config out at this M, or null (strategies ask only fitting pairs). */
export function mReason(family: Family, c: Config, shape: WeightShape, M: number, device: DeviceInfo): PruneReason | null {
  for (const rule of kernelFamily(family).mRules) {
    const r = rule(c, shape, M, device);
    if (r) return r;
  }
  return null;
}

/** Every combination of the axes, in a fixed order (first axis outermost, values as listed). */
export function product(axes: Record<string, number[]>, keys: string[]): Config[] {
  let out: Config[] = [{}];
  for (const key of keys) {
    const values = axes[key] ?? [];
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  }
  return out;
}
