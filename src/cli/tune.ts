import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Backend, FAMILIES, Family, MAX_DIM, ServerQuant, type ModelShapes } from '../schema/index.js';
import { DEFAULT_M_GRID } from '../store/grid.js';
import { parseShapesOption, resolveModel } from '../models/resolve.js';
import { checkpointQuant } from '../models/block.js';
import { DEFAULT_STRATEGY, STRATEGIES, STRATEGY_ALIASES, strategyName } from '../search/index.js';
import { runTune } from '../runner/conductor.js';
import { resolveGpus } from '../runner/gpus.js';
import { UserError } from '../errors.js';
import { resolveShard } from '../runner/shard.js';

interface RawOptions {
  model?: string;
  shapes?: string;
  tp: string;
  kernel: string[];
  batchSizes?: string[];
  gpus?: string;
  backend: string;
  out?: string;
  space: string;
  dryRun?: boolean;
  json?: boolean;
  shard?: string;
  timeout: string;
  resume: boolean;
  strategy: string;
  budget?: string;
  keepWithin: string;
  groupSize: string;
  quant?: string;
  force?: boolean;
  state: string;
  compileWorkers?: string;
  seed: string;
}

/**
 * Compile workers per GPU by default: a config costs 0.5-4 s of one core to compile against 3-120 ms of GPU to time
 * (src/families/calibration.ts); on cuda they open no CUDA context (kernels/compile_only.py), so only the free cores
 * bound them.
 */
const COMPILE_WORKERS_PER_GPU = 32;

const splitList = (values: string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);

