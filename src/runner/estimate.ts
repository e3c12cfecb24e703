import type { Family } from '../schema/index.js';
import { formatSeconds } from '../report/progress.js';
import { calibrationFor } from '../families/calibration.js';

/** One family's planned trials: what the estimate reads from the plan. */
export interface PlannedWork {
  family: Family;
  trials: number;
}

/** What the run is given to do the work with. */
export interface RunResources {
  /** The device name the bench workers report. */
  device: string;
  backend: string;
  gpus: number;
  compileWorkers: number;
  /** Units of the plan: a unit runs on one GPU, so more GPUs than units idle. */
  units: number;
}

/** The estimate and what it assumed; the `plan` event carries it as it is. */
export type Estimate =
  | { model: 'simulated'; seconds: number; s_per_trial: number; gpus: number }
  | { model: 'none'; seconds: null; why: string }
  | {
      model: 'calibrated';
      seconds: number;
      device: string;
      /** The device whose measured runs the numbers come from; `device_calibrated` false: not the run's device. */
      calibration: string;
      device_calibrated: boolean;
      startup_s: number;
      trials: number;
      /** Bench worker seconds per trial, averaged over the plan's families by their trials. */
      s_per_trial: number;
      gpus_used: number;
      gpu_s: number;
      compile_jobs: number;
      s_per_compile_job: number;
      compile_workers: number;
      /** Compile jobs' seconds over the compile workers (with none: over the bench workers, added to the GPU side). */
      compile_s: number;
    };

/**
 * The run's wall as its summary reports it (from the bench workers' hello to the last trial): start-up, then the
 * slower of the GPU work (planned trials x seconds per trial over the GPUs that get a unit) and the compile supply
 * (compile jobs x seconds per job over the compile workers), per family from the device's calibration
 * (src/families/calibration.ts). The sim backend's is its configured delay per trial.
 */
export function estimateRun(work: PlannedWork[], run: RunResources): Estimate {
  const trials = work.reduce((n, w) => n + w.trials, 0);
  const gpus = Math.max(1, run.gpus);
  if (run.backend === 'sim') {
    const perTrial = Number(process.env.TRITUNE_SIM_DELAY_MS ?? 0) / 1000 + 0.001;
    return { model: 'simulated', seconds: (trials * perTrial) / gpus, s_per_trial: perTrial, gpus };
  }
  if (run.backend !== 'cuda') return { model: 'none', seconds: null, why: `the ${run.backend} backend runs trials on the CPU; only cuda runs are calibrated` };
  const { calibration, own } = calibrationFor(run.device);
  let gpuWork = 0;
  let jobs = 0;
  let compileWork = 0;
  for (const w of work) {
    const cost = calibration.families[w.family];
    gpuWork += w.trials * cost.gpuSecondsPerTrial;
    jobs += w.trials / cost.trialsPerCompileJob;
    compileWork += (w.trials / cost.trialsPerCompileJob) * cost.compileSecondsPerJob;
  }
  const gpusUsed = Math.max(1, Math.min(gpus, run.units));
  const gpuS = gpuWork / gpusUsed;
  // without compile workers the bench workers compile before they measure: the two add up
  const compileS = compileWork / (run.compileWorkers > 0 ? run.compileWorkers : gpusUsed);
  const busy = run.compileWorkers > 0 ? Math.max(gpuS, compileS) : gpuS + compileS;
  return {
    model: 'calibrated',
    seconds: tenths(calibration.startupSeconds + busy),
    device: run.device,
    calibration: calibration.device,
    device_calibrated: own,
    startup_s: calibration.startupSeconds,
    trials,
    s_per_trial: trials ? +(gpuWork / trials).toPrecision(3) : 0,
    gpus_used: gpusUsed,
    gpu_s: tenths(gpuS),
    compile_jobs: Math.round(jobs),
    s_per_compile_job: jobs ? +(compileWork / jobs).toPrecision(3) : 0,
    compile_workers: run.compileWorkers,
    compile_s: tenths(compileS),
  };
}

const tenths = (s: number): number => Math.round(s * 10) / 10;

const perTrial = (s: number): string => (s < 1 ? `${+(s * 1000).toPrecision(2)} ms` : `${+s.toPrecision(2)} s`);

/** The estimate with what it assumes, for --dry-run's last line: "estimated 1m47s (H200 calibration: ...)". */
export function describeEstimate(e: Estimate): string {
  if (e.model === 'simulated') return `estimated ${formatSeconds(e.seconds)} (simulated backend)`;
  if (e.model === 'none') return `no time estimate (${e.why})`;
  const label = e.calibration.replace(/^NVIDIA /, '');
  const source = e.device_calibrated ? `${label} calibration` : `no calibration for ${e.device}: the ${label}'s numbers`;
  const gpu = `${e.trials} trials x ${perTrial(e.s_per_trial)} on ${e.gpus_used} GPU(s) = ${formatSeconds(e.gpu_s)}`;
  const over = e.compile_workers > 0 ? `over ${e.compile_workers} compile workers` : 'on the bench workers (no compile workers)';
  const compile = `${e.compile_jobs} compile jobs x ${+e.s_per_compile_job.toPrecision(2)} s ${over} = ${formatSeconds(e.compile_s)}`;
  return `estimated ${formatSeconds(e.seconds)} (${source}: ${gpu}; ${compile}; + ${formatSeconds(e.startup_s)} start-up)`;
}
