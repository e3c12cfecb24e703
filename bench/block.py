"""The servers' block-quantized W8A8 GEMMs on a GPU: the config tritune's tuned file gives, the server's default config,
the file the server release ships (where it ships one under the name) and cuBLAS (torch's scaled_mm with 1x128
activation and 128x128 weight block scales), per weight shape and M.

    python3 bench/block.py --tuned OUT --shapes 6144x4096,4096x4096 --servers vllm sglang --out OUT/block_bench.json
                           [--previous EARLIER_OUT]
    TRITON_INTERPRET=1 python3 bench/block.py --smoke       # no GPU: tiny shapes, checks only

--tuned is the --out folder of `tune --kernel vllm-w8a8-block sglang-w8a8-block`: each server's lookup is pointed at
the package folder under it (kernels/servers/block_server.py reading_from), so "tuned" is the entry the server itself
picks there for M; "shipped" is the entry it picks from the release's own configs folder; "default" its inline
default. Each is launched through the server's own launcher (kernels/servers/{vllm,sglang}_block.py), checked against
the dequantize-then-matmul reference, then timed by kernels/timing.py as a tune trial is (a CUDA graph over rotating
input copies that exceed the L2 3x, the median per launch). cuBLAS runs on the same quantized inputs (fp8 only).
"""

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script (python3 bench/block.py): make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from bench import cannot_run  # noqa: E402
from kernels.servers import block, sglang_block, vllm_block  # noqa: E402

SERVERS = {"vllm": vllm_block, "sglang": sglang_block}
# where each server's lookup folder lies under a tune --out folder (src/schema/formats.ts, the package's own path)
FOLDERS = {"vllm": "vllm/model_executor/layers/quantization/utils", "sglang": "sglang/kernels/ops/gemm"}
MS = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096]
SMOKE = [(256, 512)]
SMOKE_MS = [3, 40]


def cublas(inputs: block.Inputs):
    """torch's scaled_mm on the same fp8 operands: A with 1x128 scales (outer-dim-major), W^T with 128x128 scales."""
    from torch.nn.functional import ScalingType, scaled_mm

    # outer-dim-major: strides (1, M), which torch checks literally (for M = 1 too, where .t().contiguous() is a no-op)
    M, groups = inputs.a_scale.shape
    a_scale = torch.empty_strided((M, groups), (1, M), dtype=inputs.a_scale.dtype, device=inputs.a_scale.device)
    a_scale.copy_(inputs.a_scale)
    return scaled_mm(inputs.a, inputs.w.t(), a_scale, ScalingType.BlockWise1x128, inputs.w_scale.t(),
                     ScalingType.BlockWise128x128, output_dtype=inputs.out_dtype)


def configs(mod, p: dict, trees: dict) -> dict:
    """{name: config} the server would run at M: from each named `tune --out` folder (tuned, previous), from its
    release's folder, its default."""
    out = {}
    for name, tree in trees.items():
        with mod.reading_from(p, tree / FOLDERS[mod.SERVER]):
            if mod.file_configs(p) is not None:
                out[name] = mod.lookup_config(p)
    if mod.file_configs(p) is not None:  # the package's own configs folder: the release's shipped files
        out["shipped"] = mod.lookup_config(p)
    out["default"] = mod.default_config(p)
    return out


def bench(mod, N: int, K: int, M: int, trees: dict, device: str, timed: bool) -> dict:
    from kernels import timing

    p = {"M": M, "N": N, "K": K, "quant": "fp8"}
    copies = timing.copies_needed(block.min_bytes(p), torch.cuda.get_device_properties(0).L2_cache_size) if timed else 1
    inputs = [mod.make_inputs(p, device, seed=i) for i in range(copies)]
    ref = mod.reference(inputs[0])
    row = {"server": mod.SERVER, "N": N, "K": K, "M": M, "configs": configs(mod, p, trees), "runs": {}}
    runs = {name: (lambda x, c=c: mod.launch(x, c)) for name, c in row["configs"].items()}
    if timed:
        runs["cublas"] = cublas
    for name, run in runs.items():
        try:
            ok, err = mod.check(run(inputs[0]), ref)
        except Exception as e:  # cuBLAS block scaling needs a recent CUDA and SM90: say why it is missing
            row["runs"][name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
            continue
        r = {"passes": ok, "err": round(err, 5)}
        if timed and ok:
            m = timing.measure([lambda x=x: run(x) for x in inputs], "full")
            r.update(us=round(m.us, 2), spread=round(m.spread, 3), TBps=round(block.min_bytes(p) / m.us / 1e6, 3),
                     TFLOPs=round(block.flops(p) / m.us / 1e6, 1))
        row["runs"][name] = r
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tuned", type=Path, help="a `tune --out` folder holding the block GEMM files")
    ap.add_argument("--previous", type=Path, help="another such folder (an earlier tuning), measured beside it")
    ap.add_argument("--shapes", default="6144x4096,4096x4096,24576x4096,4096x12288", help="NxK,... (per-rank weights)")
    ap.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    ap.add_argument("--batch-sizes", default=",".join(map(str, MS)))
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU interpreter, checks only")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    problem = cannot_run(args.smoke)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.smoke:
        from kernels import interpret_compat

        interpret_compat.apply()
        shapes, ms, device, timed = SMOKE, SMOKE_MS, "cpu", False
    else:
        shapes = [tuple(map(int, s.split("x"))) for s in args.shapes.split(",")]
        ms, device, timed = [int(m) for m in args.batch_sizes.split(",")], "cuda", True
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name(0) if timed else 'cpu (interpreter)'}")
    rows, bad = [], []
    trees = {name: tree for name, tree in (("tuned", args.tuned), ("previous", args.previous)) if tree is not None}
    for server in args.servers:
        mod = SERVERS[server]
        for N, K in shapes:
            for M in ms:
                row = bench(mod, N, K, M, trees, device, timed)
                rows.append(row)
                cells = [f"{n} {r['us']}us" if "us" in r else f"{n} {'ok' if r.get('passes') else r.get('error', 'WRONG')}"
                         for n, r in row["runs"].items()]
                print(f"{server:<6} N={N:<6} K={K:<6} M={M:<5} " + "  ".join(cells), flush=True)
                bad += [f"{server} {N}x{K} M={M} {n}" for n, r in row["runs"].items() if r.get("passes") is False]
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    for b in bad:
        print(f"WRONG ANSWER: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
