"""W4A16 dense on a GPU: correctness of every config of the default space, then a benchmark against cuBLAS.

    python3 -m bench.w4a16 [--out out] [--jobs 15] [--quick]

1. Correctness: every config of DEFAULT_SPACE that invalid_reason accepts, on one ragged problem
   (M=33, N=4608, K=3584, g=128, zero points, plain, bf16), compiled and checked by `--jobs` processes
   (this also fills Triton's cache for step 3: M is not specialized, all benchmark N and K are multiples
   of 16 and of every BLOCK_K * K_UNROLL, so they share these binaries); plus VARIANT_CONFIGS on the other
   variants (group sizes, per-channel, symmetric, AWQ order, fp16).
2. HBM copy bandwidth (bytes read + written per second), the roofline's denominator.
3. For the Qwen2.5-7B and Qwen3-4B shapes and each M: cuBLAS bf16 (F.linear), dequantize (torch ops) then
   cuBLAS, our kernel with default_config, and our kernel with the best of CANDIDATES(M) (a small sweep).
   Timing: kernels/timing.measure (CUDA graph of many launches over input copies > 3x the L2, median).
Writes correctness.json, bench.json and bench.md under --out.
"""

import argparse
import itertools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F_

if not __package__:  # run as a script (python3 bench/w4a16.py): make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernels import w4a16 as W  # noqa: E402
from kernels.timing import copies_needed, copy_bandwidth_GBps, measure  # noqa: E402

FAM = "w4a16"
DEFAULT_SPACE = {  # the default search space (src/space mirrors it)
    "BLOCK_SIZE_M": [16, 32, 64, 128, 256], "BLOCK_SIZE_N": [64, 128, 256], "BLOCK_SIZE_K": [64, 128, 256],
    "GROUP_SIZE_M": [8], "num_warps": [4, 8], "num_stages": [3, 4], "SPLIT_K": [1, 2, 4, 8], "K_UNROLL": [1, 2],
}
CHECK_PROBLEM = {"M": 33, "N": 4608, "K": 3584, "group_size": 128, "zero_points": True, "packing": "plain"}
VARIANTS = [dict(group_size=32), dict(group_size=64, packing="awq"), dict(group_size=-1),
            dict(zero_points=False), dict(act_dtype="fp16"), dict(group_size=32, zero_points=False, packing="awq")]
VARIANT_CONFIGS = [  # GEMV split-K (BK <= g and BK > g), unrolled dot, prefill tiles
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=32, BLOCK_SIZE_K=64, SPLIT_K=4, K_UNROLL=1, num_warps=4, num_stages=3),
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=32, BLOCK_SIZE_K=128, SPLIT_K=8, K_UNROLL=2, num_warps=8, num_stages=2),
    dict(BLOCK_SIZE_M=64, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, SPLIT_K=2, K_UNROLL=2, num_warps=4, num_stages=3),
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=64, SPLIT_K=1, K_UNROLL=1, num_warps=8, num_stages=3),
]
SHAPES = {"qwen2.5-7b": [(4608, 3584), (3584, 3584), (37888, 3584), (3584, 18944)],
          "qwen3-4b": [(6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728)]}
MS = [1, 4, 16, 64, 256, 1024, 1606, 4096]


def space():
    keys = list(DEFAULT_SPACE)
    return [dict(zip(keys, vals)) for vals in itertools.product(*DEFAULT_SPACE.values())]


def candidates(M: int) -> list[dict]:
    """The benchmark's small sweep per M (a subset of DEFAULT_SPACE, so step 1 compiled it)."""
    if M <= 16:  # the GEMV path (BLOCK_SIZE_M 16) and small tl.dot tiles (the --explore run's winners' region)
        return (_product(dict(BLOCK_SIZE_M=[16], BLOCK_SIZE_N=[32, 64, 128], BLOCK_SIZE_K=[64, 128, 256],
                              num_warps=[4], num_stages=[2, 3], SPLIT_K=[1, 2, 4, 8], K_UNROLL=[1]))
                + _product(dict(BLOCK_SIZE_M=[32], BLOCK_SIZE_N=[64, 128], BLOCK_SIZE_K=[128], num_warps=[4],
                                num_stages=[3, 4], SPLIT_K=[4, 8], K_UNROLL=[1])))
    elif M <= 64:
        axes = dict(BLOCK_SIZE_M=[16, 32, 64], BLOCK_SIZE_N=[64, 128], BLOCK_SIZE_K=[64, 128], num_warps=[4],
                    num_stages=[3, 4], SPLIT_K=[1, 2, 4], K_UNROLL=[1])
    elif M <= 256:
        axes = dict(BLOCK_SIZE_M=[64, 128], BLOCK_SIZE_N=[64, 128, 256], BLOCK_SIZE_K=[64, 128], num_warps=[4, 8],
                    num_stages=[3, 4], SPLIT_K=[1, 2], K_UNROLL=[1])
    else:
        axes = dict(BLOCK_SIZE_M=[128, 256], BLOCK_SIZE_N=[128, 256], BLOCK_SIZE_K=[64, 128], num_warps=[4, 8],
                    num_stages=[3, 4], SPLIT_K=[1], K_UNROLL=[1])
    return _product(axes)


