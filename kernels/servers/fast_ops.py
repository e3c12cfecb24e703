"""The servers' compiled elementwise ops as single Triton kernels (tritune's own code): SiLU-and-mul, the top-k sum,
and the activation quantizers (per group, per token, per tensor, static).

Each computes what the torch stand-ins in vllm_ops.py / sglang_ops.py compute, in the same fp32 arithmetic:
- divisions are tl.math.div_rn (IEEE round to nearest, as torch divides; Triton's `/` is approximate on a GPU),
  so scales and quantized values match the stand-ins bit for bit;
- int8 rounds half to even, as torch.round: clamping first to the integer range, then adding and subtracting
  1.5 * 2^23, which leaves the fp32 value rounded to an integer (exact for |v| < 2^22; the interpreter cannot
  run libdevice.rint);
- SiLU is x / (1 + exp(x)) as the compiled kernels write it; exp differs from torch's by an ulp or so, so
  outputs may differ from the stand-in's by one step of the output dtype.
They run where Triton runs: on CUDA tensors, or anywhere under TRITON_INTERPRET=1 (runs() says which).
"""

import contextlib
import os

import torch
import triton
import triton.language as tl

MAX_COLS = 16384  # the quantizer holds one row (or group) in one tile; longer rows take the torch stand-in


_torch_only = False
_anywhere = False


def div_scalar(t: torch.Tensor, d: float) -> torch.Tensor:
    """t / d with IEEE division everywhere. On a GPU torch divides by a Python scalar as a multiplication by its
    reciprocal (1/448 and 1/127 are not exact in fp32), so a scale amax / 448 could land one ulp away from the
    servers' compiled quantizers and these kernels, which divide; dividing by a tensor on t's device divides.
    torch.full fills on the device (no copy from the host), so this is CUDA-graph capturable."""
    return t / torch.full((), d, dtype=t.dtype, device=t.device)


def runs(t: torch.Tensor) -> bool:
    """Whether the stand-ins run these kernels on t: a CUDA tensor, or any tensor under Triton's CPU interpreter
    or inside anywhere() (and not inside torch_only())."""
    return not _torch_only and (_anywhere or t.is_cuda or os.environ.get("TRITON_INTERPRET") == "1")


@contextlib.contextmanager
def anywhere():
    """The stand-ins take these kernels on tensors of any device for the duration: a compile worker
    (kernels/servers/compiling.py) compiles them for its GPU target on CPU tensors and never runs them."""
    global _anywhere
    old, _anywhere = _anywhere, True
    try:
        yield
    finally:
        _anywhere = old


@contextlib.contextmanager
def torch_only():
    """The stand-ins run their torch versions for the duration (bench/server_ops.py times both)."""
    global _torch_only
    old, _torch_only = _torch_only, True
    try:
        yield
    finally:
        _torch_only = old


