"""One fused-MoE layer as the servers run it: problems, seeded inputs, the torch reference, the correctness gate.

Server-independent: the servers' launchers (kernels/servers/vllm_moe.py, sglang_moe.py) take these inputs.
A layer is: up GEMM [M*top_k pairs, hidden] x w1[e] [2I, hidden]^T, silu(gate) * up, down GEMM x w2[e]
[hidden, I]^T times the router weight, then the sum over each token's top_k pairs -> [M, hidden].

Quantizations (QUANTS), named as the servers' config files name them where they differ in no other way:
- bf16:            no quantization (activations bf16 or fp16).
- fp8_w8a8_block:  fp8 e4m3 weights with one scale per [128, 128] block; activations quantized per token
                   and 128-column group at run time (DeepSeek-V3, Qwen3-FP8).
- int4_w4a16:      4-bit weights, two per byte along K (low nibble first), offset 8, one scale per output
                   channel and group of `group_size` along K (GPTQ / AWQ symmetric, vLLM's moe_wna16 layout).
- int8_w8a8:       int8 weights with one scale per output channel; activations per token at run time.
- fp8_w8a8:        fp8 weights with one scale per expert; activations with one dynamic scale per tensor.
- int8_w8a16:      int8 weights with one scale per output channel; bf16 activations.
"""

import functools
import os
from dataclasses import dataclass

import torch

from kernels.moe_routing import make_routing

from . import compiling

QUANTS = ("bf16", "fp8_w8a8_block", "int4_w4a16", "int8_w8a8", "fp8_w8a8", "int8_w8a16")
BLOCK = 128  # the fp8 weight block, [BLOCK, BLOCK]; activations use groups of BLOCK columns
FP8 = torch.float8_e4m3fn
FP8_MAX = torch.finfo(FP8).max
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

# max |out - ref| / max |ref|. The reference rounds where the launch rounds (the up GEMM's output and the
# activation to the activation dtype, and re-quantizes activations as the server does), so what is left is
# fp32 summation order plus the output's rounding: measured <= 2.8e-3 (bf16) and <= 5e-4 (fp16) over 8 seeds
# (vLLM 0.33.0, interpreter, E=4, hidden 256, I 128, M 9) for bf16, fp8 per tensor, int8_w8a16 and int4_w4a16.
# Where activations are re-quantized per group, a summation-order difference that moves an element across a
# rounding boundary moves it by a whole step (1/8 relative for fp8 e4m3): measured up to 3.0e-2 for fp8 block.
# A wrong expert, a wrong scale or a lost pair gives errors of order 1.
TOLERANCE = {"bf16": 1e-2, "fp16": 2e-3, "w8a8": 8e-2}
INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def normalize_problem(problem: dict) -> dict:
    """Fill defaults and check a layer problem; ValueError with a one-line reason."""
    p = {"top_k": 2, "quant": "bf16", "dtype": "bf16", "group_size": 128, "routing": "uniform", "seed": 0, **problem}
    for key in ("M", "E", "hidden", "inter"):
        if not isinstance(p.get(key), int) or p[key] <= 0:
            raise ValueError(f"problem needs a positive integer {key!r}")
    if p["quant"] not in QUANTS:
        raise ValueError(f"unknown quant {p['quant']!r} (known: {', '.join(QUANTS)})")
    if p["dtype"] not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}")
    if not 1 <= p["top_k"] <= p["E"]:
        raise ValueError("top_k must be between 1 and E")
    step = {"fp8_w8a8_block": BLOCK, "int4_w4a16": p["group_size"]}.get(p["quant"], 1)
    if p["hidden"] % step or p["inter"] % step:
        raise ValueError(f"{p['quant']} needs hidden and inter to be multiples of {step}")
    return p


