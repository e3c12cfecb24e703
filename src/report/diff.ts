import type { ConfigDoc, DiffSide } from '../store/diff-load.js';

export type { ConfigDoc, DiffSide };

export type ChangeStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface KeyChange {
  key: string;
  old: number | null;
  new: number | null;
}

/** What happened to one M of one file, with the times each side's sidecar entry records. */
export interface EntryDiff {
  M: number;
  status: ChangeStatus;
  keys: KeyChange[];
  /** The entry's config on the new side (the old side's for a removed entry). */
  config: Record<string, number> | null;
  /** Measured µs of the config on each side (from that side's sidecar), null when not recorded. */
  oldUs: number | null;
  newUs: number | null;
  /** oldUs / newUs: above 1 means the new entry measured faster. */
  speedup: number | null;
  /** The new side's default_us / us: how much the new config wins over the untuned default. */
  vsDefault: number | null;
}

export interface FileDiff {
  path: string;
  status: ChangeStatus;
  /** Every M present on either side, ascending (unchanged ones included; renderers choose what to show). */
  entries: EntryDiff[];
  /** Warnings a reviewer should see, e.g. a simulated sidecar or a device mismatch. */
  notes: string[];
}

export interface DiffSummary {
  files: { added: number; removed: number; changed: number; unchanged: number };
  entries: { added: number; removed: number; changed: number; unchanged: number };
  /** Geometric mean of oldUs/newUs over changed entries that were measured on both sides. */
  geomeanSpeedup: number | null;
  /** The changed entry with the lowest speedup (the biggest slowdown), if any was measured. */
  worst: { path: string; M: number; speedup: number } | null;
}

export interface DiffResult {
  files: FileDiff[];
  summary: DiffSummary;
}

const usOf = (doc: ConfigDoc | undefined, m: string): number | null => doc?.meta?.entries[m]?.us ?? null;

function keyChanges(a: Record<string, number> | undefined, b: Record<string, number> | undefined): KeyChange[] {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])];
  return keys
    .filter((k) => a?.[k] !== b?.[k])
    .map((key) => ({ key, old: a?.[key] ?? null, new: b?.[key] ?? null }));
}

function entryDiff(m: string, oldDoc: ConfigDoc | undefined, newDoc: ConfigDoc | undefined): EntryDiff {
  const a = oldDoc?.body[m];
  const b = newDoc?.body[m];
  const keys = keyChanges(a, b);
  const status: ChangeStatus = !a ? 'added' : !b ? 'removed' : keys.length ? 'changed' : 'unchanged';
  const oldUs = a ? usOf(oldDoc, m) : null;
  const newUs = b ? usOf(newDoc, m) : null;
  const def = b ? (newDoc?.meta?.entries[m]?.default_us ?? null) : null;
  return {
    M: Number(m),
    status,
    keys: status === 'changed' ? keys : [],
    config: b ?? a ?? null,
    oldUs,
    newUs,
    speedup: oldUs !== null && newUs !== null ? oldUs / newUs : null,
    vsDefault: def !== null && newUs !== null ? def / newUs : null,
  };
}

function notesFor(oldDoc: ConfigDoc | undefined, newDoc: ConfigDoc | undefined): string[] {
  const notes: string[] = [];
  const sim = [oldDoc, newDoc].map((d) => d?.meta?.simulated === true);
  for (const [side, doc] of [['old', oldDoc], ['new', newDoc]] as const) {
    if (doc && !doc.meta) notes.push(`${side} side has no sidecar: no measurements to compare`);
  }
  if (sim[0] || sim[1]) {
    const which = sim[0] && sim[1] ? 'both sidecars are' : sim[0] ? 'the old sidecar is' : 'the new sidecar is';
    notes.push(`${which} SIMULATED (sim backend): those times are not measurements`);
  }
  const da = oldDoc?.meta?.device.name;
  const db = newDoc?.meta?.device.name;
  if (da && db && da !== db) notes.push(`measured on different devices: ${da} -> ${db}; speedups compare machines, not configs`);
  return notes;
}

/** Compares one file's two versions entry by entry (either may be missing: file added or removed). */
export function diffFile(path: string, oldDoc: ConfigDoc | undefined, newDoc: ConfigDoc | undefined): FileDiff {
  const ms = [...new Set([...Object.keys(oldDoc?.body ?? {}), ...Object.keys(newDoc?.body ?? {})])].sort(
    (x, y) => Number(x) - Number(y),
  );
  const entries = ms.map((m) => entryDiff(m, oldDoc, newDoc));
  const status: ChangeStatus = !oldDoc
    ? 'added'
    : !newDoc
      ? 'removed'
      : entries.some((e) => e.status !== 'unchanged')
        ? 'changed'
        : 'unchanged';
  return { path, status, entries, notes: notesFor(oldDoc, newDoc) };
}

