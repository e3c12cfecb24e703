"""Probe: the W4A16 decode product on CUDA cores (kernels/w4a16_gemv.py) against the fused MMA kernel's sweep and
cuBLAS bf16, side by side, one H200. Not a tuner family: a measurement of whether the path is worth one.

    python3 bench/w4a16_gemv_probe.py [--out out] [--ms 1,4,16] [--groups 128,32] [--variant plain|prefetch|tiled]
    python3 bench/w4a16_gemv_probe.py --kernel gluon [--out out] [--ms 1,4,16]     # kernels/w4a16_gluon.py instead
    python3 bench/w4a16_gemv_probe.py --kernel gluon-prefill --ms 1024,4096 [--out out]   # kernels/w4a16_gluon_prefill.py
    python3 bench/w4a16_gemv_probe.py --kernel gluon-prefill --ms 1,16 --shapes '37888,3584;28672,4096'   # its 16-token tile

For a profiler: `--profile N,K,M --config JSON [--fused-config JSON]` checks, then launches three times each, one
probe config and one config of the family's fused kernel (default: its default config at M) on one g128 problem:

    ncu --clock-control none -k regex:w4a16 -c 6 --section SpeedOfLight --section Occupancy \
        --section WarpStateStats --section SchedulerStats python3 bench/w4a16_gemv_probe.py --kernel gluon \
        --profile 37888,3584,1 --config '{"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128,
        "SPLIT_K": 4, "num_warps": 4, "AHEAD": 1, "REG_A": 1}'

1. Compiles and checks every config of the probe's space (for the M tiles asked) on a 4608 x 7168 problem, in 14
   processes (the Triton cache then serves step 2); the Gluon probe on every row's shape too (its REG_A binaries
   are per weight shape).
2. Per row (the Qwen2.5-7B, Llama-3.1-8B and Qwen3-4B shapes of bench/w4a16.py, or --shapes): cuBLAS bf16; the fused
   kernel's best of bench/w4a16.py's candidates(M); the probe kernel's best; each best re-timed at full effort
   (kernels/timing.measure, input copies beyond the L2) right after cuBLAS is timed again (cublas; the first timing,
   before the sweeps warmed the GPU, is cublas_cold). The probe's best is checked against the reference, except
   with --variant tiled: that variant reads each (tile, K block) as one contiguous run of memory without the weights
   repacked to match, so it gives the access pattern's time and wrong numbers.
Writes gemv.json under --out (its gemv* fields are the probe's, whichever kernel it is).
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F_

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.w4a16 import candidates  # noqa: E402
from kernels import w4a16 as W  # noqa: E402
from kernels.timing import copies_needed, copy_bandwidth_GBps, measure  # noqa: E402
from kernels.w4a16_gemv import w4a16_gemv_kernel  # noqa: E402
from kernels.w4a16_pack import _cdiv  # noqa: E402

FAM = "w4a16"
BIG = [(19456, 2560), (37888, 3584), (3584, 18944), (28672, 4096), (4096, 14336)]  # >= 16 MB of int4
SMALL = [(6144, 2560), (2560, 4096), (2560, 9728)]
VARIANTS = {"plain": {}, "prefetch": {"PREFETCH": 1}, "tiled": {"TILED": 1}}


def _gluon_module(kernel: str):
    """The Gluon probe's module: decode (kernels/w4a16_gluon.py) or prefill (kernels/w4a16_gluon_prefill.py)."""
    if kernel == "gluon-prefill":
        from kernels import w4a16_gluon_prefill
        return w4a16_gluon_prefill
    from kernels import w4a16_gluon
    return w4a16_gluon


def w4a16_gluon_reason(kernel: str, p: dict, c: dict) -> str | None:
    return _gluon_module(kernel).invalid_reason(p, c)


def launch_gemv(inp, cfg: dict) -> torch.Tensor:
    p, a = inp.problem, inp.a
    M, N, K = p["M"], p["N"], p["K"]
    bn, bk, split = cfg["BLOCK_SIZE_N"], cfg["BLOCK_SIZE_K"], cfg["SPLIT_K"]
    zeros = inp.qzeros if inp.qzeros is not None else inp.qweight
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    ws = torch.empty((split, M, N), dtype=torch.float32, device=a.device) if split > 1 else c
    g = p["group_size"]
    w4a16_gemv_kernel[(_cdiv(N, bn), split)](
        a, inp.qweight, inp.scales, zeros, c, ws, inp.counters, M, N, K, K // 8, _cdiv(N, 8),
        GROUP=0 if g == -1 else g, HAS_ZP=p["zero_points"], EVEN_K=K % bk == 0,
        INTERPRET=os.environ.get("TRITON_INTERPRET") == "1", BLOCK_SIZE_M=cfg["BLOCK_SIZE_M"], BLOCK_SIZE_N=bn,
        BLOCK_SIZE_K=bk, SPLIT_K=split, PREFETCH=cfg.get("PREFETCH", 0), TILED=cfg.get("TILED", 0),
        num_warps=cfg["num_warps"], num_stages=cfg["num_stages"])
    return c