@dataclass
class Inputs:
    """What a server launcher takes (the quantized weights) and what the reference takes (their dequantized values)."""

    problem: dict
    x: torch.Tensor  # [M, hidden], activation dtype
    w1: torch.Tensor  # [E, 2I, hidden] (int4: [E, 2I, hidden/2] uint8)
    w2: torch.Tensor  # [E, hidden, I]  (int4: [E, hidden, I/2] uint8)
    w1_scale: torch.Tensor | None
    w2_scale: torch.Tensor | None
    topk_weights: torch.Tensor  # [M, top_k] fp32
    topk_ids: torch.Tensor  # [M, top_k] int32
    w1_ref: torch.Tensor | None  # [E, 2I, hidden] fp32, what w1 stands for (None: compile_inputs)
    w2_ref: torch.Tensor | None


def make_inputs(problem: dict, device, seed: int = 0) -> Inputs:
    """Seeded inputs on `device`: the activations and routing built on the CPU (identical on every machine), the
    weights on `device` itself (a GPU draws a layer's weights in milliseconds, a CPU in seconds) and shared by every
    M of a layer (they do not depend on M)."""
    p = normalize_problem(problem)
    weights = _weights(p["E"], p["hidden"], p["inter"], p["quant"], p["dtype"], p["group_size"],
                       seed * 1000003 + p["seed"], str(device))
    return _inputs(p, weights, device, seed)


def compile_inputs(problem: dict) -> Inputs:
    """Inputs for compiling the layer's kernels on the CPU (kernels/servers/compiling.py): the activations and routing
    of make_inputs, the quantized weights and scales shaped as make_inputs makes them but never written."""
    p = normalize_problem(problem)
    E, H, I, dt = p["E"], p["hidden"], p["inter"], _DTYPES[p["dtype"]]
    (q1, s1, _), (q2, s2, _) = (_quantize_weight(torch.empty(shape, device="meta"), p, dt)
                                for shape in ((E, 2 * I, H), (E, H, I)))
    return _inputs(p, tuple(compiling.unwritten(t) for t in (q1, q2, s1, s2)) + (None, None), "cpu", 0)


def _inputs(p: dict, weights: tuple, device, seed: int) -> Inputs:
    gen = torch.Generator().manual_seed(seed * 1000003 + p["seed"])
    x = torch.randn(p["M"], p["hidden"], generator=gen).to(_DTYPES[p["dtype"]])
    q1, q2, s1, s2, r1, r2 = weights
    topk_ids, topk_weights = make_routing(p["M"], p["E"], p["top_k"], p["routing"], seed * 7919 + p["seed"])
    return Inputs(p, x.to(device), q1, q2, s1, s2, topk_weights.float().to(device),
                  topk_ids.to(torch.int32).to(device), r1, r2)


@functools.lru_cache(maxsize=4)
def _weights(E: int, H: int, I: int, quant: str, dtype: str, group_size: int, seed: int, device: str) -> tuple:
    """(w1, w2, w1 scale, w2 scale, w1 reference, w2 reference) of one layer, drawn and quantized on `device`."""
    gen = torch.Generator(device=device).manual_seed(seed)
    dt = _DTYPES[dtype]
    w1 = torch.randn(E, 2 * I, H, generator=gen, device=device) / H**0.5
    w2 = torch.randn(E, H, I, generator=gen, device=device) / I**0.5
    p = {"quant": quant, "group_size": group_size}
    (q1, s1, r1), (q2, s2, r2) = (_quantize_weight(w, p, dt) for w in (w1, w2))
    return q1, q2, s1, s2, r1, r2


