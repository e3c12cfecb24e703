"""One block-quantized W8A8 GEMM as the servers run it: problems, seeded inputs, the dequantize-then-matmul reference,
the correctness gate. Server-independent: the servers' launchers (kernels/servers/vllm_block.py, sglang_block.py)
take these inputs.

    C[M, N] = A[M, K] . W[N, K]^T, with
    W  fp8 e4m3 or int8, one fp32 scale per [block_n, block_k] block          (the checkpoint's weight_scale_inv)
    A  quantized at run time per token and block_k-column group, fp8 or int8  (per_token_group_quant_*)

The activation is quantized here in torch, with the arithmetic of the servers' own per-token-group quantizers
(absmax floored at 1e-10, scale = absmax / type max (vLLM: times 1 / type max), values clamped to the type's range and cast; int8 truncates
toward zero, as SGLang's Triton quantizer's cast does): test/python/servers/test_block.py checks it against vLLM's and
SGLang's Triton quantizers. What is timed is the GEMM alone, the one the tuned file configures.
"""

import functools
from dataclasses import dataclass

import torch

from . import compiling

QUANTS = ("fp8", "int8")
FP8 = torch.float8_e4m3fn
DTYPES = {"fp8": FP8, "int8": torch.int8}
OUT_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
EPS = 1e-10  # both servers' absmax floor
# max |out - ref| / max |ref|. The reference is the product of the dequantized operands in fp32; the kernel multiplies
# the same 8-bit values and applies the same scales per K tile, so what differs is summation order, the output's
# rounding (bf16: 2^-9 relative, fp16: 2^-11) and, on Hopper, the fp8 MMA's reduced-precision accumulation (about
# 2^-13 per step) inside each K tile only: each tile's dot is scaled into the fp32 accumulator (at most 128 values,
# then fp32), a few 1e-4 of max |ref| for K up to 16384. A wrong scale or a lost K tile is of order 1 (measured 0.14).
TOLERANCE = {"bf16": 1e-2, "fp16": 2e-3}


def qrange(quant: str) -> tuple[float, float]:
    """(min, max) the quantizers clamp to: fp8 e4m3 +-448, int8 [-128, 127]."""
    if quant == "int8":
        return -128.0, 127.0
    fmax = torch.finfo(FP8).max
    return -fmax, fmax


def normalize_problem(problem: dict) -> dict:
    """Fill defaults and check a problem; ValueError with a one-line reason."""
    p = {"quant": "fp8", "block_n": 128, "block_k": 128, "out_dtype": "bf16", "seed": 0, **problem}
    for key in ("M", "N", "K", "block_n", "block_k"):
        if not isinstance(p.get(key), int) or p[key] <= 0:
            raise ValueError(f"problem needs a positive integer {key!r}")
    if p["quant"] not in QUANTS:
        raise ValueError(f"unknown quant {p['quant']!r} (known: {', '.join(QUANTS)})")
    if p["out_dtype"] not in OUT_DTYPES:
        raise ValueError(f"out_dtype must be one of {', '.join(OUT_DTYPES)}")
    if p["K"] % p["block_k"]:
        raise ValueError(f"K {p['K']} is not a multiple of block_k {p['block_k']} (the activation quantizer needs whole groups)")
    return p


@dataclass
class Inputs:
    """What a server's launcher takes, and the block shape it is told."""

    problem: dict
    a: torch.Tensor  # [M, K] fp8 / int8, the quantized activation
    a_scale: torch.Tensor  # [M, K / block_k] fp32, row-major
    w: torch.Tensor  # [N, K] fp8 / int8
    w_scale: torch.Tensor  # [cdiv(N, block_n), K / block_k] fp32
    out_dtype: torch.dtype

    @property
    def block_size(self) -> list[int]:
        return [self.problem["block_n"], self.problem["block_k"]]


