import { UserError } from '../errors.js';

/** One machine's slice of the work: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

const INT = /^(0|[1-9]\d*)$/;

/** Parses `--shard i/n` (0 <= i < n); throws a UserError (exit 2) naming the bad value. */
export function parseShard(text: string): Shard {
  const m = /^\s*([^/\s]+)\s*\/\s*([^/\s]+)\s*$/.exec(text);
  if (!m || !INT.test(m[1]!) || !INT.test(m[2]!)) {
    throw new UserError(`--shard must look like i/n with whole numbers, e.g. 0/4; got ${JSON.stringify(text)}`);
  }
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UserError(`--shard ${text}: the shard count n must be at least 1`);
  if (index >= count) throw new UserError(`--shard ${text}: the index i must be in 0..${count - 1} (0-based)`);
  return { index, count };
}

/**
 * Environment variables that carry a shard index, in the order they are tried, with the variable
 * holding the count (when the platform has one):
 *   TRITUNE_SHARD                      "i/n" directly
 *   JOB_COMPLETION_INDEX               Kubernetes indexed Job (count: TRITUNE_SHARD_COUNT, required: the Job has no count variable)
 *   SLURM_ARRAY_TASK_ID                Slurm job array (count: SLURM_ARRAY_TASK_COUNT; index is offset by SLURM_ARRAY_TASK_MIN)
 *   CI_NODE_INDEX / CI_NODE_TOTAL      GitLab parallel jobs (1-based index)
 *   BUILDKITE_PARALLEL_JOB / _COUNT    Buildkite parallelism (0-based)
 *   CIRCLE_NODE_INDEX / CIRCLE_NODE_TOTAL  CircleCI parallelism (0-based)
 * The count can always be given (or overridden) by TRITUNE_SHARD_COUNT.
 */
const num = (env: NodeJS.ProcessEnv, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v.trim() === '') return undefined;
  if (!INT.test(v.trim())) throw new UserError(`${name}=${JSON.stringify(v)} is not a whole number (it sets the shard)`);
  return Number(v.trim());
};

const checked = (index: number, count: number | undefined, source: string): Shard => {
  if (count === undefined) {
    throw new UserError(`${source} gives shard index ${index} but no shard count; set TRITUNE_SHARD_COUNT or pass --shard i/n`);
  }
  return parseShard(`${index}/${count}`);
};

/** The shard this process should run, read from the environment; null when none of the variables is set. */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (env.TRITUNE_SHARD) return parseShard(env.TRITUNE_SHARD);
  const override = num(env, 'TRITUNE_SHARD_COUNT');
  const k8s = num(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) return checked(k8s, override, 'JOB_COMPLETION_INDEX');
  const slurm = num(env, 'SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) {
    const min = num(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    return checked(slurm - min, override ?? num(env, 'SLURM_ARRAY_TASK_COUNT'), 'SLURM_ARRAY_TASK_ID');
  }
  const gitlab = num(env, 'CI_NODE_INDEX');
  if (gitlab !== undefined) {
    if (gitlab < 1) throw new UserError(`CI_NODE_INDEX=${gitlab} must be 1-based`);
    return checked(gitlab - 1, override ?? num(env, 'CI_NODE_TOTAL'), 'CI_NODE_INDEX');
  }
  const bk = num(env, 'BUILDKITE_PARALLEL_JOB');
  if (bk !== undefined) return checked(bk, override ?? num(env, 'BUILDKITE_PARALLEL_JOB_COUNT'), 'BUILDKITE_PARALLEL_JOB');
  const circle = num(env, 'CIRCLE_NODE_INDEX');
  if (circle !== undefined) return checked(circle, override ?? num(env, 'CIRCLE_NODE_TOTAL'), 'CIRCLE_NODE_INDEX');
  return null;
}

/** `--shard` if given, else the environment, else the whole job (0/1). */
export function resolveShard(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (option !== undefined) return parseShard(option);
  return shardFromEnv(env) ?? { index: 0, count: 1 };
}

/** Whether item number `i` (of a deterministic, sorted list) belongs to this shard: round-robin. */
export const inShard = (shard: Shard, i: number): boolean => i % shard.count === shard.index;
