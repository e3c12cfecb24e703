import type { ConfigEntry, JournalRecord } from '../../src/schema/index.js';
import { product } from '../../src/space/index.js';

/**
 * A small synthetic journal (labelled simulated: it is a fixture for the strategies' mechanics, never the
 * proof): a smooth landscape over a 4-axis space with one best tile per M and a few failed configs.
 */
export const AXES = { BLOCK_SIZE_M: [16, 32, 64, 128], BLOCK_SIZE_N: [32, 64, 128, 256], BLOCK_SIZE_K: [64, 128, 256], num_warps: [4, 8] };
export const KEYS = Object.keys(AXES);
export const MS = [1, 16, 128, 1024];
export const SHAPE = 'N=4096,K=4096';
export const CONFIGS = product(AXES, KEYS) as unknown as ConfigEntry[];

const log2 = Math.log2;
export function landscapeUs(c: Record<string, number>, M: number): number | null {
  if (c.BLOCK_SIZE_M === 128 && c.BLOCK_SIZE_N === 256 && c.BLOCK_SIZE_K === 256) return null; // "out of resources"
  const bestM = Math.min(128, Math.max(16, 2 ** Math.round(log2(M))));
  const d = (log2(c.BLOCK_SIZE_M!) - log2(bestM)) ** 2 + 0.5 * (log2(c.BLOCK_SIZE_N!) - 7) ** 2 + 0.3 * (log2(c.BLOCK_SIZE_K!) - 7) ** 2;
  const warps = (c.num_warps === 8) === c.BLOCK_SIZE_M! >= 64 ? 0 : 0.2;
  return (10 + M / 50) * (1 + 0.1 * d + warps);
}

export function landscapeJournal(): JournalRecord[] {
  const at = '2026-01-01T00:00:00.000Z';
  const header: JournalRecord = {
    type: 'header',
    journal_version: 1,
    fingerprint: { family: 'w8a8-int8', space: 'test', device: 'synthetic', triton: null, worker_version: 'test', backend: 'sim' },
    command: 'test/search/landscape.ts',
    created: at,
  };
  const trials: JournalRecord[] = CONFIGS.flatMap((config) =>
    MS.map((M) => {
      const us = landscapeUs(config as Record<string, number>, M);
      return { type: 'trial' as const, shape: SHAPE, M, config, effort: 'full' as const, status: us === null ? ('invalid' as const) : ('ok' as const), us, spread: us === null ? null : 0.01, gpu: 0, message: null, at };
    }),
  );
  return [header, ...trials];
}
