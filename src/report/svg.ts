/** A hand-written SVG line chart: log2 x axis (M), linear y axis from 0, a legend, no dependencies. */

export interface Series {
  name: string;
  /** [x, y] pairs; points with a non-finite y are skipped (a gap in the data, not a zero). */
  points: Array<[number, number]>;
  color: string;
  dash?: string;
  width?: number;
  /** Draw a marker at each point (measured data) or not (a model line such as the roofline). */
  markers?: boolean;
  /**
   * A reference line (the roofline): it may not stretch the y axis beyond REF_HEADROOM x the highest measured point,
   * so a far-away roof does not flatten the data; it is clipped at the frame instead.
   */
  reference?: boolean;
}

const REF_HEADROOM = 2.5;

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}

const PAD = { left: 64, right: 16, top: 34 };

/** Escapes text for SVG/HTML content and attribute values. */
export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const num = (x: number): string => (Math.round(x * 10) / 10).toString();

/** 1, 2, 5 x 10^k ticks from 0 up to at least `max`. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Powers of two spanning [lo, hi] (the M grid's natural ticks), thinned to at most ~10 labels. */
export function log2Ticks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log2(Math.max(lo, 1)));
  const b = Math.ceil(Math.log2(Math.max(hi, lo, 1)));
  const every = Math.max(1, Math.ceil((b - a + 1) / 10));
  const ticks: number[] = [];
  for (let e = a; e <= b; e += every) ticks.push(2 ** e);
  return ticks.length > 1 ? ticks : [2 ** a, 2 ** (a + 1)];
}

const fmtTick = (v: number): string => (v >= 1e4 ? `${v / 1e3}k` : Number(v.toPrecision(6)).toString());

let clipCounter = 0;

/** Renders the chart as a standalone SVG document (also valid inline in HTML). */
export function renderChart(chart: Chart): string {
  const W = chart.width ?? 560;
  const H = chart.height ?? 380;
  const bottom = 48 + Math.ceil(chart.series.length / 3) * 15; // x labels, then the legend rows
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - bottom;
  const pts = chart.series.flatMap((s) => s.points.filter(([x, y]) => x > 0 && Number.isFinite(y)));
  const xs = pts.map(([x]) => x);
  const xt = log2Ticks(xs.length ? Math.min(...xs) : 1, xs.length ? Math.max(...xs) : 2);
  const finiteYs = (list: Series[]) => list.flatMap((s) => s.points.filter(([x, y]) => x > 0 && Number.isFinite(y)).map(([, y]) => y));
  const measured = finiteYs(chart.series.filter((s) => !s.reference));
  const all = finiteYs(chart.series);
  const top = all.length ? Math.max(...all) : 1;
  const yt = niceTicks(measured.length ? Math.min(top, REF_HEADROOM * Math.max(...measured)) : top);
  const [x0, x1] = xs.length ? [Math.floor(Math.log2(Math.min(...xs))), Math.ceil(Math.log2(Math.max(...xs)))] : [0, 1];
  const yMax = yt[yt.length - 1]!;
  const sx = (x: number) => PAD.left + ((Math.log2(x) - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => PAD.top + ph - (y / yMax) * ph;

  const clip = `clip${(clipCounter = (clipCounter + 1) % 1e9)}`; // unique per chart: several charts share one HTML page
  const o: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<defs><clipPath id="${clip}"><rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
    `<title>${esc(chart.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  for (const t of yt) {
    o.push(`<line x1="${PAD.left}" x2="${PAD.left + pw}" y1="${num(sy(t))}" y2="${num(sy(t))}" stroke="#e4e4e4"/>`);
    o.push(`<text x="${PAD.left - 6}" y="${num(sy(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const t of xt.filter((t) => Math.log2(t) <= x1)) {
    o.push(`<line x1="${num(sx(t))}" x2="${num(sx(t))}" y1="${PAD.top}" y2="${PAD.top + ph}" stroke="#f0f0f0"/>`);
    o.push(`<text x="${num(sx(t))}" y="${PAD.top + ph + 16}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  o.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  o.push(`<text x="${PAD.left + pw / 2}" y="${PAD.top + ph + 34}" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${PAD.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`);

  for (const s of chart.series) {
    const p = s.points.filter(([x, y]) => x > 0 && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    if (!p.length) continue;
    const d = p.map(([x, y], i) => `${i ? 'L' : 'M'}${num(sx(x))} ${num(sy(y))}`).join(' ');
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    o.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${dash} clip-path="url(#${clip})"><title>${esc(s.name)}</title></path>`);
    if (s.markers ?? true) {
      for (const [x, y] of p) {
        o.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="2.8" fill="${s.color}"><title>${esc(`${s.name}: M=${x}, ${Number(y.toPrecision(4))}`)}</title></circle>`);
      }
    }
  }

  // legend: up to three entries per row under the x label
  chart.series.forEach((s, i) => {
    const lx = PAD.left + (i % 3) * (pw / 3);
    const ly = PAD.top + ph + 52 + Math.floor(i / 3) * 15;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    o.push(`<line x1="${num(lx)}" x2="${num(lx + 22)}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width ?? 2}"${dash}/>`);
    o.push(`<text x="${num(lx + 27)}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
