import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ConfigEntry, Family, Meta, MetaEntry } from '../schema/index.js';
import { UserError } from '../errors.js';
import { formatMeta, formatTunedConfig, sortByM } from './format.js';
import { familyDir, metaFileName, parseConfigFileName } from './naming.js';
import { readMeta, readTunedConfig } from './reader.js';
import { listConfigFiles } from './scan.js';
import { sidecarMismatches } from './check.js';

/** One input file of a merge, with its sidecar when it has one. */
interface Source {
  path: string;
  family: Family;
  name: string;
  entries: Record<string, ConfigEntry>;
  meta?: Meta;
}

/** An M that more than one input decided differently, and who won. */
export interface Conflict {
  file: string;
  M: number;
  winner: { path: string; us: number | null };
  losers: Array<{ path: string; us: number | null }>;
}

export interface MergeResult {
  /** Output files: path relative to the output root (`<family>/<name>`) -> exact bytes. */
  files: Map<string, string>;
  conflicts: Conflict[];
  /** JSON files under the inputs whose names are not tuned-config names (left out of the merge). */
  skipped: string[];
  /** Whether any input sidecar says its numbers are simulated. */
  simulated: boolean;
}

const canon = (v: unknown): string => JSON.stringify(v, Object.keys(v as object).sort());
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function readSource(path: string): Source | null {
  const parsed = parseConfigFileName(basename(path), dirname(path));
  if (!parsed) return null;
  const r = readTunedConfig(path, parsed.family);
  if (!r.ok) throw new UserError(`cannot merge ${path}: ${r.problems[0]}`);
  const metaPath = join(dirname(path), metaFileName(basename(path)));
  let meta: Meta | undefined;
  if (existsSync(metaPath)) {
    const m = readMeta(metaPath);
    if (!m.ok) throw new UserError(`cannot merge ${metaPath}: ${m.problems[0]}`);
    meta = m.value;
    // a sidecar that contradicts its file (another device, shape or family) would carry wrong provenance into the output
    const mismatch = sidecarMismatches(basename(path), parsed.family, r.value.entries, meta)[0];
    if (mismatch) throw new UserError(`cannot merge ${path}: ${mismatch}; fix or remove the input`);
  }
  return { path, family: parsed.family, name: basename(path), entries: r.value.entries, meta };
}

interface Candidate {
  source: Source;
  entry: ConfigEntry;
  metaEntry?: MetaEntry;
  us: number;
}

/**
 * The winner for one M: the fastest measured entry (sidecar `us`); unmeasured entries rank last.
 * Ties go to the smaller canonical JSON of the entry, then of its sidecar entry, so the result never
 * depends on the order of the inputs.
 */
function pick(cands: Candidate[]): Candidate[] {
  return [...cands].sort(
    (a, b) => a.us - b.us || cmpStr(canon(a.entry), canon(b.entry)) || cmpStr(JSON.stringify(a.metaEntry ?? null), JSON.stringify(b.metaEntry ?? null)),
  );
}

/** Provenance of the merged sidecar: the most recently updated input sidecar; ties by canonical text. */
function pickMeta(metas: Meta[]): Meta {
  return [...metas].sort((a, b) => cmpStr(b.updated, a.updated) || cmpStr(formatMeta(a), formatMeta(b)))[0]!;
}

function mergeGroup(key: string, sources: Source[], conflicts: Conflict[]): Map<string, string> {
  const family = sources[0]!.family;
  const byM = new Map<string, Candidate[]>();
  for (const s of sources) {
    for (const [m, entry] of Object.entries(s.entries)) {
      const metaEntry = s.meta?.entries[m];
      const list = byM.get(m) ?? [];
      list.push({ source: s, entry, metaEntry, us: metaEntry?.us ?? Number.POSITIVE_INFINITY });
      byM.set(m, list);
    }
  }
  const entries: Record<string, ConfigEntry> = {};
  const metaEntries: Record<string, MetaEntry> = {};
  for (const m of [...byM.keys()].sort((a, b) => Number(a) - Number(b))) {
    const cands = byM.get(m)!;
    const [win, ...rest] = pick(cands);
    entries[m] = win!.entry;
    if (win!.metaEntry) metaEntries[m] = win!.metaEntry;
    const losers = rest.filter((c) => canon(c.entry) !== canon(win!.entry));
    const us = (c: Candidate) => (Number.isFinite(c.us) ? c.us : null);
    if (losers.length) {
      conflicts.push({ file: key, M: Number(m), winner: { path: win!.source.path, us: us(win!) }, losers: losers.map((c) => ({ path: c.source.path, us: us(c) })) });
    }
  }
  const out = new Map<string, string>([[key, formatTunedConfig(family, sortByM(entries))]]);
  const metas = sources.flatMap((s) => (s.meta ? [s.meta] : []));
  if (metas.length) {
    const shapes = new Set(metas.map((m) => canon(m.shape)));
    if (shapes.size > 1) throw new UserError(`cannot merge ${key}: the inputs' sidecars disagree on the weight shape (${[...shapes].join(' vs ')})`);
    const base = pickMeta(metas);
    const created = metas.map((m) => m.created).sort()[0]!;
    const updated = metas.map((m) => m.updated).sort().at(-1)!;
    out.set(join(dirname(key), metaFileName(basename(key))), formatMeta({ ...base, created, updated, entries: sortByM(metaEntries) }));
  }
  return out;
}

/**
 * Deterministic merge of result folders (each holding `<family>/<name>.json` files and sidecars):
 * the same inputs in any order give byte-identical output. Per M the fastest measured entry wins.
 * Refuses (UserError) an invalid input, and inputs mixing simulated and measured results for one file.
 */
export function mergeResultDirs(inputs: string[]): MergeResult {
  const groups = new Map<string, Source[]>();
  const skipped: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new UserError(`merge input ${input} does not exist`);
    for (const path of listConfigFiles(input)) {
      const s = readSource(path);
      if (!s) {
        skipped.push(path);
        continue;
      }
      const key = join(familyDir(s.family, s.meta?.versions.triton), s.name);
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
  }
  const files = new Map<string, string>();
  const conflicts: Conflict[] = [];
  let simulated = false;
  for (const key of [...groups.keys()].sort()) {
    const sources = groups.get(key)!.sort((a, b) => cmpStr(a.path, b.path));
    const sims = new Set(sources.filter((s) => s.meta).map((s) => s.meta!.simulated));
    if (sims.size > 1) throw new UserError(`cannot merge ${key}: some inputs are simulated (sim backend) and some measured`);
    if (sims.has(true)) simulated = true;
    for (const [p, text] of mergeGroup(key, sources, conflicts)) files.set(p, text);
  }
  return { files, conflicts, skipped: skipped.sort(), simulated };
}
