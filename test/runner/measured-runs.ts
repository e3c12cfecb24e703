/**
 * Every `tune` run docs/BENCHMARKS.md records with its wall time, on one device kind (NVIDIA H200), as data: the
 * command's job, what it ran on, and what it measured ("wall": the run summary's, from the bench workers' hello to
 * the last trial). `held`: the estimate must come within ±50 % of it; otherwise why not (the run's code differs from
 * today's in what the estimate models, or the estimate does not fit it and that is said in BENCHMARKS.md).
 */
export interface MeasuredRun {
  name: string;
  /** The job as `tune` was given it, without --backend, --gpus, --state, --out, --json. */
  args: string[];
  gpus: number;
  compileWorkers: number;
  wallS: number;
  /** Trials measured, where the section gives them. */
  trials?: number;
  /** The run's --out held the committed tuned-configs/ files first (re-tuned over them): their entries are incumbents. */
  overCommitted?: true;
  held: true | string;
  /** Measured before 4deb7ad, when best-first timed each seed twice (quick in its screen, full in its final re-time):
   * its trial count holds both, where today's plan counts each seed once. */
  seedsTimedTwice?: true;
}

const QWEN_MOE = ['--model', 'qwen3-30b-a3b'];
/** W4A16 runs of the default space before TMA came in (BLOCK_SIZE_K 32 and K_UNROLL 2 then, no TMA): another job
 * than the one planned today (fewer trials and binaries now), so their walls no longer test the estimate. */
const BEFORE_TMA = 'the W4A16 default space before TMA (BLOCK_SIZE_K 32, K_UNROLL 2): not the job planned today';
/** W4A16 runs of the default space before REG_A and BLOCK_SIZE_M 256 came in: their trial counts are not today's plan. */
const BEFORE_REG_A = 'the W4A16 default space before REG_A (no BLOCK_SIZE_M 256, no Gluon prefill path): not the job planned today';
/** MoE W4A16 runs of the default space before TMA came in (BLOCK_SIZE_K 32, num_stages 2 then, no TMA): another job. */
const BEFORE_MOE_TMA = 'the MoE W4A16 default space before TMA (BLOCK_SIZE_K 32, num_stages 2): not the job planned today';
const LAYER = ['--shapes', '128x768x2048:8'];
const W8A8 = ['--model', 'qwen3-4b', '--kernel', 'w8a8-int8'];

