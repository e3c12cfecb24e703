"""The worker protocol, mirrored from src/schema/protocol.ts (the source of truth; keep the two in step).

One JSON object per line on the worker's stdin (requests) and stdout (responses); logs go to stderr.
This module only parses, validates and builds messages: it imports nothing heavy, so the sim worker
starts fast. Family names, config keys and problem fields are read from schemas/families.json (generated from
src/schema).
"""

import json
import os
import platform

PROTOCOL_VERSION = 2
WORKER_VERSION = "0.1.0"

# Per family: dtype tag, file-name grammar, config keys and problem fields, generated from src/schema into
# schemas/families.json (`npm run gen:schemas`); the one copy both languages read.
FAMILIES_JSON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas", "families.json")
with open(FAMILIES_JSON, encoding="utf-8") as _f:
    FAMILY_TABLES: dict = json.load(_f)["families"]

FAMILIES = tuple(FAMILY_TABLES)
CONFIG_KEYS = {family: tuple(t["config_keys"]) for family, t in FAMILY_TABLES.items()}
# Keys a family's file leaves out where every one holds its `absent` value; `boolean` ones are 0 / 1 in a config
# (src/schema/formats.ts optionalKeys, fileEntryOf, configOfFileEntry).
OPTIONAL_KEYS = {family: t.get("optional_keys", {}) for family, t in FAMILY_TABLES.items()}
BACKENDS = ("cuda", "interpret", "sim")
SIM_FAULTS = ("hang", "crash", "illegal_address", "compile_error", "wrong_answer", "shared_memory")
# Statuses the worker itself sets; 'timeout' and 'crash' are set by the conductor.
WORKER_STATUSES = ("ok", "invalid", "compile_error", "wrong_answer")
EFFORTS = ("quick", "full")

# Exit codes of the worker process (the conductor tells them apart).
EXIT_OK = 0
EXIT_CRASH = 1  # sim 'crash' fault, or an unexpected Python error
EXIT_BAD_ARGS = 2
EXIT_NO_BACKEND = 3  # torch / triton / GPU missing for the requested backend (one line on stderr says which)
EXIT_CUDA_POISONED = 4  # a sticky CUDA error (illegal address, ...): the context is unusable, restart the worker


class ProtocolError(ValueError):
    """A request that cannot be served; answered with an 'error' line (the worker goes on)."""

    def __init__(self, message: str, request_id: str | None = None):
        super().__init__(message)
        self.request_id = request_id


def normalize_problem(family: str, problem: dict) -> dict:
    """Fill defaults and check fields as the family's problem schema in src/schema/problem.ts does (through
    schemas/families.json); raise ValueError with a one-line reason. Kernel-specific checks stay in the family."""
    fields = FAMILY_TABLES[family]["problem"]
    unknown = sorted(set(problem) - set(fields))
    if unknown:
        raise ValueError(f"unknown problem field(s) for {family}: {', '.join(unknown)}")
    out = {}
    for key, field in fields.items():
        if key not in problem and field["required"]:
            raise ValueError(f"problem is missing {key}")
        value = problem.get(key, field.get("default"))
        kind = field["type"]
        if kind == "boolean" and type(value) is not bool:
            raise ValueError(f"problem.{key} must be a boolean, got {value!r}")
        if kind == "integer" and (type(value) is not int or value < field.get("minimum", -(2**63))):
            minimum = field.get("minimum")
            what = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
            raise ValueError(f"problem.{key} must be {what}, got {value!r}")
        if kind == "string" and type(value) is not str:
            raise ValueError(f"problem.{key} must be a string, got {value!r}")
        if "enum" in field and value not in field["enum"]:
            raise ValueError(f"problem.{key} must be one of {tuple(field['enum'])}, got {value!r}")
        out[key] = value
    return out


def file_entry(family: str, config: dict) -> dict:
    """A config as the family's file holds it, and so as the reader hands it to the kernel."""
    optional = OPTIONAL_KEYS[family]
    absent = all(config.get(k) == o["absent"] for k, o in optional.items())
    return {k: (bool(v) if optional.get(k, {}).get("boolean") else v) for k, v in config.items()
            if not (k in optional and absent)}


def config_of_file_entry(family: str, entry: dict) -> dict:
    """The config a file entry (or what a server passes its kernel) stands for, in the family's key order: optional
    keys left out take their absent values, booleans become 0 / 1."""
    optional = OPTIONAL_KEYS[family]
    out = {}
    for k in CONFIG_KEYS[family]:
        v = entry.get(k, optional[k]["absent"] if k in optional else None)
        out[k] = int(v) if isinstance(v, bool) else v
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

def hello(backend: str, simulated: bool, device: dict, versions: dict, sources: dict) -> dict:
    """sources: kernels/sources.py all_family_sources(backend), what the conductor's journal fingerprint holds."""
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "worker_version": WORKER_VERSION, "backend": backend,
            "simulated": simulated, "pid": os.getpid(), "device": device, "versions": versions, "sources": sources}


def problem_result(index: int, status: str, us=None, spread=None, samples=0, max_err=None, message=None) -> dict:
    assert status in WORKER_STATUSES, status
    return {"index": index, "status": status, "us": us, "spread": spread, "samples": samples,
            "max_err": max_err, "message": message}


def trial_result(rid: str, simulated: bool, compile_ms, wall_ms: float, timed_ms: float, results: list) -> dict:
    return {"type": "result", "id": rid, "simulated": simulated, "compile_ms": compile_ms,
            "wall_ms": round(wall_ms, 3), "timed_ms": round(timed_ms, 3), "results": results}


def compiled(rid: str, status: str, compile_ms: float, message=None, every_m: bool = False) -> dict:
    """A compile answer; `every_m`: the status holds for every M of the request (the conductor records the trials
    without measuring them), as for a binary over the device's shared memory in a family whose shared memory does
    not depend on M."""
    return {"type": "compiled", "id": rid, "status": status, "compile_ms": round(compile_ms, 3), "message": message,
            "every_m": every_m}


def error(message: str, rid: str | None = None) -> dict:
    return {"type": "error", "id": rid, "message": message}


def python_version() -> str:
    return platform.python_version()
