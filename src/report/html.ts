import type { Meta } from '../schema/index.js';
import { parseConfigFileName } from '../store/naming.js';
import { fmtConfig, type ConfigDoc } from './diff.js';
import { esc, renderChart } from './svg.js';
import { computeRoof, gbps, rooflineTflops, shapeCharts, tflops } from './svg-series.js';

/** One weight shape's section of the report, with its charts rendered as SVG documents. */
export interface ReportSection {
  /** The file's path (the key the report was loaded under). */
  path: string;
  title: string;
  doc: ConfigDoc;
  /** SVG texts (tflops, gbps); absent when the file has no sidecar to plot. */
  svgs: { tflops: string; gbps: string } | null;
}

/** A short title for a file: family, shape and device from its name or sidecar. */
export function sectionTitle(path: string, meta: Meta | null): string {
  const base = path.split('/').pop() ?? path;
  const named = parseConfigFileName(base, path.split('/').slice(0, -1).join('/'));
  const family = meta?.family ?? named?.family ?? '?';
  const s = meta?.shape ?? named?.fields;
  const shape = s ? Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(' ') : base;
  return `${family} ${shape}`;
}

/** Builds a section: the charts come from the sidecar's entries (nothing is plotted without a sidecar). */
export function buildSection(path: string, doc: ConfigDoc): ReportSection {
  const title = sectionTitle(path, doc.meta);
  if (!doc.meta) return { path, title, doc, svgs: null };
  const c = shapeCharts(doc.meta, title);
  return { path, title, doc, svgs: { tflops: renderChart(c.tflops), gbps: renderChart(c.gbps) } };
}

const f = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

function entryTable(doc: ConfigDoc): string {
  const meta = doc.meta;
  const rows = Object.keys(doc.body)
    .sort((a, b) => Number(a) - Number(b))
    .map((m) => {
      const e = meta?.entries[m];
      const roof = e && meta ? rooflineTflops(meta, { M: Number(m), flops: e.flops, bytes: e.bytes }) : null;
      const tf = e ? tflops(e.flops, e.us) : null;
      const cells = [
        m,
        fmtConfig(doc.body[m]),
        f(e?.us, 2),
        f(e?.default_us, 2),
        e?.default_us ? `${f(e.default_us / e.us, 2)}x` : '-',
        f(tf),
        e ? f(gbps(e.bytes, e.us), 0) : '-',
        roof && tf !== null ? `${f((100 * tf) / roof, 0)}%` : '-',
      ];
      return `<tr>${cells.map((c, i) => `<td${i === 1 ? ' class="cfg"' : ''}>${esc(String(c))}</td>`).join('')}</tr>`;
    });
  const head = ['M', 'config (BMxBNxBK, group, warps, stages)', 'tuned µs', 'default µs', 'vs default', 'TFLOP/s', 'GB/s', 'of roofline'];
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function roofText(meta: Meta): string {
  const { peak, nominal } = computeRoof(meta);
  return peak === null ? 'unknown' : `${peak} TFLOP/s${nominal ? ' (datasheet)' : ''}`;
}

function provenance(meta: Meta | null): string {
  if (!meta) return '<p class="warn">No sidecar (.meta.json): nothing was measured for this file, so there is nothing to plot.</p>';
  const d = meta.device;
  const bits = [
    `${esc(d.name)} (sm_${d.capability.join('')}, ${d.sm_count} SMs)`,
    `HBM ${d.hbm_GBps ?? '?'} GB/s`,
    `compute peak ${roofText(meta)}`,
    `backend ${esc(meta.backend)}`,
    `triton ${esc(meta.versions.triton ?? '?')}, torch ${esc(meta.versions.torch ?? '?')}`,
    `updated ${esc(meta.updated)}`,
  ];
  const sim = meta.simulated ? '<p class="warn">SIMULATED: these times come from the sim backend, not from a GPU.</p>' : '';
  return `${sim}<p class="prov">${bits.join(' · ')}<br><code>${esc(meta.command)}</code></p>`;
}

const CSS = `body{font-family:sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin:28px 0 4px}.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg{border:1px solid #ddd}table{border-collapse:collapse;font-size:12px;margin-top:8px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td.cfg{text-align:left;font-family:monospace}
.prov{font-size:12px;color:#555}.warn{color:#b00;font-weight:bold}code{font-size:11px}`;

/** The self-contained report page: SVG charts inline, no scripts, no external resources. */
export function renderReportHtml(sections: ReportSection[], opts: { sources: string[]; generated: string }): string {
  const toc = sections.map((s, i) => `<li><a href="#s${i}">${esc(s.title)}</a> <code>${esc(s.path)}</code></li>`).join('\n');
  const body = sections
    .map(
      (s, i) => `<section id="s${i}">
<h2>${esc(s.title)}</h2>
<code>${esc(s.path)}</code>
${provenance(s.doc.meta)}
${s.svgs ? `<div class="charts">\n${s.svgs.tflops}${s.svgs.gbps}</div>` : ''}
${entryTable(s.doc)}
</section>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tritune report</title>
<style>${CSS}</style>
</head>
<body>
<h1>tritune report: tuned vs default configs</h1>
<p class="prov">${sections.length} file(s) from ${opts.sources.map((p) => `<code>${esc(p)}</code>`).join(', ')}; generated ${esc(opts.generated)}.
Throughput uses the minimum work (flops) and bytes recorded in each sidecar; the roofline is min(compute peak, HBM bandwidth × flops/bytes).</p>
<ul>
${toc}
</ul>
${body || '<p>No tuned-config files found.</p>'}
</body>
</html>
`;
}
