import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inShard, parseShard, resolveShard, shardFromEnv } from '../../src/runner/shard.js';
import { UserError } from '../../src/errors.js';

test('parseShard reads i/n with 0 <= i < n', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard(' 3 / 4 '), { index: 3, count: 4 });
  for (const bad of ['4/4', '1/0', '-1/4', '1.5/4', 'a/b', '1', '1/2/3', '', '01/4']) {
    assert.throws(() => parseShard(bad), (e: unknown) => e instanceof UserError && e.exitCode === 2 && !e.message.includes('\n'), bad);
  }
});

test('shardFromEnv reads Kubernetes, Slurm, GitLab, Buildkite and CircleCI variables', () => {
  assert.equal(shardFromEnv({}), null);
  assert.deepEqual(shardFromEnv({ TRITUNE_SHARD: '2/5' }), { index: 2, count: 5 });
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '3', TRITUNE_SHARD_COUNT: '8' }), { index: 3, count: 8 });
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }), /no shard count/);
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '8' }), { index: 4, count: 8 });
  assert.deepEqual(shardFromEnv({ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3' }), { index: 0, count: 3 });
  assert.deepEqual(shardFromEnv({ BUILDKITE_PARALLEL_JOB: '2', BUILDKITE_PARALLEL_JOB_COUNT: '3' }), { index: 2, count: 3 });
  assert.deepEqual(shardFromEnv({ CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }), { index: 0, count: 2 });
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: 'x' }), /SLURM_ARRAY_TASK_ID="x" is not a whole number/);
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '4' }), /index i must be in 0..3/);
});

test('resolveShard: the option wins over the environment; default is the whole job', () => {
  assert.deepEqual(resolveShard('1/2', { TRITUNE_SHARD: '0/3' }), { index: 1, count: 2 });
  assert.deepEqual(resolveShard(undefined, {}), { index: 0, count: 1 });
  const shards = [0, 1, 2].map((index) => ({ index, count: 3 }));
  for (let i = 0; i < 10; i++) assert.equal(shards.filter((s) => inShard(s, i)).length, 1, 'each item in exactly one shard');
});
