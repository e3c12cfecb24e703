"""The W4A16 dense kernel under Triton's CPU interpreter: ragged shapes, every group size, zero points on and off,
both nibble orders, split-K (also uneven), K_UNROLL, fp16 and bf16; plus packing, the AWQ repack and the rules."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels import w4a16 as W  # noqa: E402
from kernels.family import family_module  # noqa: E402

F = "w4a16"


def cfg(bm=16, bn=32, bk=32, split=1, unroll=1, gm=2):
    return {"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": gm,
            "num_warps": 4, "num_stages": 2, "SPLIT_K": split, "K_UNROLL": unroll}


def problem(**kw):
    return W.normalize_problem(F, {"M": 19, "N": 40, "K": 256, **kw})


def run(p, config, seed=0):
    assert W.invalid_reason(F, p, config) is None
    inputs = W.make_inputs(F, p, "cpu", seed)
    ref = W.reference(F, inputs)
    out = W.launch(F, inputs, config)
    ok, err = W.check(F, out, ref)
    assert ok, f"max relative error {err}"
    assert int(inputs.counters.abs().sum()) == 0, "split-K counters must be reset by the last program"
    return inputs, out, ref


@pytest.mark.parametrize("group_size", [32, 64, 128, -1])
@pytest.mark.parametrize("zero_points", [True, False])
@pytest.mark.parametrize("packing", ["plain", "awq"])
@pytest.mark.parametrize("block_k", [64, 128])
def test_groups_zero_points_packings(group_size, zero_points, packing, block_k):
    # BLOCK_K 64 with BLOCK_M 32 (tl.dot path): one scale row per block for g >= 64, two broadcast rows for g = 32,
    # split-K 3 over uneven shares; BLOCK_K 128 with BLOCK_M 16 (GEMV path, 16 rows): up to four groups per block
    p = problem(M=19, N=40, K=384, group_size=group_size, zero_points=zero_points, packing=packing)
    run(p, cfg(bm=32, bk=64, split=3) if block_k == 64 else cfg(bk=128, split=2))


@pytest.mark.parametrize("M", [1, 3])
@pytest.mark.parametrize("group_size", [32, 128, -1])
def test_gemv_rows_follow_m(M, group_size):
    # the GEMV path takes min(16, next_pow2(M)) rows: 1 and 4 here (rows past M wrap and are never stored)
    assert W.gemv_rows(M) == (1 if M == 1 else 4)
    run(problem(M=M, N=72, K=512, group_size=group_size, packing="awq"), cfg(bn=64, bk=128, split=2))


@pytest.mark.parametrize("config", [cfg(bk=128, unroll=2, split=2), cfg(bm=32, bn=16, bk=16, unroll=4), cfg(bm=32, bk=256)],
                         ids=["bk128-unroll2-split2", "bk16-unroll4", "bk256-over-group"])
def test_block_k_unroll_and_ragged_k(config):
    # K=328 is a multiple of 8 but of no BLOCK_K here: the K tail is masked (per-channel, as groups need g | K)
    run(problem(M=5, N=24, K=328, group_size=-1), config)
    run(problem(M=33, N=72, K=512, group_size=32, packing="awq"), config)


def test_fp16_is_tighter_and_split_k_is_deterministic():
    p = problem(M=3, N=48, K=512, act_dtype="fp16", group_size=64)
    inputs, out, ref = run(p, cfg(bk=64, split=4, unroll=2))
    again = W.launch(F, inputs, cfg(bk=64, split=4, unroll=2))
    assert torch.equal(out, again)
    assert W.check(F, out, ref)[1] < 0.5  # fp16: well inside its tolerance (2^-12 rounding vs 5e-3)
    unsplit = W.launch(F, inputs, cfg(bk=64))
    assert (unsplit.float() - out.float()).abs().max().item() <= 2e-3 * ref.abs().max().item()


def test_wrong_weights_fail_the_gate():
    p = problem(M=4, N=32, K=128)
    inputs = W.make_inputs(F, p, "cpu", 0)
    ref = W.reference(F, inputs)
    inputs.qweight ^= 0x11111111  # flip one bit of every nibble
    assert not W.check(F, W.launch(F, inputs, cfg()), ref)[0]


def test_pack_orders_documented():
    q = torch.arange(8, dtype=torch.int32)[None, :]
    assert W.pack_int4(q, awq=False).item() == 0x76543210
    assert W.pack_int4(q, awq=True).item() == 0x75316420  # nibble i holds element [0,2,4,6,1,3,5,7][i]
    r = torch.randint(0, 16, (5, 64), dtype=torch.int32)
    for awq in (False, True):
        assert torch.equal(W.unpack_int4(W.pack_int4(r, awq), awq), r)


def test_awq_checkpoint_repack():
    K, N = 64, 32
    q_kn = torch.randint(0, 16, (K, N), dtype=torch.int32)
    awq_qweight = W.pack_int4(q_kn, awq=True)  # AWQ checkpoint: [K, N/8], packed along N
    kernel = W.awq_to_kernel_layout(awq_qweight)  # [K/8, N], packed along K
    assert kernel.shape == (K // 8, N)
    assert torch.equal(W.unpack_int4(kernel.t().contiguous(), awq=True).t(), q_kn)


def test_quantize_round_trip_error_is_small():
    w = torch.randn(16, 256) * 0.02
    for zp in (True, False):
        q, s, z = W.quantize(w, 64, zp)
        deq = (q.float() - z.t().repeat_interleave(64, 1)) * s.t().repeat_interleave(64, 1)
        assert (deq - w).abs().max() <= s.max() * 0.51 + 1e-6


def test_normalize_problem():
    p = W.normalize_problem(F, {"M": 1, "N": 8, "K": 128})
    assert p == {"M": 1, "N": 8, "K": 128, "group_size": 128, "zero_points": True, "packing": "plain", "act_dtype": "bf16"}
    for bad, msg in [({"K": 100}, "multiple of 8"), ({"K": 96}, "group_size"), ({"group_size": 16}, "group_size"),
                     ({"packing": "gptq"}, "packing"), ({"bias": True}, "unknown"), ({"M": 0}, "positive")]:
        with pytest.raises(ValueError, match=msg):
            W.normalize_problem(F, {"M": 1, "N": 8, "K": 128, **bad})


def test_invalid_reasons():
    p = problem(M=1, N=4608, K=3584)
    assert W.invalid_reason(F, p, cfg(bk=128, split=8)) is None
    assert W.invalid_reason(F, problem(K=384), cfg(bk=64, split=5)) is None  # 6 iterations: 1,1,1,1,2
    assert "empty" in W.invalid_reason(F, problem(K=256), cfg(bk=64, split=4, unroll=2))  # 2 iterations, 4 splits
    assert "shared memory" in W.invalid_reason(F, p, {**cfg(bm=256, bn=256, bk=256), "num_stages": 4})
    assert "workspace" in W.invalid_reason(F, problem(M=4096, N=37888, K=3584), cfg(split=4))
    assert "power of two" in W.invalid_reason(F, p, cfg(bk=48))
    assert "lacks" in W.invalid_reason(F, p, {"BLOCK_SIZE_M": 16})
    # GEMV accumulator: rows * BK/8 * BN / threads; M=1 takes one row, M=33 sixteen
    assert W.invalid_reason(F, problem(M=1, N=4608, K=3584), cfg(bn=256, bk=256)) is None  # 64 per thread
    assert "GEMV" in W.invalid_reason(F, problem(M=33, N=4608, K=3584), cfg(bn=64, bk=128))  # 128 per thread
    assert W.invalid_reason(F, problem(M=33, N=4608, K=3584), cfg(bm=32, bn=64, bk=128)) is None


@pytest.mark.parametrize("M", [1, 16, 255, 256, 4096])
def test_default_config_is_valid_for_qwen_shapes(M):
    for N, K in [(4608, 3584), (3584, 18944), (2560, 9728)]:
        for g in (32, 128, -1):
            p = W.normalize_problem(F, {"M": M, "N": N, "K": K, "group_size": g})
            assert W.invalid_reason(F, p, W.default_config(F, p)) is None


def test_family_interface():
    mod = family_module(F)
    assert mod is W or mod.__name__.endswith("w4a16")
    for name in ("normalize_problem", "default_config", "invalid_reason", "make_inputs", "reference", "launch",
                 "check", "flops", "min_bytes", "input_bytes"):
        assert callable(getattr(mod, name))
    p = problem(M=2, N=64, K=256, group_size=64, zero_points=False)
    assert W.flops(p) == 2 * 2 * 64 * 256
    assert W.input_bytes(p) == 2 * 2 * 256 + 64 * 256 / 2 + 2 * 4 * 64
    assert W.min_bytes(p) == W.input_bytes(p) + 2 * 2 * 64


@pytest.mark.parametrize("config", [{**cfg(bm=16, bn=32, bk=64, split=3), "SWAP_AB": 1},
                                    {**cfg(bm=32, bn=16, bk=32, unroll=2), "SWAP_AB": 1}],
                         ids=["bm16-split3", "bm32-unroll2"])
@pytest.mark.parametrize("group_size", [32, -1])
def test_swap_ab_runs_the_transposed_dot_and_matches(config, group_size, launches):
    """SWAP_AB (not yet a tuned axis, bench/w4a16_swap.py): BLOCK_SIZE_M 16 then runs the tl.dot path, transposed,
    instead of the GEMV; the product matches the reference, split-K included."""
    launched = launches(W, "w4a16_dot_kernel", "w4a16_gemv_kernel")
    run(problem(M=7, N=40, K=384, group_size=group_size, packing="awq"), config)
    assert launched == ["w4a16_dot_kernel"]
    assert W.invalid_reason(F, problem(M=16), {**cfg(bm=16, bn=256, bk=256), "SWAP_AB": 1}) is None, \
        "the GEMV's register rule is not the dot path's"

