"""Answers, for the TypeScript mirror test (test/families/mirror.test.ts), what a family's kernels/ module says.

stdin: {"family": str, "problems": [problem, ...], "configs": [config, ...], "active": [number | null per problem]}.
stdout: per problem its default config, invalid_reason verdict per config, shared-memory estimate per config (null when
the module leaves it to Triton), flops, minimum bytes (MoE: at the given expected active-expert count) and the GEMMs
the problem launches; whether the module compiles without a GPU and whether its binaries differ by M.
"""

import inspect
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from kernels.family import family_module  # noqa: E402

req = json.load(sys.stdin)
family = req["family"]
mod = family_module(family)
problems = [mod.normalize_problem(family, p) for p in req["problems"]]
smem = getattr(mod, "shared_memory_bytes", None)
split = getattr(mod, "gemm_problems", lambda p: [p])


def min_bytes(p, active):
    takes_active = "active" in inspect.signature(mod.min_bytes).parameters
    return mod.min_bytes(p, active=active) if active is not None and takes_active else mod.min_bytes(p)


out = {
    "defaults": [mod.default_config(family, p) for p in problems],
    "invalid": [[mod.invalid_reason(family, p, c) is not None for c in req["configs"]] for p in problems],
    "smem": [[smem(family, p, c) for c in req["configs"]] if smem else None for p in problems],
    "flops": [mod.flops(p) for p in problems],
    "bytes": [min_bytes(p, a) for p, a in zip(problems, req["active"])],
    "gemms": [[{"N": q["N"], "K": q["K"]} for q in split(p)] for p in problems],
    # how the compile workers serve the family: without a GPU, and one compile per M or per problem without M
    "compile_only": hasattr(mod, "compile_only"),
    "specializes_on_m": hasattr(mod, "compile_variant") and len({
        json.dumps(mod.compile_variant(family, mod.normalize_problem(family, {**problems[0], "M": m})), sort_keys=True)
        for m in (1, 64)}) > 1,
}
json.dump(out, sys.stdout)
