import { join } from 'node:path';
import type { Backend, Family, Hello, JournalTrial, ModelShapes } from '../schema/index.js';
import { UserError, EXIT } from '../errors.js';
import type { Shard } from './shard.js';
import { Journal, trialKey } from '../store/journal.js';
import { assertWritable } from '../store/writer.js';
import { configKey } from '../space/index.js';
import { Progress, progressMode } from '../report/progress.js';
import { renderResultsTable, type ResultRow } from '../report/table.js';
import { CompilePool, compileKey } from './compile.js';
import { problemFor } from './problems.js';
import { prng, shuffled } from '../search/prng.js';
import { decideShape, writeShape } from './finalize.js';
import { makeJobs, readIncumbents, shapeSpecs } from './jobs.js';
import { loadIncumbents } from './incumbents.js';
import { makePlan, renderPlan } from './plan.js';
import { plannedTrials } from './unit-search.js';
import { GpuSlot, benchSpec } from './pool.js';
import { makeUnits, type ShapeJob, type Unit } from './units.js';
import { runUnit, type UnitOutcome } from './unit.js';
import { defaultPython, kernelsDir } from './worker.js';
import { summarize } from './summary.js';

export interface TuneOptions {
  model: ModelShapes;
  families: Family[];
  ms: number[];
  gpus: string[];
  backend: Backend;
  out: string;
  space: string;
  dryRun: boolean;
  json: boolean;
  shard: Shard;
  timeoutS: number;
  resume: boolean;
  strategy: string;
  budget?: number;
  keepWithin: number;
  groupSize: number;
  force: boolean;
  stateDir: string;
  compileWorkers: number;
  seed: number;
  /** The command line as typed, for sidecars and the resume hint. */
  command: string;
}

/** Units in flight per GPU (their requests take turns on the one worker; 6 rather than 3: less time waiting on compiles in a sim run with modelled compile latency); TRITUNE_UNITS_PER_GPU overrides. */
const UNITS_PER_GPU = 6;

const startTimeoutMs = (backend: Backend) => Number(process.env.TRITUNE_START_TIMEOUT_S ?? (backend === 'sim' ? 30 : 180)) * 1000;

/** A clock that SOURCE_DATE_EPOCH can pin, so two runs over the same results write identical sidecars. */
const runClock = (): string => {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  return (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date()).toISOString();
};

/** Runs `tune` end to end; returns the exit code. Never throws for a failed trial or a dead worker. */
export async function runTune(opts: TuneOptions): Promise<number> {
  const progress = new Progress(progressMode(opts.json));
  const sim = opts.backend === 'sim';
  assertWritable(opts.out, { backend: opts.backend, simulated: sim });
  const specs = shapeSpecs(opts.model, opts.families, opts.groupSize, opts.shard);
  if (specs.length === 0) {
    progress.note(`shard ${opts.shard.index}/${opts.shard.count}: no weight shapes fall in this shard; nothing to do`);
    progress.event('done', { files: [], trials: 0 });
    return EXIT.ok;
  }

  // Workers: one per GPU, started together; their hello says what device the space is pruned for.
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
  const cleanups: Array<() => void> = [() => slots.forEach((s) => s.kill()), () => progress.stop()];
  try {
    return await conduct(opts, progress, slots, spec, specs, cleanups);
  } finally {
    for (const c of cleanups) c(); // an unexpected error must not leave workers behind
  }
}

