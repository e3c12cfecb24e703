import { z } from 'zod';

/** What a worker reports about the GPU it is pinned to (or what the simulator pretends to be). */
export const DeviceInfo = z.strictObject({
  name: z.string().min(1),
  capability: z.tuple([z.number().int(), z.number().int()]),
  sm_count: z.number().int().positive(),
  /** Largest shared memory one block may opt into, in bytes. */
  shared_mem_per_block: z.number().int().positive(),
  l2_bytes: z.number().int().nonnegative(),
  /** Total device memory in bytes. */
  memory_bytes: z.number().int().nonnegative(),
  /** Peak HBM bandwidth the roofline uses, GB/s (read + write), measured or nominal; null if unknown. */
  hbm_GBps: z.number().positive().nullable(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

export const Versions = z.strictObject({
  python: z.string(),
  triton: z.string().nullable(),
  torch: z.string().nullable(),
  driver: z.string().nullable(),
  cuda: z.string().nullable(),
});
export type Versions = z.infer<typeof Versions>;
