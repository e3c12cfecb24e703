"""The sim backend: an analytic roofline-style cost model with deterministic noise and injectable faults.

It lets the conductor and the search strategies be tested on a CPU. It imports neither torch nor triton.
Every number it produces is simulated (hello and every result say simulated: true). The landscape it
draws is meant to be realistic, not exact: memory time from bytes over HBM bandwidth (the bandwidth a
launch reaches grows with the bytes it keeps in flight), compute time from padded flops over a peak that
depends on the tile, wave quantization over the SMs, split-K's atomic and epilogue cost, penalties for
too few / too many warps and stages, register spills, and 'invalid' past the shared-memory limit.

Determinism: a (family, problem, config) always gives the same µs, bit for bit, in any process, because
the noise is drawn from sha256 of their sorted JSON.
"""

import hashlib
import importlib.metadata
import json
import math
import os
import sys
import time

from . import protocol as P
from .compile_only import specialization
from .gpu_lock import GpuLock
from .sources import all_family_sources

SIM_DEVICE = {
    "capability": [9, 0],
    "sm_count": 132,
    "shared_mem_per_block": 232448,  # 227 KiB opt-in, as on H100/H200
    "l2_bytes": 60 * 1024 * 1024,
    "memory_bytes": 141 * 1000**3,
    "hbm_GBps": 4250.0,  # the copy bandwidth measured on an H200 (docs/BENCHMARKS.md anchors)
}
L2_GBPS = 11000.0
LAUNCH_US = 2.2  # start-up + tail of one kernel inside a CUDA graph
INFLIGHT_PER_SM = 36 * 1024  # bytes an SM must keep in flight to saturate HBM (Little's law)

# family -> (activation bytes, weight bytes per element, peak ops/s of the tensor cores it uses)
FAMILY_COST = {
    "w8a8-int8": (1.0, 1.0, 1150e12),
    "w8a8-fp8": (1.0, 1.0, 1450e12),
    "w4a16": (2.0, 0.5, 790e12),
    "moe-w4a16": (2.0, 0.5, 790e12),
}
# the servers' fused-MoE layers (vllm-moe): the same costs by quantization, on the MoE GEMM model
SERVER_QUANT_COST = {
    "bf16": (2.0, 2.0, 790e12), "fp8_w8a8_block": (1.0, 1.0, 1450e12), "fp8_w8a8": (1.0, 1.0, 1450e12),
    "int8_w8a8": (1.0, 1.0, 1150e12), "int8_w8a16": (2.0, 1.0, 790e12), "int4_w4a16": (2.0, 0.5, 790e12),
}
SERVER_MOE = ("vllm-moe", "sglang-moe")
# the servers' block-quantized GEMMs: a dense W8A8 GEMM of the checkpoint's type (split-K: SGLang's SM90 kernel; its
# SWAP_AB is not modelled)
SERVER_BLOCK = {"vllm-w8a8-block": "w8a8-fp8", "sglang-w8a8-block": "w8a8-fp8"}
BLOCK_QUANT_COST = {"fp8": FAMILY_COST["w8a8-fp8"], "int8": FAMILY_COST["w8a8-int8"]}


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def stable_hash(*parts) -> int:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def unit_normal(seed: int) -> float:
    """A standard normal from a 64-bit seed (Box-Muller on two 32-bit halves)."""
    u1 = ((seed >> 32) + 0.5) / 2**32
    u2 = ((seed & 0xFFFFFFFF) + 0.5) / 2**32
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


def _pow2(v) -> bool:
    return isinstance(v, int) and v > 0 and v & (v - 1) == 0


