"""The worker protocol, mirrored from src/schema/protocol.ts (the source of truth; keep the two in step).

One JSON object per line on the worker's stdin (requests) and stdout (responses); logs go to stderr.
This module only parses, validates and builds messages: it imports nothing heavy, so the sim worker
starts fast. Problem defaults and config keys mirror src/schema/problem.ts and src/schema/config.ts.
"""

import json
import os
import platform

PROTOCOL_VERSION = 1
WORKER_VERSION = "0.1.0"

FAMILIES = ("w8a8-int8", "w8a8-fp8", "w4a16", "moe-w4a16")
BACKENDS = ("cuda", "interpret", "sim")
SIM_FAULTS = ("hang", "crash", "illegal_address", "compile_error", "wrong_answer")
# Statuses the worker itself sets; 'timeout' and 'crash' are set by the conductor.
WORKER_STATUSES = ("ok", "invalid", "compile_error", "wrong_answer")
EFFORTS = ("quick", "full")

# Exit codes of the worker process (the conductor tells them apart).
EXIT_OK = 0
EXIT_CRASH = 1  # sim 'crash' fault, or an unexpected Python error
EXIT_BAD_ARGS = 2
EXIT_NO_BACKEND = 3  # torch / triton / GPU missing for the requested backend (one line on stderr says which)
EXIT_CUDA_POISONED = 4  # a sticky CUDA error (illegal address, ...): the context is unusable, restart the worker

# src/schema/problem.ts: field -> default (None = required); allowed values where an enum.
_DIMS = {"M": None, "N": None, "K": None}
PROBLEM_FIELDS = {
    "w8a8": {**_DIMS, "scale_a": "token", "scale_b": "channel", "bias": False, "out_dtype": "bf16"},
    "w4a16": {**_DIMS, "group_size": 128, "zero_points": True, "packing": "plain", "act_dtype": "bf16"},
    "moe-w4a16": {**_DIMS, "E": None, "top_k": None, "gemm": "up", "group_size": 128, "zero_points": False,
                  "routing": "uniform", "seed": 0, "act_dtype": "bf16"},
}
PROBLEM_ENUMS = {
    "scale_a": ("tensor", "token"), "scale_b": ("tensor", "channel"), "out_dtype": ("bf16", "fp16"),
    "act_dtype": ("bf16", "fp16"), "group_size": (32, 64, 128, -1), "packing": ("awq", "plain"),
    "gemm": ("up", "down", "layer"), "routing": ("uniform", "skewed"),
}
BASE_CONFIG_KEYS = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps", "num_stages")
CONFIG_KEYS = {
    "w8a8-int8": BASE_CONFIG_KEYS + ("SPLIT_K",),
    "w8a8-fp8": BASE_CONFIG_KEYS + ("SPLIT_K",),
    "w4a16": BASE_CONFIG_KEYS + ("SPLIT_K", "K_UNROLL"),
    "moe-w4a16": BASE_CONFIG_KEYS,
}


class ProtocolError(ValueError):
    """A request that cannot be served; answered with an 'error' line (the worker goes on)."""

    def __init__(self, message: str, request_id: str | None = None):
        super().__init__(message)
        self.request_id = request_id


def problem_kind(family: str) -> str:
    return "w8a8" if family.startswith("w8a8") else family


def normalize_problem(family: str, problem: dict) -> dict:
    """Fill defaults and check fields the way problem.ts does; raise ValueError with a one-line reason."""
    fields = PROBLEM_FIELDS[problem_kind(family)]
    unknown = sorted(set(problem) - set(fields))
    if unknown:
        raise ValueError(f"unknown problem field(s) for {family}: {', '.join(unknown)}")
    out = {}
    for key, default in fields.items():
        value = problem.get(key, default)
        if value is None:
            raise ValueError(f"problem is missing {key}")
        if key in ("M", "N", "K", "E", "top_k") and (type(value) is not int or value < 1):
            raise ValueError(f"problem.{key} must be a positive integer, got {value!r}")
        if key in PROBLEM_ENUMS and value not in PROBLEM_ENUMS[key]:
            raise ValueError(f"problem.{key} must be one of {PROBLEM_ENUMS[key]}, got {value!r}")
        if isinstance(default, bool) and type(value) is not bool:
            raise ValueError(f"problem.{key} must be a boolean, got {value!r}")
        out[key] = value
    return out


