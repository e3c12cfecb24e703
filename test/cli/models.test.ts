import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelShapes } from '../../src/schema/index.js';
import { FIXTURES, tune } from './run-cli.js';

test('models --json prints a valid model-shapes file per preset', () => {
  const r = tune(['models', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const all = JSON.parse(r.stdout) as unknown[];
  assert.equal(all.length, 9);
  for (const m of all) assert.ok(ModelShapes.safeParse(m).success);
});

test('models <config.json> --tp 2 --json round-trips through a shapes file', () => {
  const r = tune(['models', join(FIXTURES, 'hf', 'Qwen3-4B', 'config.json'), '--tp', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const shapes = ModelShapes.parse(JSON.parse(r.stdout));
  assert.deepEqual(shapes.dense.map((d) => `${d.N}x${d.K}`), ['3072x2560', '2560x2048', '9728x2560', '2560x4864']);
});

test('models prints a table per model', () => {
  const r = tune(['models', 'mixtral-8x7b']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Mixtral-8x7B \(tp 1\)/);
  assert.match(r.stdout, /experts\.gate_up\s*│\s*moe up\s*│\s*8\s*│\s*28672\s*│\s*4096\s*│\s*2/);
  assert.match(r.stdout, /experts\s*│\s*moe layer \(tuned\)\s*│\s*8\s*│\s*14336\s*│\s*4096\s*│\s*2/);
});