@triton.jit
def _silu_and_mul_kernel(
    # pointers
    in_ptr, out_ptr, expert_ids_ptr,
    # dimensions
    d, in_row_stride, out_row_stride, expert_step,
    # meta-parameters
    FILTER: tl.constexpr, BLOCK: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < d
    if FILTER:  # SGLang's JIT kernel leaves the rows of expert -1 unwritten
        mask = mask & (tl.load(expert_ids_ptr + row // expert_step) != -1)
    gate = tl.load(in_ptr + row * in_row_stride + cols, mask=mask, other=0.0).to(tl.float32)
    up = tl.load(in_ptr + row * in_row_stride + d + cols, mask=mask, other=0.0).to(tl.float32)
    y = tl.math.div_rn(gate, 1.0 + tl.exp(-gate)) * up
    tl.store(out_ptr + row * out_row_stride + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def silu_and_mul(out: torch.Tensor, x: torch.Tensor, expert_ids: torch.Tensor | None = None, expert_step: int = 1):
    """out[..., :] = silu(x[..., :d]) * x[..., d:] in fp32; with expert_ids, rows whose expert is -1 are skipped."""
    d = x.shape[-1] // 2
    x2, out2 = x.reshape(-1, 2 * d), out.reshape(-1, d)
    if x2.stride(-1) != 1 or out2.stride(-1) != 1 or (out2.numel() and out2.data_ptr() != out.data_ptr()):
        raise ValueError("silu_and_mul: rows must be contiguous and out a view of its storage")
    BLOCK = min(1024, triton.next_power_of_2(max(d, 16)))
    grid = (x2.shape[0], triton.cdiv(d, BLOCK))
    _silu_and_mul_kernel[grid](x2, out2, expert_ids if expert_ids is not None else x2, d, x2.stride(0), out2.stride(0),
                               expert_step, FILTER=expert_ids is not None, BLOCK=BLOCK)
    return out


@triton.jit
def _moe_sum_kernel(
    # pointers
    in_ptr, out_ptr,
    # dimensions
    hidden, in_row_stride, in_k_stride, out_row_stride, scale,
    # meta-parameters
    TOP_K: tl.constexpr, BLOCK: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < hidden
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for k in tl.static_range(TOP_K):
        acc += tl.load(in_ptr + row * in_row_stride + k * in_k_stride + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row * out_row_stride + cols, (acc * scale).to(out_ptr.dtype.element_ty), mask=mask)


def moe_sum(x: torch.Tensor, out: torch.Tensor, scale: float = 1.0) -> None:
    """out[t] = (sum over k of x[t, k], fp32, in order k = 0, 1, ...) * scale: [T, top_k, H] -> [T, H]."""
    T, K, H = x.shape
    if x.stride(-1) != 1 or out.stride(-1) != 1:
        raise ValueError("moe_sum: the hidden dimension must be contiguous")
    BLOCK = min(1024, triton.next_power_of_2(max(H, 16)))
    _moe_sum_kernel[(T, triton.cdiv(H, BLOCK))](x, out, H, x.stride(0), x.stride(1), out.stride(0), float(scale),
                                                TOP_K=K, BLOCK=BLOCK)


# the quantizers: one kernel over rows (a row is a token, or one group of a token), a scale per row
DYNAMIC, STATIC, TENSOR = 0, 1, 2  # scale from the row's amax / read from s_ptr / from the per-tensor partial maxima


@triton.jit
def _quant_kernel(
    # pointers
    x_ptr, q_ptr, s_ptr, partials_ptr,
    # dimensions: rows of `cols` values; row r is group r % rows_per_token of token r // rows_per_token
    rows, cols, x_row_stride, q_row_stride, rows_per_token, s_token_stride, s_group_stride, num_partials,
    # arithmetic: scale = max(amax, floor) / qmax; q = clamp(x / scale, qmin, qmax)
    floor, qmin, qmax,
    # meta-parameters
    SCALE: tl.constexpr, INT8: tl.constexpr, ROWS: tl.constexpr, BLOCK: tl.constexpr, PARTIALS: tl.constexpr,
):
    r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    c = tl.arange(0, BLOCK)
    row_ok = r < rows
    mask = row_ok[:, None] & (c[None, :] < cols)
    r64 = r.to(tl.int64)
    x = tl.load(x_ptr + r64[:, None] * x_row_stride + c[None, :], mask=mask, other=0.0).to(tl.float32)
    s_off = (r // rows_per_token) * s_token_stride + (r % rows_per_token) * s_group_stride
    if SCALE == 0:  # DYNAMIC
        amax = tl.max(tl.abs(x), axis=1)
        scale = tl.math.div_rn(tl.maximum(amax, floor), qmax)
        tl.store(s_ptr + s_off, scale, mask=row_ok)
    elif SCALE == 1:  # STATIC
        scale = tl.load(s_ptr + s_off, mask=row_ok, other=1.0)
    else:  # TENSOR
        p = tl.arange(0, PARTIALS)
        amax = tl.max(tl.load(partials_ptr + p, mask=p < num_partials, other=0.0), axis=0)
        scale = tl.zeros([ROWS], dtype=tl.float32) + tl.math.div_rn(tl.maximum(amax, floor), qmax)
        tl.store(s_ptr + r * 0, scale, mask=r == 0)
    v = tl.minimum(tl.maximum(tl.math.div_rn(x, scale[:, None]), qmin), qmax)
    if INT8:
        v = (v + 12582912.0) - 12582912.0  # 1.5 * 2^23: rounds to an integer, half to even
    tl.store(q_ptr + r64[:, None] * q_row_stride + c[None, :], v.to(q_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _amax_partials_kernel(x_ptr, partials_ptr, numel, programs, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    amax = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(pid * BLOCK, numel, programs * BLOCK):
        offs = start + tl.arange(0, BLOCK)
        amax = tl.maximum(amax, tl.abs(tl.load(x_ptr + offs, mask=offs < numel, other=0.0).to(tl.float32)))
    tl.store(partials_ptr + pid, tl.max(amax, axis=0))


def quant_fits(x: torch.Tensor, cols: int) -> bool:
    """Whether _quant_kernel takes rows of `cols` values of x (contiguous rows that fit one tile)."""
    return cols <= MAX_COLS and x.is_contiguous()


def quantize(x: torch.Tensor, q: torch.Tensor, s: torch.Tensor, cols: int, mode: int, qmin: float, qmax: float,
             floor: float = 0.0, s_strides: tuple[int, int] | None = None) -> None:
    """Quantize x (contiguous, viewed as rows of `cols`) into q with one scale per row, written to or read from s.

    s_strides: (per token, per group) strides of s where a token has several rows (groups); default: s is one
    value per row (DYNAMIC), or one value or one per row (STATIC, by its size), or one value (TENSOR)."""
    rows = x.numel() // cols
    if not q.is_contiguous():
        raise ValueError("quantize: the output must be contiguous")
    if rows == 0:
        return
    if s_strides is None:
        s_strides = (0, 0) if s.numel() == 1 else (1, 0)
    rows_per_token = 1 if s_strides[1] == 0 else x.shape[-1] // cols
    BLOCK = triton.next_power_of_2(max(cols, 16))
    ROWS = max(1, 4096 // BLOCK)
    partials, num_partials, PARTIALS = s, 1, 1
    if mode == TENSOR:
        num_partials = max(1, min(512, triton.cdiv(x.numel(), 4096)))
        PARTIALS = triton.next_power_of_2(num_partials)
        partials = torch.empty(num_partials, dtype=torch.float32, device=x.device)
        _amax_partials_kernel[(num_partials,)](x, partials, x.numel(), num_partials, BLOCK=4096, num_warps=8)
    _quant_kernel[(triton.cdiv(rows, ROWS),)](
        x, q, s, partials, rows, cols, cols, cols, rows_per_token, s_strides[0], s_strides[1], num_partials,
        float(floor), float(qmin), float(qmax), SCALE=mode, INT8=q.dtype == torch.int8, ROWS=ROWS, BLOCK=BLOCK,
        PARTIALS=PARTIALS, num_warps=8 if BLOCK * ROWS > 4096 else 4)