def _need(msg: dict, key: str, kind, rid):
    if key not in msg:
        raise ProtocolError(f"request is missing '{key}'", rid)
    if not isinstance(msg[key], kind) or (kind is int and isinstance(msg[key], bool)):
        raise ProtocolError(f"'{key}' has the wrong type", rid)
    return msg[key]


def parse_request(line: str) -> dict:
    """Parse and validate one request line (TrialRequest, CompileRequest or ShutdownRequest), defaults filled."""
    try:
        msg = json.loads(line)
    except json.JSONDecodeError as e:
        raise ProtocolError(f"not JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("a request must be a JSON object")
    rid = msg.get("id") if isinstance(msg.get("id"), str) else None
    kind = msg.get("type")
    allowed = {
        "shutdown": {"type"},
        "compile": {"type", "id", "family", "config", "problems"},
        "trial": {"type", "id", "family", "config", "problems", "check", "effort", "fault"},
    }
    if kind not in allowed:
        raise ProtocolError(f"unknown request type {kind!r} (expected trial, compile or shutdown)", rid)
    extra = sorted(set(msg) - allowed[kind])
    if extra:
        raise ProtocolError(f"unknown field(s) in {kind} request: {', '.join(extra)}", rid)
    if kind == "shutdown":
        return msg
    if not _need(msg, "id", str, rid):
        raise ProtocolError("'id' must be a non-empty string", rid)
    family = _need(msg, "family", str, rid)
    if family not in FAMILIES:
        raise ProtocolError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})", rid)
    config = _need(msg, "config", dict, rid)
    for k, v in config.items():
        if type(v) is not int:
            raise ProtocolError(f"config.{k} must be an integer, got {v!r}", rid)
    problems = _need(msg, "problems", list, rid)
    if not problems or not all(isinstance(p, dict) for p in problems):
        raise ProtocolError("'problems' must be a non-empty list of objects", rid)
    if kind == "compile":
        return msg
    out = dict(msg)
    out["check"] = msg.get("check", True)
    out["effort"] = msg.get("effort", "full")
    if type(out["check"]) is not bool:
        raise ProtocolError("'check' must be a boolean", rid)
    if out["effort"] not in EFFORTS:
        raise ProtocolError(f"'effort' must be one of {EFFORTS}", rid)
    if "fault" in msg and msg["fault"] not in SIM_FAULTS:
        raise ProtocolError(f"'fault' must be one of {SIM_FAULTS}", rid)
    return out


# ---- responses (field names exactly as protocol.ts)

def hello(backend: str, simulated: bool, device: dict, versions: dict) -> dict:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "worker_version": WORKER_VERSION, "backend": backend,
            "simulated": simulated, "pid": os.getpid(), "device": device, "versions": versions}


def problem_result(index: int, status: str, us=None, spread=None, samples=0, max_err=None, message=None) -> dict:
    assert status in WORKER_STATUSES, status
    return {"index": index, "status": status, "us": us, "spread": spread, "samples": samples,
            "max_err": max_err, "message": message}


def trial_result(rid: str, simulated: bool, compile_ms, wall_ms: float, timed_ms: float, results: list) -> dict:
    return {"type": "result", "id": rid, "simulated": simulated, "compile_ms": compile_ms,
            "wall_ms": round(wall_ms, 3), "timed_ms": round(timed_ms, 3), "results": results}


def compiled(rid: str, status: str, compile_ms: float, message=None) -> dict:
    return {"type": "compiled", "id": rid, "status": status, "compile_ms": round(compile_ms, 3), "message": message}


def error(message: str, rid: str | None = None) -> dict:
    return {"type": "error", "id": rid, "message": message}


def python_version() -> str:
    return platform.python_version()
