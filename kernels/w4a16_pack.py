"""W4A16 dense problems: the kernel's packed layout (kernels/w4a16.py's docstring), the conversions from AWQ and GPTQ
checkpoints, quantization, inputs, the reference."""

import torch

from kernels import protocol

ACT_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)  # nibble i of a word holds element AWQ_ORDER[i]
FAMILIES = ("w4a16",)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def normalize_problem(family: str, problem: dict) -> dict:
    """Defaults and field checks of src/schema/problem.ts W4A16Problem (kernels/protocol.py), then what the kernel needs."""
    if family not in FAMILIES:
        raise ValueError(f"w4a16 module does not serve family {family!r}")
    p = protocol.normalize_problem(family, problem)
    if p["K"] % 8:
        raise ValueError(f"K={p['K']} must be a multiple of 8 (8 int4 values per int32 along K)")
    if p["group_size"] > 0 and p["K"] % p["group_size"]:
        raise ValueError(f"K={p['K']} must be a multiple of group_size={p['group_size']}")
    return p


def pack_int4(q: torch.Tensor, awq: bool) -> torch.Tensor:
    """Pack int4 values q[..., 8j + e] (0..15) into int32 words [..., j] in the plain or AWQ nibble order."""
    q = q.to(torch.int32).reshape(*q.shape[:-1], q.shape[-1] // 8, 8)
    order = AWQ_ORDER if awq else tuple(range(8))
    word = torch.zeros(q.shape[:-1], dtype=torch.int32, device=q.device)
    for nibble, element in enumerate(order):
        word |= q[..., element] << (4 * nibble)  # nibble 7 may set the sign bit: fine, consumers mask
    return word


def unpack_int4(words: torch.Tensor, awq: bool) -> torch.Tensor:
    """Inverse of pack_int4: int32 [..., j] -> int32 values [..., 8j + e] in 0..15."""
    order = AWQ_ORDER if awq else tuple(range(8))
    out = torch.empty(*words.shape, 8, dtype=torch.int32, device=words.device)
    for nibble, element in enumerate(order):
        out[..., element] = (words >> (4 * nibble)) & 0xF
    return out.reshape(*words.shape[:-1], words.shape[-1] * 8)


def _packed(name: str, t: torch.Tensor) -> None:
    """A checkpoint's packed tensor must be 2-D int32 (one-line ValueError otherwise)."""
    if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.dtype != torch.int32:
        what = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a 2-D int32 tensor of packed int4 values, got {what}")


def awq_to_kernel_layout(qweight_awq: torch.Tensor) -> torch.Tensor:
    """An AWQ checkpoint's qweight [K, N/8] (packed along N, AWQ order) -> the kernel's qweight [N, K/8] (packed
    along K, AWQ order). AWQ's qzeros [G, N/8] and scales [G, N] are the kernel's as they are."""
    _packed("AWQ qweight [K, N/8]", qweight_awq)
    if qweight_awq.shape[0] % 8:
        raise ValueError(f"AWQ qweight [K, N/8]: K={qweight_awq.shape[0]} is not a multiple of 8")
    q_kn = unpack_int4(qweight_awq, awq=True)  # [K, N]
    return pack_int4(q_kn.t().contiguous(), awq=True)


def gptq_to_kernel_layout(qweight_gptq: torch.Tensor, qzeros_gptq: torch.Tensor | None = None, v1: bool = True):
    """A GPTQ checkpoint's qweight [K/8, N] (packed along K, plain order) -> the kernel's [N, K/8] in AWQ order, and
    its qzeros [G, N/8] (plain order; the v1 format stores zero - 1) -> the kernel's [G, N/8] in AWQ order.
    Returns (qweight, qzeros or None)."""
    _packed("GPTQ qweight [K/8, N]", qweight_gptq)
    if qzeros_gptq is not None:
        _packed("GPTQ qzeros [G, N/8]", qzeros_gptq)
        n = qweight_gptq.shape[1]
        if qzeros_gptq.shape[1] != _cdiv(n, 8):
            raise ValueError(f"GPTQ qzeros [G, N/8] has {qzeros_gptq.shape[1]} columns; qweight's N={n} needs "
                             f"{_cdiv(n, 8)}")
    q_nk = unpack_int4(qweight_gptq.t().contiguous(), awq=False)  # [N, K]
    qweight = pack_int4(q_nk, awq=True)
    if qzeros_gptq is None:
        return qweight, None
    z = unpack_int4(qzeros_gptq, awq=False) + (1 if v1 else 0)  # [G, N rounded up to 8]
    return qweight, pack_int4(z & 0xF, awq=True)


class W4A16Inputs:
    """One input set: activations, packed weights, scales, zero points, split-K counters (all zero)."""

    def __init__(self, problem, a, qweight, scales, qzeros, counters):
        self.problem, self.a, self.qweight, self.scales, self.qzeros = problem, a, qweight, scales, qzeros
        self.counters = counters


def quantize(w: torch.Tensor, group_size: int, zero_points: bool):
    """Round-to-nearest group-wise int4 quantization of W [N, K] (fp32): q [N, K] in 0..15, scales and zero
    points [G, N]. Asymmetric: scale = (max-min)/15, zero = round(-min/scale); symmetric: zero = 8,
    scale = absmax/7."""
    N, K = w.shape
    g = K if group_size == -1 else group_size
    wg = w.reshape(N, K // g, g)
    if zero_points:
        lo, hi = wg.amin(-1).clamp(max=0), wg.amax(-1).clamp(min=0)
        scale = ((hi - lo) / 15).clamp(min=1e-8)
        zero = torch.round(-lo / scale).clamp(0, 15)
    else:
        scale = (wg.abs().amax(-1) / 7).clamp(min=1e-8)
        zero = torch.full_like(scale, 8.0)
    q = torch.clamp(torch.round(wg / scale[..., None]) + zero[..., None], 0, 15).reshape(N, K)
    return q.to(torch.int32), scale.t().contiguous(), zero.to(torch.int32).t().contiguous()


def make_inputs(family: str, problem: dict, device: str, seed: int = 0) -> W4A16Inputs:
    """Random activations and random N(0, 0.02^2) weights quantized with `quantize`, packed for the kernel."""
    p = normalize_problem(family, problem)
    M, N, K = p["M"], p["N"], p["K"]
    dtype = ACT_DTYPES[p["act_dtype"]]
    gen = torch.Generator(device=device).manual_seed(seed)
    a = torch.randn((M, K), generator=gen, device=device, dtype=torch.float32).to(dtype)
    w = torch.randn((N, K), generator=gen, device=device, dtype=torch.float32) * 0.02
    q, scales, zeros = quantize(w, p["group_size"], p["zero_points"])
    qweight = pack_int4(q, awq=True)  # q [N, K] packed along K -> [N, K/8]
    qzeros = None
    if p["zero_points"]:
        padded = torch.zeros((zeros.shape[0], _cdiv(N, 8) * 8), dtype=torch.int32, device=device)
        padded[:, :N] = zeros
        qzeros = pack_int4(padded, awq=True)
    counters = torch.zeros(_cdiv(M, 16) * _cdiv(N, 16), dtype=torch.int32, device=device)
    return W4A16Inputs(p, a, qweight, scales.to(dtype), qzeros, counters)


def dequantize(inputs: W4A16Inputs) -> torch.Tensor:
    """W [N, K] in the activation dtype, from the packed tensors (the 'dequantize then matmul' baseline)."""
    p = inputs.problem
    N, K = p["N"], p["K"]
    g = K if p["group_size"] == -1 else p["group_size"]
    q = unpack_int4(inputs.qweight, awq=True).float()  # [N, K]
    s = inputs.scales.float().t().repeat_interleave(g, dim=1)  # [N, K]
    if inputs.qzeros is not None:
        z = unpack_int4(inputs.qzeros, awq=True)[:, :N].float().t().repeat_interleave(g, dim=1)
    else:
        z = 8.0
    return ((q - z) * s).to(inputs.a.dtype)


def reference(family: str, inputs: W4A16Inputs) -> torch.Tensor:
    """Dequantize (to the activation dtype, as the kernel does) then matmul in fp32."""
    return inputs.a.float() @ dequantize(inputs).float().t()
