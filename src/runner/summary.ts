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
  /** Per GPU (its bench workers' sums); starved_ms: time none of its workers had a request (no unit had a trial ready). */
  per_gpu: Array<{ gpu: number; device: string; trials: number; worker_wall_ms: number; timed_ms: number; starved_ms: number; restarts: number }>;
}

export function summarize(
  slots: GpuSlot[],
  run: { wallMs: number; freshTrials: number; failedTrials: number; compiled: number; refused: number; compileWaitMs: number },
): RunSummary {
  // a GPU may have several bench workers (TRITUNE_WORKERS_PER_GPU): its figures are their sums
  const gpus = [...new Set(slots.map((s) => s.index))].map((index) => slots.filter((s) => s.index === index));
  const sum = (lanes: GpuSlot[], of: (s: GpuSlot) => number) => lanes.reduce((t, s) => t + of(s), 0);
  const timed = sum(slots, (s) => s.timedMs);
  const gpuWall = run.wallMs * gpus.length;
  return {
    gpus: gpus.length,
    wall_ms: run.wallMs,
    trials: run.freshTrials,
    failed: run.failedTrials,
    ms_per_trial: run.freshTrials > 0 ? gpuWall / run.freshTrials : null,
    busy: gpuWall > 0 ? timed / gpuWall : null,
    restarts: sum(slots, (s) => s.restarts),
    compiled: run.compiled,
    refused: run.refused,
    compile_wait_ms: run.compileWaitMs,
    first_launch_ms: sum(slots, (s) => s.firstLaunchMs),
    per_gpu: gpus.map((lanes) => ({
      gpu: lanes[0]!.index,
      device: lanes[0]!.device,
      trials: sum(lanes, (s) => s.problems),
      worker_wall_ms: sum(lanes, (s) => s.wallMs),
      timed_ms: sum(lanes, (s) => s.timedMs),
      starved_ms: Math.round(lanes[0]!.activity.starvedMs),
      restarts: sum(lanes, (s) => s.restarts),
    })),
  };
}
