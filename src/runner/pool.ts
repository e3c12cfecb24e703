import PQueue from 'p-queue';
import type { Hello, TrialRequest, TrialResult, TrialStatus } from '../schema/index.js';
import { classifyMessage, statusOfWorkerFailure, type WorkerFailure } from './classify.js';
import { envCount } from './options.js';
import { WorkerProcess, type Outcome, type WorkerSpec } from './worker.js';

/** After this many failed starts in a row a GPU is given up (the run goes on with the others). */
export const MAX_START_FAILURES = 3;

/**
 * Trial requests written ahead to a bench worker. With two, the worker starts the next trial as soon as it has
 * answered one, while the conductor records that answer and the unit picks its next config.
 */
export const BENCH_PIPELINE = 2;
const pipelineDepth = (): number => envCount('TRITUNE_BENCH_PIPELINE', BENCH_PIPELINE);

export type GpuState = 'starting' | 'idle' | 'busy' | 'restarting' | 'gone';

/** What a bench request came back as: the worker's result, or a failure recorded for every problem in it. */
export type BenchOutcome =
  | { ok: true; result: TrialResult; restarted: boolean }
  | { ok: false; status: TrialStatus; message: string; restarted: boolean };

export interface GpuEvents {
  onState?(gpu: number, state: GpuState, note?: string): void;
  onHello?(gpu: number, hello: Hello): void;
}

/**
 * One bench worker pinned to a GPU (one slot per GPU, or several sharing its `activity` with
 * TRITUNE_WORKERS_PER_GPU), restarted after a timeout, a crash, garbage on stdout or a sticky CUDA error; given up
 * after MAX_START_FAILURES failed starts in a row.
 */
export class GpuSlot {
  state: GpuState = 'starting';
  worker: WorkerProcess | null = null;
  hello: Hello | null = null;
  restarts = 0;
  lastFailure: string | null = null;
  /** Sums over finished requests, for the busy fraction and ms per trial. */
  wallMs = 0;
  timedMs = 0;
  /** Of wallMs, the first launches of configs (compiling them here, or loading a compile worker's binary). */
  firstLaunchMs = 0;
  problems = 0;
  private startFailures = 0;

  constructor(
    readonly index: number,
    readonly device: string,
    private readonly makeSpec: (device: string, index: number) => WorkerSpec,
    private readonly events: GpuEvents = {},
    /** Shared by the slots (bench workers) of one GPU. */
    readonly activity: GpuActivity = new GpuActivity(),
  ) {}

  /** Starts the worker if none runs (one start at a time, whoever asks); false once the GPU is given up. */
  ensure(): Promise<boolean> {
    this.starting ??= this.startWorker().finally(() => (this.starting = null));
    return this.starting;
  }

  private starting: Promise<boolean> | null = null;

  private async startWorker(): Promise<boolean> {
    while (!this.worker) {
      if (this.state === 'gone') return false;
      const w = new WorkerProcess(this.makeSpec(this.device, this.index));
      const hello = await w.start();
      if (hello.ok) {
        this.worker = w;
        this.hello = hello.value;
        this.startFailures = 0;
        this.events.onHello?.(this.index, hello.value);
        this.setState('idle');
        return true;
      }
      this.lastFailure = hello.failure.message;
      if (++this.startFailures >= MAX_START_FAILURES) {
        this.setState('gone', hello.failure.message);
        return false;
      }
      this.setState('restarting', hello.failure.message);
    }
    return true;
  }

  /**
   * Runs one trial request. Several units share this worker (so one waiting on the compiler does not idle it),
   * and up to BENCH_PIPELINE (TRITUNE_BENCH_PIPELINE) of their requests are written ahead; the worker runs them one
   * at a time. A worker that dies is restarted and the request retried once (the death may not be this config's
   * fault); a hang is not retried (it costs a whole timeout and is usually the config's). A request the worker
   * never started, because the one before it killed the worker, is sent again to the new worker.
   */
  bench(req: Omit<TrialRequest, 'id'>, timeoutMs: number): Promise<BenchOutcome> {
    return this.line.add(() => this.benchNow(req, timeoutMs));
  }

  private readonly line = new PQueue({ concurrency: pipelineDepth() });

