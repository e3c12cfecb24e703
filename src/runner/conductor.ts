import { FAMILY_FORMATS, type Family, type Hello, type JournalTrial } from '../schema/index.js';
import { UserError, EXIT } from '../errors.js';
import { Journal, trialKey } from '../store/journal.js';
import { assertWritable } from '../store/writer.js';
import { checkFolder } from '../store/folders.js';
import { configKey } from '../space/index.js';
import { Progress, progressMode } from '../report/progress.js';
import { CompilePool } from './compile.js';
import { kernelFamily } from '../families/index.js';
import { prng, shuffled } from '../search/prng.js';
import { makeJobs, readIncumbents, shapeSpecs, type IncumbentSource, type ShapeSpec } from './jobs.js';
import { loadIncumbents } from './incumbents.js';
import { makePlan, renderPlan, type Plan } from './plan.js';
import type { GpuSlot } from './pool.js';
import { makeUnits, type ShapeJob, type Unit } from './units.js';
import type { FamilyJournal } from './unit-trials.js';
import { benchWorkers, startAndCheckDevices, type WorkerSpecFor } from './bench-workers.js';
import { defaultPython } from './worker.js';
import { checkDriveKnobs, driveUnits, type Interrupt } from './drive.js';
import { reportRun, writeFiles } from './write.js';
import type { TuneOptions } from './options.js';

export type { TuneOptions };

/** Runs `tune` end to end; returns the exit code. Never throws for a failed trial or a dead worker. */
export async function runTune(opts: TuneOptions): Promise<number> {
  const progress = new Progress(progressMode(opts.json));
  const sim = opts.backend === 'sim';
  assertWritable(opts.out, { backend: opts.backend, simulated: sim });
  // found now rather than after every trial: a file where a folder belongs, or a folder that cannot be written
  checkFolder(opts.stateDir, '--state', !opts.dryRun);
  checkFolder(opts.out, '--out', !opts.dryRun);
  const specs = shapeSpecs(opts.model, opts.families, { groupSize: opts.groupSize, quant: opts.quant }, opts.shard);
  if (specs.length === 0) {
    progress.note(`shard ${opts.shard.index}/${opts.shard.count}: no weight shapes fall in this shard; nothing to do`);
    progress.event('done', { files: [], trials: 0 });
    return EXIT.ok;
  }
  checkDriveKnobs(); // benchWorkers() reads its own knobs before it starts anything
  const { slots, spec } = benchWorkers(opts, progress);
  const cleanups: Array<() => void> = [() => slots.forEach((s) => s.kill()), () => progress.stop()];
  try {
    return await conduct(opts, progress, slots, spec, specs, cleanups);
  } finally {
    for (const c of cleanups) c(); // an unexpected error must not leave workers behind
  }
}

/** The run, step by step: workers and device, plan, journals, compile pool, units, files. */
async function conduct(opts: TuneOptions, progress: Progress, slots: GpuSlot[], spec: WorkerSpecFor, specs: ShapeSpec[], cleanups: Array<() => void>): Promise<number> {
  const { hello, live } = await startAndCheckDevices(slots);
  const { jobs, units, plan } = planRun(opts, specs, hello, progress);
  if (opts.dryRun) {
    await Promise.all(slots.map((s) => s.stop()));
    if (!opts.json) process.stdout.write(renderPlan(plan) + '\n');
    return EXIT.ok;
  }
  const journals = openJournals(jobs, opts, hello, progress);
  cleanups.push(() => journals.forEach((j) => j.journal.abandon())); // an error must not leave the journals locked
  const compile = startCompilePool(opts, spec, hello, jobs);
  const interrupt = interruptOnSignal(slots, compile, cleanups);
  const driven = await driveUnits(units, live, plan.trials, plan.estimated_s, { opts, progress, journals, compile, interrupt });
  await Promise.all(slots.map((s) => s.stop()));
  await compile.stop();
  for (const j of journals.values()) j.journal.close();
  if (interrupt.requested) return interrupted(opts);
  if (driven.left > 0) {
    throw new UserError(`every GPU was given up with ${driven.left} unit(s) left (${slots.map((s) => s.lastFailure).find(Boolean)}); fix the GPUs and re-run the same command to resume`);
  }
  const written = writeFiles(jobs, driven.outcomes, { opts, hello, progress, interrupt });
  if (!written) return interrupted(opts); // Ctrl-C while writing: the file being written is finished, no other begun
  reportRun(written, driven, { opts, progress, slots, compile });
  return EXIT.ok;
}

