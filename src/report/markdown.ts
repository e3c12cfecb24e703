import { describeEntry, fmtConfig, fmtSpeedup, fmtUs, summaryLine, type DiffResult } from './diff.js';
import { shownEntries, wholeFileLine } from './diff-table.js';

/** Escapes text for a Markdown table cell. */
const cell = (s: string | number): string => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A marker a CI job can search for to update its earlier PR comment instead of adding another. */
export const COMMENT_MARKER = '<!-- tritune-diff -->';

/** The diff as a GitHub PR comment: a summary first, then one collapsible table per differing file. */
export function renderDiffMarkdown(result: DiffResult, opts: { all?: boolean; title?: string } = {}): string {
  const out: string[] = [COMMENT_MARKER, `### ${opts.title ?? 'tuned-configs diff'}`, '', `**${cell(summaryLine(result.summary))}**`, ''];
  const regressed = result.files.some((f) => f.entries.some((e) => e.status === 'changed' && e.speedup !== null && e.speedup < 1));
  if (regressed) out.push('> [!WARNING]', '> Some changed entries measured slower than before (speedup below 1.00x).', '');
  for (const f of result.files) {
    if (f.status === 'unchanged' && !opts.all) continue;
    const whole = wholeFileLine(f);
    // a whole file added or removed is collapsed, with its entries inside for whoever opens it
    const rows = whole ? f.entries : shownEntries(f.entries, opts.all ?? false);
    const what = whole ?? `${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}`;
    out.push(`<details${whole ? '' : ' open'}>`, `<summary><code>${cell(f.path)}</code> (${f.status}: ${cell(what)})</summary>`, '');
    for (const n of f.notes) out.push(`> ${cell(n)}`, '');
    if (rows.length) {
      out.push('| M | change | old µs | new µs | speedup | vs default |', '|---:|:---|---:|---:|---:|---:|');
      for (const e of rows) {
        const change = e.status === 'changed' ? describeEntry(e, ' → ') : whole ? fmtConfig(e.config) : `_${e.status}_`;
        out.push(`| ${e.M} | ${cell(change)} | ${fmtUs(e.oldUs)} | ${fmtUs(e.newUs)} | ${fmtSpeedup(e.speedup)} | ${fmtSpeedup(e.vsDefault)} |`);
      }
      out.push('');
    }
    out.push('</details>', '');
  }
  out.push('<sub>speedup = old µs / new µs, each from its own side\'s sidecar (.meta.json); vs default = default_us / us on the new side.</sub>');
  return out.join('\n') + '\n';
}
