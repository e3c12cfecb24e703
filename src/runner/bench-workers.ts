import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Hello } from '../schema/index.js';
import { UserError } from '../errors.js';
import type { Progress } from '../report/progress.js';
import { GpuActivity, GpuSlot, benchSpec, type GpuState } from './pool.js';
import { defaultPython, kernelsDir, type WorkerSpec } from './worker.js';
import { envCount } from './options.js';

const startTimeoutMs = (backend: Backend) => Number(process.env.TRITUNE_START_TIMEOUT_S ?? (backend === 'sim' ? 30 : 180)) * 1000;

/** How a worker of this run is started (bench workers, and compile workers with their own env). */
export type WorkerSpecFor = ReturnType<typeof benchSpec>;

/**
 * Bench workers per GPU: TRITUNE_WORKERS_PER_GPU, default 2 on a GPU (docs/BENCHMARKS.md, runs U: 3-15 % shorter
 * than one on the same H200, the winners as fast over each default) and 1 under the sim and interpret backends (no
 * GPU for a second worker to keep busy; the interpreter's trials are CPU work). Each does its host work (capture,
 * loading binaries, parsing) while another has the GPU; they take turns on it through a lock file
 * (kernels/gpu_lock.py's GpuLock), so the GPU runs one worker's kernels at a time and every time is measured alone.
 */
const workersPerGpu = (backend: Backend): number => envCount('TRITUNE_WORKERS_PER_GPU', backend === 'cuda' ? 2 : 1);

/**
 * The environment of one of a GPU's several bench workers: the GPU's lock file, and its share of the GPU's input
 * cache (TRITUNE_INPUT_CACHE_GB as the run was given it, 16 by default; a value that is not a positive number is
 * passed on as it is, and the worker fails to start on it).
 */
export function laneEnv(env: Record<string, string>, lockFile: string, lanes: number, given = process.env.TRITUNE_INPUT_CACHE_GB): Record<string, string> {
  const out: Record<string, string> = { ...env, TRITUNE_GPU_LOCK: lockFile };
  const gb = Number(given || 16);
  if (Number.isFinite(gb) && gb > 0) out.TRITUNE_INPUT_CACHE_GB = String(gb / lanes);
  return out;
}

/** The bench worker slots, each GPU's sharing one activity (and, with several, a lock file); none started yet. */
export function benchWorkers(opts: { gpus: string[]; backend: Backend; dryRun: boolean }, progress: Progress): { slots: GpuSlot[]; spec: WorkerSpecFor } {
  const script = join(kernelsDir(), 'worker.py');
  const spec = benchSpec({ python: defaultPython(), script, backend: opts.backend, startTimeoutMs: startTimeoutMs(opts.backend) });
  const lanes = opts.dryRun ? 1 : workersPerGpu(opts.backend);
  // kernels/triton_backend.py's preload, for workers sharing a GPU: read here so a bad value is refused before any work
  const preload = envCount('TRITUNE_PRELOAD', 1, 0);
  const lockDir = lanes > 1 ? mkdtempSync(join(tmpdir(), 'tritune-gpu-')) : null;
  if (lockDir) process.once('exit', () => rmSync(lockDir, { recursive: true, force: true }));
  const events = {
    onHello: (gpu: number, h: Hello) => progress.event('worker', { gpu, pid: h.pid, device: h.device.name, simulated: h.simulated }),
    onState: (gpu: number, state: GpuState, note?: string) => {
      progress.gpu({ index: gpu, device: opts.gpus[gpu]!, state });
      if (state === 'gone' && progress.running) progress.note(`gpu${gpu} (CUDA_VISIBLE_DEVICES=${opts.gpus[gpu]}) given up: ${note}`);
    },
  };
  const slots = (opts.dryRun ? opts.gpus.slice(0, 1) : opts.gpus).flatMap((dev, i) => {
    const activity = new GpuActivity();
    return Array.from({ length: lanes }, (_, lane) => {
      const laneSpec = (device: string, index: number): WorkerSpec => {
        const base = spec(device, index);
        if (!lockDir) return base;
        const env = { ...laneEnv(base.env, join(lockDir, `gpu${i}.lock`), lanes), TRITUNE_PRELOAD: String(preload) };
        return { ...base, env, label: `${base.label}.${lane}` };
      };
      return new GpuSlot(i, dev, laneSpec, events, activity);
    });
  });
  return { slots, spec };
}

/**
 * Starts every bench worker together and checks what they said hello with: at least one started, and all are
 * the same device (the space is pruned for it). Returns the first hello and the GPUs whose worker started.
 */
export async function startAndCheckDevices(slots: GpuSlot[]): Promise<{ hello: Hello; live: GpuSlot[] }> {
  await Promise.all(slots.map((s) => s.ensure()));
  const live = slots.filter((s) => s.hello);
  if (live.length === 0) throw new UserError(`no worker could start: ${slots[0]?.lastFailure ?? 'unknown reason'}`);
  const names = new Set(live.map((s) => s.hello!.device.name));
  if (names.size > 1) {
    await Promise.all(slots.map((s) => s.stop()));
    throw new UserError(`the GPUs are different devices (${[...names].join(', ')}); tune one kind at a time with --gpus`);
  }
  return { hello: live[0]!.hello!, live };
}