def _product(axes: dict) -> list[dict]:
    axes = {**axes, "GROUP_SIZE_M": [8]}
    return [{k: c[k] for k in W.CONFIG_KEYS} for c in (dict(zip(axes, v)) for v in itertools.product(*axes.values()))]


def _check_chunk(args):
    """Worker process: compile and check each config on its problem; returns result rows."""
    problem, configs = args
    p = W.normalize_problem(FAM, problem)
    inputs = W.make_inputs(FAM, p, "cuda", 0)
    ref = W.reference(FAM, inputs)
    rows = []
    for c in configs:
        reason = W.invalid_reason(FAM, p, c)
        if reason:
            rows.append({"config": c, "problem": problem, "status": "invalid", "reason": reason})
            continue
        t0 = time.perf_counter()
        try:
            out = W.launch(FAM, inputs, c)
            torch.cuda.synchronize()
            ok, err = W.check(FAM, out, ref)
            ok = ok and int(inputs.counters.abs().sum()) == 0
            rows.append({"config": c, "problem": problem, "status": "ok" if ok else "wrong_answer", "err": err,
                         "ms": round((time.perf_counter() - t0) * 1000, 1)})
        except Exception as e:  # noqa: BLE001 -- a failed config is a result
            rows.append({"config": c, "problem": problem, "status": "error", "reason": str(e).splitlines()[0][:300]})
            if "illegal" in str(e) or "unspecified launch" in str(e):
                break  # the context is poisoned; the rest of this chunk is reported missing
    return rows


def correctness(jobs: int) -> list[dict]:
    tasks = []
    configs = space()
    for i in range(jobs):
        tasks.append((CHECK_PROBLEM, configs[i::jobs]))
    for v in VARIANTS:
        full = [{**c, "GROUP_SIZE_M": 8} for c in VARIANT_CONFIGS]
        tasks.append(({**CHECK_PROBLEM, **v}, full))
    for M in (1, 4):  # the GEMV path compiles per rows = min(16, next_pow2(M)): check (and compile) step 3's
        gemv = [c for c in candidates(M) if c["BLOCK_SIZE_M"] == 16]
        tasks += [({**CHECK_PROBLEM, "M": M}, gemv[i::4]) for i in range(4)]
    ctx = torch.multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return [row for rows in pool.map(_check_chunk, tasks) for row in rows]


