import type { GpuSlot } from './pool.js';

/** The numbers a run reports at the end (and docs/BENCHMARKS.md records). */
export interface RunSummary {
  gpus: number;
  wall_ms: number;
  /** Trials measured by this run (journal-answered ones excluded). */
  trials: number;
  failed: number;
  /** GPU wall time per trial: run wall x GPUs / trials. */
  ms_per_trial: number | null;
  /** Fraction of the GPUs' wall time spent in timed regions (sum of timed_ms over GPUs x wall). */
  busy: number | null;
  restarts: number;
  /** Configs the CPU compile workers compiled, and ms the GPUs' units waited on one. */
  compiled: number;
  /** Of those, configs refused at every M for shared memory over the GPUs' (never sent to a GPU). */
  refused: number;
  compile_wait_ms: number;
  /** ms the bench workers spent in configs' first launches: near 0 when compile workers built every binary. */
  first_launch_ms: number;
  /** Per GPU; starved_ms: time its worker had no request while the run went on (no unit had a trial ready). */
  per_gpu: Array<{ gpu: number; device: string; trials: number; worker_wall_ms: number; timed_ms: number; starved_ms: number; restarts: number }>;
}

export function summarize(
  slots: GpuSlot[],
  run: { wallMs: number; freshTrials: number; failedTrials: number; compiled: number; refused: number; compileWaitMs: number },
): RunSummary {
  const timed = slots.reduce((t, s) => t + s.timedMs, 0);
  const gpuWall = run.wallMs * slots.length;
  return {
    gpus: slots.length,
    wall_ms: run.wallMs,
    trials: run.freshTrials,
    failed: run.failedTrials,
    ms_per_trial: run.freshTrials > 0 ? gpuWall / run.freshTrials : null,
    busy: gpuWall > 0 ? timed / gpuWall : null,
    restarts: slots.reduce((n, s) => n + s.restarts, 0),
    compiled: run.compiled,
    refused: run.refused,
    compile_wait_ms: run.compileWaitMs,
    first_launch_ms: slots.reduce((t, s) => t + s.firstLaunchMs, 0),
    per_gpu: slots.map((s) => ({ gpu: s.index, device: s.device, trials: s.problems, worker_wall_ms: s.wallMs, timed_ms: s.timedMs, starved_ms: Math.round(s.starvedMs), restarts: s.restarts })),
  };
}
