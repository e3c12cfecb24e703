"""W8A8 scaled-mm kernel against its reference, under Triton's CPU interpreter (TRITON_INTERPRET=1).

What the interpreter does not reproduce, so these tests do not claim it: it runs CTAs one after another
(split-K's atomics never race), it computes fp8 dots exactly in fp32 (no Hopper reduced-precision fp8
accumulation: the fp8 tolerance is exercised for real only on a GPU), and its bf16 casts truncate instead
of rounding to nearest (int8 errors reach ~1 ulp here, ~0.5 ulp on a GPU). It supports fp8 e4m3 loads,
dots and casts from float, but not int -> fp8 casts (the kernel pads with 0.0) nor fp32 atomic_xchg
(the kernel swaps split-K sums out as int32 words).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kernels import w8a8

pytestmark = pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1", reason="needs TRITON_INTERPRET=1")
ROOT = Path(__file__).resolve().parents[2]
KEYS = w8a8.CONFIG_KEYS

# (BLOCK_SIZE_M, BLOCK_SIZE_N, BLOCK_SIZE_K, GROUP_SIZE_M, num_warps, num_stages, SPLIT_K)
CONFIGS = [
    (16, 16, 32, 1, 4, 3, 1), (16, 32, 64, 8, 4, 4, 1), (32, 16, 32, 4, 4, 2, 1), (64, 64, 64, 8, 8, 3, 1),
    (16, 64, 128, 1, 4, 5, 1), (32, 32, 32, 2, 4, 3, 2), (16, 16, 64, 8, 2, 4, 3), (64, 32, 32, 1, 4, 3, 4),
    (32, 64, 64, 4, 8, 4, 2), (16, 32, 32, 8, 4, 3, 5), (128, 16, 64, 8, 4, 3, 1), (16, 128, 32, 1, 4, 3, 2),
    (64, 16, 128, 2, 4, 3, 2),
]
RAGGED = [(1, 40, 100), (19, 72, 300), (33, 17, 224)]  # M, N, K: none a multiple of the blocks


def cfg(t):
    return dict(zip(KEYS, t))


def run(family, problem, config, seed=0):
    p = w8a8.normalize_problem(family, problem)
    assert w8a8.invalid_reason(family, p, config) is None
    inputs = w8a8.make_inputs(family, p, "cpu", seed)
    out = w8a8.launch(family, inputs, config)
    ok, err = w8a8.check(family, out, w8a8.reference(family, inputs))
    return ok, err, out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda t: "-".join(map(str, t)))
def test_int8_configs_on_ragged_shapes(config):
    for M, N, K in RAGGED:
        if cfg(config)["SPLIT_K"] > -(-K // config[2]):
            continue
        ok, err, _ = run("w8a8-int8", {"M": M, "N": N, "K": K, "bias": M % 2 == 1}, cfg(config))
        assert ok, (M, N, K, err)


@pytest.mark.parametrize("family", ["w8a8-int8", "w8a8-fp8"])
@pytest.mark.parametrize("scale_a", ["tensor", "token"])
@pytest.mark.parametrize("scale_b", ["tensor", "channel"])
@pytest.mark.parametrize("bias", [False, True])
def test_scale_modes_bias_and_output_types(family, scale_a, scale_b, bias):
    for split, out_dtype in ((1, "bf16"), (3, "fp16")):
        problem = {"M": 21, "N": 50, "K": 200, "scale_a": scale_a, "scale_b": scale_b, "bias": bias,
                   "out_dtype": out_dtype}
        ok, err, out = run(family, problem, cfg((16, 32, 32, 4, 4, 3, split)))
        assert ok and out.dtype == w8a8.OUT_DTYPES[out_dtype], (split, err)


@pytest.mark.parametrize("config", [CONFIGS[i] for i in (0, 3, 5, 7, 11)], ids=str)
def test_fp8_configs_on_ragged_shapes(config):
    for M, N, K in RAGGED[:2]:
        ok, err, _ = run("w8a8-fp8", {"M": M, "N": N, "K": K}, cfg(config))
        assert ok, (M, N, K, err)


def test_int8_split_k_is_bit_identical_and_leaves_workspace_zero():
    problem = {"M": 9, "N": 48, "K": 512, "bias": True}
    _, _, base = run("w8a8-int8", problem, cfg((16, 16, 64, 1, 4, 3, 1)))
    for split in (2, 3, 8):
        _, _, out = run("w8a8-int8", problem, cfg((16, 16, 64, 1, 4, 3, split)))
        assert torch.equal(out, base), split  # int32 atomics are exact, in any order
    for ws, counters in w8a8._WORKSPACES.values():
        assert not ws.any() and not counters.any()


def test_gate_catches_wrong_outputs():
    p = w8a8.normalize_problem("w8a8-fp8", {"M": 8, "N": 40, "K": 128})
    inputs = w8a8.make_inputs("w8a8-fp8", p, "cpu")
    config = cfg((16, 16, 32, 1, 4, 3, 1))
    ref = w8a8.reference("w8a8-fp8", inputs)
    good = w8a8.launch("w8a8-fp8", inputs, config)
    one_off = good.clone()
    one_off[3, 7] += 0.05 * float(ref[3].abs().max())
    short_k = w8a8.Inputs(inputs.a[:, :96].contiguous(), inputs.b[:, :96].contiguous(), inputs.scale_a,
                          inputs.scale_b, None, inputs.out_dtype, True, True)  # a dropped K block
    dropped = w8a8.launch("w8a8-fp8", short_k, config)
    assert w8a8.check("w8a8-fp8", good, ref)[0]
    assert not w8a8.check("w8a8-fp8", one_off, ref)[0]
    assert not w8a8.check("w8a8-fp8", dropped, ref)[0]
    assert not w8a8.check("w8a8-fp8", good[:, :39], ref)[0]
    assert not w8a8.check("w8a8-fp8", torch.full_like(good, float("nan")), ref)[0]


def test_default_config_is_vllms_rule_and_invalid_reasons():
    tile = lambda M, N: tuple(w8a8.default_config("w8a8-int8", {"M": M, "N": N, "K": 4096}).values())[:3]
    assert tile(1, 6144) == (64, 64, 256) and tile(16, 19456) == (64, 128, 256)
    assert tile(64, 19456) == (64, 64, 256) and tile(100, 2560) == (64, 128, 128) and tile(4096, 2560) == (128, 128, 128)
    d = w8a8.default_config("w8a8-int8", {"M": 1, "N": 6144, "K": 2560})
    assert (d["GROUP_SIZE_M"], d["num_warps"], d["num_stages"], d["SPLIT_K"]) == (1, 4, 3, 1)
    p = w8a8.normalize_problem("w8a8-int8", {"M": 4, "N": 64, "K": 256})
    assert "SPLIT_K" in w8a8.invalid_reason("w8a8-int8", p, cfg((16, 16, 64, 1, 4, 3, 5)))
    assert "BLOCK_SIZE_K" in w8a8.invalid_reason("w8a8-int8", p, cfg((16, 16, 16, 1, 4, 3, 1)))
    assert "power of two" in w8a8.invalid_reason("w8a8-int8", p, cfg((16, 24, 64, 1, 4, 3, 1)))
    assert "missing" in w8a8.invalid_reason("w8a8-int8", p, {"BLOCK_SIZE_M": 16})


def test_interpret_worker_gates_a_planted_wrong_answer():
    good, planted = cfg((16, 32, 64, 4, 4, 3, 2)), cfg((16, 32, 32, 4, 4, 3, 1))
    problems = [{"M": 3, "N": 40, "K": 200}, {"M": 17, "N": 40, "K": 200, "bias": True}]
    lines = [{"type": "trial", "id": str(i), "family": "w8a8-int8", "config": c, "problems": problems}
             for i, c in enumerate((good, planted, {**good, "BLOCK_SIZE_N": 48}))]
    env = {**os.environ, "TRITUNE_PLANT_WRONG_ANSWER": json.dumps({"BLOCK_SIZE_K": 32})}
    proc = subprocess.run([sys.executable, "kernels/worker.py", "--backend", "interpret"], cwd=ROOT, env=env,
                          input="".join(json.dumps(x) + "\n" for x in lines), capture_output=True, text=True,
                          timeout=120)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and out[0]["backend"] == "interpret" and out[0]["simulated"] is False
    assert [r["status"] for r in out[1]["results"]] == ["ok", "ok"]
    assert all(r["us"] is None and r["max_err"] <= 1 for r in out[1]["results"])
    assert [r["status"] for r in out[2]["results"]] == ["wrong_answer", "wrong_answer"]
    assert [r["status"] for r in out[3]["results"]] == ["invalid", "invalid"]
