/**
 * Synthetic tuned-config files and sidecars for the report/diff tests. These are FIXTURES, not measurements:
 * the times are made up (a smooth function of M) and every sidecar says backend 'sim', simulated: true.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Family, Meta, MetaEntry } from '../../src/schema/index.js';
import { formatMeta, formatTunedConfig } from '../../src/store/format.js';
import { configFileName, metaFileName } from '../../src/store/naming.js';
import type { WeightShape } from '../../src/families/index.js';

export const DEVICE = 'NVIDIA H100 80GB HBM3';

export const entry = (bm: number, extra: Record<string, number> = {}) => ({
  BLOCK_SIZE_M: bm,
  BLOCK_SIZE_N: 128,
  BLOCK_SIZE_K: 128,
  GROUP_SIZE_M: 8,
  num_warps: 4,
  num_stages: 3,
  SPLIT_K: 1,
  ...extra,
});

/** A fixture sidecar entry: `us` is the config's time, default 1.5x slower, one cuBLAS baseline. */
export function metaEntry(M: number, N: number, K: number, us: number): MetaEntry {
  return {
    us,
    spread: 0.02,
    default_us: us * 1.5,
    baselines: { cublas_bf16: us * 1.2 },
    decision: 'new',
    trials: 10,
    flops: 2 * M * N * K,
    bytes: M * K + N * K + 2 * M * N,
    measured_at: '2025-01-01T00:00:00.000Z',
  };
}

export function fixtureMeta(family: Family, shape: WeightShape, entries: Record<string, MetaEntry>, peak: number | null = 1979): Meta {
  return {
    schema_version: 1,
    family,
    shape: { N: shape.N, K: shape.K },
    backend: 'sim',
    simulated: true,
    device: {
      name: DEVICE,
      capability: [9, 0],
      sm_count: 132,
      shared_mem_per_block: 232448,
      l2_bytes: 52428800,
      memory_bytes: 85899345920,
      hbm_GBps: 3350,
    },
    peak_tflops: peak,
    versions: { python: '3.12', triton: '3.6.0', torch: '2.11.0', driver: null, cuda: null },
    command: 'fixture (test/report/fixtures.ts)',
    created: '2025-01-01T00:00:00.000Z',
    updated: '2025-01-01T00:00:00.000Z',
    entries,
  };
}

/** Fixture time model: 5 µs of latency plus the bytes at 2 TB/s plus the flops at 600 TFLOP/s, times `slow`. */
export const fakeUs = (M: number, N: number, K: number, slow = 1): number =>
  slow * (5 + (M * K + N * K + 2 * M * N) / 2e6 + (2 * M * N * K) / 6e8);

/** Writes `<dir>/w8a8-int8/<name>.json` (+ sidecar unless `meta` is false); returns the config path. */
export function writeFixture(
  dir: string,
  shape: { N: number; K: number },
  ms: number[],
  opts: { bm?: (M: number) => number; slow?: (M: number) => number; meta?: boolean; family?: Family } = {},
): string {
  const family = opts.family ?? 'w8a8-int8';
  const sub = join(dir, family);
  mkdirSync(sub, { recursive: true });
  const name = configFileName(family, shape, DEVICE);
  const body: Record<string, ReturnType<typeof entry>> = {};
  const metaEntries: Record<string, MetaEntry> = {};
  for (const M of ms) {
    body[String(M)] = entry(opts.bm?.(M) ?? (M <= 16 ? 16 : 64));
    metaEntries[String(M)] = metaEntry(M, shape.N, shape.K, fakeUs(M, shape.N, shape.K, opts.slow?.(M) ?? 1));
  }
  writeFileSync(join(sub, name), formatTunedConfig(family, body));
  if (opts.meta !== false) writeFileSync(join(sub, metaFileName(name)), formatMeta(fixtureMeta(family, shape, metaEntries)));
  return join(sub, name);
}

export const tempDir = (prefix = 'tritune-report-'): string => mkdtempSync(join(tmpdir(), prefix));
