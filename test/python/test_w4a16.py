"""The W4A16 dense kernel under Triton's CPU interpreter: ragged shapes, every group size, zero points on and off,
split-K (also uneven), K_UNROLL, token tiles from decode to prefill, fp16 and bf16; plus packing, the AWQ and GPTQ
conversions to the kernel layout and the rules. Under the interpreter the kernel's two lines of inline assembly are the
same bit operations in Triton ops (kernels/w4a16_mma.py); on a GPU the tuner checks every config it times."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels import w4a16 as W  # noqa: E402
from kernels.family import family_module  # noqa: E402

F = "w4a16"


def cfg(bm=16, bn=32, bk=32, split=1, unroll=1, gm=2, warps=4):
    return {"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": gm,
            "num_warps": warps, "num_stages": 2, "SPLIT_K": split, "K_UNROLL": unroll}


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
@pytest.mark.parametrize("tile", ["decode", "prefill"])
def test_groups_and_zero_points(group_size, zero_points, tile):
    # decode: 16 tokens per tile, BLOCK_K 32 (fits every group), split-K 3 over uneven shares; prefill: 32 tokens,
    # BLOCK_K 32 twice per iteration, two tiles along M
    p = problem(M=19, N=40, K=384, group_size=group_size, zero_points=zero_points)
    run(p, cfg(bm=16, bn=32, bk=32, split=3) if tile == "decode" else cfg(bm=32, bn=64, bk=32, unroll=2))


@pytest.mark.parametrize("M", [1, 3, 16])
@pytest.mark.parametrize("group_size", [64, -1])
def test_decode_rows_wrap(M, group_size):
    # rows of the 16-token tile past M read row M-1's activations again and are never stored
    run(problem(M=M, N=72, K=512, group_size=group_size), cfg(bn=64, bk=64, split=2))


@pytest.mark.parametrize("config", [cfg(bk=128, unroll=2, split=2), cfg(bm=32, bn=16, bk=16, unroll=4), cfg(bm=32, bk=256)],
                         ids=["bk128-unroll2-split2", "bk16-unroll4", "bk256"])
def test_block_k_unroll_and_ragged_k(config):
    # K=328 is a multiple of 8 but of no BLOCK_K here: the K tail is masked (per-channel, as groups need g | K)
    run(problem(M=5, N=24, K=328, group_size=-1), config)
    if config["BLOCK_SIZE_K"] <= 32:
        run(problem(M=33, N=72, K=512, group_size=32), config)


@pytest.mark.parametrize("group_size,zero_points,act_dtype,bk,split,N,K", [
    (128, True, "bf16", 128, 2, 72, 512),    # N past the tile: the descriptor's rows read as zeros
    (32, False, "bf16", 64, 1, 40, 288),     # a block over two groups (SCALE_W), K past the last block (zeros)
    (-1, True, "fp16", 32, 3, 96, 352),      # per-channel, uneven split-K shares
])
def test_tma_words_match_the_reference(group_size, zero_points, act_dtype, bk, split, N, K):
    # TMA=1 loads the packed words through a tensor descriptor, the rest of the kernel unchanged
    p = problem(M=5, N=N, K=K, group_size=group_size, zero_points=zero_points, act_dtype=act_dtype)
    _, out, _ = run(p, {**cfg(bn=64, bk=bk, split=split), "TMA": 1})
    _, plain, _ = run(p, cfg(bn=64, bk=bk, split=split))
    assert torch.equal(out, plain)  # the same words, the same arithmetic


def test_tma_rules():
    p = problem(M=5, N=40, K=256)
    assert W.invalid_reason(F, p, {**cfg(), "TMA": 1}) is None
    assert "0 or 1" in W.invalid_reason(F, p, {**cfg(), "TMA": 2})
    ragged = problem(M=5, N=40, K=264, group_size=-1)
    assert "K % 32" in W.invalid_reason(F, ragged, {**cfg(), "TMA": 1})
    with pytest.raises(ValueError, match=r"TMA needs K % 32"):  # a launch that skipped the rules: one clear line
        W.launch(F, W.make_inputs(F, ragged, "cpu"), {**cfg(), "TMA": 1})
    dequant = {**W.DEQUANT_FIXED, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "num_warps": 4, "DEQUANT_GEMM": 1, "TMA": 1}
    assert "not of DEQUANT_GEMM" in W.invalid_reason(F, problem(M=300, N=40, K=256), dequant)


def reg_a_cfg(bm=256, bn=128, bk=64, warps=8, stages=3):
    return {"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": 8, "num_warps": warps,
            "num_stages": stages, "SPLIT_K": 1, "K_UNROLL": 1, "REG_A": 1}


def test_reg_a_rules():
    """The Gluon prefill path (REG_A): a path of its own, its fixed keys, from 256 tokens, bf16, a K block of 64 or 128
    inside one group, the wgmma's tiles, the registers, shared memory. No interpreter runs Gluon: the GPU checks its
    answers (bench/w4a16.py, the tuner), the SASS tests compile it (test/python/test_w4a16_gluon.py)."""
    p = problem(M=1024, N=4608, K=3584)
    assert W.invalid_reason(F, p, reg_a_cfg()) is None
    assert W.invalid_reason(F, problem(M=256, N=4608, K=3584), reg_a_cfg(bm=64)) is None
    assert "REG_A at M=255" in W.invalid_reason(F, problem(M=255, N=4608, K=3584), reg_a_cfg(bm=64))
    assert "path of its own" in W.invalid_reason(F, p, {**reg_a_cfg(), "TMA": 1})
    assert "path of its own" in W.invalid_reason(F, p, {**reg_a_cfg(), "DEQUANT_GEMM": 1})
    assert "SPLIT_K=2" in W.invalid_reason(F, p, {**reg_a_cfg(), "SPLIT_K": 2})
    assert "bf16" in W.invalid_reason(F, problem(M=1024, N=4608, K=3584, act_dtype="fp16"), reg_a_cfg())
    assert "group size 32" in W.invalid_reason(F, problem(M=1024, N=4608, K=3584, group_size=32), reg_a_cfg())
    assert "must be 64 or 128" in W.invalid_reason(F, p, reg_a_cfg(bk=256))
    assert "even" in W.invalid_reason(F, problem(M=1024, N=4608, K=3648, group_size=64), reg_a_cfg())  # 57 of 64
    assert "16 x num_warps" in W.invalid_reason(F, p, reg_a_cfg(bn=64))
    assert "64, 128 or 256" in W.invalid_reason(F, p, reg_a_cfg(bm=32))
    assert "registers" in W.invalid_reason(F, p, reg_a_cfg(bk=128))
    assert "num_stages 1" in W.invalid_reason(F, p, reg_a_cfg(stages=1))
    assert "shared memory" in W.invalid_reason(F, p, reg_a_cfg(bm=128, bn=64, bk=128, warps=4, stages=8))
    assert W.shared_memory_bytes(F, p, reg_a_cfg()) == 3 * (256 * 64 * 2 + 8 + 128 * 64 // 2)
    with pytest.raises(ValueError, match=r"REG_A at M=255"):  # a launch that skipped the rules: one clear line
        W.launch(F, W.make_inputs(F, problem(M=255, N=64, K=256), "cpu"), reg_a_cfg(bm=64, bn=64, warps=4))


def test_reg_a_without_gluon_is_refused_and_the_rest_runs(monkeypatch):
    """On a Triton without Gluon's Hopper modules the REG_A module cannot load: its configs get one clear reason (and
    a launch or a compile-ahead one clear error), every other path of the family runs."""
    monkeypatch.setattr(W, "_reg_a", lambda: (None, "REG_A needs Triton's Gluon Hopper modules: no module"))
    p = problem(M=1024, N=4608, K=3584)
    assert "Gluon" in W.invalid_reason(F, p, reg_a_cfg())
    assert W.invalid_reason(F, p, W.default_config(F, p)) is None
    with pytest.raises(ValueError, match="Gluon"):
        W.launch(F, W.make_inputs(F, p, "cpu"), reg_a_cfg())
    with pytest.raises(ValueError, match="Gluon"):
        W.compile_only(F, p, reg_a_cfg())
    inputs, out, ref = run(problem(M=3, N=48, K=256), cfg(bk=64))
    assert W.check(F, out, ref)[0]


def test_sim_models_reg_a_as_the_tensor_cores_at_prefill():
    """The sim backend (labelled simulated, never in tuned-configs/) times REG_A configs: finite, growing with M, a
    time that depends on the tile."""
    from kernels import sim

    p = lambda M: W.normalize_problem(F, {"M": M, "N": 19456, "K": 2560})  # noqa: E731
    status, us, msg = sim.simulate(F, p(1024), reg_a_cfg())
    assert status == "ok" and msg is None and 0 < us < float("inf")
    assert sim.simulate(F, p(4096), reg_a_cfg())[1] > 2 * us
    assert sim.simulate(F, p(1024), reg_a_cfg(bm=128, bn=64, warps=4))[1] != us


def test_fp16_is_tighter_and_split_k_is_deterministic():
    p = problem(M=3, N=48, K=512, act_dtype="fp16", group_size=64)
    inputs, out, ref = run(p, cfg(bk=64, split=4))
    again = W.launch(F, inputs, cfg(bk=64, split=4))
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


def test_checkpoint_conversions_to_the_kernel_layout():
    K, N, G = 64, 32, 2
    q_kn = torch.randint(0, 16, (K, N), dtype=torch.int32)
    kernel = W.awq_to_kernel_layout(W.pack_int4(q_kn, awq=True))  # AWQ checkpoint: [K, N/8], packed along N
    assert kernel.shape == (N, K // 8)
    assert torch.equal(W.unpack_int4(kernel, awq=True), q_kn.t())
    z = torch.randint(0, 16, (G, N), dtype=torch.int32)
    gptq_q = W.pack_int4(q_kn.t().contiguous(), awq=False).t().contiguous()  # GPTQ: [K/8, N], packed along K
    gptq_z = W.pack_int4((z - 1) & 0xF, awq=False)  # v1 format: zero - 1, plain order
    qweight, qzeros = W.gptq_to_kernel_layout(gptq_q, gptq_z)
    assert torch.equal(qweight, kernel)
    assert torch.equal(W.unpack_int4(qzeros, awq=True), z)


def test_checkpoint_conversions_refuse_malformed_tensors_in_one_line():
    good_gptq = torch.zeros(8, 32, dtype=torch.int32)  # [K/8, N] for K=64, N=32
    cases = [
        (lambda: W.awq_to_kernel_layout(torch.zeros(64, 4, dtype=torch.int64)), "AWQ qweight"),  # not int32
        (lambda: W.awq_to_kernel_layout(torch.zeros(60, 4, dtype=torch.int32)), "K=60"),  # K not a multiple of 8
        (lambda: W.gptq_to_kernel_layout(torch.zeros(8, 32, 2, dtype=torch.int32)), "GPTQ qweight"),  # 3-D
        (lambda: W.gptq_to_kernel_layout(good_gptq, torch.zeros(2, 3, dtype=torch.int32)), "N=32 needs 4"),
        (lambda: W.gptq_to_kernel_layout(good_gptq, torch.zeros(2, 4, dtype=torch.uint8)), "GPTQ qzeros"),
    ]
    for call, names in cases:
        with pytest.raises(ValueError) as e:
            call()
        assert names in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_gptq_checkpoint_runs_after_conversion():
    """A GPTQ checkpoint (plain order, [K/8, N], v1 zeros) converted at load gives the reference product."""
    p = problem(M=5, N=40, K=256, group_size=64)
    inputs = W.make_inputs(F, p, "cpu", 1)
    ref = W.reference(F, inputs)
    q = W.unpack_int4(inputs.qweight, awq=True)  # [N, K]
    z = W.unpack_int4(inputs.qzeros, awq=True)  # [G, N rounded up]
    gptq_q = W.pack_int4(q, awq=False).t().contiguous()
    gptq_z = W.pack_int4((z - 1) & 0xF, awq=False)
    inputs.qweight, inputs.qzeros = W.gptq_to_kernel_layout(gptq_q, gptq_z)
    assert W.check(F, W.launch(F, inputs, cfg(bk=64)), ref)[0]


def test_quantize_round_trip_error_is_small():
    w = torch.randn(16, 256) * 0.02
    for zp in (True, False):
        q, s, z = W.quantize(w, 64, zp)
        deq = (q.float() - z.t().repeat_interleave(64, 1)) * s.t().repeat_interleave(64, 1)
        assert (deq - w).abs().max() <= s.max() * 0.51 + 1e-6


def test_normalize_problem():
    p = W.normalize_problem(F, {"M": 1, "N": 8, "K": 128})
    assert p == {"M": 1, "N": 8, "K": 128, "group_size": 128, "zero_points": True, "act_dtype": "bf16"}
    for bad, msg in [({"K": 100}, "multiple of 8"), ({"K": 96}, "group_size"), ({"group_size": 16}, "group_size"),
                     ({"packing": "awq"}, "unknown"), ({"bias": True}, "unknown"), ({"M": 0}, "positive")]:
        with pytest.raises(ValueError, match=msg):
            W.normalize_problem(F, {"M": 1, "N": 8, "K": 128, **bad})


def test_invalid_reasons():
    p = problem(M=1, N=4608, K=3584)
    assert W.invalid_reason(F, p, cfg(bk=128, split=8)) is None
    assert W.invalid_reason(F, problem(K=384), cfg(bk=64, split=5)) is None  # 6 iterations: 1,1,1,1,2
    assert "empty" in W.invalid_reason(F, problem(K=256), cfg(bk=64, split=4, unroll=2))  # 2 iterations, 4 splits
    assert "shared memory" in W.invalid_reason(F, problem(K=3584, group_size=-1),
                                               {**cfg(bm=256, bn=256, bk=256, warps=16), "num_stages": 4})
    assert "workspace" in W.invalid_reason(F, problem(M=4096, N=37888, K=3584), cfg(split=4))
    assert "power of two" in W.invalid_reason(F, p, cfg(bk=48))
    assert "lacks" in W.invalid_reason(F, p, {"BLOCK_SIZE_M": 16})
    assert W.invalid_reason(F, p, cfg(bk=256)) is None  # over two groups of 128: the scales go into the weights
    inputs = W.make_inputs(F, problem(group_size=32), "cpu")  # a group no K block nests with: the launcher refuses it
    with pytest.raises(ValueError, match="BLOCK_SIZE_K 64 and group_size 48 do not nest"):
        W.launch(F, W.W4A16Inputs({**inputs.problem, "group_size": 48}, inputs.a, inputs.qweight, inputs.scales,
                                  inputs.qzeros, inputs.counters), cfg(bk=64))
    assert W.invalid_reason(F, problem(N=4608, K=3584, group_size=-1), cfg(bk=256)) is None
    # the accumulator: BLOCK_SIZE_M * BLOCK_SIZE_N / threads fp32 registers
    assert W.invalid_reason(F, p, cfg(bm=128, bn=128, bk=64, warps=4)) is None  # 128 per thread
    assert "accumulator" in W.invalid_reason(F, p, cfg(bm=256, bn=128, bk=64, warps=4))  # 256 per thread
    assert W.invalid_reason(F, p, cfg(bm=256, bn=128, bk=64, warps=8)) is None


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


def dequant_cfg(bn=32, bk=64, warps=4):
    return {**W.DEQUANT_FIXED, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "num_warps": warps, "DEQUANT_GEMM": 1}


@pytest.mark.parametrize("group_size,zero_points,act_dtype", [(128, True, "bf16"), (32, False, "bf16"),
                                                             (-1, True, "fp16"), (64, True, "fp16")])
def test_dequant_gemm_path(group_size, zero_points, act_dtype):
    """The prefill path: the Triton dequantization (ragged N and K tiles) then F.linear, against the reference; the
    dequantized W is the reference's to within one rounding of the activation dtype (the interpreter's float-to-bf16
    cast breaks ties differently from torch's; on the GPU the two are equal, docs/BENCHMARKS.md)."""
    K = 360 if group_size == -1 else 384  # per-channel: a ragged last K tile
    p = problem(M=257, N=40, K=K, group_size=group_size, zero_points=zero_points, act_dtype=act_dtype)
    bk = 64  # over two groups at g32
    inputs, _, _ = run(p, dequant_cfg(bk=bk))
    w = torch.empty((p["N"], p["K"]), dtype=inputs.a.dtype)
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight
    W._run_dequant(lambda kernel, grid: kernel[grid], inputs.qweight, inputs.scales, zeros, w, p, dequant_cfg(bk=bk))
    ref = W.dequantize(inputs)
    ulp = ref.float().abs() * (2.0 ** -7 if act_dtype == "bf16" else 2.0 ** -10)
    assert bool(((w.float() - ref.float()).abs() <= ulp).all())


