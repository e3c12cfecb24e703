import type { Backend, Family, ModelShapes, ServerQuant } from '../schema/index.js';
import { UserError } from '../errors.js';
import type { Shard } from './shard.js';

/** Everything `tune` was asked to do, validated and normalized by the CLI. */
export interface TuneOptions {
  model: ModelShapes;
  families: Family[];
  ms: number[];
  gpus: string[];
  backend: Backend;
  out: string;
  space: string;
  dryRun: boolean;
  json: boolean;
  shard: Shard;
  timeoutS: number;
  resume: boolean;
  strategy: string;
  budget?: number;
  keepWithin: number;
  groupSize: number;
  /** Server MoE families: the layers' quantization. */
  quant: ServerQuant;
  force: boolean;
  stateDir: string;
  compileWorkers: number;
  seed: number;
  /** The command line as typed, for sidecars and the resume hint. */
  command: string;
}

/**
 * A whole-number knob from the environment (TRITUNE_UNITS_PER_GPU and the like): `fallback` when unset or empty,
 * else at least `min`, or one line naming the variable.
 */
export function envCount(name: string, fallback: number, min = 1): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name}=${text}: give a whole number, ${min} or more`);
  return n;
}
