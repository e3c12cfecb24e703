"""W4A16 at decode batch sizes: the transposed tl.dot product (SWAP_AB) against the committed tuned entry and cuBLAS.

    python3 bench/w4a16_swap.py --out swap.json            # one H200, about 70 s
    TRITON_INTERPRET=1 python3 bench/w4a16_swap.py --smoke # no GPU: two SWAP_AB configs checked on a small problem

For each weight shape (Qwen3-4B's four, two of Qwen2.5-7B) at g=128 with zero points, bf16, and M = 1, 4, 8, 16:
cuBLAS bf16 (F.linear on a bf16 weight of the shape), the entry kernels/configs.py picks from tuned-configs/ (the
family default where no file is committed: the Qwen2.5-7B shapes), and the best SWAP_AB config of a small sweep
(SPACE: quick effort, the winner re-timed at full effort), each checked against the reference before it is timed.
Timing: kernels/timing.measure (a CUDA graph over input copies beyond the L2, the median).
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from bench import cannot_run  # noqa: E402
from kernels import configs as tuned_configs  # noqa: E402
from kernels import w4a16 as W  # noqa: E402

FAM = "w4a16"
SPACE = dict(BLOCK_SIZE_M=[16], BLOCK_SIZE_N=[64, 128], BLOCK_SIZE_K=[128, 256], GROUP_SIZE_M=[8], num_warps=[4],
             num_stages=[3, 4], SPLIT_K=[1, 2, 4, 8], K_UNROLL=[1, 2], SWAP_AB=[1])
SHAPES = [(6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728), (4608, 3584), (3584, 18944)]
MS = [1, 4, 8, 16]


def sweep() -> list[dict]:
    return [dict(zip(SPACE, v)) for v in itertools.product(*SPACE.values())]


def problem(M: int, N: int, K: int) -> dict:
    return W.normalize_problem(FAM, {"M": M, "N": N, "K": K, "group_size": 128, "zero_points": True})


def smoke() -> int:
    p = W.normalize_problem(FAM, {"M": 5, "N": 256, "K": 512, "group_size": 128})
    inputs = W.make_inputs(FAM, p, "cpu")
    ref = W.reference(FAM, inputs)
    bad = 0
    for c in (sweep()[0], sweep()[-1]):
        ok, err = W.check(FAM, W.launch(FAM, inputs, c), ref)
        print(f"{c}: {'ok' if ok else 'WRONG'} ({err:.3f} of the tolerance)")
        bad += not ok
    return 1 if bad else 0


def bench_one(N: int, K: int, M: int, l2: int) -> dict:
    from kernels.timing import copies_needed, measure

    p = problem(M, N, K)
    inputs = [W.make_inputs(FAM, p, "cuda", seed=i) for i in range(copies_needed(W.min_bytes(p), l2))]
    ref = W.reference(FAM, inputs[0])
    a = inputs[0].a
    weights = [torch.randn(N, K, dtype=torch.bfloat16, device="cuda") for _ in range(copies_needed(2 * N * K, l2))]
    row = {"N": N, "K": K, "M": M, "cublas_bf16_us": measure([lambda w=w: F.linear(a, w) for w in weights], "full").us}
    has_file = tuned_configs.load_configs(FAM, N, K, group_size=128, device_name="NVIDIA H200",
                                          config_dir=str(ROOT / "tuned-configs")) is not None
    entry = tuned_configs.get_config(FAM, M, N=N, K=K, group_size=128, device_name="NVIDIA H200",
                                     config_dir=str(ROOT / "tuned-configs"))
    timed = lambda c, effort: measure([lambda x=x: W.launch(FAM, x, c) for x in inputs], effort).us  # noqa: E731
    ok, _ = W.check(FAM, W.launch(FAM, inputs[0], entry), ref)
    row["tuned" if has_file else "default"] = {"config": entry, "us": timed(entry, "full") if ok else None}
    best = None
    for c in sweep():
        if W.invalid_reason(FAM, p, c):
            continue
        ok, _ = W.check(FAM, W.launch(FAM, inputs[0], c), ref)
        if not ok:
            row.setdefault("wrong", []).append(c)
            continue
        us = timed(c, "quick")
        if best is None or us < best[0]:
            best = (us, c)
    if best:
        row["swap_ab"] = {"config": best[1], "us": timed(best[1], "full")}
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="the CPU interpreter, checks only")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    problem_line = cannot_run(args.smoke)
    if problem_line:
        print(problem_line, file=sys.stderr)
        return 2
    if args.smoke:
        from kernels import interpret_compat

        interpret_compat.apply()
        return smoke()
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    rows = []
    for N, K in SHAPES:
        for M in MS:
            rows.append(bench_one(N, K, M, l2))
            print(json.dumps(rows[-1]), flush=True)
            if args.out:
                args.out.write_text(json.dumps(rows, indent=1))
    return 1 if any("wrong" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
