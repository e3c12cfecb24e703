import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configKey, enumerateSpace } from '../../src/space/index.js';
import { kernelFamily, seedConfigs } from '../../src/families/index.js';
import { H200 } from '../space/devices.js';

/** Every search starts from the default config of each M and the family's path seeds where the space holds them
 * (src/families/index.ts seedConfigs): W4A16 seeds REG_A, which no default takes, from 256 tokens. */
test('w4a16 seeds REG_A from 256 tokens where its space holds it: not at g32, not before Hopper', () => {
  const shape = { N: 6144, K: 2560, group_size: 128 };
  const ms = [1, 16, 256, 1024, 4096];
  const sp = enumerateSpace('w4a16', 'default', { shape, ms, device: H200 });
  const inSpace = (space: typeof sp) => (c: Parameters<typeof sp.runsM>[0]) => space.configs.some((s) => configKey(s) === configKey(c));
  const seeds = seedConfigs('w4a16', shape, ms, inSpace(sp));
  const regA = seeds.filter((c) => (c as Record<string, number>).REG_A === 1);
  assert.equal(regA.length, 1);
  for (const M of ms) assert.ok(seeds.some((c) => configKey(c) === configKey(kernelFamily('w4a16').defaultConfig({ ...shape, M }))));
  assert.equal(new Set(seeds.map(configKey)).size, seeds.length); // each once
  assert.equal(seedConfigs('w4a16', shape, [1, 16, 255], inSpace(sp)).filter((c) => (c as Record<string, number>).REG_A === 1).length, 0);
  assert.ok(sp.runsM(regA[0]!, 1024) && sp.runsM(regA[0]!, 256) && !sp.runsM(regA[0]!, 16));
  // g32 (a K block of 64 spans two groups) and a GPU before Hopper: no REG_A seed, only the defaults
  const g32Shape = { ...shape, group_size: 32 };
  const g32 = enumerateSpace('w4a16', 'default', { shape: g32Shape, ms, device: H200 });
  assert.equal(seedConfigs('w4a16', g32Shape, ms, inSpace(g32)).filter((c) => (c as Record<string, number>).REG_A === 1).length, 0);
  const a100 = enumerateSpace('w4a16', 'default', { shape, ms, device: { ...H200, name: 'NVIDIA A100-SXM4-80GB', capability: [8, 0] } });
  assert.equal(seedConfigs('w4a16', shape, ms, inSpace(a100)).filter((c) => (c as Record<string, number>).REG_A === 1).length, 0);
  assert.equal(seedConfigs('w4a16', shape, ms, inSpace(a100)).length, seeds.length - 1);
});

test('families without path seeds start from their defaults alone', () => {
  const shape = { N: 6144, K: 2560 };
  const seeds = seedConfigs('w8a8-int8', shape, [1, 64, 4096], () => true);
  const defaults = new Set([1, 64, 4096].map((M) => configKey(kernelFamily('w8a8-int8').defaultConfig({ ...shape, M }))));
  assert.deepEqual(new Set(seeds.map(configKey)), defaults);
});

test('moe-w4a16 seeds the TMA path per regime where its space holds it: not before Hopper, not where K is not a multiple of 32', () => {
  const shape = { N: 768, K: 2048, E: 128, top_k: 8, gemm: 'layer' as const, group_size: 128 };
  const ms = [1, 16, 128, 512, 4096];
  const sp = enumerateSpace('moe-w4a16', 'default', { shape, ms, device: H200 });
  const inSpace = (space: typeof sp) => (c: Parameters<typeof sp.runsM>[0]) => space.configs.some((s) => configKey(s) === configKey(c));
  const seeds = seedConfigs('moe-w4a16', shape, ms, inSpace(sp));
  const tma = seeds.filter((c) => (c as Record<string, number>).TMA === 1).map(configKey);
  // t = M*top_k/E <= 8 (M <= 128): 16 x 256 tiles; above: 64 x 128, clipped to M like the default (M = 512: 64 rows)
  const keys = ['BLOCK_SIZE_M', 'BLOCK_SIZE_N', 'BLOCK_SIZE_K', 'GROUP_SIZE_M', 'num_warps', 'num_stages', 'TMA'];
  const tile = (t: number[]) => configKey(Object.fromEntries(t.map((v, i) => [keys[i]!, v])));
  assert.deepEqual(new Set(tma), new Set([tile([16, 256, 128, 1, 4, 3, 1]), tile([64, 128, 128, 16, 4, 3, 1])]));
  for (const M of ms) assert.ok(seeds.some((c) => configKey(c) === configKey(kernelFamily('moe-w4a16').defaultConfig({ ...shape, M }))));
  const a100 = enumerateSpace('moe-w4a16', 'default', { shape, ms, device: { ...H200, name: 'NVIDIA A100-SXM4-80GB', capability: [8, 0] } });
  assert.equal(seedConfigs('moe-w4a16', shape, ms, inSpace(a100)).filter((c) => (c as Record<string, number>).TMA === 1).length, 0);
  const odd = { ...shape, N: 208, group_size: -1 }; // the down GEMM's K = 208: rows of packed words not whole 16 bytes
  const oddSp = enumerateSpace('moe-w4a16', 'default', { shape: odd, ms, device: H200 });
  assert.equal(seedConfigs('moe-w4a16', odd, ms, inSpace(oddSp)).filter((c) => (c as Record<string, number>).TMA === 1).length, 0);
});
