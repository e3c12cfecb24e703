import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Neighbourhood } from '../../src/search/neighbours.js';
import { configKey } from '../../src/space/index.js';
import type { ConfigEntry } from '../../src/schema/index.js';
import { CONFIGS } from './landscape.js';

const space = new Neighbourhood(CONFIGS);
const at = (c: Record<string, number>) => CONFIGS.find((x) => configKey(x) === configKey(c))!;
const keys = (cs: ConfigEntry[]) => new Set(cs.map(configKey));

test('neighbours are one step along one axis or two coupled axes, all in the space', () => {
  const c = at({ BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, num_warps: 4 });
  const nbs = keys(space.of(c));
  assert.ok(nbs.has(configKey({ ...c, BLOCK_SIZE_M: 32 })));
  assert.ok(nbs.has(configKey({ ...c, num_warps: 8, BLOCK_SIZE_M: 128 })), 'warps with the tile they cover');
  assert.ok(!nbs.has(configKey({ ...c, BLOCK_SIZE_M: 16 })), 'two steps away');
  assert.ok(!nbs.has(configKey(c)));
  for (const k of nbs) assert.ok(CONFIGS.some((x) => configKey(x) === k));
});

test('a config off the grid (a seed like vLLM default) steps from its nearest grid point, which is a neighbour too', () => {
  const seed = { BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, num_warps: 2 } as ConfigEntry;
  const onGrid = at({ BLOCK_SIZE_M: 64, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 128, num_warps: 4 });
  const nbs = keys(space.of(seed));
  assert.ok(nbs.has(configKey(onGrid)));
  for (const k of keys(space.of(onGrid))) assert.ok(nbs.has(k), `${k} is a neighbour of the grid point but not of the seed`);
});
