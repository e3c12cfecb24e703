"""Benchmark the stand-ins for the servers' compiled ops: the torch versions against the Triton kernels.

    python3 bench/server_ops.py --out server_ops.json     # GPU: Qwen3-30B-A3B's layer, M in 1, 16, 256, 4096
    TRITON_INTERPRET=1 python3 bench/server_ops.py --smoke  # CPU: tiny shapes, checks only (no timings)

For each M: (a) each op as the torch stand-in, (b) the same op as the Triton kernel (kernels/servers/fast_align.py,
fast_ops.py), each alone, and (c) vLLM's whole fused_experts layer (bf16 and fp8 block) with a fixed config
(vLLM's get_default_config at that M) and the stand-ins of (a), then of (b). Outputs are checked before timing:
the alignment in align.canonical order, the quantizers bit for bit, SiLU-and-mul and the top-k sum to one step of
bf16 (Triton's exp; torch's summation order on a GPU), each layer against the fp32 reference (moe.check).
Timing: kernels/timing.measure at full effort, as a tune trial (a CUDA graph of launches rotating over input copies
that exceed the L2 3x; the median per launch, with the spread (p90 - p10) / median).
"""

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import torch

if not __package__:  # run as a script (python3 bench/server_ops.py): make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if os.environ.get("TRITON_INTERPRET") == "1":
    from kernels import interpret_compat

    interpret_compat.apply()

from bench import cannot_run  # noqa: E402
from kernels import timing  # noqa: E402
from kernels.server_family import server_provenance  # noqa: E402
from kernels.server_moe import expected_active_experts  # noqa: E402
from kernels.servers import align, fast_align, fast_ops, moe, vllm_moe, vllm_ops, vllm_source  # noqa: E402

QWEN3_30B_A3B = {"E": 128, "top_k": 8, "hidden": 2048, "inter": 768}
MS = (1, 16, 256, 4096)
SMOKE = {"E": 8, "top_k": 2, "hidden": 256, "inter": 128}
SMOKE_MS = (1, 5)
FP8 = torch.float8_e4m3fn
FMAX = torch.finfo(FP8).max