  /** Sends one request to this slot's worker now; retries through restarts. */
  private async benchNow(req: Omit<TrialRequest, 'id'>, timeoutMs: number): Promise<BenchOutcome> {
    let restarted = false;
    for (let attempt = 0, aborted = 0; ; ) {
      if (!(await this.ensure())) return { ok: false, status: 'crash', message: `GPU ${this.device} gone: ${this.lastFailure}`, restarted };
      const worker = this.worker!;
      this.activity.sent();
      this.setState('busy');
      const got = await worker.request({ ...req, type: 'trial' }, timeoutMs).finally(() => this.activity.answered());
      if (got.ok && got.value.type === 'result') {
        const result = got.value;
        this.wallMs += result.wall_ms;
        this.timedMs += result.timed_ms;
        this.firstLaunchMs += result.compile_ms ?? 0;
        this.problems += req.problems.length;
        if (result.results.some((r) => r.message && classifyMessage(r.message).sticky)) {
          this.retire(worker, { kind: 'died', message: 'sticky CUDA error' });
          restarted = true;
        } else this.settled();
        return { ok: true, result, restarted };
      }
      const failure: WorkerFailure = got.ok
        ? got.value.type === 'error'
          ? { kind: 'protocol', message: `worker error: ${got.value.message}` }
          : { kind: 'protocol', message: `answered ${got.value.type} to a trial` }
        : got.failure;
      if (got.ok && got.value.type === 'error') {
        // The worker refused the request but is alive: a failed trial, the worker stays.
        this.settled();
        return { ok: false, status: classifyMessage(got.value.message).status, message: got.value.message, restarted };
      }
      this.retire(worker, failure);
      restarted = true;
      // Never run (the request before it failed): not this config's doing, so not an attempt. Bounded all the same.
      if (failure.kind === 'aborted' && ++aborted <= MAX_START_FAILURES) continue;
      // A death with a sticky CUDA error on stderr (illegal address, ...) is this config's doing: no retry.
      const sticky = failure.kind === 'died' && classifyMessage(failure.message).sticky;
      if (failure.kind !== 'died' || sticky || attempt++ >= 1) {
        return { ok: false, status: statusOfWorkerFailure(failure), message: failure.message, restarted };
      }
    }
  }

  /** A request finished and the worker stays: idle unless another is in flight. */
  private settled(): void {
    if (!this.worker?.inFlight) this.setState('idle');
  }

  /** The worker failed (seen by whichever of its requests came back first): restarted once, not per request. */
  private retire(worker: WorkerProcess, failure: WorkerFailure): void {
    if (this.worker === worker) this.restart(failure);
  }

  /** Kills the worker; the next request starts a fresh one. */
  restart(failure: WorkerFailure): void {
    this.lastFailure = failure.message;
    this.worker?.kill();
    this.worker = null;
    this.restarts++;
    this.setState('restarting', failure.message);
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    await w?.stop();
    if (this.state !== 'gone') this.setState('idle');
  }

  kill(): void {
    this.worker?.kill();
  }

  private setState(state: GpuState, note?: string): void {
    if (this.state === 'gone') return;
    this.state = state;
    this.events.onState?.(this.index, state, note);
  }
}

/** Requests at the bench workers of one GPU, and the time none had one. */
export class GpuActivity {
  /** ms with no request at any of the GPU's workers between the first request and the last answer: no unit had a trial ready. */
  starvedMs = 0;
  private inFlight = 0;
  private idleSince: number | null = null;

  sent(): void {
    if (this.inFlight++ === 0 && this.idleSince !== null) this.starvedMs += performance.now() - this.idleSince;
  }

  answered(): void {
    if (--this.inFlight === 0) this.idleSince = performance.now();
  }
}

/** Spec of a worker for one GPU: CUDA_VISIBLE_DEVICES pinned, even for the simulator. */
export function benchSpec(opts: { python: string; script: string; backend: string; startTimeoutMs: number; env?: Record<string, string> }) {
  return (device: string, index: number): WorkerSpec => ({
    python: opts.python,
    args: [opts.script, '--backend', opts.backend],
    env: { ...opts.env, CUDA_VISIBLE_DEVICES: device },
    startTimeoutMs: opts.startTimeoutMs,
    label: `gpu${index}`,
  });
}

export type { Outcome };
