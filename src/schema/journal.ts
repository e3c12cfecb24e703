import { z } from 'zod';
import { Backend, Family } from './family.js';
import { DeviceInfo } from './device.js';
import { TrialStatus, WireConfig } from './protocol.js';

/**
 * What makes two runs comparable: trials of one run may be reused by another only when all of these match.
 * Resuming with a different fingerprint is refused, naming both values.
 */
export const Fingerprint = z.strictObject({
  family: Family,
  /** Name of the space, or the sha256 of a space file's contents. */
  space: z.string(),
  device: z.string(),
  triton: z.string().nullable(),
  worker_version: z.string(),
  backend: Backend,
  /** Digest of the kernels/ sources the family's trials depend on (the worker's hello; kernels/sources.py). Absent
   * in journals written before it was recorded: those are refused like any other mismatch. */
  sources: z.string().optional(),
});
export type Fingerprint = z.infer<typeof Fingerprint>;

/** First line of a journal. */
export const JournalHeader = z.strictObject({
  type: z.literal('header'),
  journal_version: z.literal(1),
  fingerprint: Fingerprint,
  device: DeviceInfo.optional(),
  /** The files behind fingerprint.sources (repository path -> sha256), so a refusal can name what changed. */
  source_files: z.record(z.string(), z.string()).optional(),
  /**
   * Shape key -> that weight shape's worker problem fields without M (the family's problem schema in
   * src/schema/formats.ts checks them on replay). Written by scripts/record_journal.py, so an offline replay
   * rebuilds each shape exactly (a MoE key leaves out top_k and gemm); `tune` journals do without.
   */
  shapes: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]))).optional(),
  command: z.string(),
  created: z.iso.datetime(),
});

/** One finished (config, problem) measurement, appended as soon as the worker answers. */
export const JournalTrial = z.strictObject({
  type: z.literal('trial'),
  /** Weight-shape key, for example "N=6144,K=2560" (see store/naming). */
  shape: z.string(),
  M: z.number().int().positive(),
  config: WireConfig,
  effort: z.enum(['quick', 'full']),
  status: TrialStatus,
  us: z.number().positive().nullable(),
  spread: z.number().nonnegative().nullable(),
  /** Which GPU (index into --gpus) measured it. */
  gpu: z.number().int().nonnegative(),
  message: z.string().nullable().default(null),
  at: z.iso.datetime(),
});

export const JournalRecord = z.discriminatedUnion('type', [JournalHeader, JournalTrial]);
export type JournalHeader = z.infer<typeof JournalHeader>;
export type JournalTrial = z.infer<typeof JournalTrial>;
export type JournalRecord = z.infer<typeof JournalRecord>;
