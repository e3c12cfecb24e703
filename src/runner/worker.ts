import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Response, type CompileRequest, type Hello, type TrialRequest } from '../schema/index.js';
import { explainStartFailure, type WorkerFailure } from './classify.js';

/** How to launch one worker process. */
export interface WorkerSpec {
  /** argv[0]; default $TRITUNE_PYTHON or python3. */
  python: string;
  /** Script and its arguments, e.g. ['kernels/worker.py', '--backend', 'sim']. */
  args: string[];
  env: Record<string, string>;
  /** How long the hello may take (torch import + CUDA init), ms. */
  startTimeoutMs: number;
  /** Prefix for stderr lines the user sees with TRITUNE_DEBUG, e.g. "gpu1". */
  label: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: WorkerFailure };

/** The kernels/ folder: $TRITUNE_KERNELS, else beside the package (dist/src/runner -> ../../..), else ./kernels. */
export function kernelsDir(): string {
  if (process.env.TRITUNE_KERNELS) return resolve(process.env.TRITUNE_KERNELS);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'kernels', 'worker.py'))) return join(dir, 'kernels');
    dir = dirname(dir);
  }
  return resolve('kernels');
}

export const defaultPython = (): string => process.env.TRITUNE_PYTHON || 'python3';

const STDERR_TAIL = 40;

