import type { TrialStatus } from '../schema/index.js';

/**
 * The one place that decides what a failure means. Two kinds of failure exist:
 * - trial failures: the config ran (or tried to) and lost; recorded with a status, never retried.
 * - worker failures: the process hung, died, or spoke garbage; the worker is killed and restarted, and the
 *   trial that was in flight is recorded as `timeout` or `crash`. Requests written behind it that the worker never
 *   started come back `aborted` and are sent again to its successor.
 */
export type WorkerFailureKind = 'timeout' | 'died' | 'protocol' | 'start' | 'aborted';

export interface WorkerFailure {
  kind: WorkerFailureKind;
  message: string;
}

interface KnownError {
  pattern: RegExp;
  status: TrialStatus;
  /** The worker's CUDA context is unusable after this error (sticky), so it must be restarted. */
  sticky: boolean;
  why: string;
}

/** Known Triton / CUDA / PyTorch messages, first match wins. */
const KNOWN_ERRORS: readonly KnownError[] = [
  // Sticky CUDA errors: the context is poisoned; every later launch in this process fails too.
  { pattern: /illegal (memory )?(address|access)|illegal instruction|misaligned address/i, status: 'crash', sticky: true, why: 'kernel faulted' },
  { pattern: /unspecified launch failure|device-side assert|CUDA error: an? (unknown|unspecified)/i, status: 'crash', sticky: true, why: 'kernel aborted' },
  // Resource limits: the config cannot run this problem on this device; not the worker's fault.
  { pattern: /OutOfResources|out of resource|shared memory|too many resources requested/i, status: 'invalid', sticky: false, why: 'over a device limit' },
  { pattern: /CUDA out of memory|OutOfMemoryError/i, status: 'invalid', sticky: false, why: 'device memory' },
  // Compiler failures.
  { pattern: /CompilationError|CompileTimeAssertionFailure|PassManager::run failed|MLIR|ptxas|LLVM ERROR/i, status: 'compile_error', sticky: false, why: 'compiler' },
  // The correctness gate.
  { pattern: /mismatch|wrong answer|max_err|not close/i, status: 'wrong_answer', sticky: false, why: 'correctness' },
];

/** Status and stickiness of an error message a worker (or its stderr) reported; unknown errors count as crashes. */
export function classifyMessage(message: string): { status: TrialStatus; sticky: boolean } {
  for (const known of KNOWN_ERRORS) if (known.pattern.test(message)) return { status: known.status, sticky: known.sticky };
  return { status: 'crash', sticky: false };
}

/** The status recorded for the trial that was in flight when its worker failed. */
export function statusOfWorkerFailure(failure: WorkerFailure): TrialStatus {
  if (failure.kind === 'timeout') return 'timeout';
  return 'crash';
}

/**
 * What a worker that could not start said, as one line a user can act on (no GPU, no torch, no triton).
 * `stderr` is the tail of the worker's stderr.
 */
export function explainStartFailure(stderr: string, python: string): string {
  const text = stderr.trim();
  const missing = /(?:No module named|cannot import) '?([\w.]+)'?/.exec(text);
  if (missing) return `the worker's Python (${python}) has no module ${missing[1]}; install it there or set TRITUNE_PYTHON`;
  const script = /can't open file '([^']+)'/.exec(text);
  if (script) return `the worker script ${script[1]} does not exist; run from the tritune folder or set TRITUNE_KERNELS`;
  if (/ENOENT|command not found|No such file/i.test(text)) return `cannot run ${python}; install Python 3 or set TRITUNE_PYTHON`;
  if (/no CUDA|CUDA driver|cuda.is_available|No GPU|no NVIDIA|NVIDIA driver/i.test(text)) {
    return 'no usable CUDA GPU for the worker (check nvidia-smi and --gpus), or use --backend sim to test without one';
  }
  const last = text.split('\n').filter((l) => l.trim()).pop() ?? 'no output';
  return `the worker did not start: ${last.slice(0, 300)}`;
}
