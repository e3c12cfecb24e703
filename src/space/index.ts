import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SpaceFile, entryKeys, entrySchema, type ConfigEntry, type DeviceInfo, type Family } from '../schema/index.js';
import { UserError } from '../errors.js';
import { kernelFamily, type Axes, type PruneReason, type WeightShape } from '../families/index.js';
import { mReason, product, shapeReason } from './prune.js';

export { configKey } from './key.js';
export { allReasons, product } from './prune.js';

export interface SpaceContext {
  shape: WeightShape;
  ms: number[];
  device: DeviceInfo;
}

export interface EnumeratedSpace {
  /** Configs that pass every per-shape rule, in a deterministic order. */
  configs: ConfigEntry[];
  /** The space's name, or 'file:' + sha256 of a space file's contents (part of the journal fingerprint). */
  spaceId: string;
  /** Size of the space before pruning. */
  total: number;
  /** Per-shape pruning: configs removed, by reason. */
  pruned: Partial<Record<PruneReason, number>>;
  /** Per-M pruning of the surviving configs: M -> reason -> count. */
  prunedByM: Record<number, Partial<Record<PruneReason, number>>>;
  /** (config, M) pairs left to search: what an exhaustive run measures. */
  pairs: number;
  /** Whether a surviving config is worth measuring at this M (the M-dependent rules). */
  fitsM: (config: ConfigEntry, M: number) => boolean;
  /** Whether the kernel can run a config at this M at all: no M-dependent rule that the kernel enforces too (the
   * family's kernelRules) refuses it. Seeds, timed at every M of a unit, are skipped where it is false. */
  runsM: (config: ConfigEntry, M: number) => boolean;
}

function loadSpaceFile(family: Family, path: string): { axes: Axes; id: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`cannot read space file ${path}: pass 'default', 'exhaustive' or a readable JSON file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`space file ${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = SpaceFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`space file ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (parsed.data.family !== family) throw new UserError(`space file ${path} is for ${parsed.data.family}, not ${family}`);
  const want = entryKeys(family);
  const have = Object.keys(parsed.data.axes);
  const missing = want.filter((k) => !have.includes(k));
  const extra = have.filter((k) => !want.includes(k));
  if (missing.length || extra.length) {
    const what = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unknown ${extra.join(', ')}` : ''];
    throw new UserError(`space file ${path}: axes for ${family} must be ${want.join(', ')} (${what.filter(Boolean).join('; ')})`);
  }
  return { axes: parsed.data.axes, id: 'file:' + createHash('sha256').update(text).digest('hex') };
}

/** The candidate configs for one weight shape: the space's product, minus what static rules show cannot run or win. */
export function enumerateSpace(family: Family, space: string, ctx: SpaceContext): EnumeratedSpace {
  const named = space === 'default' || space === 'exhaustive';
  const { axes, id } = named ? { axes: kernelFamily(family).spaces[space], id: space } : loadSpaceFile(family, space);
  const keys = entryKeys(family);
  const schema = entrySchema(family);
  const all = product(axes, keys);
  const pruned: Partial<Record<PruneReason, number>> = {};
  const configs: ConfigEntry[] = [];
  for (const raw of all) {
    const check = schema.safeParse(raw);
    if (!check.success) {
      const issue = check.error.issues[0]!;
      throw new UserError(`space ${id}: axis ${issue.path.join('.')}: ${issue.message}`);
    }
    const reason = shapeReason(family, raw, ctx.shape, ctx.device);
    if (reason) pruned[reason] = (pruned[reason] ?? 0) + 1;
    else configs.push(check.data as ConfigEntry);
  }
  const fitsM = (c: ConfigEntry, M: number) => mReason(family, c, ctx.shape, M, ctx.device) === null;
  const { mRules, kernelRules } = kernelFamily(family);
  const runsM = (c: ConfigEntry, M: number) =>
    !mRules.some((rule) => {
      const reason = rule(c, ctx.shape, M, ctx.device);
      return reason !== null && kernelRules.includes(reason);
    });
  const prunedByM: Record<number, Partial<Record<PruneReason, number>>> = {};
  let pairs = 0;
  for (const M of ctx.ms) {
    const counts: Partial<Record<PruneReason, number>> = {};
    for (const c of configs) {
      const r = mReason(family, c, ctx.shape, M, ctx.device);
      if (r) counts[r] = (counts[r] ?? 0) + 1;
      else pairs++;
    }
    prunedByM[M] = counts;
  }
  return { configs, spaceId: id, total: all.length, pruned, prunedByM, pairs, fitsM, runsM };
}