function summarize(files: FileDiff[]): DiffSummary {
  const zero = () => ({ added: 0, removed: 0, changed: 0, unchanged: 0 });
  const s: DiffSummary = { files: zero(), entries: zero(), geomeanSpeedup: null, worst: null };
  let logSum = 0;
  let n = 0;
  for (const f of files) {
    s.files[f.status]++;
    for (const e of f.entries) {
      s.entries[e.status]++;
      if (e.status !== 'changed' || e.speedup === null) continue;
      logSum += Math.log(e.speedup);
      n++;
      if (!s.worst || e.speedup < s.worst.speedup) s.worst = { path: f.path, M: e.M, speedup: e.speedup };
    }
  }
  if (n) s.geomeanSpeedup = Math.exp(logSum / n);
  return s;
}

/** Compares two sides file by file (matched by their shared relative path), sorted by path. */
export function diffSides(oldSide: DiffSide, newSide: DiffSide): DiffResult {
  const paths = [...new Set([...oldSide.keys(), ...newSide.keys()])].sort();
  const files = paths.map((p) => diffFile(p, oldSide.get(p), newSide.get(p)));
  return { files, summary: summarize(files) };
}

/**
 * Changed entries that measured slower than the old side by more than `pct` percent (newUs > oldUs * (1 + pct/100)).
 * Only entries whose config changed count: an unchanged config re-measured slower is run-to-run drift, not this change.
 */
export function regressions(result: DiffResult, pct: number): Array<{ path: string; entry: EntryDiff }> {
  const out: Array<{ path: string; entry: EntryDiff }> = [];
  for (const f of result.files) {
    for (const e of f.entries) {
      if (e.status === 'changed' && e.oldUs !== null && e.newUs !== null && e.newUs > e.oldUs * (1 + pct / 100)) {
        out.push({ path: f.path, entry: e });
      }
    }
  }
  return out;
}

/** The one-line summary every renderer ends with. */
export function summaryLine(s: DiffSummary): string {
  const f = s.files;
  const e = s.entries;
  const parts = [
    `${f.changed + f.added + f.removed} file(s) differ (${f.changed} changed, ${f.added} added, ${f.removed} removed, ${f.unchanged} unchanged)`,
    `entries: ${e.changed} changed, ${e.added} added, ${e.removed} removed, ${e.unchanged} unchanged`,
  ];
  if (s.geomeanSpeedup !== null) parts.push(`changed entries measured ${fmtSpeedup(s.geomeanSpeedup)} (geomean)`);
  if (s.worst && s.worst.speedup < 1) parts.push(`worst ${fmtSpeedup(s.worst.speedup)} at ${s.worst.path} M=${s.worst.M}`);
  return parts.join('; ');
}

/** Formatting shared by the table and Markdown renderers. */
export const fmtUs = (us: number | null): string => (us === null ? '-' : us < 100 ? us.toFixed(2) : us.toFixed(1));
export const fmtSpeedup = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`);
export const fmtVal = (v: number | null): string => (v === null ? '(none)' : String(v));

/** "BLOCK_SIZE_M 64->128, num_warps 4->8", or the status word for added/removed/unchanged entries. */
export function describeEntry(e: EntryDiff, arrow = '->'): string {
  if (e.status !== 'changed') return e.status;
  return e.keys.map((k) => `${k.key} ${fmtVal(k.old)}${arrow}${fmtVal(k.new)}`).join(', ');
}

/** A config in one short line: "64x128x128 g8 w4 s3 SPLIT_K=1" (BMxBNxBK, group, warps, stages, then the rest). */
export function fmtConfig(c: Record<string, number> | null | undefined): string {
  if (!c) return '-';
  const { BLOCK_SIZE_M, BLOCK_SIZE_N, BLOCK_SIZE_K, GROUP_SIZE_M, num_warps, num_stages, ...rest } = c;
  const extra = Object.entries(rest).map(([k, v]) => ` ${k}=${v}`).join('');
  return `${BLOCK_SIZE_M}x${BLOCK_SIZE_N}x${BLOCK_SIZE_K} g${GROUP_SIZE_M} w${num_warps} s${num_stages}${extra}`;
}
