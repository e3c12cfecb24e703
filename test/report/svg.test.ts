import { test } from 'node:test';
import assert from 'node:assert/strict';
import { log2Ticks, niceTicks, renderChart } from '../../src/report/svg.js';
import { computeRoof, nominalPeakTflops, rooflineGbps, rooflineTflops, shapeCharts } from '../../src/report/svg-series.js';
import { fixtureMeta, metaEntry } from './fixtures.js';

test('niceTicks covers the maximum with 1-2-5 steps; log2Ticks spans the M range', () => {
  assert.deepEqual(niceTicks(4.2), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(niceTicks(1800), [0, 500, 1000, 1500, 2000]);
  assert.deepEqual(log2Ticks(1, 16), [1, 2, 4, 8, 16]);
  const wide = log2Ticks(1, 8192);
  assert.ok(wide.length <= 10 && wide[0] === 1);
});

/** All x and y coordinates of a path's points. */
const coords = (svg: string) =>
  [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => [...m[1]!.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])]));

test('renderChart: one path per series, every point inside the frame, gaps (NaN) skipped, text escaped', () => {
  const svg = renderChart({
    title: 'a < b & "c"',
    xLabel: 'M',
    yLabel: 'TFLOP/s',
    width: 500,
    height: 300,
    series: [
      { name: 'tuned', color: '#00f', points: [[1, 1], [64, 10], [8192, 30]] },
      { name: 'default', color: '#f00', points: [[1, 0.5], [64, NaN], [8192, 20]] },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /a &lt; b &amp; &quot;c&quot;/);
  const paths = coords(svg);
  assert.equal(paths.length, 2);
  assert.equal(paths[1]!.length, 2, 'the NaN point is a gap');
  const frame = /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none"/.exec(svg)!.slice(1).map(Number);
  const [fx, fy, fw, fh] = frame as [number, number, number, number];
  for (const [x, y] of paths.flat()) {
    assert.ok(x! >= fx - 0.1 && x! <= fx + fw + 0.1, `x ${x} outside the frame`);
    assert.ok(y! >= fy - 0.1 && y! <= fy + fh + 0.1, `y ${y} outside the frame`);
  }
  // the largest M sits on the right edge, the smallest on the left
  assert.equal(paths[0]![0]![0], fx);
  assert.equal(paths[0]![2]![0], fx + fw);
});

test('roofline: bandwidth x intensity below the ridge, the compute peak above it, bandwidth only without a peak', () => {
  const meta = fixtureMeta('w8a8-int8', { N: 1024, K: 1024 }, {}, 1000);
  // hbm 3350 GB/s: intensity 10 flop/byte -> 33.5 TFLOP/s; intensity 1000 -> 3350, capped at the 1000 peak
  assert.ok(Math.abs(rooflineTflops(meta, { M: 1, flops: 10e6, bytes: 1e6 })! - 33.5) < 1e-9);
  assert.equal(rooflineTflops(meta, { M: 1, flops: 1000e6, bytes: 1e6 }), 1000);
  assert.equal(rooflineGbps(meta, { M: 1, flops: 10e6, bytes: 1e6 }), 3350);
  assert.ok(Math.abs(rooflineGbps(meta, { M: 1, flops: 1000e6, bytes: 1e6 })! - 1000) < 1e-9);
  const noPeak = fixtureMeta('w8a8-int8', { N: 1024, K: 1024 }, {}, null);
  assert.ok(Math.abs(rooflineTflops(noPeak, { M: 1, flops: 1000e6, bytes: 1e6 })! - 3350) < 1e-9);
  const noBw = { ...noPeak, device: { ...noPeak.device, hbm_GBps: null } };
  assert.equal(rooflineTflops(noBw, { M: 1, flops: 1, bytes: 1 }), null);
});

test('shapeCharts: tuned, default, each baseline and the roofline, throughput from the sidecar', () => {
  const entries = { '1': metaEntry(1, 4096, 4096, 10), '256': metaEntry(256, 4096, 4096, 40) };
  const c = shapeCharts(fixtureMeta('w8a8-int8', { N: 4096, K: 4096 }, entries), 'w8a8-int8 N=4096 K=4096');
  assert.deepEqual(c.tflops.series.map((s) => s.name), ['tuned', 'default config', 'cublas_bf16', 'roofline']);
  const tuned = c.tflops.series[0]!.points;
  assert.deepEqual(tuned[1], [256, (2 * 256 * 4096 * 4096) / 40 / 1e6]);
  const gb = c.gbps.series[0]!.points[0]!;
  assert.equal(gb[1], (4096 + 4096 * 4096 + 2 * 4096) / 10 / 1e3);
  assert.match(c.tflops.title, /SIMULATED/);
});

test('a far-away roofline does not flatten the data: the y axis stops at 2.5x the highest measured point', () => {
  const svg = renderChart({
    title: 't',
    xLabel: 'M',
    yLabel: 'y',
    series: [
      { name: 'tuned', color: '#00f', points: [[1, 10], [4096, 100]] },
      { name: 'roofline', color: '#555', reference: true, markers: false, points: [[1, 20], [4096, 8000]] },
    ],
  });
  const ticks = [...svg.matchAll(/<text x="\d+" y="[\d.]+" text-anchor="end">([\d.k]+)<\/text>/g)].map((m) => m[1]);
  assert.equal(ticks[ticks.length - 1], '250');
  assert.match(svg, /<path d="[^"]+" [^>]*clip-path="url\(#clip\d+\)"><title>roofline<\/title>/);
});

test('the compute roof: the sidecar peak first, else the datasheet peak of a known GPU, never for simulated files', () => {
  const meta = fixtureMeta('w8a8-int8', { N: 1024, K: 1024 }, {}, null);
  assert.equal(nominalPeakTflops('NVIDIA H100 80GB HBM3', 'w8a8-int8', { N: 1, K: 1 }), 1979);
  assert.equal(nominalPeakTflops('NVIDIA H100 PCIe', 'w4a16', { N: 1, K: 1 }), 756);
  assert.equal(nominalPeakTflops('NVIDIA A100-SXM4-80GB', 'w8a8-fp8', { N: 1, K: 1 }), null);
  assert.equal(nominalPeakTflops('NVIDIA SIM-H200', 'w8a8-int8', { N: 1, K: 1 }), null);
  assert.deepEqual(computeRoof({ ...meta, peak_tflops: 1500 }), { peak: 1500, nominal: false });
  assert.deepEqual(computeRoof({ ...meta, simulated: false }), { peak: 1979, nominal: true });
  assert.deepEqual(computeRoof(meta), { peak: null, nominal: false }); // the fixture is simulated
});