def space(bm: int, variant: str) -> list[dict]:
    """BN x BK x SPLIT_K x warps x stages, without the variant and with it (plain: once); at most 128 fp32
    products per thread."""
    extra = [{}] if variant == "plain" else [{}, VARIANTS[variant]]
    return [dict(BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, SPLIT_K=sk, num_warps=w, num_stages=st, **x)
            for bn in (64, 128, 256) for bk in (128, 256, 512) for sk in (1, 2, 4, 8, 16) for w in (4, 8)
            for st in (1, 2) for x in extra if bn * bm * (bk // 8) // (32 * w) <= 128]


def _launcher(kernel: str):
    """The probe kernel's launch(inputs, config): the CUDA-core GEMV or a Gluon kernel."""
    return launch_gemv if kernel == "gemv" else _gluon_module(kernel).launch


def _space(kernel: str, bm: int, variant: str) -> list[dict]:
    if kernel == "gluon-prefill":
        return _gluon_module(kernel).space(bm)
    return space(bm, variant) if kernel == "gemv" else _gluon_module(kernel).space()


def _compile(args):
    prob, cfgs, kernel = args
    launch = _launcher(kernel)
    p = W.normalize_problem(FAM, prob)
    inp = W.make_inputs(FAM, p, "cuda", 0)
    ref = W.reference(FAM, inp)
    bad = []
    for c in cfgs:
        try:
            if kernel != "gemv" and w4a16_gluon_reason(kernel, p, c):
                continue
            ok, err = W.check(FAM, launch(inp, c), ref)
            torch.cuda.synchronize()
            if (not ok and not c.get("TILED")) or int(inp.counters.abs().sum()):
                bad.append((p["N"], p["K"], c, err))
        except Exception as e:  # noqa: BLE001 -- a failed config is a result
            bad.append((p["N"], p["K"], c, str(e)[:200]))
    return bad


def profile(kernel: str, nkm: str, config: dict, fused: dict | None) -> int:
    """Check, then launch three times each, the probe's config and the fused kernel's (for a profiler)."""
    n, k, m = (int(x) for x in nkm.split(","))
    p = W.normalize_problem(FAM, {"M": m, "N": n, "K": k, "group_size": 128, "zero_points": True})
    fused = fused or W.default_config(FAM, p)
    device = "cuda" if torch.cuda.is_available() else "cpu"  # cpu: the interpreter (the GEMV probe's tests)
    if os.environ.get("TRITON_INTERPRET") == "1":
        from kernels import interpret_compat
        interpret_compat.apply()
    inp = W.make_inputs(FAM, p, device, 0)
    ref = W.reference(FAM, inp)
    bad = 0
    for name, fn in (("fused", lambda: W.launch(FAM, inp, fused)), (kernel, lambda: _launcher(kernel)(inp, config))):
        for _ in range(3):
            out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        ok, err = W.check(FAM, out, ref)
        bad += not ok
        print(f"{name}: {'ok' if ok else 'WRONG'} (error {err:.3f} of the tolerance)", flush=True)
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out")
    ap.add_argument("--ms", default="1")
    ap.add_argument("--groups", default="128")
    ap.add_argument("--variant", choices=list(VARIANTS), default="plain")
    ap.add_argument("--kernel", choices=("gemv", "gluon", "gluon-prefill"), default="gemv",
                    help="the probe: the CUDA-core GEMV (kernels/w4a16_gemv.py, --variant applies), the Gluon decode "
                         "kernel (kernels/w4a16_gluon.py) or the Gluon prefill kernel (kernels/w4a16_gluon_prefill.py, "
                         "with --ms 1024,4096, or 1,16 for its 16-token tile)")
    ap.add_argument("--shapes", help="N,K pairs joined by ';' (default: every shape); the 4608 x 7168 check as ever")
    ap.add_argument("--profile", metavar="N,K,M", help="launch --config (and --fused-config) on one problem only")
    ap.add_argument("--config", type=json.loads, help="with --profile: the probe's config (JSON)")
    ap.add_argument("--fused-config", type=json.loads, help="with --profile: the fused kernel's config (JSON)")
    args = ap.parse_args(argv)
    if args.profile:
        if not args.config:
            ap.error("--profile needs --config")
        return profile(args.kernel, args.profile, args.config, args.fused_config)
    ms, groups = [int(m) for m in args.ms.split(",")], [int(g) for g in args.groups.split(",")]
    big, small = BIG, SMALL
    if args.shapes:
        pick = [tuple(int(x) for x in nk.split(",")) for nk in args.shapes.split(";")]
        big, small = [s for s in pick if s in BIG], [s for s in pick if s not in BIG]
    t0 = time.time()
    tasks = []
    for bm in sorted({1 << (m - 1).bit_length() for m in ms}):
        for g in groups:
            cfgs = _space(args.kernel, bm, args.variant)
            # the Gluon probe's REG_A binaries are per weight shape: compile (and check) them for every row's shape
            shapes = [(4608, 7168)] + (big + small if args.kernel != "gemv" else [])
            tasks += [({"M": bm, "N": n, "K": k, "group_size": g, "zero_points": True}, cfgs[i::14], args.kernel)
                      for n, k in shapes for i in range(14)]
    with ProcessPoolExecutor(max_workers=14, mp_context=torch.multiprocessing.get_context("spawn")) as pool:
        bad = [b for r in pool.map(_compile, tasks) for b in r]
    print(f"compiled and checked in {time.time() - t0:.0f} s, bad {len(bad)}", bad[:5], flush=True)
    bw = copy_bandwidth_GBps(n_bytes=1 << 30) * 1e9
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s", flush=True)
    probs = [(N, K, M, g) for N, K in big for g in groups for M in ms]
    probs += [(N, K, M, 128) for N, K in small for M in ms]
    rows = []
    for N, K, M, g in probs:
        p = W.normalize_problem(FAM, {"M": M, "N": N, "K": K, "group_size": g, "zero_points": True})
        nc = copies_needed(W.input_bytes(p), l2)
        ins = [W.make_inputs(FAM, p, "cuda", s) for s in range(nc)]
        ref = W.reference(FAM, ins[0])
        wb = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(copies_needed(2.0 * N * K, l2))]
        cublas = measure([lambda a=ins[i % nc].a, w=w: F_.linear(a, w) for i, w in enumerate(wb)]).us
        del wb
        by = {}

        def best_of(cfgs, fn):
            best = (float("inf"), None)
            for c in cfgs:
                try:
                    us = measure([lambda i=i: fn(i, c) for i in ins], "quick").us
                except Exception:  # noqa: BLE001
                    continue
                best = min(best, (us, c), key=lambda t: t[0])
                key = ("REG_A " if c.get("REG_A") or args.kernel == "gluon-prefill" else "") + (
                    f"AHEAD={c['AHEAD']}" if "AHEAD" in c else
                    f"stages={c['num_stages']}" if args.kernel == "gluon-prefill" else
                    "+".join(k for k in VARIANTS[args.variant] if c.get(k)) or "plain")
                by[key] = min(by.get(key, 1e9), round(us, 2))
            return best

        mma = best_of([c for c in candidates(M, g) if not W.invalid_reason(FAM, p, c)],
                      lambda i, c: W.launch(FAM, i, c))
        by.clear()
        launch = _launcher(args.kernel)
        cfgs = _space(args.kernel, 1 << (M - 1).bit_length(), args.variant)
        if args.kernel != "gemv":
            cfgs = [c for c in cfgs if not w4a16_gluon_reason(args.kernel, p, c)]
        gv = best_of(cfgs, launch)
        # cuBLAS again next to the two re-timings: the sweeps above warm the GPU (its clocks fall under the power cap),
        # so the ratios take this one; the first is kept as cublas_cold
        wb = [torch.randn(N, K, device="cuda", dtype=torch.bfloat16) for _ in range(copies_needed(2.0 * N * K, l2))]
        cold, cublas = cublas, measure([lambda a=ins[i % nc].a, w=w: F_.linear(a, w) for i, w in enumerate(wb)]).us
        del wb
        mma_us = measure([lambda i=i: W.launch(FAM, i, mma[1]) for i in ins]).us
        gv_us = measure([lambda i=i: launch(i, gv[1]) for i in ins]).us
        ok = None if gv[1].get("TILED") else W.check(FAM, launch(ins[0], gv[1]), ref)[0]
        hbm = lambda us: round(100 * W.min_bytes(p) / (us * 1e-6) / bw, 1)  # noqa: E731
        row = dict(N=N, K=K, M=M, g=g, cublas=round(cublas, 2), cublas_cold=round(cold, 2), mma=round(mma_us, 2),
                   gemv=round(gv_us, 2), mma_x=round(cublas / mma_us, 2), gemv_x=round(cublas / gv_us, 2), mma_hbm=hbm(mma_us),
                   gemv_hbm=hbm(gv_us), gemv_cfg=gv[1], mma_cfg=mma[1], ok=ok, quick_best_by_variant=by)
        print(json.dumps(row), flush=True)
        rows.append(row)
        del ins
        torch.cuda.empty_cache()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gemv.json"), "w") as f:
        json.dump(rows, f, indent=0)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