def quantize_activation(x: torch.Tensor, quant: str, group: int, reciprocal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Per token and group of `group` columns: (q [M, K], scales [M, K / group] fp32), as the servers quantize;
    `reciprocal`: the scale as absmax * (1 / type max), as vLLM's Triton quantizer computes it (SGLang's divides)."""
    qmin, qmax = qrange(quant)
    g = x.float().reshape(x.shape[0], -1, group)
    amax = g.abs().amax(dim=2, keepdim=True).clamp(min=EPS)
    scale = amax * (1.0 / qmax) if reciprocal else amax / qmax
    q = (g / scale).clamp(qmin, qmax).to(DTYPES[quant])
    return q.reshape(x.shape), scale.squeeze(2).contiguous()


def quantize_weight(w: torch.Tensor, quant: str, block_n: int, block_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One scale per [block_n, block_k] block (the last row block may be partial): (q [N, K], scales fp32)."""
    N, K = w.shape
    rows = -(-N // block_n) * block_n
    padded = torch.nn.functional.pad(w.float(), (0, 0, 0, rows - N))
    blocks = padded.reshape(rows // block_n, block_n, K // block_k, block_k)
    qmin, qmax = qrange(quant)
    scale = blocks.abs().amax(dim=(1, 3)).clamp(min=EPS) / qmax
    q = blocks / scale[:, None, :, None]
    q = (torch.round(q) if quant == "int8" else q).clamp(qmin, qmax).to(DTYPES[quant])
    return q.reshape(rows, K)[:N].contiguous(), scale.contiguous()


def dequantize(q: torch.Tensor, scale: torch.Tensor, block_rows: int, block_cols: int) -> torch.Tensor:
    """fp32 values of a quantized tensor whose scales cover [block_rows, block_cols] tiles."""
    s = scale.repeat_interleave(block_rows, dim=0)[: q.shape[0]].repeat_interleave(block_cols, dim=1)[:, : q.shape[1]]
    return q.float() * s


def make_inputs(problem: dict, device, seed: int = 0, reciprocal: bool = False) -> Inputs:
    """Seeded inputs on `device`: the activation drawn on the CPU (identical on every machine) and quantized on
    `device` (quantize_activation); the weight drawn and quantized on `device` and shared by every M of a shape."""
    p = normalize_problem(problem)
    gen = torch.Generator().manual_seed(seed * 1000003 + p["seed"])
    x = torch.randn(p["M"], p["K"], generator=gen).to(OUT_DTYPES[p["out_dtype"]]).to(device)
    a, a_scale = quantize_activation(x, p["quant"], p["block_k"], reciprocal)
    w, w_scale = _weight(p["N"], p["K"], p["quant"], p["block_n"], p["block_k"], seed * 1000003 + p["seed"], str(device))
    return Inputs(p, a, a_scale, w, w_scale, OUT_DTYPES[p["out_dtype"]])


def compile_inputs(problem: dict) -> Inputs:
    """Inputs for compiling the GEMM on the CPU (kernels/servers/compiling.py): shaped, typed and strided as
    make_inputs makes them, never written (the quantization run on meta tensors gives the layout)."""
    p = normalize_problem(problem)
    out = OUT_DTYPES[p["out_dtype"]]
    a, a_scale = quantize_activation(torch.empty(p["M"], p["K"], dtype=out, device="meta"), p["quant"], p["block_k"])
    w, w_scale = quantize_weight(torch.empty(p["N"], p["K"], device="meta"), p["quant"], p["block_n"], p["block_k"])
    return Inputs(p, *(compiling.unwritten(t) for t in (a, a_scale, w, w_scale)), out)


@functools.lru_cache(maxsize=4)
def _weight(N: int, K: int, quant: str, block_n: int, block_k: int, seed: int, device: str) -> tuple:
    gen = torch.Generator(device=device).manual_seed(seed)
    w = torch.randn(N, K, generator=gen, device=device) / K**0.5
    return quantize_weight(w, quant, block_n, block_k)


def reference(inputs: Inputs) -> torch.Tensor:
    """Dequantize both operands, then one fp32 matmul -> [M, N] fp32."""
    p = inputs.problem
    a = dequantize(inputs.a, inputs.a_scale, 1, p["block_k"])
    w = dequantize(inputs.w, inputs.w_scale, p["block_n"], p["block_k"])
    return a @ w.T


def check(out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    """(passes, max |out - ref| / max |ref|) against TOLERANCE by the output dtype; NaN fails."""
    err = float((out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6))
    return err <= TOLERANCE["fp16" if out.dtype == torch.float16 else "bf16"], err


def flops(p: dict) -> float:
    return 2.0 * p["M"] * p["N"] * p["K"]


def min_bytes(p: dict) -> float:
    """The weight and its block scales, the quantized activation and its group scales read once, the 16-bit output
    written once."""
    bn, bk = p.get("block_n", 128), p.get("block_k", 128)
    M, N, K = p["M"], p["N"], p["K"]
    return N * K + -(-N // bn) * (K // bk) * 4 + M * K + M * (K // bk) * 4 + 2 * M * N