def _quantize_weight(w: torch.Tensor, p: dict, dt) -> tuple:
    """(quantized weight, scale, dequantized fp32 weight) for one [E, N, K] weight."""
    quant = p["quant"]
    if quant == "bf16":
        q = w.to(dt)
        return q, None, q.float()
    if quant == "fp8_w8a8_block":
        E, N, K = w.shape
        blocks = w.reshape(E, N // BLOCK, BLOCK, K // BLOCK, BLOCK)
        scale = blocks.abs().amax(dim=(2, 4)) / FP8_MAX  # [E, N/128, K/128]
        q = (blocks / scale[:, :, None, :, None]).to(FP8)
        deq = q.float() * scale[:, :, None, :, None]
        return q.reshape(E, N, K), scale, deq.reshape(E, N, K)
    if quant == "fp8_w8a8":
        scale = w.abs().amax(dim=(1, 2)) / FP8_MAX  # [E]
        q = (w / scale[:, None, None]).to(FP8)
        return q, scale, q.float() * scale[:, None, None]
    if quant in ("int8_w8a8", "int8_w8a16"):
        scale = w.abs().amax(dim=2) / 127  # [E, N]
        q = torch.round(w / scale[:, :, None]).clamp(-127, 127).to(torch.int8)
        return q, scale, q.float() * scale[:, :, None]
    # int4_w4a16
    E, N, K = w.shape
    g = p["group_size"]
    groups = w.reshape(E, N, K // g, g)
    scale = (groups.abs().amax(dim=3) / 7).to(dt)  # [E, N, K/g], stored in the activation dtype
    q = (torch.round(groups / scale.float()[..., None]) + 8).clamp(0, 15).to(torch.uint8).reshape(E, N, K)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)
    # the kernel dequantizes as ((q - 8) * scale).to(activation dtype) before the dot
    deq = ((q.float().reshape(E, N, K // g, g) - 8) * scale.float()[..., None]).to(dt).float()
    return packed, scale, deq.reshape(E, N, K)


def _quantize_activation(a: torch.Tensor, quant: str) -> torch.Tensor:
    """The activation as the kernel sees it after the server quantizes it (dequantized, fp32)."""
    a = a.float()
    if quant == "fp8_w8a8_block":
        g = a.reshape(a.shape[0], -1, BLOCK)
        s = g.abs().amax(dim=2, keepdim=True).clamp(min=1e-10) / FP8_MAX
        return ((g / s).clamp(-FP8_MAX, FP8_MAX).to(FP8).float() * s).reshape(a.shape)
    if quant == "fp8_w8a8":
        s = a.abs().amax() / FP8_MAX
        return (a / s).clamp(-FP8_MAX, FP8_MAX).to(FP8).float() * s
    if quant == "int8_w8a8":
        s = a.abs().amax(dim=1, keepdim=True).clamp(min=1e-10) / 127
        return torch.round(a / s).clamp(-128, 127) * s
    return a


def reference(inputs: Inputs) -> torch.Tensor:
    """The layer in fp32 from the dequantized weights, rounding and re-quantizing where the launch does -> [M, hidden]."""
    p = inputs.problem
    dt, quant, I, top_k = inputs.x.dtype, p["quant"], p["inter"], p["top_k"]
    ids = inputs.topk_ids.long().flatten()  # one per pair, pair = token * top_k + slot
    experts = [(e, torch.nonzero(ids == e).flatten()) for e in torch.unique(ids).tolist()]
    a1 = _quantize_activation(inputs.x, quant)
    act = torch.empty(ids.numel(), I, dtype=dt, device=inputs.x.device)
    for e, pairs in experts:
        h = (a1[pairs // top_k] @ inputs.w1_ref[e].T).to(dt).float()
        act[pairs] = (torch.nn.functional.silu(h[:, :I]) * h[:, I:]).to(dt)
    a2 = _quantize_activation(act, quant)  # over all pairs at once: a per-tensor scale sees them all
    out = torch.empty(ids.numel(), p["hidden"], dtype=torch.float32, device=inputs.x.device)
    for e, pairs in experts:
        down = a2[pairs] @ inputs.w2_ref[e].T
        out[pairs] = (down * inputs.topk_weights.flatten()[pairs, None]).to(dt).float()
    return out.reshape(p["M"], top_k, p["hidden"]).sum(dim=1)

def check(out: torch.Tensor, ref: torch.Tensor, quant: str) -> tuple[bool, float]:
    """(passes, max |out - ref| / max |ref|) against TOLERANCE; NaN fails."""
    err = float((out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6))
    key = "w8a8" if quant in ("fp8_w8a8_block", "fp8_w8a8", "int8_w8a8") else "fp16" if out.dtype == torch.float16 else "bf16"
    return err <= TOLERANCE[key], err
