import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJobOf } from '../../src/runner/unit-compile.js';
import type { ShapeJob, Unit } from '../../src/runner/units.js';
import type { Family } from '../../src/schema/index.js';
import type { WeightShape } from '../../src/families/index.js';

const unit = (family: Family, shape: WeightShape, ms: number[]): Unit => ({
  id: `${family}#0`,
  job: { family, shape, key: `${family}-shape`, layers: [], ms, space: {} as ShapeJob['space'], incumbents: new Map() },
  ms,
  cost: 1,
});
const config = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };

test('a server family compiles every M of its unit in one job per (config, unit): binaries differ by M', () => {
  const moe: WeightShape = { N: 768, K: 2048, E: 128, top_k: 8, quant: 'bf16' } as WeightShape;
  const early = unit('sglang-moe', moe, [1, 2, 4, 8]);
  const later = unit('sglang-moe', moe, [16, 24, 32, 48]);
  const hint = compileJobOf(early, config, early.ms);
  const ask = compileJobOf(early, config, [2, 8]);
  assert.equal(ask.key, hint.key); // the hint's job serves the ask
  assert.deepEqual(ask.problems.map((p) => p.M), [1, 2, 4, 8]);
  const other = compileJobOf(later, config, [16]);
  assert.notEqual(other.key, hint.key); // another unit's Ms are compiled for it, not taken as done
  assert.deepEqual(other.problems.map((p) => p.M), [16, 24, 32, 48]);
});

test('a family whose binary serves every M compiles the asked Ms under one key for the config', () => {
  const dense: WeightShape = { N: 6144, K: 2560 } as WeightShape;
  const a = compileJobOf(unit('w8a8-int8', dense, [1, 2, 4]), { ...config, SPLIT_K: 1 }, [2]);
  const b = compileJobOf(unit('w8a8-int8', dense, [16, 24]), { ...config, SPLIT_K: 1 }, [24]);
  assert.equal(a.key, b.key);
  assert.deepEqual(a.problems.map((p) => p.M), [2]);
});