async function conduct(
  opts: TuneOptions,
  progress: Progress,
  slots: GpuSlot[],
  spec: ReturnType<typeof benchSpec>,
  specs: ReturnType<typeof shapeSpecs>,
  cleanups: Array<() => void>,
): Promise<number> {
  const sim = opts.backend === 'sim';
  await Promise.all(slots.map((s) => s.ensure()));
  const live = slots.filter((s) => s.hello);
  if (live.length === 0) throw new UserError(`no worker could start: ${slots[0]?.lastFailure ?? 'unknown reason'}`);
  const hello = live[0]!.hello!;
  const names = new Set(live.map((s) => s.hello!.device.name));
  if (names.size > 1) {
    await Promise.all(slots.map((s) => s.stop()));
    throw new UserError(`the GPUs are different devices (${[...names].join(', ')}); tune one kind at a time with --gpus`);
  }

  const jobs = makeJobs(specs, { space: opts.space, ms: opts.ms, device: hello.device });
  if (opts.dryRun) for (const job of jobs) job.incumbents = readIncumbents(opts.out, job, hello.device.name);
  const units = makeUnits(jobs);
  const compileWorkers = opts.compileWorkers;
  const plan = makePlan(jobs, units, { out: opts.out, device: hello.device.name, strategy: opts.strategy, ...(opts.budget !== undefined ? { budget: opts.budget } : {}), seed: opts.seed, gpus: opts.gpus.length, compileWorkers, backend: opts.backend });
  progress.event('plan', { ...plan, simulated: sim, device: hello.device.name });
  if (opts.dryRun) {
    await Promise.all(slots.map((s) => s.stop()));
    if (!opts.json) process.stdout.write(renderPlan(plan, sim) + '\n');
    return EXIT.ok;
  }

  // Journals: one per family, refused when written for another device / triton / worker version.
  const journals = new Map<Family, Journal>();
  const known = new Map<Family, Map<string, JournalTrial>>();
  for (const family of new Set(jobs.map((j) => j.family))) {
    const spaceId = jobs.find((j) => j.family === family)!.space.spaceId;
    const journal = Journal.open({
      stateDir: opts.stateDir,
      fingerprint: { family, space: spaceId, device: hello.device.name, triton: hello.versions.triton, worker_version: hello.worker_version, backend: opts.backend },
      device: hello.device,
      command: opts.command,
      resume: opts.resume,
    });
    for (const n of journal.notes) progress.note(n);
    journals.set(family, journal);
    loadIncumbents(jobs.filter((j) => j.family === family), { journalPath: journal.path, out: opts.out, device: hello.device.name, force: opts.force });
    known.set(family, new Map(journal.previous.map((t) => [trialKey(t.shape, t.M, configKey(t.config), t.effort), t])));
  }

  // Compile workers compile for the bench workers' target without a CUDA context of their own (cuda backend).
  const [major, minor] = hello.device.capability;
  const compileEnv: Record<string, string> = opts.backend === 'cuda' ? { TRITUNE_COMPILE_TARGET: `cuda:${major * 10 + minor}` } : {};
  const compile = new CompilePool(
    compileWorkers,
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
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    for (const s of slots) s.kill();
    compile.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  cleanups.push(() => compile.kill(), () => process.off('SIGINT', onSignal), () => process.off('SIGTERM', onSignal));

  const queue: Unit[] = [...units];
  const outcomes: UnitOutcome[] = [];
  const t0 = Date.now();
  let freshTrials = 0;
  let failedTrials = 0;
  progress.start(plan.trials, 0);
  const lookAhead = Math.max(2, Math.ceil((2 * compileWorkers) / live.length));
  // Per unit, configs compiled ahead on the strategy's hint; TRITUNE_HINT_COMPILES overrides (0 turns it off).
  const hintAhead = compileWorkers === 0 ? 0 : Math.max(0, Number(process.env.TRITUNE_HINT_COMPILES ?? Math.max(4, Math.ceil((2 * compileWorkers) / live.length))));

  const drive = async (slot: GpuSlot) => {
    for (let unit = queue.shift(); unit && !stopping; unit = queue.shift()) {
      progress.gpu({ index: slot.index, device: slot.device, state: 'busy', doing: unit.id });
      const outcome = await runUnit(unit, slot, {
        strategy: opts.strategy,
        ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
        seed: opts.seed,
        timeoutMs: opts.timeoutS * 1000,
        journal: journals.get(unit.job.family)!,
        known: known.get(unit.job.family)!,
        compile,
        lookAhead,
        speculate: hintAhead,
        stopping: () => stopping || slot.state === 'gone',
        onTrials: (fresh, fromJournal) => {
          const failed = fresh.filter((t) => t.status !== 'ok').length;
          freshTrials += fresh.length;
          failedTrials += failed;
          progress.trials(fresh.length + fromJournal, failed, fresh.length ? { gpu: slot.index, unit: unit.id, trials: fresh.length, failed } : undefined);
        },
      });
      if (outcome) {
        outcomes.push(outcome);
        const planned = plannedTrials(unit, opts);
        progress.setTotal(progress.total + outcome.strategy.evaluations() - planned);
      } else if (slot.state === 'gone') {
        queue.unshift(unit); // another GPU redoes what this one did not finish (finished trials come from the journal)
        return;
      }
    }
  };
  // A few units per GPU at once: while one waits for its configs to compile, another's are measured.
  const perGpu = Math.max(1, Number(process.env.TRITUNE_UNITS_PER_GPU ?? UNITS_PER_GPU));
  const loops: Array<Promise<void>> = [];
  for (let k = 0; k < perGpu; k++) for (const s of live) loops.push(drive(s)); // round-robin: every GPU starts on a unit
  await Promise.all(loops);
  const wallMs = Date.now() - t0;
  progress.stop();
  await Promise.all(slots.map((s) => s.stop()));
  await compile.stop();
  for (const j of journals.values()) j.close();
  const interrupted = () => {
    process.stderr.write(`interrupted; resume with: ${opts.command.replace(/\s+--no-resume\b/, '')}\n`);
    return EXIT.interrupted;
  };
  if (stopping) return interrupted();
  if (queue.length > 0) {
    throw new UserError(`every GPU was given up with ${queue.length} unit(s) left (${slots.map((s) => s.lastFailure).find(Boolean)}); fix the GPUs and re-run the same command to resume`);
  }

  // Decide and write: every shape's file at the end, each atomically.
  const now = runClock();
  const rows: ResultRow[] = [];
  const files: string[] = [];
  for (const job of jobs) {
    if (stopping) return interrupted(); // Ctrl-C while writing: the file being written is finished, no other begun
    const decided = decideShape(job, outcomes.filter((o) => o.unit.job === job), opts.keepWithin, now);
    rows.push(...decided.rows);
    if (decided.empty.length) progress.note(`${job.family} ${job.key}: no config ran at M=${decided.empty.join(',')}; those entries are left out`);
    const written = writeShape(decided, { out: opts.out, hello, command: opts.command, now, force: opts.force });
    if (written) {
      files.push(written.path);
      progress.event('file', { path: written.path, meta: written.metaPath, entries: Object.keys(decided.entries).length });
    }
  }
  const summary = summarize(slots, { wallMs, freshTrials, failedTrials, compiled: compile.compiled, compileWaitMs: compile.waitedMs });
  if (sim) summary.busy = null; // the simulator's timed_ms is simulated GPU time, not wall time it spent
  if (opts.json) {
    progress.event('done', { files, simulated: sim, ...summary, results: rows });
  } else {
    process.stdout.write(renderResultsTable(rows, { simulated: sim, color: Boolean(process.stdout.isTTY) }) + '\n');
    for (const f of files) process.stdout.write(`wrote ${f}\n`);
    process.stdout.write(summaryLine(summary, sim) + '\n');
  }
  return EXIT.ok;
}

function summaryLine(s: ReturnType<typeof summarize>, sim: boolean): string {
  const label = sim ? ' (simulated)' : '';
  return (
    `${s.trials} trials (${s.failed} failed) in ${(s.wall_ms / 1000).toFixed(1)} s on ${s.gpus} GPU(s)${label}: ` +
    `${s.ms_per_trial === null ? '-' : s.ms_per_trial.toFixed(2)} ms of GPU wall per trial, ` +
    `GPUs busy timing ${s.busy === null ? '-' : (100 * s.busy).toFixed(0)}%, ${s.restarts} worker restart(s)`
  );
}

/**
 * Queues a speculative compile of every config of every shape (one per binary), interleaving the shapes, each
 * in its strategy's screening order: idle compile workers fill the cache ahead of the asks, so a round of the
 * search rarely waits for the compiler. Asked configs always go first (CompilePool priorities). Only for
 * families whose compile workers need no GPU (kernels/<family>.py has compile_only).
 */
function speculate(compile: CompilePool, jobs: ShapeJob[], seed: number): void {
  jobs = jobs.filter((job) => job.family === 'w8a8-int8' || job.family === 'w8a8-fp8'); // compile without a GPU
  const orders = jobs.map((job) => shuffled(job.space.configs, prng(seed)));
  const longest = Math.max(0, ...orders.map((o) => o.length));
  for (let i = 0; i < longest; i++) {
    jobs.forEach((job, j) => {
      const config = orders[j]![i];
      if (!config) return;
      const c = config as Record<string, number>;
      const M = job.ms[0]!;
      compile.prefetch({ key: compileKey(job.family, job.shape, job.key, c, configKey(config)), family: job.family, config: c, problems: [problemFor(job.family, job.shape, M)] }, true);
    });
  }
}

export type { Hello };
