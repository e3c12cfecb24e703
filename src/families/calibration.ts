import type { Family } from '../schema/index.js';

/**
 * What `--dry-run`'s time estimate knows of a device: the one place its numbers live. Each was calibrated on
 * measured `tune` runs (docs/BENCHMARKS.md, "Compiling ahead for every family on CPU workers" for the runs named
 * A-E below, "SGLang's block fp8 GEMM with its SM90 kernel keys" for F and G, "Conductor" for the W8A8 runs); test/runner/estimate.test.ts holds the estimate to those runs.
 */

/** What a family's trials and compiles cost inside a tuning run on one device (contention included). */
export interface FamilyCost {
  /**
   * Bench worker wall per planned trial: building inputs, the reference check, first launches, capture and timed
   * replays, and the waits between requests; a request's own costs (one config over several Ms) are folded in.
   */
  gpuSecondsPerTrial: number;
  /** One compile worker's wall per compile job (one config over its unit's Ms) while every worker compiles. */
  compileSecondsPerJob: number;
  /**
   * Planned trials per compile job: counted, not fitted, in sim replays of the measured jobs (the best-first
   * search with the family's compile keys; W8A8 shares binaries across shapes, hence its 7.9).
   */
  trialsPerCompileJob: number;
}

export interface DeviceCalibration {
  /** The device name a bench worker's hello reports. */
  device: string;
  /** Before the first compile lands: compile workers importing torch, Triton and a server's code, first problems built. */
  startupSeconds: number;
  families: Record<Family, FamilyCost>;
}

/**
 * NVIDIA H200, one GPU, 16 cores, 14 compile workers, empty Triton cache, budget as in each run.
 * A run is bounded by the slower of its GPU work and its compile supply; which one bound each run is read from its
 * counters (GPU busy, summed compile waits), and that side's parameter is fitted to the run's wall after 12 s of
 * start-up; the other side's parameter comes from a profile or a standalone measurement, as noted.
 */
const H200: DeviceCalibration = {
  device: 'NVIDIA H200',
  startupSeconds: 12,
  families: {
    // run 3 (42.9 s, 6640 trials): compile-bound (the bench worker idled 47 % waiting); per trial the worker
    // profile's 3.43 ms, per binary fitted (round latency included). w8a8-fp8 has no run: same kernel and binaries.
    'w8a8-int8': { gpuSecondsPerTrial: 0.0034, compileSecondsPerJob: 0.5, trialsPerCompileJob: 7.9 },
    'w8a8-fp8': { gpuSecondsPerTrial: 0.0034, compileSecondsPerJob: 0.5, trialsPerCompileJob: 7.9 },
    // run I (qwen3-4b, the one kernel with zero points in the weights, full default M grid, 109.8 s, 12483 trials,
    // 1058 binaries compiled ahead: one per config and shape class for every M): compile-bound (37 % busy, 283 s of
    // compile waits); per trial kept from run H (its worker's wall share, 6.9 ms, rounded up; run I's is 6.3 ms), per
    // job fitted, 11.8 trials per job counted. (Run H, the kernel before, fitted 1.42 s and 10.4 trials per job.)
    // Refitted to runs Y (12 units and two bench workers per GPU, the preload: 91.1 s, 12664 trials, 1027 binaries,
    // the GPU 45 % busy and 221 s of compile waits): both sides fitted to the wall, per trial 6.2 ms (was 8.2 with one
    // worker) and per job 1.0 s (was 1.29; the compile workers' profile gives 0.75 s of work a binary in runs W).
    w4a16: { gpuSecondsPerTrial: 0.0062, compileSecondsPerJob: 1.0, trialsPerCompileJob: 11.8 },
    // run M (qwen3-30b-a3b, the transposed-product kernel with one binary per config for every M, default budget,
    // 49.1 s, 1115 trials, 230 binaries): neither side saturated (10 % busy, compile workers busy 235 s of 14 x 49 s,
    // 96 s of compile waits: each round waits on its compiles); per trial the bench worker profile's 13 ms (14.4 s in
    // requests), per job fitted (round latency included), 4.85 trials per job counted in the run. (Run L, one binary
    // per M class: 20 ms, 1.4 s, 2.8; run E, the dequantize-then-dot kernel: 0.06 s, 1.2 s, 2.8.) Per job refitted
    // to runs Q and R (31.9 s and 36.0 s, 1093 trials, 234-239 binaries: the compile hint naming the next round
    // shortened each round's wait on its compiles; run M's fit was 2.25 s). Trials per job since GROUP_SIZE_M is an
    // unspecialized int (configs differing in it share a binary): 8.6, counted in a sim run of the job (1093 trials,
    // 127 compile jobs; runs Q and R compiled 234 and 239); runs U-Y compiled 126-136. Per job refitted to the runs
    // with 12 units per GPU (runs X and Y: 30.3 s and 31.6 s, compile-bound: 14-17 % busy, 59 s of compile waits):
    // 1.9 s, round latency included (was 1.4 s).
    'moe-w4a16': { gpuSecondsPerTrial: 0.013, compileSecondsPerJob: 1.9, trialsPerCompileJob: 8.6 },
    // run A again at 7833aaa (the input cache counting held bytes; 107.7 s, 748 trials): compile-bound, its bench
    // worker in requests 45.2 s (0.06 s per trial), its compile workers 1132 s over 287 jobs (3.9 s each), both
    // from the workers' profiles. (Run A itself, before that fix, was GPU-bound at 0.12 s per trial.)
    'vllm-moe': { gpuSecondsPerTrial: 0.06, compileSecondsPerJob: 3.9, trialsPerCompileJob: 2.6 },
    // run B (fp8_w8a8_block, budget 600, 89.3 s, 701 trials): both sides about even (115.5 s of compile waits,
    // A's 68.6 s); per trial fitted, per job fitted to the same wall.
    'sglang-moe': { gpuSecondsPerTrial: 0.105, compileSecondsPerJob: 4.0, trialsPerCompileJob: 2.75 },
    // run C (both servers, Qwen3-30B-A3B attention, budget 600, 43.7 s, 2384 trials): compile-bound (20 % busy,
    // 75.4 s of waits); per trial the timed share (3.7 ms) plus W8A8's host 3.4 ms; per job fitted.
    'vllm-w8a8-block': { gpuSecondsPerTrial: 0.0071, compileSecondsPerJob: 0.5, trialsPerCompileJob: 2.9 },
    // run F (SGLang with its SM90 keys, Qwen3-8B-FP8, budget 1200, 129.8 s, 4997 trials): compile-bound (11 % busy,
    // 425.8 s of waits); from the workers' profiles: bench requests 56.8 s (11 ms a trial), compile workers 1649 s
    // over 2363 jobs (0.70 s; run G: 0.82 s, hence 0.74), 2.1 trials a job (G: 2.06). The SM90 keys' larger
    // space (split-K's second kernel among them) gives fewer trials per binary than run C's six keys had.
    'sglang-w8a8-block': { gpuSecondsPerTrial: 0.011, compileSecondsPerJob: 0.74, trialsPerCompileJob: 2.1 },
  },
};

const CALIBRATIONS: DeviceCalibration[] = [H200];

/** The device's calibration; a device never measured gets the H200's (`own: false`), which the plan says. */
export function calibrationFor(device: string): { calibration: DeviceCalibration; own: boolean } {
  const own = CALIBRATIONS.find((c) => c.device === device);
  return own ? { calibration: own, own: true } : { calibration: H200, own: false };
}
