import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMessage, explainStartFailure, statusOfWorkerFailure } from '../../src/runner/classify.js';

test('known Triton / CUDA messages map to a status, sticky CUDA errors are flagged', () => {
  const cases: Array<[string, string, boolean]> = [
    ['RuntimeError: CUDA error: an illegal memory access was encountered', 'crash', true],
    ['CUDA error: misaligned address', 'crash', true],
    ['triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 262144, Hardware limit: 232448', 'invalid', false],
    ['torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB', 'invalid', false],
    ['triton.compiler.errors.CompilationError: at 12:4: ...', 'compile_error', false],
    ['ptxas fatal   : Unresolved extern function', 'compile_error', false],
    ['output mismatch: max_err 41.0 > tolerance', 'wrong_answer', false],
    ['something nobody has seen before', 'crash', false],
  ];
  for (const [msg, status, sticky] of cases) assert.deepEqual(classifyMessage(msg), { status, sticky }, msg);
});

test('worker failures are distinct from trial failures: a hang is a timeout, anything else a crash', () => {
  assert.equal(statusOfWorkerFailure({ kind: 'timeout', message: '' }), 'timeout');
  assert.equal(statusOfWorkerFailure({ kind: 'died', message: '' }), 'crash');
  assert.equal(statusOfWorkerFailure({ kind: 'protocol', message: '' }), 'crash');
});

test('start failures become one actionable line', () => {
  assert.match(explainStartFailure("ModuleNotFoundError: No module named 'triton'", 'python3'), /has no module triton/);
  assert.match(explainStartFailure("python3: can't open file '/x/kernels/worker.py': [Errno 2] No such file or directory", 'python3'), /worker script \/x\/kernels\/worker.py does not exist/);
  assert.match(explainStartFailure('worker: backend cuda unavailable: no CUDA device', 'python3'), /no usable CUDA GPU/);
  assert.match(explainStartFailure('spawn python9 ENOENT', 'python9'), /cannot run python9/);
});
