import { join } from 'node:path';
import type { Backend, Hello } from '../schema/index.js';
import { UserError } from '../errors.js';
import type { Progress } from '../report/progress.js';
import { GpuSlot, benchSpec } from './pool.js';
import { defaultPython, kernelsDir } from './worker.js';

const startTimeoutMs = (backend: Backend) => Number(process.env.TRITUNE_START_TIMEOUT_S ?? (backend === 'sim' ? 30 : 180)) * 1000;

/** How a worker of this run is started (bench workers, and compile workers with their own env). */
export type WorkerSpecFor = ReturnType<typeof benchSpec>;

/** One bench worker slot per GPU (one only for --dry-run), reporting to the progress display; none started yet. */
export function benchWorkers(opts: { gpus: string[]; backend: Backend; dryRun: boolean }, progress: Progress): { slots: GpuSlot[]; spec: WorkerSpecFor } {
  const script = join(kernelsDir(), 'worker.py');
  const spec = benchSpec({ python: defaultPython(), script, backend: opts.backend, startTimeoutMs: startTimeoutMs(opts.backend) });
  const slots = (opts.dryRun ? opts.gpus.slice(0, 1) : opts.gpus).map(
    (dev, i) =>
      new GpuSlot(i, dev, spec, {
        onHello: (gpu, h) => progress.event('worker', { gpu, pid: h.pid, device: h.device.name, simulated: h.simulated }),
        onState: (gpu, state, note) => {
          progress.gpu({ index: gpu, device: opts.gpus[gpu]!, state });
          if (state === 'gone' && progress.running) progress.note(`gpu${gpu} (CUDA_VISIBLE_DEVICES=${opts.gpus[gpu]}) given up: ${note}`);
        },
      }),
  );
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
