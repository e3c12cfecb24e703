import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, tune, type CliRun } from './run-cli.js';

/** A small w8a8 space (96 configs) so a sim run over two shapes takes about a second. */
export const SMALL_SPACE = {
  family: 'w8a8-int8',
  axes: {
    BLOCK_SIZE_M: [16, 64, 128],
    BLOCK_SIZE_N: [64, 128],
    BLOCK_SIZE_K: [128, 256],
    GROUP_SIZE_M: [8],
    num_warps: [4, 8],
    num_stages: [3, 4],
    SPLIT_K: [1, 2],
  },
};

/** Two shapes x 7 Ms: 2 units per shape (at most 5 Ms a unit), 4 units for 3 simulated GPUs. */
export const BASE_ARGS = ['--shapes', '6144x2560,2560x4096', '--kernel', 'w8a8-int8', '--backend', 'sim', '--batch-sizes', '1,4,16,64,128,512,1024', '--space', 'space.json', '--state', 'st', '--out', 'out'];

/** Pinned clock, so two runs over the same results write byte-identical sidecars. */
export const ENV = { SOURCE_DATE_EPOCH: '1700000000', TRITUNE_SIM_DELAY_MS: '0' };

/** A fresh working folder holding space.json; runs use relative paths so their command lines are identical. */
export function workdir(prefix = 'tune-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'space.json'), JSON.stringify(SMALL_SPACE));
  return dir;
}

export const runSync = (cwd: string, args: string[], env: Record<string, string> = {}): CliRun => tune(args, { cwd, env: { ...ENV, ...env } });

export interface Running {
  child: ChildProcess;
  /** Every NDJSON event seen so far (run with --json). */
  events: Array<Record<string, unknown>>;
  done: Promise<CliRun>;
  /** Resolves when `pred` holds for an event. */
  waitFor(pred: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

/** Starts the CLI without waiting, collecting its --json events as they come. */
export function runAsync(cwd: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tune'), ...args], { cwd, env: { ...process.env, TRITUNE_DEBUG: '', ...ENV, ...env } });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += line + '\n';
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      for (const w of waiters.splice(0)) (w.pred(e) ? w.resolve(e) : waiters.push(w));
    } catch {
      // not an event
    }
  });
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    events,
    done,
    waitFor: (pred) => {
      const seen = events.find(pred);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** Every file under dir/out with its bytes. */
export function outputs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = join(dir, 'out');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p, 'utf8'));
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

export interface JTrial {
  shape: string;
  M: number;
  config: Record<string, number>;
  effort: string;
  status: string;
  us: number | null;
  gpu: number;
  message?: string | null;
  at: string;
}

/** The trial records of every journal under dir/st (the current journals, not ones set aside). */
export function journalTrials(dir: string): JTrial[] {
  const root = join(dir, 'st', 'journals');
  if (!existsSync(root)) return [];
  const trials: JTrial[] = [];
  for (const sub of readdirSync(root)) {
    const path = join(root, sub, 'journal.ndjson');
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as JTrial & { type: string };
      if (rec.type === 'trial') trials.push(rec);
    }
  }
  return trials;
}

const canonConfig = (c: Record<string, number>): string =>
  Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`)
    .join(',');

export const trialId = (t: JTrial): string => `${t.shape}|${t.M}|${t.effort}|${canonConfig(t.config)}`;

/** Config files byte for byte; sidecars too, except the command line (runs here add --json, --timeout). */
export const comparable = (files: Map<string, string>): Map<string, string> =>
  new Map([...files].map(([name, text]) => [name, name.endsWith('.meta.json') ? text.replace(/\n {4}"command": .*\n/, '\n') : text]));
