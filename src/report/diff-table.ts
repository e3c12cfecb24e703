import Table from 'cli-table3';
import { describeEntry, fmtSpeedup, fmtUs, summaryLine, type DiffResult, type EntryDiff, type FileDiff } from './diff.js';

/** Entries a reviewer needs to see: everything that changed, or every entry with `all`. */
export const shownEntries = (entries: EntryDiff[], all: boolean): EntryDiff[] =>
  all ? entries : entries.filter((e) => e.status !== 'unchanged');

/** A whole file added or removed, in one line: "13 entries, M 1..4096" (its rows only with --all). */
export function wholeFileLine(f: FileDiff): string | null {
  if (f.status !== 'added' && f.status !== 'removed') return null;
  const ms = f.entries.map((e) => e.M);
  const n = ms.length;
  const vs = f.entries.map((e) => e.vsDefault).filter((x): x is number => x !== null);
  const geo = vs.length ? `; tuned vs default ${fmtSpeedup(Math.exp(vs.reduce((a, x) => a + Math.log(x), 0) / vs.length))} (geomean)` : '';
  return `${n} entr${n === 1 ? 'y' : 'ies'}, M ${ms[0]}..${ms[n - 1]}${geo}`;
}

/** The terminal rendering of a diff: one table per differing file, then the summary line. */
export function renderDiffTable(result: DiffResult, opts: { all?: boolean } = {}): string {
  const out: string[] = [];
  for (const f of result.files) {
    if (f.status === 'unchanged' && !opts.all) continue;
    out.push(`${f.path} (${f.status})`);
    for (const n of f.notes) out.push(`  note: ${n}`);
    const whole = wholeFileLine(f);
    if (whole) out.push(`  ${whole}`);
    const rows = whole && !opts.all ? [] : shownEntries(f.entries, opts.all ?? false);
    if (rows.length) {
      const table = new Table({
        head: ['M', 'change', 'old us', 'new us', 'speedup', 'vs default'],
        colAligns: ['right', 'left', 'right', 'right', 'right', 'right'],
        style: { head: [], border: [], compact: true },
      });
      for (const e of rows) {
        table.push([e.M, describeEntry(e), fmtUs(e.oldUs), fmtUs(e.newUs), fmtSpeedup(e.speedup), fmtSpeedup(e.vsDefault)]);
      }
      out.push(table.toString());
    }
    out.push('');
  }
  out.push(summaryLine(result.summary));
  return out.join('\n') + '\n';
}
