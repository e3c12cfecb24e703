"""What a pure read of a GEMM's bytes reaches, timed as a trial is: the ceiling of "% of the copy bandwidth" at a size.

    python3 bench/read_floor.py [--out out/read-floor.json]     # GPU

A W4A16 decode GEMM reads its minimum bytes (the int4 weights of the experts a batch touches, scales, zero points,
activations) and writes little. At a few MB a launch cannot stream at the copy bandwidth measured over 1 GB: the
launch, the first loads' latency and the last wave's tail do not shrink with the bytes. This times, for each byte
count the W4A16 kernels are held to (issue 15: the dense decode weights at M = 1, both MoE GEMMs of the Qwen3-30B-A3B
layer at M = 1, 4 and 16), the fastest of a small sweep of read-only kernels over that many contiguous bytes
(`_read_kernel`: each program reads BLOCK int32 and stores their sum, so nothing is optimized away), with
kernels/timing.measure (a CUDA graph over rotating copies beyond the L2, as a trial). Contiguous bytes
are the easy case: a MoE GEMM reads each touched expert's slice, so the floor is an upper bound on its percentage.
The copy bandwidth counts the bytes read and written by a 1 GB copy; reads alone can run a little faster than that.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import triton
import triton.language as tl

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.moe import QWEN3_30B_A3B, layer_problems  # noqa: E402
from bench.w4a16 import SHAPES  # noqa: E402
from kernels import moe_w4a16 as moe  # noqa: E402
from kernels import timing  # noqa: E402
from kernels import w4a16 as W  # noqa: E402

DENSE = [(N, K) for shapes in SHAPES.values() for N, K in shapes if N * K // 2 >= 16 * 2**20]  # >= 16 MB of int4
SWEEP = [(block, warps) for block in (1024, 2048, 4096, 8192) for warps in (4, 8)]


@triton.jit
def _read_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0)
    tl.store(out_ptr + tl.program_id(0), tl.sum(x, axis=0))


def read(x: torch.Tensor, out: torch.Tensor, block: int, warps: int) -> None:
    """The sum of each BLOCK int32 of x into out[program] (out holds at least cdiv(x.numel(), block))."""
    _read_kernel[(triton.cdiv(x.numel(), block),)](x, out, x.numel(), BLOCK=block, num_warps=warps)


def sizes() -> list[tuple[str, float]]:
    """(what, minimum bytes) of the rows issue 15 holds to a share of the copy bandwidth."""
    rows = []
    for N, K in DENSE:
        p = W.normalize_problem("w4a16", {"M": 1, "N": N, "K": K, "group_size": 128, "zero_points": True})
        rows.append((f"w4a16 {N}x{K} M=1", W.min_bytes(p)))
    for gemm in ("up", "down"):
        for M in (1, 4, 16):
            rows.append((f"moe {gemm} M={M}", moe.min_bytes(layer_problems(QWEN3_30B_A3B, gemm, M))))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    t0 = time.time()
    bw = timing.copy_bandwidth_GBps(n_bytes=1 << 30) * 1e9
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    out = torch.empty(1 << 20, dtype=torch.int32, device="cuda")
    print(f"copy bandwidth {bw / 1e9:.0f} GB/s (read + written)")
    rows = []
    for what, nbytes in sizes():
        n = int(nbytes) // 4
        xs = [torch.randint(0, 256, (n,), dtype=torch.int32, device="cuda")  # a block's sum fits an int32
              for _ in range(timing.copies_needed(nbytes, l2))]
        want = int(xs[0].sum())
        best = None
        for block, warps in SWEEP:
            read(xs[0], out, block, warps)  # compiles; then checked: the programs' sums add up to x's
            if int(out[: triton.cdiv(n, block)].sum()) != want:
                raise SystemExit(f"read kernel BLOCK {block}, {warps} warps: wrong sum")
            us = timing.measure([lambda x=x, b=block, w=warps: read(x, out, b, w) for x in xs]).us
            if best is None or us < best[0]:
                best = (us, block, warps)
        del xs
        us, block, warps = best
        row = {"what": what, "MB": round(nbytes / 1e6, 1), "us": round(us, 2),
               "pct_copy": round(100 * nbytes / (us * 1e-6) / bw, 1), "BLOCK": block, "num_warps": warps}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| bytes read | MB | pure read µs | % of copy bandwidth |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['MB']} | {r['us']} | {r['pct_copy']} |")
    meta = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "triton": triton.__version__,
            "copy_GBps": round(bw / 1e9), "wall_s": round(time.time() - t0, 1)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