def config_problem(family: str, config: dict) -> str | None:
    """Why this config is malformed for the family (keys, powers of two), or None."""
    keys = P.CONFIG_KEYS[family]
    missing = [k for k in keys if k not in config and k not in P.OPTIONAL_KEYS[family]]  # optional: absent value
    extra = [k for k in config if k not in keys]
    if missing or extra:
        return f"config keys do not match {family}: missing {missing}, unknown {extra}"
    for k in ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps"):
        if not _pow2(config[k]):
            return f"{k} must be a power of two, got {config[k]}"
    if config["BLOCK_SIZE_M"] < 16 or config["BLOCK_SIZE_N"] < 16 or config["BLOCK_SIZE_K"] < 16:
        return "block sizes must be at least 16 (tl.dot)"
    if not 1 <= config["num_stages"] <= 8 or config.get("SPLIT_K", 1) < 1:
        return "num_stages must be in 1..8 and SPLIT_K >= 1"
    return None


def _m_tiles(family: str, problem: dict, bm: int) -> tuple[int, float]:
    """(tiles along M, rows really computed): MoE pads each expert's tokens to BLOCK_SIZE_M."""
    if family != "moe-w4a16":
        return math.ceil(problem["M"] / bm), problem["M"]
    rows, experts = problem["M"] * problem["top_k"], problem["E"]
    if problem["routing"] == "skewed":  # Zipf-like: expert i gets a share proportional to 1/(i+1)
        weights = [1 / (i + 1) for i in range(experts)]
    else:
        weights = [1.0] * experts
    total = sum(weights)
    tiles = sum(math.ceil(rows * w / total / bm) for w in weights if rows * w / total >= 0.5)
    return max(tiles, 1), rows


def _weight_bytes(family: str, problem: dict, cost: tuple | None = None) -> float:
    _, wb, _ = cost or FAMILY_COST[family]
    n, k = problem["N"], problem["K"]
    per_matrix = n * k * wb
    if family in ("w4a16", "moe-w4a16"):
        groups = k if problem["group_size"] == -1 else k / problem["group_size"]
        groups = 1 if problem["group_size"] == -1 else groups
        per_matrix += n * groups * (2 + (0.5 if problem["zero_points"] else 0))
    if family == "moe-w4a16":  # only experts that receive tokens are read
        e, rows = problem["E"], problem["M"] * problem["top_k"]
        active = e * (1 - (1 - 1 / e) ** rows)
        return per_matrix * active
    return per_matrix


def layer_gemms(problem: dict) -> list[dict]:
    """A MoE 'layer' problem (N = intermediate I, K = hidden) as its up [2I, hidden] and down [hidden, I] GEMMs
    (kernels/moe_w4a16.py gemm_problems, restated here: the sim imports no torch)."""
    return [{**problem, "gemm": "up", "N": 2 * problem["N"]},
            {**problem, "gemm": "down", "N": problem["K"], "K": problem["N"]}]


