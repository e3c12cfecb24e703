"""The long-lived worker the conductor launches: one JSON request per line on stdin, one response per line on stdout.

Usage (from the repository root):
    python3 kernels/worker.py --backend cuda|interpret|sim
    python3 -m kernels.worker --backend sim

Messages are those of src/schema/protocol.ts (mirrored in kernels/protocol.py). The worker prints `hello` first,
then answers every request line with exactly one line, flushing after each; logs go to stderr only. It exits 0 on
EOF or {"type": "shutdown"}. A malformed line gets {"type": "error", ...} and the worker goes on; a bad config, a
compile error, out-of-resources or a wrong answer is a result with a status, never an exit.

Backends:
    cuda       the real kernels on the GPU the process sees (the conductor sets CUDA_VISIBLE_DEVICES).
               Measures the device's copy bandwidth once at start (10 x 512 MiB, a few ms) for hello's hbm_GBps.
    interpret  Triton's CPU interpreter (TRITON_INTERPRET=1 is set by the worker): correctness only, us = null.
    sim        an analytic cost model (kernels/sim.py); imports neither torch nor triton; every number simulated.

Exit codes (kernels/protocol.py): 0 EOF/shutdown; 1 crash (or sim 'crash' fault); 2 bad arguments or bad
TRITUNE_SIM_FAULTS; 3 torch/triton/GPU missing for the backend (one line on stderr); 4 a sticky CUDA error
(illegal memory access, ...) poisoned the context: one line on stderr, the conductor restarts the worker.

Environment:
    TRITUNE_SIM_DEVICE   sim: device name in hello (default "NVIDIA SIM-H200").
    TRITUNE_SIM_FAULTS   sim: JSON list of {"fault": "hang|crash|illegal_address|compile_error|wrong_answer|shared_memory",
                         "match": {<config key or "family">: value, ...}}; a trial request whose config holds all
                         the match pairs gets that fault (deterministic). A request's own `fault` field wins.
                         hang: never answers; crash: exits 1 mid-request; illegal_address: CUDA-like message on
                         stderr, exit 4; compile_error / wrong_answer: a normal result with that status;
                         shared_memory: trials invalid (out of resource), and a compile request answers invalid
                         for every M, as a compile worker that finds a binary over the GPU's limit does.
    TRITUNE_SIM_DELAY_MS sim: sleep this long per problem (default 0), so tests can interrupt a run mid-way; the
                         sleep stands for GPU time, so it holds TRITUNE_GPU_LOCK.
    TRITUNE_GPU_LOCK     cuda/sim: a lock file the bench workers of one GPU take turns on the GPU with
                         (kernels/gpu_lock.py); set by the conductor with TRITUNE_WORKERS_PER_GPU > 1.
    TRITUNE_PRELOAD      cuda: with TRITUNE_GPU_LOCK, find and load each config's binaries before taking the GPU
                         (default 1; 0 leaves it to the first launch under the lock; the conductor refuses a value
                         that is not a whole number).
    TRITUNE_SIM_COMPILE_MS sim: model compile latency (default 0 = off): a binary not in the cache sleeps
                         0.5-1x this many ms in a compile request or the first trial needing it; the cache is
                         shared between workers through the directory TRITUNE_SIM_COMPILE_CACHE (else per process).
    TRITUNE_INPUT_CACHE_GB  cuda: GB of cached input copies kept across requests (default 16; the conductor gives
                         each of a GPU's several bench workers its share of the value it was run with).
    TRITUNE_COMPILE_TARGET  cuda: e.g. cuda:90 -- a compile worker: compiles for that target without opening a
                         CUDA context (kernels/compile_only.py), for families with compile_only().
    TRITUNE_PROFILE      cuda/interpret: path prefix; at exit the worker writes its host seconds per phase
                         (inputs, first launch, check, capture, replays, ...; `between`: from an answer to
                         the next request) to <prefix>.<role>.<pid>.json.
"""

import argparse
import json
import sys
import time
import traceback

if __name__ == "__main__" and not __package__:  # run as a script: make `kernels` importable as a package
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    __package__ = "kernels"

from . import protocol as P  # noqa: E402


def log(msg: str) -> None:
    print(f"worker: {msg}", file=sys.stderr, flush=True)


def send(msg: dict) -> None:
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def make_backend(name: str):
    """The backend object (hello / trial / compile); exits 3 with one line when its requirements are missing."""
    if name == "sim":
        from .sim import SimBackend

        try:
            return SimBackend()
        except ValueError as e:
            log(str(e))
            sys.exit(P.EXIT_BAD_ARGS)
    from .triton_backend import BackendUnavailable, TritonBackend

    try:
        return TritonBackend(name)
    except BackendUnavailable as e:
        print(f"worker: backend {name} unavailable: {e}", file=sys.stderr, flush=True)
        sys.exit(P.EXIT_NO_BACKEND)


def serve(backend, stdin=sys.stdin) -> int:
    """Answer requests until EOF or shutdown; returns the exit code."""
    send(backend.hello())
    try:
        return _serve(backend, stdin)
    finally:
        profile = getattr(backend, "profile", None)
        if profile is not None:
            profile.dump("compile" if getattr(backend, "compile_driver", None) is not None else "bench")


def _serve(backend, stdin) -> int:
    profile = getattr(backend, "profile", None)
    mark = profile.add if profile is not None else (lambda _phase, _s: time.perf_counter())
    t = time.perf_counter()
    for line in stdin:
        # `between`: from one answer sent to the next request read (the wait for it included)
        t = mark("between", time.perf_counter() - t)
        if not line.strip():
            continue
        try:
            req = P.parse_request(line)
        except P.ProtocolError as e:
            send(P.error(str(e), e.request_id))
            t = time.perf_counter()
            continue
        if req["type"] == "shutdown":
            return P.EXIT_OK
        try:
            answer = backend.trial(req) if req["type"] == "trial" else backend.compile(req)
            t = time.perf_counter()
            send(answer)
            t = mark("send", time.perf_counter() - t)
        except Exception as e:  # a bug of ours, not a trial failure: say so and go on
            log(traceback.format_exc())
            send(P.error(f"internal error: {type(e).__name__}: {e}", req.get("id")))
            t = time.perf_counter()
    return P.EXIT_OK


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kernels/worker.py", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=P.BACKENDS, required=True)
    args = parser.parse_args(argv)
    return serve(make_backend(args.backend))


if __name__ == "__main__":
    sys.exit(main())
