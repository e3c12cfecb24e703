"""W4A16 dense on a GPU: correctness of every config of the default space, then decode and prefill against cuBLAS.

    python3 bench/w4a16.py [--out out] [--jobs 15] [--quick] [--skip-check]

1. Correctness: every config of DEFAULT_SPACE (src/families/w4a16.ts's default axes) that invalid_reason accepts, on one
   ragged problem (M=33, N=4608, K=3584, g=128, zero points, bf16; M=257 for the DEQUANT_GEMM and REG_A configs, which
   are refused below 256 tokens), the fused ones again at g=32 (where their K block spans several groups), compiled and
   checked by `--jobs` processes (this also fills Triton's cache for step 3: M is not specialized and every benchmark
   N and K is a multiple of 16 and of every BLOCK_K * K_UNROLL), plus VARIANT_CONFIGS on the other quantizations
   (group sizes, per-channel, symmetric, fp16), and one DEQUANT_GEMM and one REG_A config on each of them at M=257
   (REG_A refuses g32 and fp16); the REG_A configs also on N=4600 (not a multiple of any BLOCK_SIZE_N: the ragged
   weight tile, its words zero-filled by TMA).
2. HBM copy bandwidth (bytes read + written per second), the denominator of % HBM.
3. Rows: Qwen3-4B, Qwen2.5-7B and Llama-3.1-8B linear layers at decode and prefill M (g=128 with zero points), plus g=32
   and symmetric g=128 at decode for weights of >= 16 MB of int4: cuBLAS bf16 (F.linear on a bf16 weight of the shape),
   dequantize (torch ops) then cuBLAS, and ours: the committed tuned entry (kernels/configs.py reading
   tuned-configs/w4a16) where a file exists for the shape and quantization, else the best of candidates(M) (a small
   sweep, re-timed at full effort), checked against the reference. % HBM: the kernel's minimum bytes (int4 weights,
   scales, zero points, activations, output) per second over the copy bandwidth.
   Timing: kernels/timing.measure (CUDA graph of many launches over input copies > 3x the L2, median); cuBLAS, torch's
   path and ours back to back after the row's sweep (a sweep warms the GPU, and its clocks fall under the power cap);
   cuBLAS also before the sweep (cublas_bf16_first_us).
Writes correctness.json, w4a16-h200.json (the rows; committed as docs/bench/w4a16-h200.json) and bench.md under --out.
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
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPACE = {  # src/families/w4a16.ts DEFAULT
    "BLOCK_SIZE_M": [16, 32, 64, 128, 256], "BLOCK_SIZE_N": [64, 128, 256], "BLOCK_SIZE_K": [64, 128, 256],
    "GROUP_SIZE_M": [8], "num_warps": [4, 8], "num_stages": [2, 3, 4], "SPLIT_K": [1, 2, 4, 8], "K_UNROLL": [1],
    "DEQUANT_GEMM": [0, 1], "TMA": [0, 1], "REG_A": [0, 1],
}
CHECK_PROBLEM = {"M": 33, "N": 4608, "K": 3584, "group_size": 128, "zero_points": True}
CHECK_PREFILL = {**CHECK_PROBLEM, "M": 257}  # the DEQUANT_GEMM and REG_A configs (refused below 256 tokens)
REG_A_VARIANT = dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, num_warps=8, num_stages=3,
                     SPLIT_K=1, K_UNROLL=1, DEQUANT_GEMM=0, TMA=0, REG_A=1)
VARIANTS = [dict(group_size=32), dict(group_size=64), dict(group_size=-1), dict(zero_points=False),
            dict(act_dtype="fp16"), dict(group_size=32, zero_points=False, act_dtype="fp16")]
VARIANT_CONFIGS = [  # decode split-K, unrolled, prefill tiles (BLOCK_SIZE_K 32 fits every group size; 128 spans
    # several groups at g32 and g64, where the kernel scales the weights), the words through TMA
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=64, BLOCK_SIZE_K=32, SPLIT_K=4, K_UNROLL=2, num_warps=4, num_stages=3),
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=128, BLOCK_SIZE_K=32, SPLIT_K=8, K_UNROLL=1, num_warps=4, num_stages=4),
    dict(BLOCK_SIZE_M=64, BLOCK_SIZE_N=128, BLOCK_SIZE_K=32, SPLIT_K=2, K_UNROLL=2, num_warps=4, num_stages=3),
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=32, SPLIT_K=1, K_UNROLL=1, num_warps=8, num_stages=3),
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=128, BLOCK_SIZE_K=128, SPLIT_K=4, K_UNROLL=1, num_warps=4, num_stages=3),
    dict(BLOCK_SIZE_M=16, BLOCK_SIZE_N=64, BLOCK_SIZE_K=128, SPLIT_K=2, K_UNROLL=1, num_warps=4, num_stages=3, TMA=1),
]
SHAPES = {"qwen3-4b": [(6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728)],
          "qwen2.5-7b": [(4608, 3584), (3584, 3584), (37888, 3584), (3584, 18944)],
          "llama-3.1-8b": [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336)]}
MS = [1, 4, 8, 16, 1024, 4096]
DECODE_MS = [1, 16]  # for the other quantizations, on weights of >= 16 MB of int4
OTHER_QUANTS = [dict(group_size=32, zero_points=True), dict(group_size=128, zero_points=False)]


def cases(quick: bool = False) -> list[tuple[str, int, int, int, dict]]:
    """(model, N, K, M, quantization) of the rows, in order."""
    out = []
    for model, shapes in SHAPES.items():
        for N, K in shapes:
            out += [(model, N, K, M, dict(group_size=128, zero_points=True)) for M in MS]
            if N * K // 2 >= 16 << 20:
                out += [(model, N, K, M, q) for q in OTHER_QUANTS for M in DECODE_MS]
    return out[:1] if quick else out


def space():
    keys = list(DEFAULT_SPACE)
    return [dict(zip(keys, vals)) for vals in itertools.product(*DEFAULT_SPACE.values())]


def candidates(M: int, group_size: int = 128) -> list[dict]:
    """The benchmark's small sweep per M where no tuned file exists (a subset of DEFAULT_SPACE, so step 1 compiled it
    for g=128 with zero points); the K block at the group size, at most 128, and at decode also 128 and 256 over
    several smaller groups, with and without TMA; from 256 tokens the two prefill paths too (REG_A with the tiles that
    won the probe's runs, docs/BENCHMARKS.md)."""
    bk = 128 if group_size == -1 else min(128, group_size)
    if M <= 16:
        axes = dict(BLOCK_SIZE_M=[16], BLOCK_SIZE_N=[64, 128, 256], BLOCK_SIZE_K=sorted({bk, 128, 256}),
                    num_warps=[4], num_stages=[3, 4], SPLIT_K=[1, 2, 4, 8], K_UNROLL=[1], TMA=[0, 1])
    else:
        axes = dict(BLOCK_SIZE_M=[64, 128], BLOCK_SIZE_N=[128, 256], BLOCK_SIZE_K=[bk], num_warps=[4, 8],
                    num_stages=[3, 4], SPLIT_K=[1], K_UNROLL=[1])
    fused = _product(axes)
    if M < W.DEQUANT_MIN_M:
        return fused
    dequant = [{**W.DEQUANT_FIXED, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "num_warps": w, "DEQUANT_GEMM": 1,
                "TMA": 0, "REG_A": 0} for bn in (64, 128) for w in (4, 8)]
    reg_a = [{**REG_A_VARIANT, "BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": 16 * w, "BLOCK_SIZE_K": k, "num_warps": w,
              "num_stages": s} for bm in (128, 256) for w in (4, 8) for k in (64, 128) for s in (3, 4)]
    return fused + dequant + reg_a


def _product(axes: dict) -> list[dict]:
    axes = {**axes, "GROUP_SIZE_M": [8]}
    return [{**{k: c[k] for k in W.CONFIG_KEYS}, "DEQUANT_GEMM": 0, "TMA": c.get("TMA", 0), "REG_A": 0}
            for c in (dict(zip(axes, v)) for v in itertools.product(*axes.values()))]


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
    configs = [c for c in space() if not c["DEQUANT_GEMM"] and not c["REG_A"]]
    for i in range(jobs):
        tasks.append((CHECK_PROBLEM, configs[i::jobs]))
    scale_w = configs  # at g32 every K block of the space spans several groups (SCALE_W)
    for i in range(jobs):
        tasks.append(({**CHECK_PROBLEM, "group_size": 32}, scale_w[i::jobs]))
    tasks.append((CHECK_PREFILL, [c for c in space() if c["DEQUANT_GEMM"]]))
    reg_a = [c for c in space() if c["REG_A"] and not W.invalid_reason(FAM, W.normalize_problem(FAM, CHECK_PREFILL), c)]
    for i in range(jobs):
        tasks.append((CHECK_PREFILL, reg_a[i::jobs]))
        tasks.append(({**CHECK_PREFILL, "N": 4600}, reg_a[i::jobs]))  # a ragged weight tile
    for v in VARIANTS:
        full = [{**c, "GROUP_SIZE_M": 8} for c in VARIANT_CONFIGS]
        tasks.append(({**CHECK_PROBLEM, **v}, full))
        bk = 32  # every group size
        tasks.append(({**CHECK_PREFILL, **v}, [{**W.DEQUANT_FIXED, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": bk,
                                                "num_warps": 4, "DEQUANT_GEMM": 1}, REG_A_VARIANT]))
    ctx = torch.multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return [row for rows in pool.map(_check_chunk, tasks) for row in rows]


def dequant_torch(inp: W.W4A16Inputs) -> torch.Tensor:
    """Dequantize with torch ops into W [N, K] in the activation dtype: the 'dequantize then cuBLAS' baseline."""
    p = inp.problem
    N, K, g = p["N"], p["K"], p["K"] if p["group_size"] == -1 else p["group_size"]
    e = torch.arange(8, device=inp.qweight.device, dtype=torch.int32)  # on the device: graph-capturable
    shifts = ((e >> 1) + (e & 1) * 4) * 4  # element e sits in nibble [0,4,1,5,2,6,3,7][e] (AWQ order)
    q = ((inp.qweight[:, :, None] >> shifts) & 0xF).reshape(N, K // g, g)
    if inp.qzeros is not None:
        z = ((inp.qzeros[:, :, None] >> shifts) & 0xF).reshape(K // g, -1)[:, :N].t()
    else:
        z = torch.full((N, K // g), 8, device=q.device, dtype=torch.int32)
    return ((q - z[:, :, None]).to(inp.a.dtype) * inp.scales.t()[:, :, None]).reshape(N, K)


def tuned_entry(N: int, K: int, M: int, quant: dict, device: str):
    """The committed tuned config for this shape, quantization and M (kernels/configs.py), or None without a file."""
    from kernels import configs as tuned_configs

    if not quant["zero_points"]:  # the files are per group size; tuned-configs/ holds zero-point shapes only
        return None
    kw = dict(N=N, K=K, group_size=quant["group_size"], device_name=device, config_dir=str(ROOT / "tuned-configs"))
    if tuned_configs.load_configs(FAM, **kw) is None:
        return None
    return tuned_configs.get_config(FAM, M, **kw)


def bench(bw: float, l2: int, quick: bool, log) -> list[dict]:
    rows = []
    device = torch.cuda.get_device_name(0)
    for model, N, K, M, quant in cases(quick):
        p = W.normalize_problem(FAM, {"M": M, "N": N, "K": K, **quant})
        n_copies = copies_needed(W.input_bytes(p), l2)
        ins = [W.make_inputs(FAM, p, "cuda", seed) for seed in range(n_copies)]
        ref = W.reference(FAM, ins[0])
        row = {"model": model, "N": N, "K": K, "M": M, "group_size": p["group_size"], "zero_points": p["zero_points"],
               "flops": W.flops(p), "bytes": W.min_bytes(p)}
        bf_bytes = 2.0 * (M * K + N * K + M * N)
        wb = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(copies_needed(bf_bytes, l2))]
        ab = [ins[i % n_copies].a for i in range(len(wb))]
        cublas = lambda: measure([lambda a=a, w=w: F_.linear(a, w) for a, w in zip(ab, wb)]).us  # noqa: E731
        row["cublas_bf16_first_us"] = cublas()  # before the row's sweep (none where a tuned file serves it)
        entry = tuned_entry(N, K, M, quant, device)
        if entry is not None:
            row["source"], config = "tuned-configs", entry
        else:
            best, by_bk = (float("inf"), None), {}
            for c in candidates(M, p["group_size"]):
                if W.invalid_reason(FAM, p, c):
                    continue
                try:
                    us = measure([lambda i=i: W.launch(FAM, i, c) for i in ins], "quick").us
                except Exception as e:  # noqa: BLE001
                    print(f"  {c}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
                    continue
                best = min(best, (us, c), key=lambda t: t[0])
                if not c["DEQUANT_GEMM"] and not c["REG_A"]:  # the fused kernel's best per K block (quick effort)
                    bk = str(c["BLOCK_SIZE_K"])
                    by_bk[bk] = min(by_bk.get(bk, us), us)
            row["source"], config = "sweep", best[1]
            row["sweep_quick_us_by_block_k"] = by_bk
        ok, err = W.check(FAM, W.launch(FAM, ins[0], config), ref)
        row["config"], row["ok"], row["err"] = config, ok, round(err, 4)
        # cuBLAS, torch's dequantize-then-cuBLAS and ours back to back, after the sweep: a sweep warms the GPU and its
        # clocks fall under the power cap, so the cuBLAS timed before it may flatter cuBLAS
        row["cublas_bf16_us"] = cublas()
        del wb, ab
        row["dequant_cublas_us"] = measure([lambda i=i: F_.linear(i.a, dequant_torch(i)) for i in ins]).us
        row["ours_us"] = measure([lambda i=i: W.launch(FAM, i, config) for i in ins]).us
        row["hbm_pct"] = 100 * row["bytes"] / (row["ours_us"] * 1e-6) / bw
        row["tflops"] = row["flops"] / row["ours_us"] / 1e6
        row["vs_cublas_bf16"] = row["cublas_bf16_us"] / row["ours_us"]
        line = json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()
        rows.append(row)
        del ins
        torch.cuda.empty_cache()
    return rows


def markdown(rows: list[dict], bw: float, device: str) -> str:
    head = (f"Device: {device}; measured copy bandwidth {bw / 1e12:.2f} TB/s; bf16.\n\n"
            "| model | N | K | M | g | zp | cuBLAS bf16 µs | torch dequant+cuBLAS µs | ours µs | vs cuBLAS bf16 | % HBM "
            "| TFLOP/s | config (BM,BN,BK,w,s,SK,KU; dequant: BN,BK,w; reg_a: BM,BN,BK,w,s) | from |\n"
            "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|\n")
    lines = []
    for r in rows:
        c = r["config"] or {}
        keys = (("BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps") if c.get("DEQUANT_GEMM") else
                ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps", "num_stages") if c.get("REG_A") else
                ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "num_warps", "num_stages", "SPLIT_K", "K_UNROLL"))
        cfg = ("dequant " if c.get("DEQUANT_GEMM") else "reg_a " if c.get("REG_A") else "") + ",".join(
            str(c.get(k, "-")) for k in keys) + (" tma" if c.get("TMA") else "")
        lines.append(f"| {r['model']} | {r['N']} | {r['K']} | {r['M']} | {r['group_size']} | "
                     f"{'yes' if r['zero_points'] else 'no'} | {r['cublas_bf16_us']:.1f} | {r['dequant_cublas_us']:.1f} "
                     f"| {r['ours_us']:.1f} | {r['vs_cublas_bf16']:.2f}x | {r['hbm_pct']:.0f} | {r['tflops']:.0f} "
                     f"| {cfg} | {r['source']} |")
    return head + "\n".join(lines) + "\n"


def record(rows: list[dict], bw: float, device: str) -> dict:
    """The committed record (docs/bench/w4a16-h200.json) of bench()'s rows (bench.jsonl holds them whole)."""
    keep = ("model", "N", "K", "M", "group_size", "zero_points", "ours_us", "cublas_bf16_us", "cublas_bf16_first_us",
            "dequant_cublas_us", "hbm_pct", "vs_cublas_bf16", "config", "source", "ok",
            "sweep_quick_us_by_block_k")  # the last: sweep rows

    def rounded(v):
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        return round(v, 2) if isinstance(v, float) else v

    return {"device": device, "copy_GBps": round(bw / 1e9), "command": "python3 bench/w4a16.py",
            "rows": [{k: rounded(r[k]) for k in keep if k in r} for r in rows]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out")
    ap.add_argument("--jobs", type=int, default=max(1, min(15, (os.cpu_count() or 2) - 1)))
    ap.add_argument("--quick", action="store_true", help="one row and no space check (smoke test)")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--check-only", action="store_true", help="step 1 only")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
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
        if args.check_only:
            return
    bw = copy_bandwidth_GBps(n_bytes=1 << 30) * 1e9  # bytes/s
    device = torch.cuda.get_device_name(0)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s, L2 {l2 >> 20} MiB, {device}", flush=True)
    with open(os.path.join(args.out, "bench.jsonl"), "w") as log:  # row by row, in case the run is cut short
        rows = bench(bw, l2, args.quick, log)
    with open(os.path.join(args.out, "w4a16-h200.json"), "w") as f:
        json.dump(record(rows, bw, device), f, indent=1)
        f.write("\n")
    md = markdown(rows, bw, device)
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
