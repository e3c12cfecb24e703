import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigEntry, DeviceInfo, Family, ModelShapes, ServerQuant } from '../schema/index.js';
import { UserError } from '../errors.js';
import { inShard, type Shard } from './shard.js';
import { kernelFamily, type WeightShape } from '../families/index.js';
import { enumerateSpace } from '../space/index.js';
import { configPath, shapeKey } from '../store/naming.js';
import { readTunedConfig } from '../store/reader.js';
import type { ShapeJob } from './units.js';

/** A weight shape to tune before its space is known: (family, shape) and the layers that have it. */
export interface ShapeSpec {
  family: Family;
  shape: WeightShape;
  key: string;
  layers: string[];
}

/**
 * The (family, weight shape) pairs of a model, deduplicated, in a deterministic order (family, then N,
 * K, E), then this shard's share of them: shards partition by weight shape, round-robin over that order.
 */
export function shapeSpecs(model: ModelShapes, families: Family[], opts: { groupSize: number; quant: ServerQuant }, shard: Shard): ShapeSpec[] {
  const specs = new Map<string, ShapeSpec>();
  for (const family of families) {
    const before = specs.size;
    const add = (shape: WeightShape, layer: string) => {
      const key = shapeKey(family, shape);
      const id = `${family}/${key}`;
      const had = specs.get(id);
      if (had) had.layers.push(layer);
      else specs.set(id, { family, shape, key, layers: [layer] });
    };
    const kf = kernelFamily(family);
    for (const { shape, layer } of kf.shapesOf(model, opts)) add(shape, layer);
    if (specs.size === before) {
      throw new UserError(`${model.model} has no ${kf.layerKind} layers for --kernel ${family}; pick another --kernel or --model`);
    }
  }
  const sorted = [...specs.values()].sort(
    (a, b) =>
      (a.family < b.family ? -1 : a.family > b.family ? 1 : 0) || a.shape.N - b.shape.N || a.shape.K - b.shape.K || (a.shape.E ?? 0) - (b.shape.E ?? 0),
  );
  return sorted.filter((_, i) => inShard(shard, i));
}

/** The incumbent entries of a shape's existing file in --out (empty when there is none). */
export function readIncumbents(out: string, spec: ShapeSpec, device: string, triton: string | null): Map<number, ConfigEntry> {
  const path = configPath(out, spec.family, spec.shape, device, triton);
  if (!existsSync(path)) return new Map();
  const r = readTunedConfig(path, spec.family);
  if (!r.ok) throw new UserError(`${path} fails validation (${r.problems[0]}); fix it, or pass --force to replace it`);
  return new Map(Object.entries(r.value.entries).map(([m, c]) => [Number(m), c]));
}

/** Enumerates and prunes each shape's space on the device the workers reported (incumbents: see incumbents.ts). */
export function makeJobs(
  specs: ShapeSpec[],
  opts: { space: string; ms: number[]; device: DeviceInfo },
): ShapeJob[] {
  return specs.map((spec) => {
    const space = enumerateSpace(spec.family, opts.space, { shape: spec.shape, ms: opts.ms, device: opts.device });
    if (space.configs.length === 0) {
      throw new UserError(`${spec.family} ${spec.key}: every config of space ${opts.space} was pruned (${JSON.stringify(space.pruned)}); use a larger --space`);
    }
    return { ...spec, ms: opts.ms, space, incumbents: new Map<number, ConfigEntry>() };
  });
}
