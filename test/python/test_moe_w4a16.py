"""The W4A16 MoE kernels under Triton's CPU interpreter: tiny E, uneven loads, empty experts, both GEMMs."""

import dataclasses
import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels import moe_routing as R  # noqa: E402
from kernels import moe_w4a16 as moe  # noqa: E402
from kernels.family import family_module  # noqa: E402

F = "moe-w4a16"
SMALL = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 2, "num_warps": 4, "num_stages": 2}


def problem(**kw):
    return moe.normalize_problem(F, {"M": 6, "N": 48, "K": 128, "E": 4, "top_k": 2, **kw})


def forced_routing(ids):
    """Routing with the given expert ids per token; the router weights are distinct per pair."""
    topk_ids = torch.tensor(ids, dtype=torch.int64)
    weights = torch.softmax(torch.arange(topk_ids.numel(), dtype=torch.float32).reshape(topk_ids.shape) / 7, dim=1)
    return topk_ids, weights


# tokens 0..5, top-2 over 4 experts: expert 0 gets 5 pairs, expert 1 none, expert 2 one, expert 3 six
UNEVEN = [[0, 3], [3, 0], [0, 3], [3, 2], [0, 3], [3, 0]]


def run_both(p, inputs, config):
    ref = moe.reference(F, inputs)
    for out in (moe.launch(F, inputs, config), moe.launch_padded(inputs, config)):
        ok, err = moe.check(F, out, ref)
        assert ok, f"max relative error {err}"
    return ref


@pytest.mark.parametrize("gemm", ["up", "down"])
@pytest.mark.parametrize("group_size", [32, 128])
def test_uneven_loads_with_an_empty_expert(gemm, group_size):
    p = problem(gemm=gemm, group_size=group_size)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    # BLOCK_SIZE_K 32 is a whole group of 32 (a new scale row every block), 64 half a group of 128
    run_both(p, inputs, {**SMALL, "BLOCK_SIZE_K": min(64, group_size)})


