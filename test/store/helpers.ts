import type { MetaInput } from '../../src/store/writer.js';
import type { W8A8Entry } from '../../src/schema/index.js';

export const H100 = {
  name: 'NVIDIA H100 80GB HBM3',
  capability: [9, 0] as [number, number],
  sm_count: 132,
  shared_mem_per_block: 232448,
  l2_bytes: 52428800,
  memory_bytes: 85031714816,
  hbm_GBps: 3350,
};

/** A W8A8 config whose BLOCK_SIZE_N tells test entries apart. */
export const w8a8 = (bn: number, splitK = 1): W8A8Entry => ({
  BLOCK_SIZE_M: 16,
  BLOCK_SIZE_N: bn,
  BLOCK_SIZE_K: 128,
  GROUP_SIZE_M: 1,
  num_warps: 4,
  num_stages: 3,
  SPLIT_K: splitK,
});

/** Sidecar input with one measurement per M (us by M). */
export function metaFor(us: Record<number, number>, opts: { backend?: 'cuda' | 'sim'; command?: string } = {}): MetaInput {
  const backend = opts.backend ?? 'cuda';
  const entries: MetaInput['entries'] = {};
  for (const [m, t] of Object.entries(us)) {
    entries[m] = { us: t, spread: 0.01, default_us: t * 1.5, trials: 10, flops: 1, bytes: 1, measured_at: '2025-06-01T12:00:00.000Z' };
  }
  return {
    backend,
    simulated: backend === 'sim',
    device: H100,
    versions: { python: '3.12', triton: '3.6.0', torch: '2.11.0', driver: null, cuda: null },
    command: opts.command ?? 'tune --shapes 6144x2560',
    entries,
  };
}
