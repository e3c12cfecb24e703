"""The cuda and interpret backends of the worker: run a family's real Triton kernel, check it, time it.

A trial compiles its config once per binary (the first launch of each; a family's compile_variant says which Ms
share one), then for each problem: static checks, one launch compared with the cached reference (the
correctness gate), and on cuda a graph-timed measurement (kernels/timing.py) over cached input copies.
Failures are results. Errors are sorted by ERROR_TABLE: a sticky CUDA error poisons the context, so the
worker writes one line to stderr and exits EXIT_CUDA_POISONED for the conductor to restart it.
"""

import json
import os
import platform
import subprocess
import sys
import time
from collections import OrderedDict

from . import protocol as P
from .gpu_lock import GpuLock
from .sources import all_family_sources


class BackendUnavailable(RuntimeError):
    pass


# Known error messages -> how the trial ends (first match wins; matched against "ExceptionType: message").
ERROR_TABLE = (
    ("illegal memory access", "poison"),
    ("misaligned address", "poison"),
    ("unspecified launch failure", "poison"),
    ("device-side assert", "poison"),
    ("CUDA error", "poison"),
    ("OutOfResources", "invalid"),  # shared memory or registers over the device limit
    ("out of resource", "invalid"),
    ("OutOfMemoryError", "invalid"),  # the inputs of this problem do not fit
    ("", "compile_error"),  # anything else raised while building or launching the kernel
)