def dequant_torch(inp: W.W4A16Inputs) -> torch.Tensor:
    """Dequantize with torch ops into W^T [K, N] bf16 (plain order): the 'dequantize then cuBLAS' baseline."""
    p = inp.problem
    K, N, g = p["K"], p["N"], p["K"] if p["group_size"] == -1 else p["group_size"]
    shifts = torch.arange(0, 32, 4, device=inp.qweight.device, dtype=torch.int32)
    q = ((inp.qweight[:, None, :] >> shifts[None, :, None]) & 0xF).reshape(K // g, g, N)
    z = ((inp.qzeros[:, :, None] >> shifts[None, None, :]) & 0xF).reshape(K // g, -1)[:, :N]
    return ((q - z[:, None, :]).to(inp.a.dtype) * inp.scales[:, None, :]).reshape(K, N)


def bench(bw: float, l2: int, quick: bool, log) -> list[dict]:
    rows = []
    for model, shapes in SHAPES.items():
        for (N, K), M in itertools.product(shapes, MS):
            p = W.normalize_problem(FAM, {"M": M, "N": N, "K": K, "group_size": 128, "zero_points": True})
            n_copies = copies_needed(W.input_bytes(p), l2)
            ins = [W.make_inputs(FAM, p, "cuda", seed) for seed in range(n_copies)]
            row = {"model": model, "N": N, "K": K, "M": M, "flops": W.flops(p), "bytes": W.min_bytes(p)}
            # cuBLAS bf16 with a bf16 weight of the same shape
            bf_bytes = 2.0 * (M * K + N * K + M * N)
            nb = copies_needed(bf_bytes, l2)
            wb = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(nb)]
            ab = [ins[i % n_copies].a for i in range(nb)]
            row["cublas_us"] = measure([lambda a=a, w=w: F_.linear(a, w) for a, w in zip(ab, wb)]).us
            row["cublas_bytes"] = bf_bytes
            del wb
            row["deq_cublas_us"] = measure([lambda i=i: i.a @ dequant_torch(i) for i in ins]).us
            dc = W.default_config(FAM, p)
            row["default_us"] = measure([lambda i=i: W.launch(FAM, i, dc) for i in ins]).us
            best = (float("inf"), None)
            for c in candidates(M):
                if W.invalid_reason(FAM, p, c):
                    continue
                try:
                    us = measure([lambda i=i: W.launch(FAM, i, c) for i in ins], "quick").us
                except Exception as e:  # noqa: BLE001
                    print(f"  {c}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
                    continue
                best = min(best, (us, c), key=lambda t: t[0])
            if best[1] is not None:  # re-time the winner at full effort, and check it
                best = (measure([lambda i=i: W.launch(FAM, i, best[1]) for i in ins]).us, best[1])
                ok, err = W.check(FAM, W.launch(FAM, ins[0], best[1]), W.reference(FAM, ins[0]))
                row["best_ok"], row["best_err"] = ok, err
            row["best_us"], row["best_config"] = best
            for k in ("cublas", "deq_cublas", "default", "best"):
                row[f"{k}_tflops"] = row["flops"] / row[f"{k}_us"] / 1e6
            row["best_GBps"] = row["bytes"] / row["best_us"] / 1e3
            row["best_hbm_pct"] = 100 * row["bytes"] / (row["best_us"] * 1e-6) / bw
            row["speedup_vs_cublas"] = row["cublas_us"] / row["best_us"]
            line = json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
            rows.append(row)
            del ins
            torch.cuda.empty_cache()
            if quick:
                break
    return rows


EXPLORE_CASES = [(4608, 3584, 1), (4608, 3584, 16), (37888, 3584, 1), (37888, 3584, 16), (3584, 18944, 1),
                 (4608, 3584, 1024), (37888, 3584, 4096)]


def explore_configs(M: int) -> list[dict]:
    """Per-M candidates of the experiment: GEMV (BLOCK_SIZE_M 16) and tl.dot tiles."""
    if M <= 16:
        gemv = dict(BLOCK_SIZE_M=[16], BLOCK_SIZE_N=[32, 64, 128, 256], BLOCK_SIZE_K=[64, 128, 256], num_warps=[4],
                    num_stages=[2, 3], SPLIT_K=[1, 2, 4, 8], K_UNROLL=[1])
        dot = dict(BLOCK_SIZE_M=[32], BLOCK_SIZE_N=[64, 128], BLOCK_SIZE_K=[128, 256], num_warps=[4],
                   num_stages=[3, 4], SPLIT_K=[1, 4, 8], K_UNROLL=[1])
        axes_list = [gemv, dot]
    else:
        axes_list = [dict(BLOCK_SIZE_M=[128, 256], BLOCK_SIZE_N=[128, 256], BLOCK_SIZE_K=[64, 128], num_warps=[4, 8],
                          num_stages=[3, 4], SPLIT_K=[1], K_UNROLL=[1])]
    only = os.environ.get("W4A16_EXPLORE_BM")  # e.g. 32: only that BLOCK_SIZE_M
    axes_list = [a for a in axes_list if not only or a["BLOCK_SIZE_M"] == [int(only)]]
    out = []
    for axes in axes_list:
        axes = {**axes, "GROUP_SIZE_M": [8]}
        out += [{k: c[k] for k in W.CONFIG_KEYS} for c in (dict(zip(axes, v)) for v in itertools.product(*axes.values()))]
    return out


def explore(jobs: int, out_dir: str) -> None:
    """The experiment: compile+check every candidate in parallel, then time them; print the best per path."""
    t0 = time.time()
    tasks = []
    for N, K, M in EXPLORE_CASES:
        p = {"M": M, "N": N, "K": K, "group_size": 128, "zero_points": True}
        if not explore_configs(M):
            continue
        cs = [c for c in explore_configs(M) if not W.invalid_reason(FAM, W.normalize_problem(FAM, p), c)]
        tasks += [(p, cs[i::jobs]) for i in range(min(jobs, len(cs)))]
    ctx = torch.multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        checked = [row for rows in pool.map(_check_chunk, tasks) for row in rows]
    bad = [r for r in checked if r["status"] != "ok"]
    print(f"explore: {len(checked)} checked, {len(bad)} bad in {time.time() - t0:.0f} s", flush=True)
    for r in bad[:10]:
        print("  BAD", json.dumps(r), flush=True)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    lines = []
    for N, K, M in EXPLORE_CASES:
        p = W.normalize_problem(FAM, {"M": M, "N": N, "K": K, "group_size": 128, "zero_points": True})
        if not explore_configs(M):
            continue
        ins = [W.make_inputs(FAM, p, "cuda", seed) for seed in range(copies_needed(W.input_bytes(p), l2))]
        wb = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(copies_needed(2.0 * N * K, l2))]
        cub = measure([lambda a=ins[0].a, w=w: F_.linear(a, w) for w in wb]).us
        del wb
        ok = {json.dumps(r["config"]) for r in checked if r["status"] == "ok" and r["problem"]["M"] == M
              and r["problem"]["N"] == N and r["problem"]["K"] == K}
        best = {}
        for c in map(json.loads, ok):
            us = measure([lambda i=i: W.launch(FAM, i, c) for i in ins], "quick").us
            path = "gemv" if c["BLOCK_SIZE_M"] == 16 else f"dot{c['BLOCK_SIZE_M']}"
            if us < best.get(path, (1e9,))[0]:
                best[path] = (us, c)
        for path, (us, c) in sorted(best.items()):
            us = measure([lambda i=i: W.launch(FAM, i, c) for i in ins]).us
            cfg = ",".join(str(c[k]) for k in ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps", "num_stages",
                                                "SPLIT_K"))
            line = (f"N={N} K={K} M={M} {path}: {us:.1f} us, {W.min_bytes(p) / us / 1e3:.0f} GB/s, "
                    f"{W.flops(p) / us / 1e6:.0f} TFLOP/s, cuBLAS {cub:.1f} us ({cub / us:.2f}x) [{cfg}]")
            print(line, flush=True)
            lines.append(line)
        del ins
        torch.cuda.empty_cache()
    with open(os.path.join(out_dir, "explore.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def markdown(rows: list[dict], bw: float, device: str) -> str:
    head = (f"Device: {device}; measured copy bandwidth {bw / 1e12:.2f} TB/s. g=128, zero points, bf16.\n\n"
            "| model | N | K | M | cuBLAS bf16 us | deq+cuBLAS us | ours default us | ours best us | best TFLOP/s "
            "| best GB/s | % HBM | vs cuBLAS | bf16 TFLOP/s | best config (BM,BN,BK,w,s,SK,KU) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        c = r["best_config"] or {}
        cfg = ",".join(str(c.get(k, "-")) for k in ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps",
                                                      "num_stages", "SPLIT_K", "K_UNROLL"))
        lines.append(f"| {r['model']} | {r['N']} | {r['K']} | {r['M']} | {r['cublas_us']:.1f} | {r['deq_cublas_us']:.1f} "
                     f"| {r['default_us']:.1f} | {r['best_us']:.1f} | {r['best_tflops']:.0f} | {r['best_GBps']:.0f} "
                     f"| {r['best_hbm_pct']:.0f} | {r['speedup_vs_cublas']:.2f}x | {r['cublas_tflops']:.0f} | {cfg} |")
    return head + "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out")
    ap.add_argument("--jobs", type=int, default=max(1, min(15, (os.cpu_count() or 2) - 1)))
    ap.add_argument("--quick", action="store_true", help="one M per shape and no space check (smoke test)")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--explore", action="store_true", help="the path/config experiment instead of the benchmark")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.explore:
        return explore(args.jobs, args.out)
    t0 = time.time()
    if not (args.quick or args.skip_check):
        rows = correctness(args.jobs)
        summary = {}
        for r in rows:
            summary[r["status"]] = summary.get(r["status"], 0) + 1
        bad = [r for r in rows if r["status"] in ("wrong_answer", "error")]
        print(f"correctness: {summary} in {time.time() - t0:.0f} s", flush=True)
        for r in bad[:20]:
            print("  BAD", json.dumps(r), flush=True)
        with open(os.path.join(args.out, "correctness.json"), "w") as f:
            json.dump({"summary": summary, "space": DEFAULT_SPACE, "problem": CHECK_PROBLEM, "rows": rows}, f)
    bw = copy_bandwidth_GBps(n_bytes=1 << 30) * 1e9  # bytes/s
    device = torch.cuda.get_device_name(0)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s, L2 {l2 >> 20} MiB, {device}", flush=True)
    with open(os.path.join(args.out, "bench.jsonl"), "w") as log:  # row by row, in case the run is cut short
        rows = bench(bw, l2, args.quick, log)
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump({"device": device, "copy_Bps": bw, "rows": rows}, f, indent=1)
    md = markdown(rows, bw, device)
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
