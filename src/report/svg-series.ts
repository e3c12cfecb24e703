import type { Meta } from '../schema/index.js';
import { kernelFamily, type PeakKind } from '../families/index.js';
import type { Chart, Series } from './svg.js';

/** Throughput at one M from a sidecar entry's flops/bytes and a time in µs. */
export const tflops = (flops: number, us: number): number => flops / us / 1e6;
export const gbps = (bytes: number, us: number): number => bytes / us / 1e3;

const BASELINE_COLORS = ['#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const ROOF = { color: '#555', dash: '2 3', width: 1.5, markers: false, reference: true };

interface Point {
  M: number;
  flops: number;
  bytes: number;
}

/**
 * Dense tensor-core peaks from NVIDIA's datasheets (TFLOP/s or TOPS, without sparsity), used when a sidecar has no
 * peak_tflops, per device-name pattern and kind of math (each family's `peak`).
 */
const NOMINAL_PEAKS: Array<[RegExp, Record<PeakKind, number | null>]> = [
  [/^NVIDIA H100 PCIe/, { int8: 1513, fp8: 1513, bf16: 756 }],
  [/^NVIDIA H100 NVL/, { int8: 1671, fp8: 1671, bf16: 835 }],
  [/^NVIDIA H100/, { int8: 1979, fp8: 1979, bf16: 989 }],
  [/^NVIDIA H200/, { int8: 1979, fp8: 1979, bf16: 989 }],
  [/^NVIDIA A100/, { int8: 624, fp8: null, bf16: 312 }],
];

/** The datasheet compute peak for a family's math on a device, or null when the device is not in the table. */
export function nominalPeakTflops(deviceName: string, family: Meta['family'], shape: Meta['shape']): number | null {
  const row = NOMINAL_PEAKS.find(([re]) => re.test(deviceName));
  if (!row) return null;
  return row[1][kernelFamily(family).peak(shape)];
}

/** The compute roof a report uses: the sidecar's peak_tflops, else the datasheet value; and which one it was. */
export function computeRoof(meta: Meta): { peak: number | null; nominal: boolean } {
  if (meta.peak_tflops) return { peak: meta.peak_tflops, nominal: false };
  const peak = meta.simulated ? null : nominalPeakTflops(meta.device.name, meta.family, meta.shape);
  return { peak, nominal: peak !== null };
}

/**
 * The roofline at each M, as TFLOP/s: min(peak, bandwidth x arithmetic intensity), intensity = flops / bytes (the
 * minimum bytes). Without a compute peak only the bandwidth roof is drawn; without hbm_GBps nothing is.
 */
export function rooflineTflops(meta: Meta, p: Point): number | null {
  const bw = meta.device.hbm_GBps;
  if (!bw || !p.bytes) return null;
  const memRoof = (bw * 1e9 * (p.flops / p.bytes)) / 1e12;
  const { peak } = computeRoof(meta);
  return peak ? Math.min(peak, memRoof) : memRoof;
}

/** The same roofline in GB/s: min(hbm_GBps, peak / intensity). */
export function rooflineGbps(meta: Meta, p: Point): number | null {
  const bw = meta.device.hbm_GBps;
  if (!bw) return null;
  const { peak } = computeRoof(meta);
  if (!peak || !p.flops) return bw;
  return Math.min(bw, (peak * 1e12) / (p.flops / p.bytes) / 1e9);
}

/** Every timed line a sidecar holds: tuned, default, then each baseline by name. */
function timedLines(meta: Meta): Array<{ name: string; us: (M: string) => number | null; style: Omit<Series, 'name' | 'points'> }> {
  const names = [...new Set(Object.values(meta.entries).flatMap((e) => Object.keys(e.baselines)))].sort();
  return [
    { name: 'tuned', us: (m) => meta.entries[m]!.us, style: { color: '#1f77b4', width: 2.5 } },
    { name: 'default config', us: (m) => meta.entries[m]!.default_us, style: { color: '#d62728', dash: '6 4' } },
    ...names.map((n, i) => ({
      name: n,
      us: (m: string) => meta.entries[m]!.baselines[n] ?? null,
      style: { color: BASELINE_COLORS[i % BASELINE_COLORS.length]!, dash: '3 3' },
    })),
  ];
}

/** The two charts of one weight shape: TFLOP/s vs M and GB/s vs M, each with the roofline when known. */
export function shapeCharts(meta: Meta, title: string): { tflops: Chart; gbps: Chart } {
  const ms = Object.keys(meta.entries).sort((a, b) => Number(a) - Number(b));
  const points = ms.map((m) => ({ m, p: { M: Number(m), flops: meta.entries[m]!.flops, bytes: meta.entries[m]!.bytes } }));
  const build = (metric: (p: Point, us: number) => number, roof: (p: Point) => number | null): Series[] => {
    const series: Series[] = timedLines(meta).map((l) => ({
      name: l.name,
      ...l.style,
      points: points.map(({ m, p }): [number, number] => {
        const us = l.us(m);
        return [p.M, us ? metric(p, us) : NaN];
      }),
    }));
    const roofPts = points.map(({ p }): [number, number] => [p.M, roof(p) ?? NaN]);
    if (roofPts.some(([, y]) => Number.isFinite(y))) {
      const { peak, nominal } = computeRoof(meta);
      const name = !peak ? 'roofline (HBM only)' : nominal ? 'roofline (datasheet peak)' : 'roofline';
      series.push({ name, points: roofPts, ...ROOF });
    }
    return series;
  };
  const sim = meta.simulated ? ' [SIMULATED]' : '';
  return {
    tflops: {
      title: `${title}: TFLOP/s${sim}`,
      xLabel: 'M (tokens, log2 scale)',
      yLabel: 'TFLOP/s',
      series: build((p, us) => tflops(p.flops, us), (p) => rooflineTflops(meta, p)),
    },
    gbps: {
      title: `${title}: GB/s${sim}`,
      xLabel: 'M (tokens, log2 scale)',
      yLabel: 'GB/s (minimum bytes / time)',
      series: build((p, us) => gbps(p.bytes, us), (p) => rooflineGbps(meta, p)),
    },
  };
}
