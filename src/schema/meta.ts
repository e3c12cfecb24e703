import { z } from 'zod';
import { Backend, Family, MKey } from './family.js';
import { DeviceInfo, Versions } from './device.js';
import { BlockQuant, ServerQuant } from './problem.js';
import { ServerProvenance } from './protocol.js';

/** What was measured for one M of a tuned-config file. */
export const MetaEntry = z.strictObject({
  /** Median µs of the chosen config. */
  us: z.number().positive(),
  /** Relative spread of its samples, (p90 - p10) / median. */
  spread: z.number().nonnegative(),
  /** Median µs of the family's default (untuned) config on the same GPU, null if it could not run. */
  default_us: z.number().positive().nullable(),
  /** Other measured baselines on the same GPU, µs by name (for example cublas_bf16). */
  baselines: z.record(z.string(), z.number().positive()).default({}),
  /** kept: the incumbent survived; replaced: a challenger won by more than --keep-within; new: no incumbent. */
  decision: z.enum(['new', 'kept', 'replaced']).default('new'),
  /** Number of (config, M) evaluations spent on this entry. */
  trials: z.number().int().nonnegative(),
  flops: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  measured_at: z.iso.datetime(),
});

/** The provenance sidecar `<name>.meta.json` written beside every tuned-config file. */
export const Meta = z.strictObject({
  schema_version: z.literal(1),
  family: Family,
  /** The weight shape this file is for (E only for MoE; group_size only for W4A16 families). */
  shape: z.strictObject({
    N: z.number().int().positive(),
    K: z.number().int().positive(),
    E: z.number().int().positive().optional(),
    group_size: z.number().int().optional(),
    /** Server MoE families: the layer's top_k and quantization; server block GEMMs: fp8 or int8, and the weight block. */
    top_k: z.number().int().positive().optional(),
    quant: z.union([ServerQuant, BlockQuant]).optional(),
    block_n: z.number().int().positive().optional(),
    block_k: z.number().int().positive().optional(),
  }),
  backend: Backend,
  /** Server families: the server, its version, where its code came from and the sha256 of the timed source. */
  server: ServerProvenance.optional(),
  /** Copied from the worker's hello: the sim backend sets this, and such files are refused by validate. */
  simulated: z.boolean(),
  device: DeviceInfo,
  /**
   * The compute roof for this family's math on this device, TFLOP/s (dense, nominal: int8 TOPS for w8a8-int8, fp8 for
   * w8a8-fp8, bf16/fp16 tensor-core peak for the W4A16 families). With device.hbm_GBps it gives the roofline
   * min(peak, hbm_GBps x flops/bytes) that `tune report` draws; absent or null: unknown (only the bandwidth roof is drawn).
   */
  peak_tflops: z.number().positive().nullable().optional(),
  versions: Versions,
  command: z.string(),
  created: z.iso.datetime(),
  updated: z.iso.datetime(),
  entries: z.record(MKey, MetaEntry),
});

export type MetaEntry = z.infer<typeof MetaEntry>;
export type Meta = z.infer<typeof Meta>;