def test_dequant_gemm_rules():
    p = problem(M=1024, N=4608, K=3584)
    assert W.invalid_reason(F, p, dequant_cfg(bn=128, bk=128)) is None
    assert "memory-bound" in W.invalid_reason(F, problem(M=255, N=4608, K=3584), dequant_cfg(bn=128, bk=128))
    assert W.invalid_reason(F, problem(M=256, N=4608, K=3584), dequant_cfg(bn=128, bk=128)) is None
    assert "SPLIT_K=2" in W.invalid_reason(F, p, {**dequant_cfg(), "SPLIT_K": 2})  # no twins of one binary
    assert "0 or 1" in W.invalid_reason(F, p, {**dequant_cfg(), "DEQUANT_GEMM": 2})
    assert W.invalid_reason(F, problem(M=1024, group_size=32), dequant_cfg(bk=64)) is None  # a tile over 2 groups
    assert W.default_config(F, p)["DEQUANT_GEMM"] == 1  # from 512 tokens
    assert W.default_config(F, problem(M=511, N=4608, K=3584))["DEQUANT_GEMM"] == 0


@pytest.mark.parametrize("group_size,zero_points,act_dtype,bk,split,unroll,K", [
    (32, True, "bf16", 128, 1, 1, 256), (32, False, "bf16", 64, 2, 2, 384), (64, True, "fp16", 128, 3, 1, 384),
    (32, True, "bf16", 128, 2, 1, 352), (32, True, "fp16", 64, 1, 2, 288), (64, True, "bf16", 128, 1, 1, 256)])
