import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configOfFileEntry, entrySchema, fileEntrySchema, optionalKeys, type ConfigEntry, type DeviceInfo, type Family, type ModelShapes, type ServerQuant } from '../schema/index.js';
import { UserError } from '../errors.js';
import { inShard, type Shard } from './shard.js';
import { kernelFamily, type WeightShape } from '../families/index.js';
import { enumerateSpace } from '../space/index.js';
import { configFileName, configPath, shapeKey } from '../store/naming.js';
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

/** Where a run's incumbents come from: the output folder, and for server families the release's shipped files. */
export interface IncumbentSource {
  out: string;
  device: string;
  triton: string | null;
  /** The server's shipped-configs folder, from the worker's hello (families whose kernel is a server's). */
  shipped?: string | undefined;
}

/**
 * The incumbent entries of a shape: its existing file in --out; else, for a server family, the file the server
 * release ships under that name, as the server would use it at each tuned M (the nearest key, ties to the smaller),
 * so the tuned file only replaces what it beats. Empty when there is neither.
 */
export function readIncumbents(spec: ShapeSpec, ms: number[], src: IncumbentSource): { entries: Map<number, ConfigEntry>; from: 'out' | 'shipped' | null } {
  const path = configPath(src.out, spec.family, spec.shape, src.device, src.triton);
  if (existsSync(path)) {
    const r = readTunedConfig(path, spec.family);
    if (!r.ok) throw new UserError(`${path} fails validation (${r.problems[0]}); fix it, or pass --force to replace it`);
    return { entries: new Map(Object.entries(r.value.entries).map(([m, c]) => [Number(m), c])), from: 'out' };
  }
  const kf = kernelFamily(spec.family);
  const shippedPath = src.shipped && kf.shippedPath?.(src.shipped, configFileName(spec.family, spec.shape, src.device), src.triton);
  if (!shippedPath || !existsSync(shippedPath)) return { entries: new Map(), from: null };
  return { entries: shippedAtMs(spec, shippedPath, ms), from: 'shipped' };
}

/** A shipped file's entry at each M as its server picks it; entries the family's schema refuses are left out. */
function shippedAtMs(spec: ShapeSpec, path: string, ms: number[]): Map<number, ConfigEntry> {
  let body: Record<string, Record<string, unknown>>;
  try {
    body = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
  const keys = Object.keys(body).filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
  const schema = entrySchema(spec.family);
  const fileSchema = fileEntrySchema(spec.family);
  const optional = optionalKeys(spec.family);
  const out = new Map<number, ConfigEntry>();
  for (const M of ms) {
    if (keys.length === 0) break;
    const key = keys.reduce((best, k) => (Math.abs(k - M) < Math.abs(best - M) ? k : best));
    // vLLM's launchers set SPLIT_K themselves, so its files may lack the key its wna16 kernel needs
    const raw = body[String(key)]!;
    const entry = { ...raw, ...('SPLIT_K' in schema.shape && !('SPLIT_K' in optional) && !('SPLIT_K' in raw) ? { SPLIT_K: 1 } : {}) };
    const parsed = fileSchema.safeParse(entry);
    if (parsed.success) out.set(M, configOfFileEntry(spec.family, parsed.data as Record<string, unknown>) as ConfigEntry);
  }
  return out;
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
