import type { Writable } from 'node:stream';

/**
 * How a run reports while it works: a redrawn bar on a TTY (stderr), plain lines every few seconds
 * otherwise, or NDJSON events on stdout with --json (plan, trial, progress, gpu, file, note, done).
 */
export type ProgressMode = 'tty' | 'plain' | 'json';

export interface GpuView {
  index: number;
  device: string;
  state: string;
  /** What the GPU is on: the unit's label, e.g. "N=6144,K=2560 M 1-16". */
  doing?: string;
}

export interface Counts {
  done: number;
  total: number;
  failed: number;
  /** Trials answered from the journal (a resumed run), part of done. */
  resumed: number;
}

export class Progress {
  private counts: Counts = { done: 0, total: 0, failed: 0, resumed: 0 };
  private gpus = new Map<number, GpuView>();
  private started = Date.now();
  /** The plan's estimate of the run's seconds (null: none), the ETA's prior until the run's own rate is known. */
  private estimatedSeconds: number | null = null;
  private lastDraw = 0;
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly mode: ProgressMode,
    private readonly out: Writable = mode === 'json' ? process.stdout : process.stderr,
    /** Milliseconds between plain lines (TTY redraws are throttled to 10 per second). */
    private readonly plainEveryMs = 5000,
    private readonly label = '',
  ) {
    out.on('error', () => {}); // a closed pipe (| head) must not crash the run; the journal keeps the results
  }

  /** Emits a structured event (only --json prints it; the others keep their own rendering). */
  event(type: string, body: Record<string, unknown>): void {
    if (this.mode === 'json') this.out.write(JSON.stringify({ event: type, ...body }) + '\n');
  }

  /** A line for humans (not in --json mode, where the same fact comes as an event). */
  note(text: string): void {
    if (this.mode === 'json') return this.event('note', { message: text });
    this.clear();
    this.out.write(`${text}\n`);
    if (this.running) this.draw(true);
  }

  /** Between start() and stop(): only then is a bar drawn. */
  get running(): boolean {
    return this.timer !== null;
  }

  start(total: number, resumed: number, estimatedSeconds: number | null = null): void {
    this.counts = { done: resumed, total, failed: 0, resumed };
    this.started = Date.now();
    this.estimatedSeconds = estimatedSeconds;
    this.timer = setInterval(() => this.draw(false), this.mode === 'tty' ? 500 : this.plainEveryMs);
    this.timer.unref();
    this.draw(true);
  }

  get total(): number {
    return this.counts.total;
  }

  /** The total can grow or shrink as strategies learn how many trials they need. */
  setTotal(total: number): void {
    this.counts.total = Math.max(total, this.counts.done);
  }

  trials(n: number, failed: number, detail?: Record<string, unknown>): void {
    this.counts.done += n;
    this.counts.failed += failed;
    if (detail) this.event('trial', detail);
    if (this.mode === 'json') this.event('progress', { ...this.counts, eta_s: this.etaSeconds() });
    else this.draw(false);
  }

  gpu(view: GpuView): void {
    this.gpus.set(view.index, { ...this.gpus.get(view.index), ...view }); // a state change keeps the unit shown
    this.event('gpu', { ...view });
  }

  /**
   * Seconds left: at the rate of this run's own (not resumed) trials, blended with the plan's estimate less the time
   * spent while few trials are in (the first ones wait for compiles, so their rate alone says hours for a run of a
   * minute or two); the rate alone once a quarter of the fresh trials are done. Null with neither.
   */
  etaSeconds(): number | null {
    const { done, resumed, total } = this.counts;
    const fresh = done - resumed;
    const elapsed = (Date.now() - this.started) / 1000;
    const byRate = fresh > 0 ? Math.max(0, (total - done) / (fresh / elapsed)) : null;
    const byPlan = this.estimatedSeconds === null ? null : Math.max(0, this.estimatedSeconds - elapsed);
    if (byPlan === null) return byRate === null ? null : Math.round(byRate);
    if (byRate === null) return Math.round(byPlan);
    const trust = Math.min(1, fresh / Math.max(1, 0.25 * (total - resumed)));
    return Math.round(trust * byRate + (1 - trust) * byPlan);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  private line(): string {
    const c = this.counts;
    const pct = c.total ? Math.min(100, Math.floor((100 * c.done) / c.total)) : 0;
    const eta = this.etaSeconds();
    return `${this.label}trials ${c.done}/${c.total} (${pct}%)  failed ${c.failed}  ETA ${eta === null ? '--' : formatSeconds(eta)}`;
  }

  private draw(force: boolean): void {
    if (this.mode === 'json' || !this.running) return;
    const now = Date.now();
    if (this.mode === 'plain') {
      if (!force && now - this.lastDraw < this.plainEveryMs) return;
      this.lastDraw = now;
      const gpus = [...this.gpus.values()].map((g) => `gpu${g.index}:${g.state}`).join(' ');
      this.out.write(`${this.line()}${gpus ? `  ${gpus}` : ''}\n`);
      return;
    }
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.clear();
    const c = this.counts;
    const width = 30;
    const filled = c.total ? Math.min(width, Math.round((width * c.done) / c.total)) : 0;
    const lines = [`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}`];
    for (const g of [...this.gpus.values()].sort((a, b) => a.index - b.index)) {
      lines.push(`  gpu${g.index} (${g.device}) ${g.state}${g.doing ? `  ${g.doing}` : ''}`);
    }
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Erases the bar drawn last (TTY only). */
  private clear(): void {
    if (this.mode !== 'tty' || this.drawn === 0) return;
    this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The mode for this process: --json wins, then whether stderr is a terminal. */
export const progressMode = (json: boolean, stream: { isTTY?: boolean } = process.stderr): ProgressMode =>
  json ? 'json' : stream.isTTY ? 'tty' : 'plain';
