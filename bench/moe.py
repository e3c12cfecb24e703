"""Benchmark the W4A16 MoE GEMMs: grouped vs padded (vLLM's aligned sort) vs a bf16 per-expert torch loop.

    python3 bench/moe.py --out results.json            # GPU: Qwen3-30B-A3B layer, both GEMMs
    python3 bench/moe.py --decode-grid --ms 1,16       # GPU: BLOCK_SIZE_M 16 tiles over BN 16-256, BK, warps, stages
    TRITON_INTERPRET=1 python3 bench/moe.py --smoke    # CPU: tiny shapes, checks only (no timings)

Timing: kernels/timing.measure at full effort, as the tuner times a trial (a CUDA graph of launches that
rotate over input copies exceeding the L2 3x; the median per launch, with the spread (p90 - p10) / median).
Routing prep (sort and block tables) is outside the timed region for every variant, as in vLLM's tuner.
Every timed config is first checked against the per-expert reference. A timed row's hbm_pct is its minimum bytes
(the touched experts' weights, activations, output: moe.min_bytes) over its time, against the device's measured copy
bandwidth (kernels/timing.copy_bandwidth_GBps); the summary prints, per GEMM and M, the default config and the best
of the sweep against the torch loop.
"""

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

if not __package__:  # run as a script (python3 bench/moe.py): make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernels import moe_routing as R  # noqa: E402
from kernels import moe_w4a16 as moe  # noqa: E402
from kernels import timing  # noqa: E402

F = "moe-w4a16"
QWEN3_30B_A3B = {"E": 128, "top_k": 8, "hidden": 2048, "intermediate": 768}
MS = (1, 16, 128, 512, 2048, 4096)
# (BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, warps, stages, TMA): a small sweep spanning the small- and large-M regimes,
# each tile with the packed words by per-thread loads (TMA 0) and through a TMA descriptor (1)
SWEEP = [(*t, tma) for t in (
    (16, 64, 128, 1, 4, 4), (16, 64, 128, 1, 4, 3), (16, 128, 128, 1, 4, 4), (16, 128, 128, 1, 4, 3),
    (16, 128, 64, 1, 4, 4), (16, 256, 128, 1, 4, 3), (32, 64, 128, 1, 4, 4), (32, 128, 128, 8, 4, 3),
    (64, 64, 128, 8, 4, 3), (64, 128, 64, 8, 4, 4), (64, 128, 128, 8, 8, 3), (64, 256, 64, 8, 8, 3),
    (128, 128, 64, 8, 8, 3), (128, 64, 128, 8, 4, 3), (128, 256, 64, 8, 8, 3)) for tma in (0, 1)]

# --decode-grid: every 16-row tile over BN x BK x warps x stages x TMA (8 warps only where BN fills two warp groups'
# wgmma; TMA from BN 64, the space's narrowest tile)
DECODE_GRID = [(16, bn, bk, 1, w, st, tma) for bn in (16, 32, 64, 128, 256) for bk in (64, 128) for w in (4, 8)
               for st in (2, 3, 4, 5) for tma in (0, 1) if (w == 4 or bn >= 64) and (bn >= 64 or not tma)]


def as_config(t):
    return dict(zip(moe.CONFIG_KEYS + moe.OPTIONAL_CONFIG_KEYS, t))


def layer_problems(shape, gemm, M, routing="uniform"):
    N, K = (2 * shape["intermediate"], shape["hidden"]) if gemm == "up" else (shape["hidden"], shape["intermediate"])
    return moe.normalize_problem(F, {"M": M, "N": N, "K": K, "E": shape["E"], "top_k": shape["top_k"], "gemm": gemm,
                                     "routing": routing})


def routed(p, device):
    """The seeded routing of problem p and its block tables (shared by every input copy)."""
    topk_ids, weights = R.make_routing(p["M"], p["E"], p["top_k"], p["routing"], p["seed"])
    grouped, padded = R.prepare_tables(topk_ids, p["E"], device)
    return {"topk_ids": topk_ids.to(device), "router_weights": weights.flatten().to(device),
            "grouped": grouped, "padded": padded}


def with_routing(base, p, routing, copy):
    """Inputs for problem p that reuse `base`'s weights (one weight copy serves every M)."""
    rows = p["M"] if p["gemm"] == "up" else p["M"] * p["top_k"]
    gen = torch.Generator(device=base.a.device).manual_seed(1000 + copy)
    a = torch.randn(rows, p["K"], generator=gen, device=base.a.device).to(base.a.dtype)
    return replace(base, problem=p, a=a, **routing)


