import PQueue from 'p-queue';
import type { Family } from '../schema/index.js';
import { WorkerProcess, type WorkerSpec } from './worker.js';

/**
 * CPU compile workers: they compile configs the bench workers will soon need into the shared Triton
 * cache, so a GPU loads a binary (~7 ms) instead of waiting on the compiler (~0.4 s). Bounded: each unit
 * prefetches a few asks ahead, and a prefetch that has not started when its trial comes is dropped.
 * Compile failures are not recorded: the bench trial meets the same error and records it.
 */
export interface CompileJob {
  key: string;
  family: Family;
  config: Record<string, number>;
  problems: Array<Record<string, unknown>>;
}

interface Entry {
  abort: AbortController;
  speculative: boolean;
  started: boolean;
  finished: boolean;
  done: Promise<void>;
}

/** Where a config's compile stands: not asked, queued, compiling, or in the cache. */
export type CompileState = 'none' | 'queued' | 'running' | 'done';

export class CompilePool {
  private readonly queue: PQueue;
  private readonly idle: WorkerProcess[] = [];
  private readonly live = new Set<WorkerProcess>();
  private readonly entries = new Map<string, Entry>();
  /** Workers started by warm() and not yet handed to a compile. */
  private readonly starting: Array<Promise<WorkerProcess | null>> = [];
  private workers = 0;
  private startFailures = 0;
  private stopped = false;
  /** Compiles finished (for the run summary), and ms the bench workers waited on one in flight. */
  compiled = 0;
  waitedMs = 0;
  /** Why a compile job's config fails at every M of it (the compile worker's every_m answers), by job key. */
  private readonly refusals = new Map<string, string>();
  /** Configs refused so, for the run summary. */
  refused = 0;

  constructor(
    private readonly size: number,
    private readonly makeSpec: (i: number) => WorkerSpec,
    private readonly timeoutMs: number,
  ) {
    this.queue = new PQueue({ concurrency: Math.max(1, size) });
  }

  get enabled(): boolean {
    return this.size > 0 && !this.stopped && this.startFailures < 3;
  }

  /** Starts every compile worker now (they take a second or two to import), so the first compiles find them. */
  warm(): void {
    if (!this.enabled) return;
    for (let i = this.workers; i < this.size; i++) this.starting.push(this.startWorker());
  }

  /**
   * Queues a compile for a config unless one is queued, running or done. A speculative compile (a config a
   * unit may ask later) only runs when no asked one waits; asking for a queued speculative one promotes it.
   */
  prefetch(job: CompileJob, speculative = false): void {
    if (!this.enabled) return;
    const had = this.entries.get(job.key);
    if (had && !(had.speculative && !had.started && !speculative)) return;
    had?.abort.abort();
    const abort = new AbortController();
    const entry: Entry = { abort, started: false, finished: false, speculative, done: Promise.resolve() };
    entry.done = this.queue
      .add(
        async () => {
          entry.started = true;
          await this.compile(job);
        },
        { signal: abort.signal, priority: speculative ? 0 : 1 },
      )
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (entry.finished = true));
    this.entries.set(job.key, entry);
  }

  /** Drops a speculative compile that has not started (the hint that queued it went stale). */
  cancel(key: string): void {
    const e = this.entries.get(key);
    if (!e || !e.speculative || e.started) return;
    e.abort.abort();
    this.entries.delete(key);
  }

  /** The message of a compile job whose config fails at every M of it (found by its compile worker), else null. */
  refusal(key: string): string | null {
    return this.refusals.get(key) ?? null;
  }

  state(key: string): CompileState {
    const e = this.entries.get(key);
    return !e ? 'none' : e.finished ? 'done' : e.started ? 'running' : 'queued';
  }

  /** Resolves when the first of these compiles ends (immediately when none is running). */
  async firstDone(keys: string[]): Promise<void> {
    const running = keys.map((k) => this.entries.get(k)).filter((e): e is Entry => !!e && e.started && !e.finished);
    if (running.length === 0) return;
    const t0 = Date.now();
    await Promise.race(running.map((e) => e.done));
    this.waitedMs += Date.now() - t0;
  }

  /** Before a bench request: wait for this config's compile if it is running; drop it if still queued. */
  async ready(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (!entry.started) {
      entry.abort.abort();
      this.entries.delete(key);
      return;
    }
    const t0 = Date.now();
    await entry.done;
    this.waitedMs += Date.now() - t0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    for (const e of this.entries.values()) if (!e.started) e.abort.abort();
    const started = await Promise.all(this.starting.splice(0));
    await Promise.all([...this.idle.splice(0), ...started.filter((w): w is WorkerProcess => !!w)].map((w) => w.stop(500)));
  }

  /** Kills every compile worker now (Ctrl-C). */
  kill(): void {
    this.stopped = true;
    this.queue.clear();
    for (const w of this.live) w.kill();
  }

  private async compile(job: CompileJob): Promise<void> {
    if (this.stopped) return;
    const worker = this.idle.pop() ?? (this.starting.length ? await this.starting.shift()! : null) ?? (await this.startWorker());
    if (!worker) return;
    const got = await worker.request({ type: 'compile', family: job.family, config: job.config, problems: job.problems }, this.timeoutMs);
    if (got.ok && (got.value.type === 'compiled' || got.value.type === 'error')) {
      this.compiled += got.value.type === 'compiled' ? 1 : 0;
      if (got.value.type === 'compiled' && got.value.every_m && got.value.status !== 'ok') {
        this.refusals.set(job.key, got.value.message ?? got.value.status);
        this.refused++;
      }
      if (this.stopped) worker.kill();
      else this.idle.push(worker);
    } else {
      worker.kill(); // hung or died: a fresh one is started for the next job
      this.live.delete(worker);
    }
  }

  private async startWorker(): Promise<WorkerProcess | null> {
    if (this.startFailures >= 3) return null;
    const w = new WorkerProcess(this.makeSpec(this.workers++));
    this.live.add(w); // before its hello, so kill() takes a worker still starting too
    const hello = await w.start();
    if (hello.ok && !this.stopped) return w;
    this.live.delete(w);
    if (hello.ok) w.kill();
    else this.startFailures++;
    return null;
  }
}