const interrupted = (opts: TuneOptions): number => {
  process.stderr.write(`interrupted; resume with: ${opts.command.replace(/\s+--no-resume\b/, '')}\n`);
  return EXIT.interrupted;
};

/** Where a family's incumbents are read: --out, and the server release's shipped files the worker found. */
const incumbentSource = (opts: TuneOptions, hello: Hello, family: Family): IncumbentSource => ({
  out: opts.out,
  device: hello.device.name,
  triton: hello.versions.triton,
  shipped: hello.sources[family]?.server?.shipped,
});

/** The shapes' spaces for the reported device, their units, and the plan (emitted as the `plan` event). */
function planRun(opts: TuneOptions, specs: ShapeSpec[], hello: Hello, progress: Progress): { jobs: ShapeJob[]; units: Unit[]; plan: Plan } {
  const needsTriton = specs.find((s) => FAMILY_FORMATS[s.family].folder.includes('{triton}'));
  if (needsTriton && !hello.versions.triton) {
    throw new UserError(`${needsTriton.family}: its files go in a folder named after the Triton version, and the worker's Python (${defaultPython()}) has no triton: install triton there or set TRITUNE_PYTHON to a Python that has it`);
  }
  const jobs = makeJobs(specs, { space: opts.space, ms: opts.ms, device: hello.device });
  if (opts.dryRun) {
    for (const job of jobs) ({ entries: job.incumbents, from: job.incumbentsFrom } = readIncumbents(job, job.ms, incumbentSource(opts, hello, job.family)));
  }
  const units = makeUnits(jobs);
  const plan = makePlan(jobs, units, { out: opts.out, device: hello.device.name, triton: hello.versions.triton, strategy: opts.strategy, ...(opts.budget !== undefined ? { budget: opts.budget } : {}), seed: opts.seed, gpus: opts.gpus.length, compileWorkers: opts.compileWorkers, backend: opts.backend });
  progress.event('plan', { ...plan, simulated: opts.backend === 'sim', device: hello.device.name });
  return { jobs, units, plan };
}

/** Journals: one per family, refused when written for another device / triton / worker version; incumbents frozen beside each. */
function openJournals(jobs: ShapeJob[], opts: TuneOptions, hello: Hello, progress: Progress): Map<Family, FamilyJournal> {
  const journals = new Map<Family, FamilyJournal>();
  try {
    for (const family of new Set(jobs.map((j) => j.family))) openFamilyJournal(family, jobs, opts, hello, progress, journals);
  } catch (err) {
    journals.forEach((j) => j.journal.abandon());
    throw err;
  }
  return journals;
}

/** One family's journal (locked; entered in `journals` at once, so an error after it still releases it) and its incumbents. */
function openFamilyJournal(family: Family, jobs: ShapeJob[], opts: TuneOptions, hello: Hello, progress: Progress, journals: Map<Family, FamilyJournal>): void {
  const spaceId = jobs.find((j) => j.family === family)!.space.spaceId;
  const journal = Journal.open({
    stateDir: opts.stateDir,
    fingerprint: {
      family,
      space: spaceId,
      device: hello.device.name,
      triton: hello.versions.triton,
      worker_version: hello.worker_version,
      backend: opts.backend,
      sources: hello.sources[family]?.digest,
    },
    device: hello.device,
    sourceFiles: hello.sources[family]?.files,
    command: opts.command,
    resume: opts.resume,
  });
  const known = new Map<string, JournalTrial>(journal.previous.map((t) => [trialKey(t.shape, t.M, configKey(t.config), t.effort), t]));
  journals.set(family, { journal, known });
  for (const n of journal.notes) progress.note(n);
  loadIncumbents(jobs.filter((j) => j.family === family), { ...incumbentSource(opts, hello, family), journalPath: journal.path, force: opts.force });
}

