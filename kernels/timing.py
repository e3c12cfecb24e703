"""How a trial is timed on the GPU: CUDA-graph replays over rotating input copies, median of several samples.

Small-M GEMMs run in a few microseconds, so per-launch overhead and a warm L2 would dominate naive timing.
- The launches go into one CUDA graph, so a replay has no Python or driver launch overhead between kernels
  (what a server's decode step, itself graph-captured, sees).
- Launch i reads input copy i % n_copies; the copies together exceed the L2 `L2_MULTIPLE` times, so every
  launch finds its weights in HBM, as in a real model where other layers run in between.
- The caller's correctness launch compiled the kernel; one more eager launch, timed with events, sizes the
  graph. One warm-up replay, then 3-10 timed replays (one pair of CUDA events each, one synchronize at the end);
  the result is the median per launch, with the relative spread (p90 - p10) / median.
- Cheap on purpose: a replay lasts about `replay_us` (the number of launches in the graph is chosen from one
  eager launch) and the number of replays fits a GPU-time budget (EFFORT below: about 1.5 ms quick, 4 ms full,
  whatever the kernel's size). Measured costs per trial, ours against triton.testing.do_bench (~100 ms of wall on
  an H200), are in docs/BENCHMARKS.md, "Timing cost per trial" and "Conductor", with their commands.
"""

import contextlib
import math
import time
from dataclasses import dataclass

import torch

L2_MULTIPLE = 3
MAX_COPIES = 64
EFFORT = {  # effort -> (most timed replays, target GPU µs per replay, GPU µs budget for all replays)
    "quick": (5, 200.0, 1500.0),
    "full": (10, 300.0, 4000.0),
}
MIN_SAMPLES = 3


@dataclass
class Measurement:
    us: float  # median time per launch
    spread: float  # (p90 - p10) / median over the samples
    samples: int
    timed_ms: float  # GPU time spent: the eager pass, the warm-up replay and the timed replays
    launches_per_replay: int


def copies_needed(input_bytes: float, l2_bytes: int) -> int:
    """How many input copies make one rotation exceed the L2 `L2_MULTIPLE` times (at least 2)."""
    return max(2, min(MAX_COPIES, math.ceil(L2_MULTIPLE * l2_bytes / max(input_bytes, 1.0))))


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


class _Capture:
    """Per process: one side stream, one graph memory pool, and the last graph (it keeps the pool alive).

    torch.cuda.graph() would synchronize and empty the allocator's cache before every capture, so the next
    request's outputs and check buffers went back to cudaMalloc / cudaFree (which synchronizes): most of a
    trial's host time. Capturing with capture_begin / capture_end into a pool kept across trials avoids both;
    only one graph is ever replayed at a time, so sharing the pool is safe."""

    stream = None
    pool = None
    last = None


def _noop(*_):
    return time.perf_counter()


def measure(launches: list, effort: str = "full", min_reps: int | None = None, phases=None,
            gpu_lock=None) -> Measurement:
    """Time `launches` (one zero-argument callable per input copy, each running the kernel once).

    The caller has launched the kernel once already (compiled, workspaces sized). min_reps: launches per
    replay needed before a copy is reused with its data out of L2 (default: one per copy); for long kernels
    fewer than the copies suffice, as their outputs alone flush the L2. phases: a Profile for host seconds.
    gpu_lock: the caller's held GpuLock (kernels/gpu_lock.py), let go while the graph is captured."""
    mark = phases.add if phases is not None else _noop
    max_samples, replay_us, budget_us = EFFORT[effort]
    if _Capture.stream is None:
        _Capture.stream, _Capture.pool = torch.cuda.Stream(), torch.cuda.graph_pool_handle()
    stream = _Capture.stream
    stream.wait_stream(torch.cuda.current_stream())
    pair = lambda: (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
    t = time.perf_counter()
    with torch.cuda.stream(stream):
        # one eager launch (of the last copy, so its pages are touched too) for a rough time per launch
        start, end = pair()
        start.record()
        launches[-1]()
        end.record()
        end.synchronize()
    eager_ms = start.elapsed_time(end)
    reps = max(min_reps or len(launches), math.ceil(replay_us / max(eager_ms * 1000.0, 1.0)))
    reps = min(reps, 256)
    t = mark("eager", time.perf_counter() - t)

    graph = torch.cuda.CUDAGraph()
    # capturing runs nothing on the GPU (the eager launch above was waited for): another worker may have it meanwhile
    with gpu_lock.released() if gpu_lock is not None else contextlib.nullcontext(), torch.cuda.stream(stream):
        graph.capture_begin(pool=_Capture.pool)
        try:
            for i in range(reps):
                launches[i % len(launches)]()
        finally:
            graph.capture_end()
    _Capture.last = graph
    t = mark("capture", time.perf_counter() - t)
    with torch.cuda.stream(stream):
        warm = pair()
        warm[0].record()
        graph.replay()
        warm[1].record()
    warm[1].synchronize()
    warm_ms = warm[0].elapsed_time(warm[1])
    t = mark("warm_replay", time.perf_counter() - t)
    # long kernels get fewer samples, so that a trial costs about `budget_us` of GPU time whatever its size
    samples = max(MIN_SAMPLES, min(max_samples, int(budget_us / max(warm_ms * 1000.0, 1.0)) - 1))
    events = [pair() for _ in range(samples)]
    with torch.cuda.stream(stream):
        for begin, finish in events:
            begin.record()
            graph.replay()
            finish.record()
    events[-1][1].synchronize()
    replay_ms = [b.elapsed_time(f) for b, f in events]
    mark("replays", time.perf_counter() - t)
    per_launch = sorted(ms * 1000.0 / reps for ms in replay_ms)
    median = _quantile(per_launch, 0.5)
    spread = (_quantile(per_launch, 0.9) - _quantile(per_launch, 0.1)) / median
    return Measurement(median, spread, samples, eager_ms + warm_ms + sum(replay_ms), reps)


def wall_ms(fn) -> tuple[object, float]:
    """(fn(), host wall time in ms, the GPU synchronized before and after)."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, (time.perf_counter() - t0) * 1000.0


def copy_bandwidth_GBps(n_bytes: int = 512 * 2**20, repeats: int = 10) -> float:
    """Device copy bandwidth in GB/s, bytes read + written (the roofline's memory ceiling): `repeats` copies."""
    src = torch.empty(n_bytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        dst.copy_(src)
    end.record()
    end.synchronize()
    return 2 * n_bytes * repeats / (start.elapsed_time(end) / 1000.0) / 1e9