function int(name: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UserError(`${name} must be a whole number >= ${min}; got ${JSON.stringify(text)}`);
  if (!Number.isSafeInteger(Number(text))) throw new UserError(`${name}: ${text.trim()} is too large (numbers above 2^53 lose precision)`);
  return Number(text);
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${name} must be a positive number; got ${JSON.stringify(text)}`);
  return n;
}

function families(values: string[]): Family[] {
  const out = [...new Set(splitList(values))];
  if (out.length === 0) throw new UserError(`--kernel needs at least one family: ${FAMILIES.join(', ')}`);
  for (const f of out) {
    if (!Family.safeParse(f).success) throw new UserError(`unknown --kernel ${JSON.stringify(f)}; use one of ${FAMILIES.join(', ')}`);
  }
  return out as Family[];
}

function batchSizes(values: string[] | undefined): number[] {
  if (!values) return [...DEFAULT_M_GRID];
  const ms = splitList(values).map((s) => int('--batch-sizes', s, 1));
  const big = ms.find((m) => m > MAX_DIM);
  if (big !== undefined) throw new UserError(`--batch-sizes: M = ${big} is beyond ${MAX_DIM} (2^20), more tokens than any server batches into one GEMM`);
  if (ms.length === 0) throw new UserError('--batch-sizes needs at least one M, e.g. --batch-sizes 1 16 128');
  return [...new Set(ms)].sort((a, b) => a - b);
}

function model(raw: RawOptions, tp: number): ModelShapes {
  if (raw.model && raw.shapes) throw new UserError('give --model or --shapes, not both');
  if (raw.shapes) return parseShapesOption(raw.shapes);
  if (raw.model) return resolveModel(raw.model, tp);
  throw new UserError('nothing to tune: pass --model <preset|config.json> (e.g. --model qwen3-4b) or --shapes NxK,... (see tune --help)');
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Validates and normalizes the options, then runs the conductor. */
async function action(raw: RawOptions, argv: string[]): Promise<void> {
  const backend = Backend.safeParse(raw.backend);
  if (!backend.success) throw new UserError(`--backend must be cuda, sim or interpret; got ${JSON.stringify(raw.backend)}`);
  const strategy = strategyName(raw.strategy);
  const tp = int('--tp', raw.tp, 1);
  // what to tune is checked before the GPUs are looked for, so a typo in --model is reported as such on any machine
  const shapes = model(raw, tp);
  const kernelFamilies = families(raw.kernel);
  const ms = batchSizes(raw.batchSizes);
  const gpus = resolveGpus(raw.gpus, backend.data);
  const sim = backend.data === 'sim';
  // availableParallelism: the cores this process may run on (a Slurm task's or a cpuset's), not all of the node's
  const compileWorkers =
    raw.compileWorkers !== undefined ? int('--compile-workers', raw.compileWorkers, 0) : sim ? 0 : Math.max(0, Math.min(availableParallelism() - gpus.length - 1, COMPILE_WORKERS_PER_GPU * gpus.length));
  const groupSize = Number(raw.groupSize);
  if (![32, 64, 128, -1].includes(groupSize)) throw new UserError(`--group-size must be 32, 64, 128 or -1 (per channel); got ${JSON.stringify(raw.groupSize)}`);
  const quant = ServerQuant.safeParse(raw.quant ?? checkpointQuant(shapes));
  if (!quant.success) throw new UserError(`--quant must be one of ${ServerQuant.options.join(', ')}; got ${JSON.stringify(raw.quant)}`);
  const keepWithin = Number(raw.keepWithin);
  if (!Number.isFinite(keepWithin) || keepWithin < 0 || keepWithin >= 1) throw new UserError(`--keep-within must be a fraction in [0, 1), e.g. 0.02; got ${JSON.stringify(raw.keepWithin)}`);
  process.exitCode = await runTune({
    model: shapes,
    families: kernelFamilies,
    ms,
    gpus,
    backend: backend.data,
    out: raw.out ?? (sim ? join(raw.state, 'sim-out') : 'tuned-configs'),
    space: raw.space,
    dryRun: Boolean(raw.dryRun),
    json: Boolean(raw.json),
    shard: resolveShard(raw.shard),
    timeoutS: positiveNumber('--timeout', raw.timeout),
    resume: raw.resume,
    strategy,
    ...(raw.budget !== undefined ? { budget: int('--budget', raw.budget, 1) } : {}),
    keepWithin,
    groupSize,
    quant: quant.data,
    force: Boolean(raw.force),
    stateDir: raw.state,
    compileWorkers,
    seed: int('--seed', raw.seed, 0),
    command: ['npx', 'tune', ...argv.map(shellQuote)].join(' '),
  });
}

const oldNames = Object.entries(STRATEGY_ALIASES)
  .map(([old, name]) => `${old}: the old name of ${name}`)
  .join(', ');

/** `tune [--model ...]`: the default command (see docs/TUNE.md). */
export function registerTune(program: Command): void {
  const cmd = new Command('run')
    .description('tune every linear layer of a model (the default command; see docs/TUNE.md)')
    .option('--model <preset|path>', 'model preset (qwen3-4b, ...), a Hugging Face config.json, or a model-shapes file')
    .option('--shapes <list>', 'weight shapes instead of a model: NxK,... (dense) or ExNxK:topk (MoE layer: N = intermediate, K = hidden)')
    .option('--tp <n>', 'tensor-parallel size the shapes are split for', '1')
    .option('--kernel <family...>', `kernel families to tune (${FAMILIES.join(', ')})`, ['w8a8-int8'])
    .option('--batch-sizes <M...>', `M values to tune (default ${DEFAULT_M_GRID.join(' ')})`)
    .option('--gpus <list>', "GPUs to use: 0,1 or all (default: all on cuda, one simulated GPU on sim)")
    .addOption(new Option('--backend <name>', 'worker backend').choices(['cuda', 'sim', 'interpret']).default('cuda'))
    .option('--out <dir>', 'output folder (default tuned-configs/; sim: <state>/sim-out/)')
    .option('--space <name|file>', 'search space: default, exhaustive or a space JSON file', 'default')
    .option('--strategy <name>', `search strategy (${Object.keys(STRATEGIES).join(', ')}; ${oldNames})`, DEFAULT_STRATEGY)
    .option('--budget <n>', '(config, M) evaluations per weight shape (default: the strategy decides)')
    .option('--keep-within <fraction>', 'keep the incumbent unless a challenger is faster by more than this', '0.02')
    .option('--group-size <g>', 'quantization group size for w4a16 families and int4_w4a16 server MoE layers (-1: per channel)', '128')
    .option('--quant <q>', `quantization of the server families (${ServerQuant.options.join(', ')}; default: the checkpoint's, else bf16)`)
    .option('--shard <i/n>', 'tune only shard i of n (by weight shape); also read from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, ...')
    .option('--timeout <s>', 'seconds per (config, M) trial before the worker is killed and restarted', '30')
    .option('--no-resume', 'start a new journal instead of resuming (the old one is kept)')
    .option('--state <dir>', 'state folder for journals', '.tritune')
    .option('--compile-workers <n>', 'CPU compile workers warming the Triton cache (default: from the CPU count; 0 on sim)')
    .option('--seed <n>', "seed of the strategy's random choices", '0')
    .option('--dry-run', 'print the plan (shapes, files, space sizes, trials, estimated time) and exit')
    .option('--json', 'NDJSON events on stdout instead of a progress bar and a table')
    .option('--force', 'replace existing output files that fail validation or hold results of another backend')
    .action(async (raw: RawOptions) => action(raw, process.argv.slice(2)));
  program.addCommand(cmd, { isDefault: true });
  // `tune --help` shows the default command's options too: `tune [options]` is how it is run
  program.addHelpText('after', () => {
    const help = cmd.helpInformation();
    return `\nThe default command: tune [options] (the same as tune run [options])\n${help.slice(help.indexOf('Options:'))}`;
  });
}
