import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Landscape } from '../../src/search/estimate.js';
import { Neighbourhood } from '../../src/search/neighbours.js';
import type { TimedConfig } from '../../src/search/index.js';
import type { ConfigEntry } from '../../src/schema/index.js';
import { CONFIGS, landscapeUs } from './landscape.js';

const axes = new Neighbourhood(CONFIGS).axes;
const at = (c: Record<string, number>) => c as ConfigEntry;
/** Times at M of the configs `pick` keeps, fastest first, as the ledger ranks them; `us` defaults to the landscape's. */
function ranked(M: number, pick: (c: Record<string, number>) => boolean, us = (c: Record<string, number>) => landscapeUs(c, M)): TimedConfig[] {
  const out: TimedConfig[] = [];
  for (const c of CONFIGS as Array<Record<string, number>>) if (pick(c) && us(c) !== null) out.push({ config: c as ConfigEntry, us: us(c)! });
  return out.sort((a, b) => a.us - b.us);
}

test('a config next to fast measured ones is estimated faster than one next to slow ones', () => {
  // at M=128 the landscape's best tile is BM 128, BN 128, BK 128 (warps 8); measure the configs with BN 128 only
  const land = new Landscape(axes, new Map([[128, ranked(128, (c) => c.BLOCK_SIZE_N === 128)]]));
  const nearBest = at({ BLOCK_SIZE_M: 128, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, num_warps: 8 });
  const farOff = at({ BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 64, num_warps: 8 });
  assert.ok(land.estimate(nearBest, 128) < land.estimate(farOff, 128));
  assert.deepEqual(land.order([farOff, nearBest], 128), [nearBest, farOff]);
});

test('times measured at other Ms count, the nearest M most', () => {
  const c = at({ BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, num_warps: 8 });
  const fast = [{ config: c, us: 10 }];
  const slow = [{ config: at({ ...c, BLOCK_SIZE_M: 16 }), us: 10 }, { config: c, us: 20 }]; // fastest first, as the ledger ranks
  const near = new Landscape(axes, new Map([[16, []], [128, fast], [1024, slow]]));
  const far = new Landscape(axes, new Map([[16, []], [128, slow], [1024, fast]]));
  assert.ok(near.estimate(c, 16) < far.estimate(c, 16), 'M=128 is nearer to M=16 than M=1024');
});

test('an axis along which one step never changed the time is flat, and its twins share a key', () => {
  const noWarps = (c: Record<string, number>) => landscapeUs({ ...c, num_warps: 4 }, 16);
  const land = new Landscape(axes, new Map([[16, ranked(16, () => true, noWarps)]]));
  assert.deepEqual(land.flat, ['num_warps']);
  const c = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, num_warps: 4 };
  assert.equal(land.twinKey(at(c)), land.twinKey(at({ ...c, num_warps: 8 })));
  assert.notEqual(land.twinKey(at(c)), land.twinKey(at({ ...c, BLOCK_SIZE_K: 64 })));
  // the landscape itself: warps matter (the right count per tile), so nothing is flat
  assert.deepEqual(new Landscape(axes, new Map([[16, ranked(16, () => true)]])).flat, []);
  // too few pairs along an axis say nothing yet
  const two = ranked(16, (c) => c.BLOCK_SIZE_M === 16 && c.BLOCK_SIZE_N === 128 && c.BLOCK_SIZE_K !== 256, noWarps);
  assert.deepEqual(new Landscape(axes, new Map([[16, two]])).flat, []);
});
