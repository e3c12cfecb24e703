"""Does compiling ahead on a CPU worker spare the GPU its compiles? One family, problem and config, M by M.

Three processes, each with its own view of the Triton cache:
- compile: a compile worker's setting (TRITUNE_COMPILE_TARGET for this GPU, CUDA hidden) runs the family's
  compile_only per M into a fresh cache, recording the (kernel, key) pairs Triton looks up and the seconds per M;
- warm: on the GPU, the family's launch per M against that cache: the keys looked up, and the first launch's ms;
- cold: on the GPU, the same launches against an empty cache (what a bench worker pays without compile workers).
The keys must agree M by M (as sets: the order in which a launch meets its kernels does not matter to the cache),
and the warm first launches should cost a fraction of the cold ones (the first M also pays for CUDA's start).

    python3 bench/compile_ahead.py --family vllm-moe --problem '{"E":128,"N":768,"K":2048,"top_k":8}' \
        --config '{"BLOCK_SIZE_M":16,"BLOCK_SIZE_N":64,"BLOCK_SIZE_K":128,"GROUP_SIZE_M":1,"num_warps":4,"num_stages":3,"SPLIT_K":1}'
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from triton import knobs
sys.path.insert(0, sys.argv[1])
from kernels.family import family_module
role, family, problem, config, ms = sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5]), json.loads(sys.argv[6])
mod = family_module(family)
keys = []
knobs.runtime.jit_cache_hook = lambda key, fn, **_: keys.append([fn.name, str(key)]) and False
rows = []
if role == "compile":
    from kernels import compile_only
    driver = compile_only.make_driver(compile_only.parse_target(__import__("os").environ["TRITUNE_COMPILE_TARGET"]))
import torch
for M in ms:
    p = mod.normalize_problem(family, {**problem, "M": M})
    keys.clear()
    if role == "compile":
        t = time.perf_counter()
        with compile_only.active(driver):
            mod.compile_only(family, p, config)
        rows.append({"M": M, "s": time.perf_counter() - t, "keys": list(keys)})
    else:
        inputs = mod.make_inputs(family, p, "cuda")
        torch.cuda.synchronize()
        t = time.perf_counter()
        mod.launch(family, inputs, config)
        torch.cuda.synchronize()
        rows.append({"M": M, "s": time.perf_counter() - t, "keys": list(keys)})
print(json.dumps(rows))
"""


def _child(role: str, cache: str, args, extra_env: dict) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.update(TRITON_CACHE_DIR=cache, **extra_env)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), role, args.family, args.problem, args.config,
                           json.dumps(args.ms)], env=env, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{role}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", required=True)
    ap.add_argument("--problem", required=True, help="the problem without M, as JSON")
    ap.add_argument("--config", required=True, help="one config, as JSON")
    ap.add_argument("--ms", type=lambda s: [int(x) for x in s.split(",")],
                    default=[1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096])
    ap.add_argument("--out", help="write the rows as JSON here")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args(argv)
    import torch

    major, minor = torch.cuda.get_device_capability()
    with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as cold:
        t = time.perf_counter()
        compiled = _child("compile", warm, args, {"TRITUNE_COMPILE_TARGET": f"cuda:{major}{minor}",
                                                  "CUDA_VISIBLE_DEVICES": ""})
        compile_wall = time.perf_counter() - t
        warm_rows = _child("launch", warm, args, {})
        cold_rows = _child("launch", cold, args, {})
    rows = []
    print(f"{args.family} {args.problem} compile worker process: {compile_wall:.1f} s (imports included)")
    print("M  compile_only_s  binaries  keys_agree  gpu_first_launch_ms_warm  gpu_first_launch_ms_cold")
    for c, w, k in zip(compiled, warm_rows, cold_rows):
        row = {"M": c["M"], "compile_only_s": round(c["s"], 3), "binaries": len(c["keys"]),
               "keys_agree": sorted(c["keys"]) == sorted(w["keys"]), "warm_ms": round(w["s"] * 1e3, 1), "cold_ms": round(k["s"] * 1e3, 1)}
        rows.append(row)
        print(f"{row['M']}  {row['compile_only_s']}  {row['binaries']}  {row['keys_agree']}  {row['warm_ms']}  {row['cold_ms']}")
        if not row["keys_agree"]:
            print("  compile_only:", [n for n, _ in c["keys"]], "\n  launch:      ", [n for n, _ in w["keys"]])
    if args.out:
        Path(args.out).write_text(json.dumps({"family": args.family, "problem": json.loads(args.problem),
                                              "config": json.loads(args.config), "rows": rows}, indent=1) + "\n")
    return 0 if all(r["keys_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
