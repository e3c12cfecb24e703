import { entryKeys, fileEntryOf, Meta, type Family, type TunedConfigFile } from '../schema/index.js';

/** Numeric order of M keys. */
export const byM = (a: string, b: string): number => Number(a) - Number(b);

/** Copies a record with its keys in ascending M order (the order servers and reviewers expect). */
export function sortByM<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort(byM)) out[k] = rec[k]!;
  return out;
}

const indent = (text: string): string => text.replace(/\n/g, '\n    ');

/**
 * The exact bytes of a tuned-config file: 4-space indent, M ascending, each entry's keys in the
 * family's order, a trailing newline (what vLLM's own tuning script writes); each config as the file holds it
 * (fileEntryOf: optional keys left out where absent, booleans).
 */
export function formatTunedConfig(family: Family, entries: TunedConfigFile): string {
  const order = entryKeys(family);
  const lines = Object.keys(entries)
    .sort(byM)
    .map((m) => {
      const e = fileEntryOf(family, entries[m] as Record<string, number>);
      const ordered: Record<string, number | boolean> = {};
      for (const k of order) if (k in e) ordered[k] = e[k]!;
      return `    ${JSON.stringify(m)}: ${indent(JSON.stringify(ordered, null, 4))}`;
    });
  return lines.length ? `{\n${lines.join(',\n')}\n}\n` : '{}\n';
}

/** The exact bytes of a sidecar: its schema's key order, entries by ascending M, 4-space indent, trailing newline. */
export function formatMeta(meta: Meta): string {
  // parsing puts the keys in the schema's order (and fills defaults), so equal sidecars give equal bytes
  const m = Meta.parse(meta);
  return JSON.stringify({ ...m, entries: sortByM(m.entries) }, null, 4) + '\n';
}