const SEEDS_TIMED_TWICE: MeasuredRun[] = [
  // "Compiling ahead for every family on CPU workers": the code of that section, one H200, 16 cores
  { name: 'A vllm-moe bf16', args: [...QWEN_MOE, '--kernel', 'vllm-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 109.1, trials: 743, held: true },
  { name: 'A again, input cache counting held bytes (7833aaa)', args: [...QWEN_MOE, '--kernel', 'vllm-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 107.7, trials: 748, held: true },
  { name: 'B sglang-moe fp8 block', args: [...QWEN_MOE, '--kernel', 'sglang-moe', '--quant', 'fp8_w8a8_block', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 89.3, trials: 701, held: true },
  // C and 'block fp8 Qwen3-8B, both servers' ran SGLang's six keys (before its SM90 keys); today's plan has the larger space
  {
    name: 'C block fp8 Qwen3-30B-A3B attention, both servers',
    args: [...QWEN_MOE, '--quant', 'fp8_w8a8_block', '--kernel', 'vllm-w8a8-block', 'sglang-w8a8-block', '--budget', '600'],
    gpus: 1,
    compileWorkers: 14,
    wallS: 43.7,
    trials: 2384,
    held: true,
  },
  { name: 'D w4a16 Qwen3-4B, budget 1000', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16', '--budget', '1000'], gpus: 1, compileWorkers: 13, wallS: 88.6, trials: 4039, held: 'the old GEMV / tl.dot kernels and their space (replaced since)' },
  { name: 'H w4a16 Qwen3-4B, one kernel, raw int4 and the rowsum correction (238c8e6)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 133.5, trials: 12461, held: BEFORE_TMA },
  { name: 'I w4a16 Qwen3-4B, one kernel, zero points in the weights', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 109.8, trials: 12483, held: BEFORE_TMA },
  { name: 'J w4a16 Qwen3-4B, as I with the second search round', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 101.2, trials: 12639, held: BEFORE_TMA },
  { name: 'N w4a16 Qwen3-4B, the prefill path (DEQUANT_GEMM) in the space', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 103.7, trials: 12768, held: BEFORE_TMA },
  // "Compiling ahead: 16 configs per unit against the default" (b2fe764): each job once with the default, once with
  // TRITUNE_HINT_COMPILES=16 (h)
  { name: 'O w8a8-int8 Qwen3-4B (b2fe764)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 48.4, trials: 6806, held: true },
  { name: 'O w8a8-int8 Qwen3-4B (b2fe764), h', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 45.1, trials: 6806, held: true },
  { name: 'O moe-w4a16 Qwen3-30B-A3B (b2fe764)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 45.7, trials: 1115, held: BEFORE_MOE_TMA },
  { name: 'O moe-w4a16 Qwen3-30B-A3B (b2fe764), h', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 43.0, trials: 1115, held: BEFORE_MOE_TMA },
  { name: 'O w4a16 Qwen3-4B (b2fe764)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 108.7, trials: 12764, held: BEFORE_TMA },
  { name: 'O w4a16 Qwen3-4B (b2fe764), h', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 114.5, trials: 12764, held: BEFORE_TMA },
  // "SGLang's block fp8 GEMM with its SM90 kernel keys": the space 10x vLLM's, started from the committed files
  { name: 'F sglang block fp8 Qwen3-8B, SM90 keys, budget 1200', args: ['--model', 'qwen3-8b-fp8', '--kernel', 'sglang-w8a8-block', '--budget', '1200'], gpus: 1, compileWorkers: 14, wallS: 129.8, trials: 4997, overCommitted: true, held: true },
  { name: 'G sglang block fp8 Qwen3-30B-A3B attention, SM90 keys, budget 1200', args: [...QWEN_MOE, '--quant', 'fp8_w8a8_block', '--kernel', 'sglang-w8a8-block', '--budget', '1200'], gpus: 1, compileWorkers: 14, wallS: 87.9, trials: 2515, overCommitted: true, held: true },
  { name: 'E moe-w4a16 Qwen3-30B-A3B', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 90.2, trials: 1293, held: 'the dequantize-then-dot MoE kernel and its space (replaced since)' },
  // "MoE W4A16: the transposed product per expert": K, then L with the bench worker keeping each problem's minimum
  // bytes, then M with one binary per config for every M
  { name: 'K moe-w4a16 Qwen3-30B-A3B, transposed product', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 83.8, trials: 1115, held: 'routing recounted on the CPU every trial (fixed since)' },
  { name: 'L moe-w4a16 Qwen3-30B-A3B, transposed product', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 52.0, trials: 1115, held: 'a binary per class of M (one for every M since)' },
  { name: 'M moe-w4a16 Qwen3-30B-A3B, one binary for every M', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 49.1, trials: 1115, held: BEFORE_MOE_TMA },

  // "Conductor": W8A8 with GPU-free compile workers (runs 3 and 5: today's W8A8 path)
  { name: 'W8A8 run 3 (ef52fce)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 42.9, trials: 6640, held: true },
  { name: 'W8A8 run 5, 1 GPU (2239888, 32 cores)', args: W8A8, gpus: 1, compileWorkers: 30, wallS: 41.5, trials: 6648, held: true },
  { name: 'W8A8 run 5, 2 GPUs (2239888, 32 cores)', args: W8A8, gpus: 2, compileWorkers: 29, wallS: 26.9, trials: 6650, held: true },
  { name: 'W8A8 run 1 (16a65a5)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 127.2, trials: 6654, held: 'compile workers with CUDA contexts, one unit at a time per GPU' },
  { name: 'W8A8 run 2, 1 GPU (ee0f2b8)', args: W8A8, gpus: 1, compileWorkers: 12, wallS: 66.2, trials: 6647, held: 'compile workers with CUDA contexts, one compile per (shape, config)' },
  { name: 'W8A8 run 2, 2 GPUs (ee0f2b8)', args: W8A8, gpus: 2, compileWorkers: 24, wallS: 47.3, trials: 6657, held: 'compile workers with CUDA contexts, one compile per (shape, config)' },
  { name: 'W8A8 run 2, 4 GPUs (ee0f2b8)', args: W8A8, gpus: 4, compileWorkers: 48, wallS: 39.8, trials: 6652, held: 'compile workers with CUDA contexts, one compile per (shape, config)' },
  { name: 'W8A8 run 4, 1 GPU (be49035)', args: W8A8, gpus: 1, compileWorkers: 32, wallS: 57.0, trials: 6892, held: 'speculative compiles of the whole space (off since), incumbents measured' },
  { name: 'W8A8 run 4, 2 GPUs (be49035)', args: W8A8, gpus: 2, compileWorkers: 61, wallS: 35.0, trials: 6887, held: 'speculative compiles of the whole space (off since), incumbents measured' },
  { name: 'W8A8 run 4, 4 GPUs (be49035)', args: W8A8, gpus: 4, compileWorkers: 59, wallS: 27.3, trials: 6894, held: 'speculative compiles of the whole space (off since), incumbents measured' },

  // server fused-MoE runs before compile-ahead (their compile workers launched on the GPU); their walls are close to
  // today's for the same jobs (A: 105 -> 109.1 s, B: 92 -> 89.3 s), the GPU side bounding both
  { name: 'vllm-moe bf16, torch stand-ins', args: [...LAYER, '--kernel', 'vllm-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 105, trials: 743, held: 'torch stand-ins for the compiled ops (replaced since)' },
  { name: 'vllm-moe fp8 block, torch stand-ins', args: [...LAYER, '--kernel', 'vllm-moe', '--quant', 'fp8_w8a8_block', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 77, trials: 685, held: 'torch stand-ins for the compiled ops (replaced since)' },
  { name: 'vllm-moe int4, torch stand-ins', args: [...LAYER, '--kernel', 'vllm-moe', '--quant', 'int4_w4a16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 132, trials: 613, held: 'torch stand-ins for the compiled ops (replaced since)' },
  { name: 'vllm-moe bf16, single-kernel stand-ins', args: [...LAYER, '--kernel', 'vllm-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 95, trials: 750, held: true },
  { name: 'vllm-moe fp8 block, single-kernel stand-ins', args: [...LAYER, '--kernel', 'vllm-moe', '--quant', 'fp8_w8a8_block', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 73, trials: 684, held: true },
  { name: 'sglang-moe bf16, single-kernel stand-ins', args: [...LAYER, '--kernel', 'sglang-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 93, trials: 742, held: true },
  { name: 'vllm-moe int4', args: [...QWEN_MOE, '--kernel', 'vllm-moe', '--quant', 'int4_w4a16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 110, held: true },
  { name: 'sglang-moe int4', args: [...QWEN_MOE, '--kernel', 'sglang-moe', '--quant', 'int4_w4a16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 120, held: true },
  { name: 'sglang-moe fp8 block', args: [...QWEN_MOE, '--kernel', 'sglang-moe', '--quant', 'fp8_w8a8_block', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 92, held: true },
  { name: 'vllm-moe TP2 bf16', args: [...QWEN_MOE, '--tp', '2', '--kernel', 'vllm-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 66, held: true },
  { name: 'sglang-moe TP2 bf16', args: [...QWEN_MOE, '--tp', '2', '--kernel', 'sglang-moe', '--quant', 'bf16', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 91, held: true },

  // block GEMMs before compile-ahead for them (Qwen3-30B-A3B's attention went from cut off at 80 s to 43.7 s)
  { name: 'block fp8 Qwen3-8B, both servers', args: ['--model', 'qwen3-8b-fp8', '--kernel', 'vllm-w8a8-block', 'sglang-w8a8-block', '--budget', '600'], gpus: 1, compileWorkers: 14, wallS: 110, held: true },

  // W4A16 families before compile-ahead for them (now about half the wall)
  { name: 'w4a16 Qwen3-4B, budget 1000 (b43f44a)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16', '--budget', '1000'], gpus: 1, compileWorkers: 12, wallS: 195, trials: 4035, held: 'compiled on the GPU (no compile_only then)' },
  { name: 'moe-w4a16 Qwen3-30B-A3B (b43f44a)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 12, wallS: 148, trials: 1315, held: 'compiled on the GPU (no compile_only then)' },
];

export const MEASURED_RUNS: MeasuredRun[] = [
  ...SEEDS_TIMED_TWICE.map((run) => ({ ...run, seedsTimedTwice: true as const })),
  // "Seeds timed once" (4deb7ad): the three jobs of runs O, one H200, cold Triton cache each
  { name: 'P w8a8-int8 Qwen3-4B (4deb7ad)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 38.9, trials: 6693, held: true },
  { name: 'P moe-w4a16 Qwen3-30B-A3B (4deb7ad)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 42.7, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'P w4a16 Qwen3-4B (4deb7ad)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 102.8, trials: 12664, held: BEFORE_TMA },
  // "Requests written ahead, and the conductor's own time": the same jobs and w8a8-fp8, each on a fresh H200 host
  { name: 'Q w8a8-int8 Qwen3-4B (6326aae)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 39.6, trials: 6693, held: true },
  { name: 'Q w8a8-fp8 Qwen3-4B (6326aae)', args: ['--model', 'qwen3-4b', '--kernel', 'w8a8-fp8'], gpus: 1, compileWorkers: 14, wallS: 42.1, trials: 6693, held: true },
  { name: 'Q moe-w4a16 Qwen3-30B-A3B (6326aae)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 31.9, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'Q w4a16 Qwen3-4B (6326aae)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 113.5, trials: 12664, held: BEFORE_TMA },
  { name: 'R w8a8-int8 Qwen3-4B (ef41b19)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 46.7, trials: 6693, held: true },
  { name: 'R w8a8-fp8 Qwen3-4B (ef41b19)', args: ['--model', 'qwen3-4b', '--kernel', 'w8a8-fp8'], gpus: 1, compileWorkers: 14, wallS: 50.3, trials: 6693, held: true },
  { name: 'R moe-w4a16 Qwen3-30B-A3B (ef41b19)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 36.0, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'R w4a16 Qwen3-4B (ef41b19)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 130.1, trials: 12664, held: BEFORE_TMA },
  { name: 'S w8a8-int8 Qwen3-4B, two written ahead (88238f9)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 40.5, trials: 6693, held: true },
  { name: 'S w4a16 Qwen3-4B, two written ahead (88238f9)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 120.6, trials: 12664, held: BEFORE_TMA },
  // "Two bench workers per GPU, and MoE binaries shared across GROUP_SIZE_M": one host, one and two workers per GPU
  { name: 'U w8a8-int8 Qwen3-4B, one worker (50733f9)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 42.3, trials: 6693, held: true },
  { name: 'U w8a8-int8 Qwen3-4B, two workers (50733f9)', args: W8A8, gpus: 1, compileWorkers: 14, wallS: 41.2, trials: 6693, held: true },
  { name: 'U w4a16 Qwen3-4B, one worker (50733f9)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 99.5, trials: 12664, held: BEFORE_TMA },
  { name: 'U w4a16 Qwen3-4B, two workers (50733f9)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 91.7, trials: 12664, held: BEFORE_TMA },
  { name: 'U moe-w4a16 Qwen3-30B-A3B, one worker (50733f9)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 26.1, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'U moe-w4a16 Qwen3-30B-A3B, two workers (50733f9)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 22.3, trials: 1093, held: BEFORE_MOE_TMA },
  // "Binaries loaded before taking the GPU": one host, two workers per GPU, without and with the preload
  { name: 'W moe-w4a16 Qwen3-30B-A3B, no preload (2f324af)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 32.5, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'W moe-w4a16 Qwen3-30B-A3B, preload (2f324af)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 28.4, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'W w4a16 Qwen3-4B, no preload (2f324af)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 94.0, trials: 12664, held: BEFORE_TMA },
  { name: 'W w4a16 Qwen3-4B, preload (2f324af)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 92.4, trials: 12664, held: BEFORE_TMA },
  // "Units per GPU, and GPU workers sharing requests": runs X and Y, each one host (3e3421e); the runs with
  // TRITUNE_SHARE_LANES (removed since) are not held
  { name: 'X moe-w4a16 Qwen3-30B-A3B, 6 units (3e3421e)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 35.7, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'X moe-w4a16 Qwen3-30B-A3B, 12 units (3e3421e)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 30.3, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'X w4a16 Qwen3-4B, 6 units (3e3421e)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 97.1, trials: 12664, held: BEFORE_TMA },
  { name: 'X w4a16 Qwen3-4B, 12 units (3e3421e)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 93.7, trials: 12664, held: BEFORE_TMA },
  { name: 'Y moe-w4a16 Qwen3-30B-A3B, 12 units (3e3421e)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 31.6, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'Y moe-w4a16 Qwen3-30B-A3B, 12 units, 3 workers (3e3421e)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 27.6, trials: 1093, held: BEFORE_MOE_TMA },
  { name: 'Y w4a16 Qwen3-4B, 12 units (3e3421e)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 91.1, trials: 12664, held: BEFORE_TMA },
  { name: 'Y w4a16 Qwen3-4B, 12 units, 3 workers (3e3421e)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 90.4, trials: 12664, held: BEFORE_TMA },
  // "W4A16: the packed words through TMA": the space with TMA, the re-tune of the committed Qwen3-4B files
  { name: 'Z w4a16 Qwen3-4B, TMA in the space', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 86.0, trials: 11023, held: BEFORE_REG_A },
  { name: 'R1 w4a16 Qwen3-4B, REG_A in the space (the committed files)', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 80.9, trials: 11541, held: 'before the REG_A seed and the fused 256-token rule: not the job planned today' },
  { name: 'R2 w4a16 Qwen3-4B, REG_A seeded, no fused 256-token tile', args: ['--model', 'qwen3-4b', '--kernel', 'w4a16'], gpus: 1, compileWorkers: 14, wallS: 76.9, trials: 11254, held: true },
  // "MoE W4A16: the packed words through TMA" (5efa45f): the space with TMA, the TMA seeds; two runs, the second's
  // files committed
  { name: 'T1 moe-w4a16 Qwen3-30B-A3B, TMA in the space (5efa45f)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 30.1, trials: 996, held: true },
  { name: 'T2 moe-w4a16 Qwen3-30B-A3B, TMA in the space (5efa45f)', args: [...QWEN_MOE, '--kernel', 'moe-w4a16'], gpus: 1, compileWorkers: 14, wallS: 27.9, trials: 996, held: true },
];
