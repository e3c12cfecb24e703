import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { Meta, MKey, tunedConfigs, type ConfigEntry, type Family, type TunedConfigFile } from '../schema/index.js';
import { UserError } from '../errors.js';
import { writeFilesAtomically } from './atomic.js';
import { formatMeta, formatTunedConfig, sortByM } from './format.js';
import { formatIssue } from '../schema/issues.js';
import { configFileName, familyDir, metaFileName } from './naming.js';
import type { WeightShape } from '../families/index.js';
import { readMeta, readTunedConfig } from './reader.js';

/** The provenance a writer is given for the new entries; family, shape and timestamps it fills in. */
export type MetaInput = Omit<z.input<typeof Meta>, 'schema_version' | 'family' | 'shape' | 'created' | 'updated'>;

export interface WriteRequest {
  /** Output root: the file goes to `<dir>/<family>/<name>.json` (e.g. dir = "tuned-configs"). */
  dir: string;
  family: Family;
  shape: WeightShape;
  /** CUDA device name as the worker reports it ("NVIDIA H100 80GB HBM3"); spaces become `_` in the name. */
  device: string;
  /** New entries by M; entries already in the file for other M are kept, the same M is replaced. */
  entries: Record<string | number, ConfigEntry>;
  /** Sidecar data for the new entries (meta.entries keyed like `entries`). */
  meta: MetaInput;
  /** Replace an existing file that fails validation (or holds results of another backend) instead of refusing. */
  force?: boolean;
  /** Timestamp for created/updated (ISO); defaults to now. */
  now?: string;
}

export interface WriteResult {
  path: string;
  metaPath: string;
  /** All M keys of the file after the write, ascending. */
  keys: number[];
}

/** True when any component of `dir` is `tuned-configs`: the folder of published, measured results. */
export const isPublishedDir = (dir: string): boolean => resolve(dir).split(sep).includes('tuned-configs');

/** Refuses simulated results for a published folder (sim numbers must never pass for measurements). */
export function assertWritable(dir: string, meta: { backend: string; simulated: boolean }): void {
  if ((meta.backend === 'sim' || meta.simulated) && isPublishedDir(dir)) {
    throw new UserError(`refusing to write simulated (sim backend) results under ${dir}: tuned-configs/ holds measured results only; write sim output elsewhere (e.g. --out .tritune/sim-out)`);
  }
}

const normKeys = <T>(rec: Record<string | number, T>, what: string): Record<string, T> => {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(rec)) {
    const key = String(k);
    if (!MKey.safeParse(key).success) throw new UserError(`${what}: M ${JSON.stringify(k)} is not a positive integer`);
    out[key] = v;
  }
  return out;
};

const sameShape = (a: WeightShape, b: WeightShape): boolean =>
  a.N === b.N && a.K === b.K && a.E === b.E && a.group_size === b.group_size && a.top_k === b.top_k && a.quant === b.quant && a.block_n === b.block_n && a.block_k === b.block_k;

/**
 * Merges new entries into `<dir>/<family>/<name>.json` and its sidecar, sorts by M, validates with zod,
 * and writes both atomically (temp file in the same folder + rename; the config first, then the sidecar).
 * An existing file or sidecar that fails validation is never overwritten unless `force`; throws a
 * UserError naming the file and its first problem.
 */
export function writeTunedConfig(req: WriteRequest): WriteResult {
  assertWritable(req.dir, { backend: req.meta.backend, simulated: req.meta.simulated });
  const name = configFileName(req.family, req.shape, req.device);
  const folder = join(req.dir, familyDir(req.family, req.meta.versions.triton));
  const path = join(folder, name);
  const metaPath = join(folder, metaFileName(name));
  const now = req.now ?? new Date().toISOString();

  let oldEntries: TunedConfigFile = {};
  let oldMeta: Meta | undefined;
  if (existsSync(path)) {
    const r = readTunedConfig(path, req.family);
    if (r.ok) oldEntries = r.value.entries;
    else if (!req.force) throw new UserError(`refusing to overwrite ${path}: it fails validation (${r.problems[0]}); fix it or pass --force to replace it`);
  }
  if (existsSync(metaPath)) {
    const r = readMeta(metaPath);
    if (r.ok) oldMeta = r.value;
    else if (!req.force) throw new UserError(`refusing to overwrite ${metaPath}: it fails validation (${r.problems[0]}); fix it or pass --force to replace it`);
  }
  if (oldMeta && !sameShape(oldMeta.shape, req.shape)) {
    // MoE names carry no K, so two GEMMs of one model can map to one name (e.g. up and down when 2*intermediate = hidden)
    throw new UserError(`refusing to write ${path}: it holds results for shape ${JSON.stringify(oldMeta.shape)}, not ${JSON.stringify(req.shape)}; write to another --out`);
  }
  if (oldMeta && oldMeta.simulated !== req.meta.simulated) {
    if (!req.force) {
      throw new UserError(`refusing to mix ${oldMeta.simulated ? 'simulated' : 'measured'} entries of ${path} with ${req.meta.simulated ? 'simulated' : 'measured'} ones; use another --out or pass --force to replace the file`);
    }
    oldEntries = {};
    oldMeta = undefined;
  }

  const entries = sortByM({ ...oldEntries, ...normKeys(req.entries, 'entries') });
  const checked = tunedConfigs(req.family).safeParse(entries);
  if (!checked.success) throw new UserError(`not writing ${path}: new entries fail validation (${formatIssue(checked.error.issues[0]!)})`);

  const newMetaEntries = normKeys(req.meta.entries, 'meta.entries');
  const metaEntries: Record<string, unknown> = {};
  // old measurements only for M the file still holds with the same config (after --force drops an unreadable file, none)
  for (const [m, e] of Object.entries(oldMeta?.entries ?? {})) if (m in oldEntries && !(m in req.entries)) metaEntries[m] = e;
  Object.assign(metaEntries, newMetaEntries);
  const meta = Meta.safeParse({
    schema_version: 1,
    family: req.family,
    shape: req.shape,
    ...req.meta,
    created: oldMeta?.created ?? now,
    updated: now,
    entries: sortByM(metaEntries),
  });
  if (!meta.success) throw new UserError(`not writing ${metaPath}: sidecar fails validation (${formatIssue(meta.error.issues[0]!)})`);
  const stray = Object.keys(meta.data.entries).filter((m) => !(m in entries));
  if (stray.length) throw new UserError(`not writing ${metaPath}: sidecar has entries for M not in the file (${stray.join(', ')})`);

  writeFilesAtomically([
    { path, text: formatTunedConfig(req.family, checked.data as TunedConfigFile) },
    { path: metaPath, text: formatMeta(meta.data) },
  ]);
  return { path, metaPath, keys: Object.keys(entries).map(Number) };
}