@pytest.mark.parametrize("gemm", ["up", "down"])
def test_seeded_skewed_routing_with_zero_points_and_fp16(gemm):
    p = problem(gemm=gemm, M=9, E=8, group_size=32, zero_points=True, routing="skewed", act_dtype="fp16", seed=3)
    inputs = moe.make_inputs(F, p, "cpu")
    assert R.active_experts(inputs.topk_ids) < p["E"]  # skewed routing leaves experts without tokens here
    run_both(p, inputs, {**SMALL, "BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 16})


@pytest.mark.parametrize("gemm", ["up", "down"])
@pytest.mark.parametrize("group_size", [32, 128])
def test_tma_reads_each_experts_words(gemm, group_size):
    """TMA: the words through one descriptor over all experts' [E*N, K/8]; N = 48 in tiles of 32, so a tile's last
    16 rows are the next expert's (or, for the last expert, zeros past the tensor) and must never reach the output."""
    p = problem(gemm=gemm, group_size=group_size, zero_points=group_size == 32)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    run_both(p, inputs, {**SMALL, "BLOCK_SIZE_K": min(64, group_size), "TMA": 1})


def test_tma_layer_and_its_rules():
    p = layer(M=9, E=8, group_size=32, zero_points=True, routing="skewed", seed=3)
    run_both(p, moe.make_inputs(F, p, "cpu"), {**SMALL, "BLOCK_SIZE_M": 32, "TMA": 1})
    # K = 208: rows of 26 words, not whole 16 bytes, which a descriptor cannot take (BLOCK_SIZE_K 16 divides K)
    odd = {"M": 4, "N": 64, "K": 208, "E": 4, "top_k": 2, "gemm": "up", "group_size": -1}
    c = {**SMALL, "BLOCK_SIZE_K": 16}
    assert moe.invalid_reason(F, odd, c) is None
    assert moe.invalid_reason(F, odd, {**c, "TMA": 1}) == "TMA needs K % 32 == 0 (rows of packed words in whole 16 bytes), K=208"
    as_layer = {**odd, "N": 208, "K": 256, "gemm": "layer"}  # the intermediate size is the down GEMM's K
    assert moe.invalid_reason(F, as_layer, {**c, "TMA": 1}).startswith("down GEMM: TMA needs K % 32 == 0")
    with pytest.raises(ValueError, match="TMA needs K % 32 == 0"):
        moe.launch(F, moe.make_inputs(F, moe.normalize_problem(F, odd), "cpu"), {**c, "TMA": 1})
    assert "must be 0 or 1" in moe.invalid_reason(F, odd, {**c, "TMA": 2})
    # one descriptor spans all experts' words: a qweight whose experts are not back to back is refused, not misread
    p = problem(gemm="up", group_size=32)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    wide = torch.zeros(p["E"], 2 * p["N"], p["K"] // 8, dtype=torch.int32)
    wide[:, : p["N"]] = inputs.qweight
    gapped = dataclasses.replace(inputs, qweight=wide[:, : p["N"]])  # rows contiguous, experts 2N rows apart
    with pytest.raises(ValueError, match="TMA needs a contiguous qweight"):
        moe.launch(F, gapped, {**SMALL, "TMA": 1})
    run_both(p, gapped, SMALL)  # the per-thread loads take its expert stride


def test_per_channel_scales():
    p = problem(gemm="down", group_size=-1)  # one scale per output channel: the group is all of K
    run_both(p, moe.build_inputs(p, *forced_routing(UNEVEN), "cpu"), SMALL)


def test_down_output_is_weighted_by_the_router():
    p = problem(gemm="down", group_size=32)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    out = moe.launch(F, inputs, SMALL).float()
    unweighted = moe.reference(F, inputs) / inputs.router_weights[:, None]
    # pair 1 and pair 2 have different router weights: the kernel's rows follow them, not the plain product
    for pair in (1, 2):
        ratio = (out[pair] / unweighted[pair]).median()
        assert ratio == pytest.approx(float(inputs.router_weights[pair]), rel=2e-2)


def test_a_wrong_expert_fails_the_check():
    p = problem(group_size=32)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    out = moe.launch(F, inputs, SMALL)
    inputs.topk_ids[0, 0] = 2  # the reference now routes pair 0 to another expert
    ok, err = moe.check(F, out, moe.reference(F, inputs))
    assert not ok and err > 0.05


def test_routing_is_deterministic_and_skewed_is_skewed():
    a = R.make_routing(512, 128, 8, "skewed", seed=7)
    b = R.make_routing(512, 128, 8, "skewed", seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], R.make_routing(512, 128, 8, "skewed", seed=8)[0])
    for routing in ("uniform", "skewed"):
        ids, w = R.make_routing(512, 128, 8, routing, seed=0)
        assert all(len(set(row)) == 8 for row in ids.tolist())  # top-k experts are distinct per token
        assert torch.allclose(w.sum(1), torch.ones(512))
    hot = lambda ids: torch.bincount(ids.flatten(), minlength=128).max().item()  # noqa: E731
    assert hot(R.make_routing(512, 128, 8, "skewed", 0)[0]) > 3 * hot(R.make_routing(512, 128, 8, "uniform", 0)[0])


@pytest.mark.parametrize("bm", R.BLOCK_MS)
def test_tables_cover_every_pair_once(bm):
    topk_ids, _ = R.make_routing(37, 16, 4, "skewed", seed=1)
    grouped, padded = R.prepare_tables(topk_ids, 16, "cpu")
    P = topk_ids.numel()
    g, pd = grouped[bm], padded[bm]
    n = int(g.num_blocks)
    assert n <= g.grid_m == R.grouped_bound(P, 16, bm) and n <= pd.grid_m
    rows = torch.cat([g.sorted_pairs[s: s + c] for s, c in zip(g.block_start[:n].tolist(), g.block_count[:n].tolist())])
    assert sorted(rows.tolist()) == list(range(P))
    for s, c, e in zip(g.block_start[:n].tolist(), g.block_count[:n].tolist(), g.block_expert[:n].tolist()):
        assert 0 < c <= bm and (topk_ids.flatten()[g.sorted_pairs[s: s + c].long()] == e).all()
    real = pd.sorted_pairs[: n * bm]
    assert sorted(real[real < P].tolist()) == list(range(P)) and (pd.sorted_pairs[n * bm:] == P).all()


def test_problem_validation_and_pruning():
    with pytest.raises(ValueError, match="top_k"):
        moe.normalize_problem(F, {"M": 1, "N": 64, "K": 64, "E": 2, "top_k": 3})
    with pytest.raises(ValueError, match="group_size"):
        moe.normalize_problem(F, {"M": 1, "N": 64, "K": 96, "E": 2, "top_k": 1, "group_size": 64})
    with pytest.raises(ValueError, match="unknown"):
        moe.normalize_problem(F, {"M": 1, "N": 64, "K": 64, "E": 2, "top_k": 1, "split": 2})
    qwen_down = {"M": 4, "N": 2048, "K": 768, "E": 128, "top_k": 8, "gemm": "down"}
    assert "does not divide K" in moe.invalid_reason(F, qwen_down, {**SMALL, "BLOCK_SIZE_K": 512})
    assert "exceeds the most pairs" in moe.invalid_reason(F, qwen_down, {**SMALL, "BLOCK_SIZE_M": 64})
    per_channel = {**qwen_down, "M": 4096, "group_size": -1}  # the group is all of K: BLOCK_SIZE_K 256 may take it
    big = {**SMALL, "BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 256, "num_warps": 8, "num_stages": 5}
    assert "shared memory" in moe.invalid_reason(F, per_channel, big)
    assert moe.invalid_reason(F, per_channel, {**big, "num_stages": 2}) is None
    assert "accumulator" in moe.invalid_reason(F, per_channel, {**big, "num_warps": 4, "BLOCK_SIZE_N": 256})
    # each K block takes one scale row: BLOCK_SIZE_K must divide the group (128 here)
    assert "does not divide the group size 128" in moe.invalid_reason(F, qwen_down, {**SMALL, "BLOCK_SIZE_K": 256})
    assert moe.invalid_reason(F, qwen_down, {**SMALL, "BLOCK_SIZE_K": 128}) is None


@pytest.mark.parametrize("M", [1, 16, 128, 512, 4096])
@pytest.mark.parametrize("gemm", ["up", "down"])
def test_default_config_is_valid_and_follows_the_rule(M, gemm):
    p = {"M": M, "N": 1536 if gemm == "up" else 2048, "K": 2048 if gemm == "up" else 768, "E": 128, "top_k": 8,
         "gemm": gemm}
    c = moe.default_config(F, p)
    assert moe.invalid_reason(F, p, c) is None and list(c) == list(moe.CONFIG_KEYS) + ["TMA"] and c["TMA"] == 0
    assert c["BLOCK_SIZE_M"] == (16 if M <= 128 else 32 if M <= 1024 else 64)  # t = M * 8 / 128 <= 8, <= 64


def test_each_expert_is_the_dense_kernels_layout():
    """An expert's qweight is what the dense W4A16 kernel takes (kernels/w4a16.py): one token through one expert of
    the MoE kernel equals the dense kernel's product with that expert's weights and scales."""
    from kernels import w4a16 as dense

    p = problem(M=1, E=4, top_k=1, N=64, K=256, group_size=32, act_dtype="fp16")
    inputs = moe.build_inputs(p, torch.tensor([[2]]), torch.ones(1, 1), "cpu")
    out = moe.launch(F, inputs, SMALL)
    dp = dense.normalize_problem("w4a16", {"M": 1, "N": 64, "K": 256, "group_size": 32, "zero_points": False,
                                           "act_dtype": "fp16"})
    d = dense.make_inputs("w4a16", dp, "cpu")
    d.a, d.qweight, d.scales = inputs.a, inputs.qweight[2].contiguous(), inputs.scales[2].contiguous()
    want = dense.launch("w4a16", d, {**dense.default_config("w4a16", dp), "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32})
    assert torch.allclose(out.float(), want.float(), rtol=2e-3, atol=2e-3)


def test_experts_from_the_dense_kernels_layout():
    """AWQ/GPTQ experts converted for the dense kernel (kernels/w4a16_pack.py) stack into this kernel's tensors: the
    weights it dequantizes are the dense ones, zero points included."""
    from kernels import w4a16_pack as W

    N, K, g = 44, 128, 32
    qweights, scales, qzeros, want = [], [], [], []
    for e in range(3):
        q, sc, z = W.quantize(torch.randn(N, K, generator=torch.Generator().manual_seed(e)), g, zero_points=True)
        padded = torch.zeros(K // g, 48, dtype=torch.int32)  # N = 44 rounded up to 8, as the checkpoints pack it
        padded[:, :N] = z
        qweights.append(W.pack_int4(q, awq=True))
        scales.append(sc.to(torch.bfloat16))
        qzeros.append(W.pack_int4(padded, awq=True))
        want.append(((q - z.t().repeat_interleave(g, 1)) * sc.t().repeat_interleave(g, 1)).t())  # [K, N]
    qweight, stacked_scales, zeros = moe.experts_from_kernel_layout(qweights, scales, qzeros)
    assert qweight.shape == (3, N, K // 8) and stacked_scales.shape == (3, K // g, N) and zeros.dtype == torch.uint8
    p = problem(E=3, N=N, K=K, group_size=g, zero_points=True)
    inputs = moe.build_inputs(p, torch.tensor([[0, 2]] * 6), torch.ones(6, 2), "cpu")
    inputs.qweight, inputs.scales, inputs.zeros = qweight, stacked_scales, zeros
    for e in range(3):  # the bf16 scales round the values by at most 2^-8
        assert torch.allclose(moe.dequantize(inputs, e), want[e], rtol=1e-2, atol=1e-6)
    run_both(p, inputs, SMALL)
    with pytest.raises(ValueError, match="expert 1: qweight"):
        moe.experts_from_kernel_layout([qweights[0], qweights[1][:, :8]], scales[:2])
    with pytest.raises(ValueError, match="one of each per expert"):
        moe.experts_from_kernel_layout(qweights[:1], [])
    with pytest.raises(ValueError, match="expert 2: qzeros"):
        moe.experts_from_kernel_layout(qweights, scales, qzeros[:2] + [qzeros[2][:, :5]])
    inputs.scales = stacked_scales.transpose(1, 2).contiguous().transpose(1, 2)  # same values, column-major rows
    with pytest.raises(ValueError, match="scales .* stride"):
        moe.launch(F, inputs, SMALL)


def test_block_k_must_divide_the_group():
    up = {"M": 16, "N": 1536, "K": 2048, "E": 128, "top_k": 8, "group_size": 32}
    assert moe.invalid_reason(F, up, {**SMALL, "BLOCK_SIZE_K": 32}) is None
    assert "does not divide the group size 32" in moe.invalid_reason(F, up, {**SMALL, "BLOCK_SIZE_K": 64})
    # the launcher refuses it too (a file tuned for the earlier kernel, whose rule let BLOCK_SIZE_K span groups)
    p = problem(group_size=32)
    with pytest.raises(ValueError, match="BLOCK_SIZE_K 64 does not divide the group size 32"):
        moe.launch(F, moe.build_inputs(p, *forced_routing(UNEVEN), "cpu"), {**SMALL, "BLOCK_SIZE_K": 64})


def test_the_family_registry_finds_this_module_and_bytes_follow_the_routing():
    assert family_module(F).launch is moe.launch
    small = {"M": 1, "N": 1536, "K": 2048, "E": 128, "top_k": 8}
    per_expert = 2048 * 1536 / 2 + 16 * 1536 * 2
    assert moe.min_bytes(small) == pytest.approx(8 * per_expert + 2048 * 2 + 8 * (1536 * 2 + 8))
    assert moe.flops(small) == 2 * 8 * 1536 * 2048


# ---- gemm 'layer': the unit a server's file E={E},N={intermediate} is tuned for (one config, both GEMMs)

def layer(**kw):
    """hidden K=128; intermediate N=64 (group 32) or 128 (group 128, which I must be a multiple of)."""
    g = kw.get("group_size", 128)
    return moe.normalize_problem(F, {"M": 6, "N": 64 if g == 32 else 128, "K": 128, "E": 4, "top_k": 2,
                                     "gemm": "layer", **kw})


@pytest.mark.parametrize("group_size", [32, 128])
def test_layer_uneven_loads_with_an_empty_expert(group_size):
    p = layer(group_size=group_size)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    ref = run_both(p, inputs, {**SMALL, "BLOCK_SIZE_K": min(64, group_size)})
    assert ref.shape == (p["M"], p["K"])  # summed over each token's top_k pairs: [M, hidden]
    # the chain by hand: up GEMM, silu(gate) * up, down GEMM (router-weighted), top-k sum
    h = moe.launch(F, inputs.up, SMALL)
    o = moe._launch(inputs.down, SMALL, padded=False, a=moe.silu_and_mul(h))
    assert moe.check(F, o.float().view(6, 2, -1).sum(1), ref)[0]


def test_layer_with_zero_points_fp16_and_skewed_routing():
    p = layer(M=9, E=8, group_size=32, zero_points=True, routing="skewed", act_dtype="fp16", seed=3)
    run_both(p, moe.make_inputs(F, p, "cpu"), {**SMALL, "BLOCK_SIZE_M": 32, "BLOCK_SIZE_K": 32})


def test_silu_and_mul_is_gate_first():
    h = torch.randn(5, 2 * 48).to(torch.bfloat16)
    want = torch.nn.functional.silu(h[:, :48].float()) * h[:, 48:].float()
    assert torch.allclose(moe.silu_and_mul(h).float(), want, rtol=1e-2, atol=1e-2)


def test_a_wrong_down_weight_fails_the_layer_check():
    p = layer(group_size=32)
    inputs = moe.build_inputs(p, *forced_routing(UNEVEN), "cpu")
    ref = moe.reference(F, inputs)
    inputs.down.scales[3] *= 2  # expert 3's down projection, used by most pairs
    ok, err = moe.check(F, moe.launch(F, inputs, SMALL), ref)
    assert not ok and err > 0.1


def test_layer_rules_hold_for_both_gemms():
    qwen = {"M": 4, "N": 768, "K": 2048, "E": 128, "top_k": 8, "gemm": "layer"}  # Qwen3-30B-A3B, tp 1
    up = {**qwen, "gemm": "up", "N": 1536}
    assert moe.gemm_problems(moe.normalize_problem(F, qwen))[1]["N"] == 2048
    big_k, per_channel = {**SMALL, "BLOCK_SIZE_K": 512}, {"group_size": -1}
    assert moe.invalid_reason(F, {**up, **per_channel}, big_k) is None  # 512 divides hidden 2048 ...
    assert moe.invalid_reason(F, {**qwen, **per_channel}, big_k) == "down GEMM: BLOCK_SIZE_K 512 does not divide K 768"
    assert moe.invalid_reason(F, {**qwen, **per_channel}, {**SMALL, "BLOCK_SIZE_K": 256}) is None  # ... nor I
    narrow = {"M": 4, "N": 32, "K": 4096, "E": 8, "top_k": 2, "gemm": "layer", "group_size": 32}
    assert "up GEMM: BLOCK_SIZE_N 128 wider than N 64" == moe.invalid_reason(F, narrow, {**SMALL, "BLOCK_SIZE_N": 128})
    with pytest.raises(ValueError, match="intermediate"):
        moe.normalize_problem(F, {**qwen, "N": 100})  # I must be a multiple of the group size, like K
    for M in (1, 64, 4096):
        c = moe.default_config(F, {**qwen, "M": M})
        assert moe.invalid_reason(F, {**qwen, "M": M}, c) is None
        assert c == moe.default_config(F, {**up, "M": M})  # Qwen's two GEMMs need no clipping: vLLM-like rule


def test_layer_costs_are_both_gemms():
    from kernels import protocol, sim

    qwen = {"M": 16, "N": 768, "K": 2048, "E": 128, "top_k": 8, "gemm": "layer"}
    up, down = {**qwen, "gemm": "up", "N": 1536}, {**qwen, "gemm": "down", "N": 2048, "K": 768}
    assert moe.flops(qwen) == moe.flops(up) + moe.flops(down) == 6 * 16 * 8 * 768 * 2048
    assert moe.min_bytes(qwen) == moe.min_bytes(up) + moe.min_bytes(down) == moe.input_bytes(qwen)
    cfg = {**SMALL, "BLOCK_SIZE_K": 128}
    us = {g: sim.simulate(F, protocol.normalize_problem(F, q), cfg)[1] for g, q in (("layer", qwen), ("up", up), ("down", down))}
    assert us["layer"] == us["up"] + us["down"]
    status, _, msg = sim.simulate(F, protocol.normalize_problem(F, qwen), {**SMALL, "BLOCK_SIZE_K": 48})
    assert status == "invalid" and msg.startswith("up GEMM:")