def ops(layer: dict, M: int, block_size: int, device) -> dict:
    """name -> (make inputs for one copy, run it, the check of fast against torch outputs). A run returns its outputs."""
    E, k, H, I = layer["E"], layer["top_k"], layer["hidden"], layer["inter"]
    custom = vllm_ops.custom_ops_module(_Fp8Platform())  # the stand-ins themselves, installed vLLM or not
    gen = torch.Generator(device=device).manual_seed(M)
    rand = lambda *shape: torch.randn(*shape, generator=gen, device=device).to(torch.bfloat16)  # noqa: E731
    length = M * k + E * (block_size - 1)

    def align_run(ids):
        out = (torch.empty(length, dtype=torch.int32, device=device),
               torch.empty(-(-length // block_size), dtype=torch.int32, device=device),
               torch.empty(1, dtype=torch.int32, device=device))
        custom.moe_align_block_size(ids, E, block_size, *out)
        return out

    def align_same(a, b):
        n = int(a[2])
        return (n == int(b[2]) and torch.equal(a[1], b[1]) and torch.equal(a[0][n:], b[0][n:])
                and torch.equal(align.canonical(a[0], a[1], n, block_size, M * k),
                                align.canonical(b[0], b[1], n, block_size, M * k)))

    def silu_run(x):
        out = torch.empty(x.shape[0], I, dtype=x.dtype, device=device)
        vllm_ops.silu_and_mul(out, x)
        return (out,)

    def group_run(x):
        q = torch.empty(x.shape, dtype=FP8, device=device)
        s = torch.empty(x.shape[0], x.shape[1] // 128, device=device)
        vllm_ops.per_token_group_fp8_quant(x, q, s, 128, 1e-10, -FMAX, FMAX, False, False, False)
        return q, s

    def sum_run(x):
        out = torch.empty(M, H, dtype=x.dtype, device=device)
        custom.moe_sum(x, out)
        return (out,)

    # k distinct experts per token, uniform: the first k of a random permutation of each row
    routing = lambda: torch.rand(M, E, generator=gen, device=device).argsort(dim=1)[:, :k].to(torch.int32)  # noqa: E731
    return {
        "moe_align_block_size": (routing, align_run, align_same),
        "silu_and_mul": (lambda: rand(M * k, 2 * I), silu_run, one_step),
        "moe_sum": (lambda: rand(M, k, H), sum_run, one_step),  # torch on a GPU may sum in another order
        "per_token_group_fp8_quant (hidden)": (lambda: rand(M, H), group_run, same_bits),
        "per_token_group_fp8_quant (inter)": (lambda: rand(M * k, I), group_run, same_bits),
        "scaled_fp8_quant (per tensor)": (lambda: rand(M, H), lambda x: custom.scaled_fp8_quant(x), same_bits),
        "scaled_int8_quant (per token)": (lambda: rand(M, H), lambda x: custom.scaled_int8_quant(x)[:2], same_bits),
    }


class _Fp8Platform:
    def fp8_dtype(self):
        return FP8


def same_bits(a, b) -> bool:
    return all(x.dtype == y.dtype and torch.equal(x.view(torch.uint8), y.view(torch.uint8)) for x, y in zip(a, b))


def one_step(a, b) -> bool:
    """Equal to the torch version within one step of the output dtype."""
    x, y = a[0].float(), b[0].float()
    return bool(((x - y).abs() <= torch.finfo(a[0].dtype).eps * y.abs()).all())


def time_op(make, run, copies: int) -> dict:
    inputs = [make() for _ in range(copies)]
    run(inputs[0])  # compiles
    m = timing.measure([lambda x=x: run(x) for x in inputs], "full")
    return {"us": round(m.us, 2), "spread": round(m.spread, 3)}


def bench_ops(layer: dict, M: int, block_size: int, device, timed: bool) -> list[dict]:
    rows = []
    l2 = torch.cuda.get_device_properties(0).L2_cache_size if timed else 0
    for name, (make, run, agree) in ops(layer, M, block_size, device).items():
        x = make()
        with fast_ops.torch_only():
            ref = run(x)
        out = run(x)
        row = {"op": name, "M": M, "agree": bool(agree(out, ref))}
        if timed:
            copies = timing.copies_needed(sum(t.numel() * t.element_size() for t in (x, *out)), l2)
            with fast_ops.torch_only():
                row["torch"] = time_op(make, run, copies)
            row["triton"] = time_op(make, run, copies)
            row["speedup"] = round(row["torch"]["us"] / row["triton"]["us"], 2)
        rows.append(row)
    return rows


def bench_layer(layer: dict, M: int, quant: str, device, timed: bool) -> dict:
    problem = moe.normalize_problem({"M": M, "quant": quant, **layer})
    config = vllm_moe.default_config(problem)
    expert_bytes = 3 * layer["inter"] * layer["hidden"] * (1 if quant == "fp8_w8a8_block" else 2)
    touched = expected_active_experts(layer["E"], layer["top_k"], M) * expert_bytes
    copies = min(4, timing.copies_needed(touched, torch.cuda.get_device_properties(0).L2_cache_size)) if timed else 1
    inputs = [moe.make_inputs(problem, device, seed=i) for i in range(copies)]
    ref = moe.reference(inputs[0])
    row = {"op": f"fused_experts ({quant})", "M": M, "config": config}
    outs = {}
    for stand_ins in ("torch", "triton"):
        with fast_ops.torch_only() if stand_ins == "torch" else contextlib.nullcontext():
            outs[stand_ins] = vllm_moe.launch(inputs[0], config)
            ok, err = moe.check(outs[stand_ins], ref, quant)
            row[f"{stand_ins}_check"] = {"passes": ok, "err": round(err, 5)}
            if timed:
                m = timing.measure([lambda x=x: vllm_moe.launch(x, config) for x in inputs], "full")
                row[stand_ins] = {"us": round(m.us, 1), "spread": round(m.spread, 3)}
    diff = (outs["torch"].float() - outs["triton"].float()).abs().max() / outs["torch"].float().abs().max()
    row["agree"] = bool(row["torch_check"]["passes"] and row["triton_check"]["passes"])
    row["max_rel_diff"] = float(diff)
    if timed:
        row["speedup"] = round(row["torch"]["us"] / row["triton"]["us"], 3)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU interpreter, checks only")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    problem = cannot_run(args.smoke)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    layer, ms, device, timed = (SMOKE, SMOKE_MS, "cpu", False) if args.smoke else (QWEN3_30B_A3B, MS, "cuda", True)
    prov = server_provenance("vllm-moe")
    origin = vllm_source.modules().origin
    print(f"vLLM {prov['version']} ({prov['origin']}), torch {torch.__version__}, "
          f"device {torch.cuda.get_device_name(0) if timed else 'cpu (interpreter)'}")
    layers = ("bf16", "fp8_w8a8_block") if origin == "cache" else ()
    if not layers:  # an installed vLLM runs its own compiled ops, not the stand-ins: only (a) and (b) apply
        print("vLLM is installed: its layer runs its compiled ops, so the layer is not timed with the stand-ins")
    rows = []
    for M in ms:
        block_size = vllm_moe.default_config(moe.normalize_problem({"M": M, **layer}))["BLOCK_SIZE_M"]
        new = bench_ops(layer, M, block_size, device, timed) + [bench_layer(layer, M, q, device, timed) for q in layers]
        rows += new
        for row in new:
            times = ""
            if timed:
                times = f"torch {row['torch']['us']:>9} us  triton {row['triton']['us']:>9} us  x{row['speedup']}"
            print(f"M={M:<5} {row['op']:<38} agree={row['agree']!s:<5} {times}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    bad = [r for r in rows if not r["agree"]]
    for r in bad:
        print(f"DISAGREE: M={r['M']} {r['op']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