def classify(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return next(status for needle, status in ERROR_TABLE if needle in text)


def _build_key(mod, family: str, problem: dict) -> str:
    """Which binary a problem runs: its family's compile_variant, or the problem without M (kernels/family.py)."""
    variant = mod.compile_variant(family, problem) if hasattr(mod, "compile_variant") else \
        {k: v for k, v in problem.items() if k != "M"}
    return json.dumps(variant, sort_keys=True)


def _plant_rule() -> dict | None:
    """TRITUNE_PLANT_WRONG_ANSWER: JSON config subset; matching configs get one corrupted output element
    (5 % of its row's largest value), so a run can show that the correctness gate catches it."""
    text = os.environ.get("TRITUNE_PLANT_WRONG_ANSWER", "")
    return json.loads(text) if text else None


class TritonBackend:
    def __init__(self, name: str):
        self.name = name
        self.simulated = False
        if name == "interpret":
            os.environ["TRITON_INTERPRET"] = "1"
        try:
            import torch
            import triton
        except ImportError as e:
            raise BackendUnavailable(f"cannot import {e.name} (install torch and triton)") from None
        self.torch, self.triton = torch, triton
        self.compile_driver = None
        target = os.environ.get("TRITUNE_COMPILE_TARGET", "") if name == "cuda" else ""
        if target:  # a compile worker: no CUDA context unless a family cannot compile without one
            from . import compile_only

            try:
                self.compile_driver = compile_only.make_driver(compile_only.parse_target(target))
            except ValueError as e:
                raise BackendUnavailable(str(e)) from None
            self.dev = None  # set to "cuda" by _ensure_cuda() if a family must launch to compile
            # the bench GPUs' shared memory per block (the conductor passes it): a binary over it is refused
            self.smem_limit = int(os.environ.get("TRITUNE_COMPILE_SMEM", "0") or 0)
            arch = self.compile_driver.get_current_target().arch
            self.device = {"name": f"compile-only ({target})", "capability": [arch // 10, arch % 10], "sm_count": 1,
                           "shared_mem_per_block": 1, "l2_bytes": 0, "memory_bytes": 0, "hbm_GBps": None}
        elif name == "interpret":
            from . import interpret_compat

            interpret_compat.apply()
            self.dev = "cpu"
        elif not torch.cuda.is_available():
            raise BackendUnavailable("no CUDA GPU visible (torch.cuda.is_available() is False)")
        else:
            self.dev = "cuda"
        # several bench workers on one GPU take turns on it (kernels/gpu_lock.py); one alone: no-op
        self.gpu_lock = GpuLock(os.environ.get("TRITUNE_GPU_LOCK") if self.dev == "cuda" else None, self._sync)
        if self.dev is not None:
            with self.gpu_lock:  # the copy bandwidth is measured alone too
                self.device = self._device_info()
        self.inputs: OrderedDict = OrderedDict()  # (family, problem json) -> entry dict, LRU
        self.cache_bytes = 0
        self.cache_limit = float(os.environ.get("TRITUNE_INPUT_CACHE_GB", "16")) * 1e9
        self.plant = _plant_rule()
        self.profile = Profile()
        # with another bench worker on this GPU, a config's binaries are found and loaded before taking the GPU
        self.preload = self.gpu_lock.fd is not None and os.environ.get("TRITUNE_PRELOAD", "1") != "0"

    # ---- hello

    def _device_info(self) -> dict:
        torch = self.torch
        if self.dev == "cpu":
            return {"name": "Triton interpreter (CPU)", "capability": [0, 0], "sm_count": 1,
                    "shared_mem_per_block": 232448, "l2_bytes": 0, "memory_bytes": 0, "hbm_GBps": None}
        from .timing import copy_bandwidth_GBps

        props = torch.cuda.get_device_properties(0)
        smem = self.triton.runtime.driver.active.utils.get_device_properties(0)["max_shared_mem"]
        return {"name": props.name, "capability": [props.major, props.minor], "sm_count": props.multi_processor_count,
                "shared_mem_per_block": int(smem), "l2_bytes": int(props.L2_cache_size),
                "memory_bytes": int(props.total_memory), "hbm_GBps": round(copy_bandwidth_GBps(), 1)}

    def _driver_version(self) -> str | None:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10)
            return out.stdout.splitlines()[0].strip() or None
        except (OSError, IndexError, subprocess.SubprocessError):
            return None

    def hello(self) -> dict:
        torch = self.torch
        versions = {"python": platform.python_version(), "triton": self.triton.__version__,
                    "torch": torch.__version__, "driver": self._driver_version() if self.dev == "cuda" else None,
                    "cuda": torch.version.cuda}
        return P.hello(self.name, False, self.device, versions, all_family_sources(self.name))

    # ---- inputs

    def _entry(self, mod, family: str, problem: dict) -> dict:
        key = (family, json.dumps(problem, sort_keys=True))
        if key in self.inputs:
            self.inputs.move_to_end(key)
            return self.inputs[key]
        first = mod.make_inputs(family, problem, self.dev, seed=0)
        # "bytes" sizes the rotation (what one launch touches); "held" what an input set allocates of its own;
        # "min_bytes" (with the outputs) the launches per replay. Computed once per problem: the MoE families count
        # the experts of their seeded routing on the CPU, which took tens of ms a trial beside busy compile workers
        held = mod.held_bytes(problem) if hasattr(mod, "held_bytes") else mod.input_bytes(problem)
        entry = {"copies": [first], "ref": None, "bytes": mod.input_bytes(problem), "held": held,
                 "min_bytes": mod.min_bytes(problem)}
        self.inputs[key] = entry
        self.cache_bytes += entry["held"]
        self._evict()
        return entry

    def _evict(self):
        while self.cache_bytes > self.cache_limit and len(self.inputs) > 1:
            _, old = self.inputs.popitem(last=False)
            self.cache_bytes -= old["held"] * len(old["copies"])

    def _copies(self, mod, family: str, problem: dict, entry: dict) -> list:
        from .timing import copies_needed

        want = copies_needed(entry["bytes"], self.device["l2_bytes"])
        while len(entry["copies"]) < want:
            entry["copies"].append(mod.make_inputs(family, problem, self.dev, seed=len(entry["copies"])))
            self.cache_bytes += entry["held"]
        return entry["copies"]

    # ---- requests

    def compile(self, req: dict) -> dict:
        """Compile the config for every distinct specialization among the problems (a family's compile_variant;
        absent: the problem without M) with the family's compile_only (no GPU needed), else with one launch per
        problem, which needs the GPU."""
        from .family import family_module

        start = time.perf_counter()
        mod = family_module(req["family"])
        family, config = req["family"], req["config"]
        seen = set()
        for raw in req["problems"]:
            try:
                problem = mod.normalize_problem(family, raw)
            except ValueError as e:
                return P.compiled(req["id"], "invalid", 0.0, str(e))
            reason = mod.invalid_reason(family, problem, config)
            if reason:
                return P.compiled(req["id"], "invalid", 0.0, reason)
            build_key = _build_key(mod, family, problem)
            if build_key in seen:
                continue
            seen.add(build_key)
            try:
                shared = self._compile_one(mod, family, problem, config)
            except Exception as e:
                status = self._failure(e)
                return P.compiled(req["id"], status, (time.perf_counter() - start) * 1000, _first_line(e))
            if shared > self.smem_limit > 0 and getattr(mod, "SHARED_MEMORY_BY_CONFIG", False):
                self.profile.add("compile_request", time.perf_counter() - start)
                return P.compiled(req["id"], "invalid", (time.perf_counter() - start) * 1000,
                                  f"out of resource: shared memory, Required: {shared}, Hardware limit: "
                                  f"{self.smem_limit} (found by a compile worker; the same at every M)", every_m=True)
        elapsed = time.perf_counter() - start
        self.profile.add("compile_request", elapsed)
        return P.compiled(req["id"], "ok", elapsed * 1000)

    def _compile_one(self, mod, family: str, problem: dict, config: dict) -> int:
        """Compiles one problem's kernels; the most shared memory one of them takes (0 where it launched on the GPU)."""
        if self.compile_driver is not None and hasattr(mod, "compile_only"):
            from . import compile_only

            try:
                with compile_only.active(self.compile_driver), compile_only.compiled_kernels() as kernels:
                    mod.compile_only(family, problem, config)
                return max((k.metadata.shared for k in kernels), default=0)
            except compile_only.NeedsGpu:
                pass
        self._ensure_cuda()
        mod.launch(family, self._entry(mod, family, problem)["copies"][0], config)
        self._sync()
        return 0

    def _ensure_cuda(self) -> None:
        """A compile worker whose family has no compile_only opens its CUDA context on first need."""
        if self.dev is None:
            if not self.torch.cuda.is_available():
                raise RuntimeError("no CUDA GPU visible to compile on")
            self.dev = "cuda"

    def _sync(self):
        if self.dev == "cuda":
            self.torch.cuda.synchronize()

    def _failure(self, exc: BaseException) -> str:
        status = classify(exc)
        if status == "poison":
            print(f"worker: sticky CUDA error, exiting: {_first_line(exc)}", file=sys.stderr, flush=True)
            os._exit(P.EXIT_CUDA_POISONED)
        return status

    def trial(self, req: dict) -> dict:
        from .family import family_module

        start = time.perf_counter()
        family, config = req["family"], req["config"]
        mod = family_module(family)
        results, compile_ms, timed_ms = [], None, 0.0
        failed: dict = {}  # problem without M -> (status, message): a config that failed to build fails alike
        loaded: set = set()  # build keys preloaded in this request
        for i, raw in enumerate(req["problems"]):
            try:
                problem = mod.normalize_problem(family, raw)
            except ValueError as e:
                results.append(P.problem_result(i, "invalid", message=str(e)))
                continue
            reason = mod.invalid_reason(family, problem, config)
            if reason:
                results.append(P.problem_result(i, "invalid", message=reason))
                continue
            build_key = _build_key(mod, family, problem)
            if build_key in failed:
                results.append(P.problem_result(i, failed[build_key][0], message=failed[build_key][1]))
                continue
            if self.preload and build_key not in loaded:
                loaded.add(build_key)
                self._preload(mod, family, problem, config)
            try:
                results.append(self._one(mod, family, problem, config, req, i, compile_ms is None))
                if compile_ms is None:
                    compile_ms = self._last_first_launch_ms
                timed_ms += self._last_timed_ms
            except Exception as e:
                status = self._failure(e)
                failed[build_key] = (status, _first_line(e))
                results.append(P.problem_result(i, status, message=_first_line(e)))
        wall = (time.perf_counter() - start) * 1000
        self.profile.add("trial_request", wall / 1000)
        self.profile.count("requests")
        if self.profile.counts["requests"] % 200 == 0:
            self.profile.dump("bench")  # also mid-run, for a run that is cut short
        return P.trial_result(req["id"], False, round(compile_ms, 3) if compile_ms is not None else None,
                              wall, timed_ms, results)

    def _preload(self, mod, family, problem, config) -> None:
        """Before taking the GPU: the family's compile_only on this GPU's own driver finds the config's binaries
        (in Triton's cache, where the compile workers put them) and loading them onto the GPU (_init_handles, a
        driver call that runs no kernel) leaves the first launch under the lock only its launch. Host work that
        overlaps the other worker's kernels; where it fails or meets another specialization than the launch, the
        first launch compiles or loads as before (and reports the error, if any)."""
        if not hasattr(mod, "compile_only"):
            return
        from . import compile_only

        t = time.perf_counter()
        try:
            with compile_only.compiled_kernels() as kernels:
                mod.compile_only(family, problem, config)
            for kernel in kernels:
                kernel._init_handles()
        except Exception:  # noqa: BLE001 -- the launch under the lock meets it and reports it
            self.profile.count("preload_failed")
        self.profile.add("preload", time.perf_counter() - t)

    def _one(self, mod, family, problem, config, req, index, first: bool) -> dict:
        with self.gpu_lock:
            return self._one_locked(mod, family, problem, config, req, index, first)

    def _one_locked(self, mod, family, problem, config, req, index, first: bool) -> dict:
        prof = self.profile
        t0 = time.perf_counter()
        entry = self._entry(mod, family, problem)
        self._last_timed_ms = 0.0
        t1 = prof.add("inputs", time.perf_counter() - t0)
        out = mod.launch(family, entry["copies"][0], config)  # the first launch of a config compiles it
        self._sync()
        self._last_first_launch_ms = (time.perf_counter() - t1) * 1000
        t2 = prof.add("first_launch", self._last_first_launch_ms / 1000)
        max_err = None
        if req["check"]:
            if entry["ref"] is None:
                entry["ref"] = mod.reference(family, entry["copies"][0])
            if self.plant is not None and all(config.get(k) == v for k, v in self.plant.items()):
                out = out.clone()
                out[-1, -1] += 0.05 * float(out[-1].float().abs().max()) + 1.0
            ok, max_err = mod.check(family, out, entry["ref"])
            if not ok:
                return P.problem_result(index, "wrong_answer", max_err=_finite(max_err),
                                        message=f"max error {max_err:.3g} x the tolerance")
        del out
        t3 = prof.add("check", time.perf_counter() - t2)
        if self.dev == "cpu":
            return P.problem_result(index, "ok", max_err=_finite(max_err))
        from .timing import copies_needed, measure

        copies = self._copies(mod, family, problem, entry)
        t4 = prof.add("copies", time.perf_counter() - t3)
        min_reps = copies_needed(entry["min_bytes"], self.device["l2_bytes"])  # outputs flush the L2 too
        m = measure([lambda inp=inp: mod.launch(family, inp, config) for inp in copies], req["effort"], min_reps,
                    phases=prof, gpu_lock=self.gpu_lock)
        prof.add("measure", time.perf_counter() - t4)
        prof.count("problems")
        self._last_timed_ms = m.timed_ms
        return P.problem_result(index, "ok", us=round(m.us, 4), spread=round(m.spread, 4), samples=m.samples,
                                max_err=_finite(max_err))


class Profile:
    """Host seconds per phase of the worker's requests, summed; TRITUNE_PROFILE=<path prefix> writes them to
    <prefix>.<pid>.json when the worker exits (how docs/BENCHMARKS.md's per-trial breakdown was taken)."""

    def __init__(self):
        self.seconds: dict = {}
        self.counts: dict = {}

    def add(self, phase: str, seconds: float) -> float:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds
        return time.perf_counter()

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def dump(self, role: str) -> None:
        prefix = os.environ.get("TRITUNE_PROFILE")
        if not prefix:
            return
        with open(f"{prefix}.{role}.{os.getpid()}.json", "w") as f:
            json.dump({"role": role, "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                       "counts": self.counts}, f)


def _finite(x):
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else round(float(x), 6)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]