def simulate(family: str, problem: dict, config: dict, device: dict = SIM_DEVICE,
             cost: tuple | None = None) -> tuple[str, float | None, str | None]:
    """(status, µs, message) of one trial under the cost model; status is 'ok' or 'invalid'.
    A MoE 'layer' costs its up GEMM plus its down GEMM (the first that is invalid makes it invalid); a server's
    fused-MoE layer is one, on the MoE GEMM model with its quantization's element sizes."""
    if family in SERVER_MOE:
        bad = config_problem(family, config)
        if bad:
            return "invalid", None, bad
        layer = {**problem, "gemm": "layer", "zero_points": False,
                 "group_size": problem["group_size"] if problem["quant"] == "int4_w4a16" else -1}
        return simulate("moe-w4a16", layer, {k: v for k, v in config.items() if k != "SPLIT_K"}, device,
                        SERVER_QUANT_COST[problem["quant"]])
    if family in SERVER_BLOCK:
        bad = config_problem(family, config)
        if bad:
            return "invalid", None, bad
        gemm = {"M": problem["M"], "N": problem["N"], "K": problem["K"]}
        dense = {k: v for k, v in config.items() if k != "SWAP_AB"}
        return simulate(SERVER_BLOCK[family], gemm, {**dense, "SPLIT_K": config.get("SPLIT_K", 1)}, device,
                        BLOCK_QUANT_COST[problem.get("quant", "fp8")])
    if family == "moe-w4a16" and problem.get("gemm") == "layer":
        total = 0.0
        for q in layer_gemms(problem):
            status, us, msg = simulate(family, q, config, device, cost)
            if status != "ok":
                return status, None, f"{q['gemm']} GEMM: {msg}"
            total += us
        return "ok", total, None
    bad = config_problem(family, config)
    if bad:
        return "invalid", None, bad
    ab, wb, peak = cost or FAMILY_COST[family]
    if family == "w4a16" and config.get("DEQUANT_GEMM"):  # W written once in bf16, then the dense GEMM
        m, n, k = problem["M"], problem["N"], problem["K"]
        dequant_us = (_weight_bytes(family, problem, cost) + 2.0 * n * k) / (device["hbm_GBps"] * 1e9 * 0.8) * 1e6
        gemm_us = max(2.0 * m * n * k / (peak * 0.8), 2.0 * (m * k + n * k + m * n) / (device["hbm_GBps"] * 1e9 * 0.9))
        tile = 1.0 + 0.05 * abs(math.log2(config["BLOCK_SIZE_N"] * config["BLOCK_SIZE_K"] / 16384))
        return "ok", dequant_us * tile + gemm_us * 1e6 + 4.0, None
    if family == "w4a16" and config.get("REG_A"):  # the tensor cores at prefill, the words read once a token tile
        m, n, k = problem["M"], problem["N"], problem["K"]
        tiles = math.ceil(m / config["BLOCK_SIZE_M"]) * math.ceil(n / config["BLOCK_SIZE_N"])
        waves = math.ceil(tiles / device["sm_count"]) / (tiles / device["sm_count"])
        mma_us = 2.0 * m * n * k / (peak * 0.75) * waves * 1e6
        bytes_us = (_weight_bytes(family, problem, cost) * math.ceil(m / config["BLOCK_SIZE_M"]) / 8
                    + 2.0 * (m * k + m * n)) / (device["hbm_GBps"] * 1e9 * 0.9) * 1e6
        tile = 1.0 + 0.04 * abs(math.log2(config["BLOCK_SIZE_M"] * config["BLOCK_SIZE_N"] / 32768))
        return "ok", max(mma_us, bytes_us) * tile + 5.0, None
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    warps, stages, split = config["num_warps"], config["num_stages"], config.get("SPLIT_K", 1)
    n, k = problem["N"], problem["K"]
    stage_bytes = bm * bk * ab + bk * bn * wb + (bk * bn * 2 if wb < 1 else 0)  # int4: dequantized tile too
    smem = int(stages * stage_bytes)
    if smem > device["shared_mem_per_block"]:
        return "invalid", None, (f"out of resource: shared memory, Required: {smem}, "
                                 f"Hardware limit: {device['shared_mem_per_block']}")
    k_blocks = math.ceil(k / bk)
    if split > k_blocks:
        return "invalid", None, f"SPLIT_K={split} exceeds the {k_blocks} K blocks of K={k} at BLOCK_SIZE_K={bk}"
    if family in ("w4a16", "moe-w4a16"):
        g = problem["group_size"]
        if g != -1 and bk % g and g % bk:
            return "invalid", None, f"BLOCK_SIZE_K={bk} and group_size={g} must divide one another"

    sms = device["sm_count"]
    tiles_m, rows = _m_tiles(family, problem, bm)
    tiles_n = math.ceil(n / bn)
    ctas = tiles_m * tiles_n * split
    acc_regs = bm * bn / (warps * 32)
    regs = acc_regs * (1.0 if wb >= 1 else 1.5) + 40
    spill = 1.0 + max(0.0, regs - 255) / 128  # beyond 255 registers per thread: spills
    per_sm = max(1, min(device["shared_mem_per_block"] // max(smem, 1), 64 // warps,
                        int(65536 // (warps * 32 * min(regs, 255)))))
    slots = sms * per_sm
    waves = math.ceil(ctas / slots)

    # compute: padded flops over a tile-dependent share of the peak, quantized into waves
    padded = 2.0 * tiles_m * bm * tiles_n * bn * math.ceil(k_blocks / split) * split * bk
    eff = 0.9 * min(1.0, bm / 64) ** 0.6 * min(1.0, bn / 128) ** 0.4 * min(1.0, bk / 64) ** 0.3
    ideal_warps = min(8, max(2, bm * bn // 4096))
    eff /= 1.0 + 0.18 * abs(math.log2(warps / ideal_warps))
    eff /= {1: 1.7, 2: 1.25}.get(stages, 1.0 + 0.03 * max(0, stages - 4))
    if wb < 1:  # int4 dequantization competes with the MMAs, less so when one load feeds more rows
        eff *= 0.55 + 0.35 * min(1.0, bm / 64) * (1.0 + 0.05 * math.log2(config.get("K_UNROLL", 1)))
    busy = min(ctas, slots) / slots
    compute_us = padded / (peak * eff * max(busy, 1e-3)) * (waves * slots / max(ctas, slots)) * 1e6 * spill

    # memory: minimum bytes at a bandwidth set by the bytes kept in flight; tile re-reads mostly hit L2
    a_bytes, w_bytes, c_bytes = rows * k * ab, _weight_bytes(family, problem, cost), rows * n * 2
    w_tiles_m = tiles_m
    if family == "moe-w4a16":  # each expert's weights are re-read only by that expert's M tiles
        e, r = problem["E"], problem["M"] * problem["top_k"]
        w_tiles_m = tiles_m / max(1.0, e * (1 - (1 - 1 / e) ** r))
    reread = a_bytes * (tiles_n - 1) + w_bytes * max(0.0, w_tiles_m - 1)
    miss = 0.04 if config["GROUP_SIZE_M"] >= 4 else 0.15
    hbm_bytes = a_bytes + w_bytes + c_bytes + reread * miss
    inflight = min(ctas, slots) * stage_bytes * max(stages - 1, 0.5)
    bw = device["hbm_GBps"] * 1e9 * 0.93 * min(1.0, inflight / (sms * INFLIGHT_PER_SM)) ** 0.7
    memory_us = (hbm_bytes / bw + reread * (1 - miss) / (L2_GBPS * 1e9)) * 1e6

    splitk_us = 0.0
    if split > 1:  # fp32 atomics into a workspace, then the last CTA of each tile runs the epilogue
        splitk_us = 0.5 + rows * n * 4 * split / (L2_GBPS * 1e9 * 0.3) * 1e6
    us = max(compute_us, memory_us) + 0.15 * min(compute_us, memory_us) + splitk_us + LAUNCH_US
    return "ok", us, None


class SimBackend:
    """Answers trial and compile requests from the cost model; injects faults by request or environment."""

    name = "sim"
    simulated = True

    def __init__(self, env=os.environ):
        self.device = {"name": env.get("TRITUNE_SIM_DEVICE", "NVIDIA SIM-H200"), **SIM_DEVICE}
        self.delay_s = float(env.get("TRITUNE_SIM_DELAY_MS", "0") or 0) / 1000.0
        self.fault_rules = parse_fault_rules(env.get("TRITUNE_SIM_FAULTS", ""))
        self.compiled: set[str] = set()
        # Compile-latency model (off by default): a binary not yet in the shared cache costs this many ms
        # (scaled 0.5-1x per config) in a compile request and in the first trial that needs it.
        self.compile_ms = float(env.get("TRITUNE_SIM_COMPILE_MS", "0") or 0)
        self.cache_dir = env.get("TRITUNE_SIM_COMPILE_CACHE") or None
        # the delay stands for a problem's GPU time: workers sharing a GPU take turns on it, as on cuda
        self.gpu_lock = GpuLock(env.get("TRITUNE_GPU_LOCK"))

    def hello(self) -> dict:
        # the Triton a real worker here would run (read from its metadata, not imported): SGLang's folders name it
        versions = {"python": P.python_version(), "triton": _installed_version("triton"), "torch": None, "driver": None,
                    "cuda": None}
        return P.hello("sim", True, self.device, versions, all_family_sources("sim"))

    def fault_for(self, req: dict) -> str | None:
        if req.get("fault"):
            return req["fault"]
        for rule in self.fault_rules:
            if all(req["config"].get(k) == v or (k == "family" and req["family"] == v)
                   for k, v in rule["match"].items()):
                return rule["fault"]
        return None

    def _compile_ms(self, family: str, config: dict) -> float:
        key = json.dumps([family, config], sort_keys=True)
        if key in self.compiled:
            return 7.0
        self.compiled.add(key)
        return 300.0 + stable_hash("compile", family, config) % 300

    def _binaries(self, family: str, config: dict, problems: list) -> set[str]:
        """What a real worker compiles for these problems: W8A8 specializes on N, K divisibility by 16 and EVEN_K
        (compileKey in src/families/w8a8.ts), W4A16 on how Triton classes N, N/8, K and K/8 (one, a multiple of 16,
        else), the quantization and EVEN_K (compileKey in src/families/w4a16.ts); the other families per weight
        shape (every field but M) and what of M their kernels specialize on (their compile_variant, modelled): MoE
        W4A16 how Triton classes the number of routed pairs, the servers' kernels every M."""
        out = set()
        for raw in problems:
            if not isinstance(raw, dict):
                continue
            if family.startswith("w8a8"):
                n, k = raw.get("N", 0), raw.get("K", 0)
                split = config.get("BLOCK_SIZE_K", 1) * config.get("SPLIT_K", 1)
                shape = [n % 16 == 0, k % 16 == 0, k % split == 0]
            elif family == "w4a16":
                n, k = raw.get("N", 0), raw.get("K", 0)
                ints = [specialization(v) for v in (n, -(-n // 8), k, k // 8)]
                block = config.get("BLOCK_SIZE_K", 1) * config.get("K_UNROLL", 1)
                shape = [ints, raw.get("group_size", 128), raw.get("zero_points", True), k % block == 0]
            else:
                m, pairs = raw.get("M", 1), raw.get("M", 1) * raw.get("top_k", 1)
                of_m = {"moe-w4a16": [pairs == 1, pairs % 16 == 0]}.get(family, m)
                shape = [sorted((k, v) for k, v in raw.items() if k != "M"), of_m]
            # moe-w4a16 takes GROUP_SIZE_M as an unspecialized int: configs differing only in it share a binary
            binary = {k: v for k, v in config.items() if not (family == "moe-w4a16" and k == "GROUP_SIZE_M")}
            out.add(hashlib.sha256(json.dumps([family, binary, shape], sort_keys=True).encode()).hexdigest()[:32])
        return out

    def _compile_delay(self, family: str, config: dict, problems: list) -> None:
        """Sleeps the modelled compile time of every binary not yet in the shared cache, then caches them."""
        if self.compile_ms <= 0:
            return
        for key in sorted(self._binaries(family, config, problems)):
            if key in self.compiled:
                continue  # loaded in this process already
            if self.cache_dir and os.path.exists(os.path.join(self.cache_dir, key)):
                time.sleep(0.007)  # loading a binary another worker compiled
                self.compiled.add(key)
                continue
            time.sleep(self.compile_ms * (0.5 + (stable_hash("compile", family, config) % 500) / 1000) / 1000)
            self.compiled.add(key)
            if self.cache_dir:
                os.makedirs(self.cache_dir, exist_ok=True)
                open(os.path.join(self.cache_dir, key), "w").close()

    def compile(self, req: dict) -> dict:
        bad = config_problem(req["family"], req["config"])
        start = time.perf_counter()
        if self.compile_ms > 0:
            self._compile_delay(req["family"], req["config"], req.get("problems") or [])
            ms = (time.perf_counter() - start) * 1000.0
        else:
            ms = self._compile_ms(req["family"], req["config"])
        if not bad and self.fault_for(req) == "shared_memory":  # as a compile worker over a GPU's limit answers
            return P.compiled(req["id"], "invalid", ms, "out of resource: shared memory (simulated fault; found by a "
                              "compile worker; the same at every M)", every_m=True)
        return P.compiled(req["id"], "invalid" if bad else "ok", ms, bad)

    def trial(self, req: dict) -> dict:
        start = time.perf_counter()
        family, config = req["family"], req["config"]
        fault = self.fault_for(req)
        hard_fault(fault)
        if self.compile_ms > 0:
            t0 = time.perf_counter()
            self._compile_delay(family, config, req["problems"])
            compile_ms = (time.perf_counter() - t0) * 1000.0
        else:
            compile_ms = self._compile_ms(family, config)
        samples = 5 if req["effort"] == "quick" else 15
        results, timed_ms = [], 0.0
        for i, raw in enumerate(req["problems"]):
            if self.delay_s:
                with self.gpu_lock:
                    time.sleep(self.delay_s)
            try:
                problem = P.normalize_problem(family, raw)
            except ValueError as e:
                results.append(P.problem_result(i, "invalid", message=str(e)))
                continue
            status, us, msg = simulate(family, problem, config, self.device)
            if status == "ok" and fault == "shared_memory":
                status, us, msg = "invalid", None, "out of resource: shared memory (simulated fault)"
            if status == "ok" and fault == "compile_error":
                status, us, msg = "compile_error", None, "simulated compile error (fault injected)"
            elif status == "ok" and fault == "wrong_answer" and req["check"]:
                results.append(P.problem_result(i, "wrong_answer", max_err=41.0,
                                                message="simulated wrong answer (fault injected)"))
                continue
            if status != "ok":
                results.append(P.problem_result(i, status, message=msg))
                continue
            seed = stable_hash(family, problem, config)
            us *= math.exp(0.02 * unit_normal(seed))
            spread = 0.01 + (seed % 1000) / 1000 * 0.04
            timed_ms += us * 64 * (samples + 1) / 1000.0
            results.append(P.problem_result(i, "ok", us=round(us, 4), spread=round(spread, 4), samples=samples,
                                            max_err=0.0))
        if fault == "compile_error":
            compile_ms = None
        wall_ms = (time.perf_counter() - start) * 1000.0
        return P.trial_result(req["id"], True, compile_ms, wall_ms, timed_ms, results)


def parse_fault_rules(text: str) -> list[dict]:
    """TRITUNE_SIM_FAULTS: a JSON list of {"fault": <SimFault>, "match": {<config key or 'family'>: value}}."""
    if not text.strip():
        return []
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TRITUNE_SIM_FAULTS is not JSON: {e.msg}") from None
    if not isinstance(rules, list):
        raise ValueError("TRITUNE_SIM_FAULTS must be a JSON list of {fault, match} objects")
    for r in rules:
        if not isinstance(r, dict) or r.get("fault") not in P.SIM_FAULTS or not isinstance(r.get("match", {}), dict):
            raise ValueError(f"TRITUNE_SIM_FAULTS rule {r!r}: need fault in {P.SIM_FAULTS} and a match object")
        r.setdefault("match", {})
    return rules


def hard_fault(fault: str | None) -> None:
    """The faults that end the request without an answer: hang, crash, illegal_address."""
    if fault == "hang":
        print("sim: injected hang", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    if fault == "crash":
        print("sim: injected crash", file=sys.stderr, flush=True)
        os._exit(P.EXIT_CRASH)
    if fault == "illegal_address":
        print("RuntimeError: CUDA error: an illegal memory access was encountered (sim: injected fault)",
              file=sys.stderr, flush=True)
        os._exit(P.EXIT_CUDA_POISONED)
