import type { Backend, Family, ModelShapes, ServerQuant } from '../schema/index.js';
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