def test_block_over_several_groups_scales_the_weights(group_size, zero_points, act_dtype, bk, split, unroll, K):
    """A K block that spans several groups (SCALE_W in kernels/w4a16_mma.py): each word takes its own group's zero
    point and scale; split-K, K_UNROLL and a masked K tail (K = 352, 288) included."""
    p = problem(M=19, N=40, K=K, group_size=group_size, zero_points=zero_points, act_dtype=act_dtype)
    run(p, cfg(bk=bk, split=split, unroll=unroll))


def test_block_over_several_groups_catches_a_wrong_group():
    """The check above can fail: the same weights with two groups' scales, or their zero points, swapped give a wrong
    answer."""
    p = problem(M=19, N=40, K=256, group_size=32)
    inputs = W.make_inputs(F, p, "cpu")
    ref = W.reference(F, inputs)
    swapped = inputs.scales.clone()
    swapped[[1, 2]] = swapped[[2, 1]]
    out = W.launch(F, W.W4A16Inputs(p, inputs.a, inputs.qweight, swapped, inputs.qzeros, inputs.counters), cfg(bk=128))
    assert not W.check(F, out, ref)[0]
    zeros = inputs.qzeros.clone()  # each group's zero points are spread over its own words too
    zeros[[1, 2]] = zeros[[2, 1]]
    assert not torch.equal(zeros, inputs.qzeros)
    out = W.launch(F, W.W4A16Inputs(p, inputs.a, inputs.qweight, inputs.scales, zeros, inputs.counters), cfg(bk=128))
    assert not W.check(F, out, ref)[0]