/** A request written to the worker and not yet answered. Its timer runs only while the worker works on it. */
interface Pending {
  id: string | null;
  settle: (o: Outcome<Response>) => void;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * One long-lived worker process speaking the line protocol, every line validated with zod. The worker answers
 * its requests one after another, in order; several may be written ahead, so that it starts the next as soon
 * as it has answered one (the caller's own work between them is hidden). It runs in its own process group so a
 * kill takes its children (compilers) along. Every method returns failures as values; nothing here throws on a
 * misbehaving worker.
 */
export class WorkerProcess {
  hello: Hello | null = null;
  private child: ResultPromise | null = null;
  private stderrTail: string[] = [];
  /** Oldest first; the first is the one the worker is working on. */
  private pending: Pending[] = [];
  private dead: WorkerFailure | null = null;
  private seq = 0;

  constructor(readonly spec: WorkerSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the worker wrote to stderr. */
  stderr(): string {
    return this.stderrTail.join('\n');
  }

  /** Starts the process and waits for its hello. */
  async start(): Promise<Outcome<Hello>> {
    let child: ResultPromise;
    try {
      child = execa(this.spec.python, this.spec.args, {
        env: { ...process.env, PYTHONUNBUFFERED: '1', ...this.spec.env },
        extendEnv: false,
        detached: true,
        cleanup: true,
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        buffer: false,
        reject: false,
      });
    } catch (err) {
      return this.startFailed(String(err));
    }
    this.child = child;
    const helloP = new Promise<Outcome<Response>>((settle) => this.pending.push({ id: null, settle, timeoutMs: 0 }));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      if (process.env.TRITUNE_DEBUG) process.stderr.write(`[${this.spec.label}] ${line}\n`);
    });
    child.stdin!.on('error', () => {}); // EPIPE after the worker died: reported through the exit below
    void child.then((r) => this.onExit(r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`));
    const first = await withTimeout(helloP, this.spec.startTimeoutMs);
    if (first === null) {
      this.kill();
      return this.startFailed(`no hello within ${Math.round(this.spec.startTimeoutMs / 1000)} s`);
    }
    if (!first.ok) return this.startFailed(first.failure.message);
    if (first.value.type !== 'hello') {
      this.kill();
      return this.startFailed(`first message was ${first.value.type}, not hello`);
    }
    this.hello = first.value;
    return { ok: true, value: first.value };
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Sends one request (an id is added) and waits for the answer with that id. The worker may take at most
   * timeoutMs on it, counted from when it starts on it (when the requests written before it are answered).
   * A request the worker never started because it failed first comes back as an `aborted` failure.
   */
  async request(req: Omit<TrialRequest, 'id'> | Omit<CompileRequest, 'id'>, timeoutMs: number): Promise<Outcome<Response>> {
    if (this.dead || !this.child) return { ok: false, failure: notStarted(this.dead ?? { kind: 'died', message: 'worker not started' }) };
    const id = `${this.spec.label}-${++this.seq}`;
    const answer = new Promise<Outcome<Response>>((settle) => this.pending.push({ id, settle, timeoutMs }));
    if (this.pending.length === 1) this.startTimer();
    this.child.stdin!.write(JSON.stringify({ ...req, id }) + '\n');
    return answer;
  }

  /** The request at the head of the line is the one the worker works on: its timeout starts now. */
  private startTimer(): void {
    const head = this.pending[0];
    if (!head || head.id === null) return;
    head.timer = setTimeout(() => {
      if (this.pending[0] !== head) return;
      const failure: WorkerFailure = { kind: 'timeout', message: `no answer within ${(head.timeoutMs / 1000).toFixed(1)} s` };
      this.dead = failure;
      this.kill();
      this.settle(failure);
    }, head.timeoutMs);
  }

  /** Asks the worker to exit, then kills its process group if it has not after graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || this.dead) return this.kill();
    try {
      child.stdin!.end(JSON.stringify({ type: 'shutdown' }) + '\n');
    } catch {
      // already closed
    }
    const exited = await withTimeout(child.then(() => true), graceMs);
    if (exited === null) this.kill();
  }

  /** SIGKILL to the whole process group (the worker and anything it spawned). */
  kill(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.protocolError(`not JSON: ${line.slice(0, 120)}`);
    }
    const msg = Response.safeParse(parsed);
    if (!msg.success) {
      const issue = msg.error.issues[0];
      return this.protocolError(`bad message (${issue?.path.join('.') || 'root'}: ${issue?.message}): ${line.slice(0, 120)}`);
    }
    const p = this.pending[0];
    const id = 'id' in msg.data ? msg.data.id : null;
    if (!p) return this.protocolError(`unexpected ${msg.data.type} message with nothing in flight`);
    if (p.id !== null && id !== null && id !== p.id) return this.protocolError(`answer for ${id} while waiting for ${p.id}`);
    this.pending.shift();
    clearTimeout(p.timer);
    this.startTimer();
    p.settle({ ok: true, value: msg.data });
  }

  /** A garbage line is a worker failure: the worker is killed and restarted by its owner. */
  private protocolError(message: string): void {
    const failure: WorkerFailure = { kind: 'protocol', message };
    this.dead = failure;
    this.kill();
    this.settle(failure);
  }

  private onExit(how: string): void {
    if (!this.dead) {
      const last = this.stderrTail.filter((l) => l.trim()).pop();
      this.dead = { kind: 'died', message: `worker exited (${how})${last ? `: ${last.slice(0, 200)}` : ''}` };
    }
    this.settle(this.dead);
  }

  /** The worker failed: the request it was working on gets the failure, the ones behind it `aborted`. */
  private settle(failure: WorkerFailure): void {
    const [head, ...rest] = this.pending.splice(0);
    for (const p of [head, ...rest]) clearTimeout(p?.timer);
    head?.settle({ ok: false, failure });
    for (const p of rest) p.settle({ ok: false, failure: notStarted(failure) });
  }

  private startFailed(message: string): Outcome<Hello> {
    const explained = explainStartFailure(`${this.stderr()}\n${message}`, this.spec.python);
    return { ok: false, failure: { kind: 'start', message: explained } };
  }
}

/** The failure of a request the worker never started, because it had failed (or failed on the one before). */
const notStarted = (cause: WorkerFailure): WorkerFailure => ({ kind: 'aborted', message: `not started: ${cause.message}` });

/** Resolves to the promise's value, or null after ms. */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
