"""The CUDA-core decode probe (kernels/w4a16_gemv.py, launched by bench/w4a16_gemv_probe.py) under the interpreter:
its bit tricks (the nibble in an fp32 mantissa, the activations pre-scaled by 16^-e, the zero point folded out)
against the family's reference, on the quantizations and tails it takes."""

import os

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1", reason="runs under TRITON_INTERPRET=1")

CASES = [  # problem, config (PREFETCH: the next block's words loaded ahead)
    (dict(M=1, N=64, K=512, group_size=128, zero_points=True),
     dict(BLOCK_SIZE_M=1, BLOCK_SIZE_N=32, BLOCK_SIZE_K=128, SPLIT_K=2, num_warps=4, num_stages=2)),
    (dict(M=3, N=48, K=320, group_size=32, zero_points=True),  # blocks over two groups, 3 tokens in a tile of 4
     dict(BLOCK_SIZE_M=4, BLOCK_SIZE_N=16, BLOCK_SIZE_K=64, SPLIT_K=1, num_warps=2, num_stages=2)),
    (dict(M=2, N=32, K=256, group_size=-1, zero_points=False, act_dtype="fp16"),  # per-channel, symmetric, split 3
     dict(BLOCK_SIZE_M=2, BLOCK_SIZE_N=32, BLOCK_SIZE_K=64, SPLIT_K=3, num_warps=4, num_stages=2)),
    (dict(M=1, N=32, K=288, group_size=32, zero_points=True),  # a K tail (288 = 2 x 128 + 32)
     dict(BLOCK_SIZE_M=1, BLOCK_SIZE_N=32, BLOCK_SIZE_K=128, SPLIT_K=2, num_warps=4, num_stages=1)),
    (dict(M=1, N=64, K=512, group_size=128, zero_points=True),
     dict(BLOCK_SIZE_M=1, BLOCK_SIZE_N=32, BLOCK_SIZE_K=128, SPLIT_K=3, num_warps=4, num_stages=2, PREFETCH=1)),
    (dict(M=1, N=32, K=288, group_size=32, zero_points=True),  # loaded ahead, with a K tail
     dict(BLOCK_SIZE_M=1, BLOCK_SIZE_N=32, BLOCK_SIZE_K=128, SPLIT_K=2, num_warps=4, num_stages=1, PREFETCH=1)),
]


@pytest.mark.parametrize("problem,config", CASES)
def test_gemv_probe_matches_reference(problem, config):
    from bench.w4a16_gemv_probe import launch_gemv
    from kernels import w4a16 as W

    p = W.normalize_problem("w4a16", problem)
    inputs = W.make_inputs("w4a16", p, "cpu", 0)
    ok, err = W.check("w4a16", launch_gemv(inputs, config), W.reference("w4a16", inputs))
    assert ok, f"error {err:.3f} of the tolerance"
    assert int(inputs.counters.abs().sum()) == 0  # split-K counters reset for the next launch


def test_gemv_probe_check_can_fail():
    """A wrong scale gives a wrong answer the check sees (the test above is not vacuous)."""
    from bench.w4a16_gemv_probe import launch_gemv
    from kernels import w4a16 as W

    problem, config = CASES[0]
    p = W.normalize_problem("w4a16", problem)
    inputs = W.make_inputs("w4a16", p, "cpu", 0)
    ref = W.reference("w4a16", inputs)
    inputs.scales[0, :5] *= 2
    assert not W.check("w4a16", launch_gemv(inputs, config), ref)[0]


def test_probe_profile_entry_checks_both_kernels():
    """bench/w4a16_gemv_probe.py --profile (the entry a profiler runs): both kernels checked, exit 0; a wrong config's
    answer is reported and exits 1."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cfg = '{"BLOCK_SIZE_M": 1, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 128, "SPLIT_K": 2, "num_warps": 4, "num_stages": 2}'
    cmd = [sys.executable, "bench/w4a16_gemv_probe.py", "--kernel", "gemv", "--profile", "64,512,1", "--config", cfg]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0].startswith("fused: ok") and proc.stdout.splitlines()[1].startswith("gemv: ok")
    # the tiled variant reads the weights in another order than they are packed: its answer is wrong
    tiled = cfg[:-1] + ', "TILED": 1}'
    proc = subprocess.run(cmd[:-1] + [tiled], cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and "gemv: WRONG" in proc.stdout, proc.stdout + proc.stderr[-2000:]
