"""Answers, for the TypeScript mirror tests, what the kernels' own rules say.

stdin: one JSON object {"family": str, "problems": [problem, ...], "configs": [config, ...]}.
stdout: {"defaults": [default_config(problem) ...], "invalid": [[bool per config] per problem]}.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from kernels.family import family_module  # noqa: E402

req = json.load(sys.stdin)
family = req["family"]
mod = family_module(family)
problems = [mod.normalize_problem(family, p) for p in req["problems"]]
out = {
    "defaults": [mod.default_config(family, p) for p in problems],
    "invalid": [[mod.invalid_reason(family, p, c) is not None for c in req["configs"]] for p in problems],
}
json.dump(out, sys.stdout)