def torch_loop(inputs, dense):
    """bf16 per-expert loop (gather, matmul, scatter), indices precomputed like the kernels' tables."""
    p = inputs.problem
    flat = inputs.topk_ids.flatten()
    plan = []
    for e in torch.unique(flat).tolist():
        pairs = torch.nonzero(flat == e).flatten()
        plan.append((e, pairs, pairs // p["top_k"] if p["gemm"] == "up" else pairs))
    w = inputs.router_weights.to(inputs.a.dtype)[:, None]
    plan = [(e, pairs, rows, w[pairs]) for e, pairs, rows in plan]

    def run():
        out = torch.empty(flat.numel(), p["N"], dtype=inputs.a.dtype, device=inputs.a.device)
        for e, pairs, rows, w_e in plan:
            y = inputs.a.index_select(0, rows) @ dense[e].T
            out.index_copy_(0, pairs, y * w_e if p["gemm"] == "down" else y)
        return out
    return run


def dense_weights(inputs):
    """The same weights dequantized to bf16 [E, N, K]: what an unquantized model's loop would read."""
    return torch.stack([moe.dequantize(inputs, e).T.to(inputs.a.dtype).contiguous() for e in range(inputs.problem["E"])])


def check_and_time(items, make_fn, ref, timed):
    """Check the first item's output against ref, then time all items; a failure is a value, not an exception."""
    try:
        ok, err = moe.check(F, make_fn(items[0])(), ref)
        if not ok:
            return {"status": "wrong_answer", "max_err": err}
        if not timed:
            return {"status": "ok", "max_err": err}
        m = timing.measure([make_fn(c) for c in items], "full")  # the check's launch compiled the kernel
        return {"status": "ok", "max_err": err, "us": m.us, "spread": m.spread}
    except Exception as e:  # compile errors, out of resources: recorded, the sweep goes on
        return {"status": "error", "message": f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"}


LAUNCHERS = {"grouped": lambda inputs, cfg: moe.launch(F, inputs, cfg), "padded": moe.launch_padded}
SKIP = ("exceeds the most pairs", "does not", "wider")  # cannot run or cannot win; smem estimates get run


def bench_gemm(shape, gemm, ms, sweep, device, timed, routings, log, deadline=math.inf, launchers=None):
    """Rows for one GEMM of the layer; past `deadline` (time.time()) only defaults and the torch loop run."""
    rows = []
    p1 = layer_problems(shape, gemm, 1)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size if timed else 1
    n_copies = timing.copies_needed(moe.input_bytes(p1), l2) if timed else 1
    bases = [moe.make_inputs(F, p1, device, seed=i) for i in range(n_copies)]
    dense = [dense_weights(b) for b in bases[: min(n_copies, 4)]]  # bf16 weights: 4x the int4 bytes
    for routing in routings:
        for M in ms:
            p = layer_problems(shape, gemm, M, routing)
            shared = routed(p, device)
            copies = [with_routing(b, p, shared, i) for i, b in enumerate(bases)]
            ref = moe.reference(F, copies[0])
            base_row = {"gemm": gemm, "M": M, "routing": routing, "flops": moe.flops(p), "min_bytes": moe.min_bytes(p),
                        "copies": n_copies}
            configs = [("default", moe.default_config(F, p))]
            if routing == "uniform" and time.time() < deadline:
                configs += [(f"sweep{i}", as_config(t)) for i, t in enumerate(sweep)]
            for name, cfg in configs:
                static = moe.invalid_reason(F, p, cfg)
                if static and any(s in static for s in SKIP):
                    continue
                for variant, launch in (launchers or LAUNCHERS).items():
                    r = check_and_time(copies, lambda c, cfg=cfg, launch=launch: lambda: launch(c, cfg), ref, timed)
                    rows.append({**base_row, "variant": variant, "config_name": name, "config": cfg,
                                 "pruned_by_estimate": static, **r})
                    log(rows[-1])
            if routing == "uniform":
                pairs = list(zip(copies, dense))
                r = check_and_time(pairs, lambda cd: torch_loop(*cd), ref, timed)
                rows.append({**base_row, "variant": "torch-bf16-loop", "config_name": None, "config": None, **r})
                log(rows[-1])
            del copies, shared
    return rows


def log_row(r):
    cfg = "-".join(str(v) for v in r["config"].values()) if r["config"] else ""
    us = f'{r["us"]:9.1f}us' if "us" in r else ""
    print(f'{r["gemm"]:4} M={r["M"]:<5} {r["routing"]:7} {r["variant"]:15} {r["config_name"] or "":8} {cfg:22} '
          f'{r["status"]:12} {us} err={r.get("max_err", "")}', flush=True)


def summary(rows, bw):
    """Per GEMM and M (uniform routing, grouped launch): default and best of the sweep, % of copy bandwidth, and how
    much faster than the bf16 torch loop, as a Markdown table; then the best per BLOCK_SIZE_N."""
    print(f"\ncopy bandwidth {bw:.0f} GB/s\n\n| GEMM | M | MB | default µs | % | best µs (config) | % | torch µs | torch / best |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    per_bn_lines = []
    for gemm, M in dict.fromkeys((r["gemm"], r["M"]) for r in rows):
        ok = [r for r in rows if (r["gemm"], r["M"], r["routing"]) == (gemm, M, "uniform") and "us" in r]
        ours = [r for r in ok if r["variant"] == "grouped"]
        torch_ = [r for r in ok if r["variant"] == "torch-bf16-loop"]
        default = [r for r in ours if r["config_name"] == "default"]
        per_bn = {}
        for r in ours:
            per_bn[r["config"]["BLOCK_SIZE_N"]] = min(per_bn.get(r["config"]["BLOCK_SIZE_N"], math.inf), r["us"])
        per_bn_lines.append(f"  {gemm} M={M}: " + ", ".join(f"BN {bn}: {us:.1f}" for bn, us in sorted(per_bn.items())))
        if not ours or not default or not torch_:
            continue
        best = min(ours, key=lambda r: r["us"])
        cfg = "-".join(str(v) for v in best["config"].values())
        print(f"| {gemm} | {M} | {best['min_bytes'] / 1e6:.1f} | {default[0]['us']:.1f} | {default[0]['hbm_pct']:.0f} "
              f"| {best['us']:.1f} ({cfg}) | {best['hbm_pct']:.0f} | {torch_[0]['us']:.1f} "
              f"| {torch_[0]['us'] / best['us']:.1f}x |")
    print("\nbest µs per BLOCK_SIZE_N (uniform routing, grouped launch):\n" + "\n".join(per_bn_lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write all rows as JSON here")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes, checks only (CPU interpreter)")
    ap.add_argument("--sweep-budget-s", type=float, default=math.inf, help="stop sweeping (defaults only) after")
    ap.add_argument("--decode-grid", action="store_true",
                    help="sweep DECODE_GRID instead, uniform routing and the grouped launch only")
    ap.add_argument("--ms", type=lambda s: [int(x) for x in s.split(",")], default=list(MS))
    args = ap.parse_args()
    t0 = time.time()
    if args.smoke:
        shape, ms, device, timed = {"E": 4, "top_k": 2, "hidden": 128, "intermediate": 128}, [1, 5, 40], "cpu", False
        sweep = [SWEEP[2], SWEEP[3], SWEEP[12], SWEEP[17]]  # 16-64-128 without and with TMA, 32-64-128, 64-64-128 TMA
    else:
        shape, ms, sweep, device, timed = QWEN3_30B_A3B, args.ms, DECODE_GRID if args.decode_grid else SWEEP, "cuda", True
    rows = []

    def log(row):
        log_row(row)
        if args.out:
            with args.out.with_suffix(".jsonl").open("a") as f:  # partial results survive a timeout
                f.write(json.dumps(row) + "\n")

    bw = timing.copy_bandwidth_GBps() if timed else None
    for gemm in ("up", "down"):
        rows += bench_gemm(shape, gemm, ms, sweep, device, timed, ("uniform",) if args.decode_grid else ("uniform", "skewed"),
                           log, t0 + args.sweep_budget_s / 2 * (1 if gemm == "up" else 2),
                           {"grouped": LAUNCHERS["grouped"]} if args.decode_grid else None)
    for r in rows:
        if bw and "us" in r:
            r["hbm_pct"] = round(100 * r["min_bytes"] / (r["us"] * 1e-6) / (bw * 1e9), 1)
    if bw:
        summary(rows, bw)
    meta = {"device": torch.cuda.get_device_name(0) if timed else "cpu (interpreter)", "torch": torch.__version__,
            "triton": __import__("triton").__version__, "shape": shape, "wall_s": round(time.time() - t0, 1)}
    if timed:
        meta["copy_GBps"] = round(bw)
        meta["l2_bytes"] = torch.cuda.get_device_properties(0).L2_cache_size
    if args.out:
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    bad = [r for r in rows if r["status"] == "wrong_answer"]
    print(json.dumps(meta), f"rows={len(rows)} wrong={len(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
