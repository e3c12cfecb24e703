import { z } from 'zod';
import { Backend, Family } from './family.js';
import { DeviceInfo, Versions } from './device.js';

/**
 * The worker protocol: one JSON object per line on the worker's stdin/stdout, logs on stderr.
 * Mirrored in kernels/protocol.py; bump PROTOCOL_VERSION on any change to these shapes.
 */
export const PROTOCOL_VERSION = 2;

/** A config as sent to a worker: the family's config keys (validated by the family's entry schema). */
export const WireConfig = z.record(z.string(), z.number().int());

/** Faults the sim backend can inject, so the conductor's recovery paths can be tested on CPU. */
export const SimFault = z.enum(['hang', 'crash', 'illegal_address', 'compile_error', 'wrong_answer', 'shared_memory']);
export type SimFault = z.infer<typeof SimFault>;

/**
 * How a trial ended. ok: correct and timed. invalid: the config cannot run this problem (constraint,
 * out of resources). compile_error / wrong_answer: as named. timeout / crash: the worker hung or died
 * (set by the conductor, which kills and restarts the worker).
 */
export const TrialStatus = z.enum(['ok', 'invalid', 'compile_error', 'wrong_answer', 'timeout', 'crash']);
export type TrialStatus = z.infer<typeof TrialStatus>;

// ---- conductor -> worker

export const TrialRequest = z.strictObject({
  type: z.literal('trial'),
  id: z.string().min(1),
  family: Family,
  config: WireConfig,
  /** Problems of one weight shape (usually many M); the config is compiled once for all of them. */
  problems: z.array(z.record(z.string(), z.unknown())).min(1),
  /** Compare with the reference before timing (default true). */
  check: z.boolean().default(true),
  /** Timing effort: 'quick' for early rounds of a search, 'full' for finalists. */
  effort: z.enum(['quick', 'full']).default('full'),
  /** sim backend only: make this request fail in the named way. */
  fault: SimFault.optional(),
});

/** Compile only (CPU compile workers warm the shared Triton cache for the bench workers). */
export const CompileRequest = z.strictObject({
  type: z.literal('compile'),
  id: z.string().min(1),
  family: Family,
  config: WireConfig,
  problems: z.array(z.record(z.string(), z.unknown())).min(1),
});

export const ShutdownRequest = z.strictObject({ type: z.literal('shutdown') });

export const Request = z.discriminatedUnion('type', [TrialRequest, CompileRequest, ShutdownRequest]);

// ---- worker -> conductor

export const ServerProvenance = z.strictObject({
  name: z.string(),
  version: z.string(),
  /** 'installed' (imported), or 'pinned release' (loaded from the fetched sources). */
  origin: z.string(),
  /** Path in the server's package -> sha256 of the timed source. */
  sources: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
});
export type ServerProvenance = z.infer<typeof ServerProvenance>;

export const SourceHashes = z.strictObject({
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  /** Repository path -> sha256 of its contents. */
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  /** A family whose kernel is a server's: the server code its trials run (kernels/server_moe.py server_provenance),
   * and the folder of the tuned files its release ships, where the worker found one. */
  server: ServerProvenance.extend({ shipped: z.string().optional() }).optional(),
});
export type SourceHashes = z.infer<typeof SourceHashes>;

export const Hello = z.strictObject({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  worker_version: z.string(),
  backend: Backend,
  /** True for the sim backend: every number this worker sends is simulated. */
  simulated: z.boolean(),
  pid: z.number().int(),
  device: DeviceInfo,
  versions: Versions,
  /** Per family: the sha256 of every kernels/ source (and data) file its trials depend on under this backend,
   * and a digest over them (kernels/sources.py); the journal fingerprint holds the digest. */
  sources: z.record(z.string(), SourceHashes),
});

export const ProblemResult = z.strictObject({
  /** Index into the request's problems. */
  index: z.number().int().nonnegative(),
  status: TrialStatus,
  /** Median time per launch in microseconds (ok results on cuda/sim only). */
  us: z.number().positive().nullable(),
  /** Relative spread of the samples: (p90 - p10) / median. */
  spread: z.number().nonnegative().nullable(),
  samples: z.number().int().nonnegative().default(0),
  /** Largest error against the reference, in the family's own measure. */
  max_err: z.number().nullable().default(null),
  message: z.string().nullable().default(null),
});

export const TrialResult = z.strictObject({
  type: z.literal('result'),
  id: z.string(),
  simulated: z.boolean(),
  /** Wall time spent compiling (or loading from cache) the config, ms. */
  compile_ms: z.number().nonnegative().nullable(),
  /** Wall time of the whole request on the worker, ms. */
  wall_ms: z.number().nonnegative(),
  /** Of wall_ms, the time spent in the timed GPU region (replays), ms; 0 when nothing was timed. */
  timed_ms: z.number().nonnegative().default(0),
  results: z.array(ProblemResult),
});

export const Compiled = z.strictObject({
  type: z.literal('compiled'),
  id: z.string(),
  status: z.enum(['ok', 'invalid', 'compile_error']),
  compile_ms: z.number().nonnegative(),
  message: z.string().nullable().default(null),
  /** The status holds for every M of the request (a binary over the device's shared memory, in a family whose shared
   * memory does not depend on M): the conductor records those trials without measuring them. */
  every_m: z.boolean().default(false),
});

/** A request the worker could not parse or serve; the worker goes on. */
export const WorkerError = z.strictObject({
  type: z.literal('error'),
  id: z.string().nullable(),
  message: z.string(),
});

export const Response = z.discriminatedUnion('type', [Hello, TrialResult, Compiled, WorkerError]);

export type TrialRequest = z.input<typeof TrialRequest>;
export type CompileRequest = z.input<typeof CompileRequest>;
export type Request = z.input<typeof Request>;
export type Hello = z.infer<typeof Hello>;
export type ProblemResult = z.infer<typeof ProblemResult>;
export type TrialResult = z.infer<typeof TrialResult>;
export type Compiled = z.infer<typeof Compiled>;
export type WorkerError = z.infer<typeof WorkerError>;
export type Response = z.infer<typeof Response>;
