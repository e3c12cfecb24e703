"""The stand-ins for the servers' compiled ops, now Triton kernels (kernels/servers/fast_ops.py), against their torch
versions (the *_torch functions in vllm_ops.py and sglang_ops.py), called as the servers call them.

Tolerances: the quantizers and the top-k sum are compared bit for bit (the same fp32 operations in the same order,
IEEE division, round half to even). SiLU-and-mul may differ by one step of the output dtype: its exp is Triton's,
not torch's, and an ulp of fp32 moves a value across a bf16 rounding boundary now and then."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels.servers import fast_ops, sglang_ops, vllm_ops  # noqa: E402

FP8 = torch.float8_e4m3fn
FMAX = torch.finfo(FP8).max


class _Platform:
    def fp8_dtype(self):
        return FP8


OPS = vllm_ops.custom_ops_module(_Platform())


def activations(rows, cols, seed, scale=3.0, dtype=torch.bfloat16):
    """Seeded activations with a zero row (the scale floors) and one large outlier per row."""
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed)) * scale
    x[:, seed % cols] *= 40
    x[min(1, rows - 1)] = 0
    return x.to(dtype)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(torch.uint8), b.view(torch.uint8))


def within_one_step(out, ref):
    """Every element equal to the reference or its neighbour in the output dtype; almost all equal."""
    step = torch.finfo(out.dtype).eps * ref.float().abs().clamp_min(torch.finfo(out.dtype).tiny)
    assert ((out.float() - ref.float()).abs() <= step).all()
    assert (out == ref).float().mean() >= 0.99


def test_the_kernels_run_under_the_interpreter_and_not_on_a_plain_cpu(monkeypatch):
    x = torch.zeros(2)
    assert fast_ops.runs(x)
    with fast_ops.torch_only():
        assert not fast_ops.runs(x)
    assert fast_ops.runs(x)
    monkeypatch.delenv("TRITON_INTERPRET")
    assert not fast_ops.runs(x)  # a CPU without the interpreter takes the torch versions


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_silu_and_mul(dtype):
    x = activations(37, 2 * 768, seed=2, dtype=dtype)
    out, ref = torch.empty(37, 768, dtype=dtype), torch.empty(37, 768, dtype=dtype)
    vllm_ops.silu_and_mul(out, x)
    vllm_ops.silu_and_mul_torch(ref, x)
    within_one_step(out, ref)


@pytest.mark.parametrize("step", [1, 4])
def test_sglang_silu_and_mul_leaves_rows_of_expert_minus_one_unwritten(step):
    rows = 16
    x = activations(rows, 2 * 96, seed=3)
    expert_ids = torch.tensor([0, -1, 3, -1, 2, 2, -1, 1, 0, 0, 1, -1, 3, 2, 1, 0], dtype=torch.int32)[: rows // step]
    out = torch.full((rows, 96), 7.0, dtype=torch.bfloat16)
    ref = out.clone()
    sglang_ops.silu_and_mul(x, out, expert_ids, step)
    sglang_ops.silu_and_mul_torch(x, ref, expert_ids, step)
    skipped = expert_ids.repeat_interleave(step) == -1
    assert skipped.any() and (out[skipped] == 7.0).all()
    within_one_step(out, ref)


def test_moe_sum_vllm_and_sglang():
    x = activations(13 * 8, 300, seed=4).reshape(13, 8, 300)
    out, ref = torch.empty(13, 300, dtype=torch.bfloat16), torch.empty(13, 300, dtype=torch.bfloat16)
    OPS.moe_sum(x, out)
    vllm_ops.moe_sum_torch(x, ref)
    assert torch.equal(out, ref)
    sglang_ops.moe_sum_reduce(x, out, 2.5)
    sglang_ops.moe_sum_reduce_torch(x, ref, 2.5)
    assert torch.equal(out, ref)


@pytest.mark.parametrize("per_token", [False, True])
def test_scaled_fp8_quant_dynamic(per_token):
    x = activations(9, 2048, seed=5)
    q, s = OPS.scaled_fp8_quant(x, use_per_token_if_dynamic=per_token)
    q_ref, s_ref = vllm_ops.scaled_fp8_quant_torch(x, None, per_token, None, FP8)
    assert same_bits(q, q_ref) and torch.equal(s, s_ref)


def test_scaled_fp8_quant_static_saturates_into_the_given_output():
    x = activations(9, 768, seed=6)
    out = torch.empty(9, 768, dtype=FP8)
    for scale in (torch.tensor([0.004]), torch.rand(9, 1, generator=torch.Generator().manual_seed(0)) / 50):
        q, s = OPS.scaled_fp8_quant(x, scale, output=out)
        q_ref, _ = vllm_ops.scaled_fp8_quant_torch(x, scale, False, None, FP8)
        assert q is out and s is scale and same_bits(q, q_ref)
        assert (q.float().abs() == FMAX).any()  # some values saturate


def test_scaled_int8_quant_rounds_half_to_even():
    x = torch.tensor([[0.5, 1.5, 2.5, -0.5, -2.5, 3.5, 126.5, 127.5, -128.5, 1000.0, -1000.0, 0.0]])
    q, s, azp = OPS.scaled_int8_quant(x, torch.tensor([1.0]))
    assert azp is None
    assert q.tolist() == [[0, 2, 2, 0, -2, 4, 126, 127, -128, 127, -128, 0]]
    assert torch.equal(q, vllm_ops.scaled_int8_quant_torch(x, torch.tensor([1.0]))[0])


def test_scaled_int8_quant_dynamic_per_token():
    x = activations(9, 2048, seed=7)[2:]  # no zero row: vLLM's per-token int8 scale has no floor
    q, s, _ = OPS.scaled_int8_quant(x)
    q_ref, s_ref, _ = vllm_ops.scaled_int8_quant_torch(x, None)
    assert torch.equal(q, q_ref) and torch.equal(s, s_ref)


def group_scales(T, H, g, layout):
    """The scale buffer as vLLM's per_token_group_quant_fp8 allocates it: row-major, column-major, TMA-aligned."""
    if layout == "row":
        return torch.empty(T, H // g)
    if layout == "column":
        return torch.empty(H // g, T).permute(1, 0)
    aligned = -(-T // 4) * 4
    return torch.empty_strided((T, H // g), (1, aligned))


@pytest.mark.parametrize("layout", ["row", "column", "tma"])
def test_per_token_group_fp8_quant(layout):
    T, H, g = 10, 2048, 128
    x = activations(T, H, seed=8)
    q, q_ref = torch.empty(T, H, dtype=FP8), torch.empty(T, H, dtype=FP8)
    s, s_ref = group_scales(T, H, g, layout), group_scales(T, H, g, layout)
    args = (g, 1e-10, -FMAX, FMAX, False, layout != "row", layout == "tma")
    vllm_ops.per_token_group_fp8_quant(x, q, s, *args)
    vllm_ops.per_token_group_fp8_quant_torch(x, q_ref, s_ref, *args)
    assert same_bits(q, q_ref) and torch.equal(s, s_ref)


def test_per_token_group_quant_int8():
    T, H, g = 10, 768, 128
    x = activations(T, H, seed=9)
    q, q_ref = torch.empty(T, H, dtype=torch.int8), torch.empty(T, H, dtype=torch.int8)
    s, s_ref = torch.empty(T, H // g), torch.empty(T, H // g)
    vllm_ops.per_token_group_quant_int8(x, q, s, g, 1e-10, -128.0, 127.0)
    vllm_ops.per_token_group_quant_int8_torch(x, q_ref, s_ref, g, 1e-10, -128.0, 127.0)
    assert torch.equal(q, q_ref) and torch.equal(s, s_ref)


@pytest.mark.parametrize("dtype", [FP8, torch.int8])
def test_sglang_per_token_group_quant(dtype):
    x = activations(10, 2048, seed=10)
    q, s = sglang_ops.per_token_group_quant(x, group_size=128, out_dtype=dtype)
    q_ref, s_ref = sglang_ops.per_token_group_quant(x, group_size=128, out_dtype=dtype, fast=False)
    assert same_bits(q, q_ref) and torch.equal(s, s_ref)


def test_sglang_per_token_and_per_tensor_fp8():
    x = activations(10, 2048, seed=11)
    outs = []
    for fast in (True, False):
        q, s = torch.empty(10, 2048, dtype=FP8), torch.empty(10, 1)
        sglang_ops.sgl_per_token_quant_fp8(x, q, s, fast=fast)
        qt, st = torch.empty(10, 2048, dtype=FP8), torch.empty(1)
        sglang_ops.per_tensor_quant_fp8(x, qt, st, fast=fast)
        qs = torch.empty(10, 2048, dtype=FP8)
        sglang_ops.per_tensor_quant_fp8(x, qs, torch.tensor([0.01]), is_static=True, fast=fast)
        outs.append((q, s, qt, st, qs))
    for ours, ref in zip(*outs):
        assert same_bits(ours, ref) if ours.dtype == FP8 else torch.equal(ours, ref)


def test_a_quantizer_with_the_wrong_scale_fails_the_comparison():
    """The bit comparison sees one scale 25 % off."""
    x = activations(4, 256, seed=12)
    q, s = torch.empty(4, 256, dtype=FP8), torch.empty(4, 2)
    vllm_ops.per_token_group_fp8_quant(x, q, s, 128, 1e-10, -FMAX, FMAX, False, False, False)
    s[0, 0] *= 1.25
    q2 = torch.empty_like(q)
    fast_ops.quantize(x, q2, s, 128, fast_ops.STATIC, -FMAX, FMAX, s_strides=(2, 1))
    assert not same_bits(q, q2)