/** Compile workers, started now; they compile for the bench workers' target without a CUDA context of their own (cuda backend). */
function startCompilePool(opts: TuneOptions, spec: WorkerSpecFor, hello: Hello, jobs: ShapeJob[]): CompilePool {
  const [major, minor] = hello.device.capability;
  // the target to compile for, and the bench GPUs' shared memory per block: a binary over it is refused for every M
  const compileEnv: Record<string, string> =
    opts.backend === 'cuda' ? { TRITUNE_COMPILE_TARGET: `cuda:${major * 10 + minor}`, TRITUNE_COMPILE_SMEM: String(hello.device.shared_mem_per_block) } : {};
  const compile = new CompilePool(
    opts.compileWorkers,
    (i) => {
      const s = spec(opts.gpus[i % opts.gpus.length]!, i);
      return { ...s, env: { ...s.env, ...compileEnv }, label: `compile${i}` };
    },
    opts.timeoutS * 1000 * opts.ms.length,
  );
  compile.warm();
  // Off by default: on the 4xH200 run it kept every compile worker busy and slowed the bench workers' host side
  // by 40-50 % (docs/BENCHMARKS.md, Conductor); TRITUNE_SPECULATIVE_COMPILE=1 turns it on.
  if (opts.backend === 'cuda' && process.env.TRITUNE_SPECULATIVE_COMPILE === '1') speculate(compile, jobs, opts.seed);
  return compile;
}

/** Ctrl-C / SIGTERM: the first kills the workers and lets the run stop where it is (resumable); a second exits at once. */
function interruptOnSignal(slots: GpuSlot[], compile: CompilePool, cleanups: Array<() => void>): Interrupt {
  const interrupt: Interrupt = { requested: false };
  const onSignal = () => {
    if (interrupt.requested) process.exit(EXIT.interrupted);
    interrupt.requested = true;
    for (const s of slots) s.kill();
    compile.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  cleanups.push(() => compile.kill(), () => process.off('SIGINT', onSignal), () => process.off('SIGTERM', onSignal));
  return interrupt;
}

/**
 * Queues a speculative compile of every config of every shape (one per binary), interleaving the shapes, each
 * in its strategy's screening order: idle compile workers fill the cache ahead of the asks, so a round of the
 * search rarely waits for the compiler. Asked configs always go first (CompilePool priorities). Only for
 * families whose compile workers need no GPU (kernels/<family>.py has compile_only).
 */
function speculate(compile: CompilePool, jobs: ShapeJob[], seed: number): void {
  jobs = jobs.filter((job) => kernelFamily(job.family).compileOnly); // compile without a GPU
  const orders = jobs.map((job) => shuffled(job.space.configs, prng(seed)));
  const longest = Math.max(0, ...orders.map((o) => o.length));
  for (let i = 0; i < longest; i++) {
    jobs.forEach((job, j) => {
      const config = orders[j]![i];
      if (!config) return;
      const c = config as Record<string, number>;
      const kf = kernelFamily(job.family);
      const problems = job.ms.map((M) => kf.problem(job.shape, M)); // the worker compiles each distinct binary once
      compile.prefetch({ key: kf.compileKey(job.shape, job.key, c, configKey(config), job.ms), family: job.family, config: c, problems }, true);
    });
  }
}

export type { Hello };
