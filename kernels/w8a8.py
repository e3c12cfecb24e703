"""W8A8 scaled matmul (families 'w8a8-int8' and 'w8a8-fp8'), the kernel vLLM ships as triton_scaled_mm.

    C[M, N] = (A[M, K] . B[N, K]^T) * scale_a * scale_b (+ bias[N])

A holds activations and B weights, both int8 (exact int32 accumulation) or fp8 e4m3 (fp32 accumulation);
scale_a is per-tensor [1] or per-token [M], scale_b per-tensor [1] or per-channel [N], fp32; bias and C
are bf16 or fp16. The kernel, its launcher, the reference and the problem builder live here; the module
implements kernels/family.py's interface.

Split-K (SPLIT_K > 1, for the memory-bound small-M regime, where a few output tiles cannot keep the SMs
busy): the K loop is dealt out over SPLIT_K CTAs per output tile; each adds its raw accumulator into a
workspace with atomics (int32 for int8: exact and order-independent, so results stay bit-identical to
SPLIT_K = 1; fp32 for fp8: order-dependent only in fp32 rounding), then bumps a per-tile counter. The
CTA that arrives last swaps the tile's sum out of the workspace (leaving zeros) and runs the epilogue,
then resets the counter. So there is no memset and no second launch; the workspace and counters are
zero between calls by construction. The price: launches that share a workspace must not run
concurrently on different streams (one stream per device here, as in graph timing and servers).
"""

import functools

import torch
import triton
import triton.language as tl

from . import protocol
from .tiles import grouped_tile

FAMILIES = ("w8a8-int8", "w8a8-fp8")
# A config's shared memory is the same at every M (M is not specialized): a compile worker that finds its binary
# over the device's limit answers for every M (kernels/triton_backend.py compile).
SHARED_MEMORY_BY_CONFIG = True
CONFIG_KEYS = protocol.CONFIG_KEYS["w8a8-int8"]
OUT_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@triton.jit
def _epilogue(acc, offs_m, offs_n, M, N, c_ptr, stride_cm, scale_a_ptr, scale_b_ptr, bias_ptr,
              SCALE_A_PER_TOKEN: tl.constexpr, SCALE_B_PER_CHANNEL: tl.constexpr, HAS_BIAS: tl.constexpr):
    mask_m = offs_m < M
    mask_n = offs_n < N
    if SCALE_A_PER_TOKEN:
        scale_a = tl.load(scale_a_ptr + offs_m, mask=mask_m, other=0.0)[:, None]
    else:
        scale_a = tl.load(scale_a_ptr)
    if SCALE_B_PER_CHANNEL:
        scale_b = tl.load(scale_b_ptr + offs_n, mask=mask_n, other=0.0)[None, :]
    else:
        scale_b = tl.load(scale_b_ptr)
    c = acc.to(tl.float32) * scale_a * scale_b
    if HAS_BIAS:  # added in fp32, before the one rounding to the output type
        c += tl.load(bias_ptr + offs_n, mask=mask_n, other=0.0).to(tl.float32)[None, :]
    c_ptrs = c_ptr + offs_m.to(tl.int64)[:, None] * stride_cm + offs_n[None, :]
    tl.store(c_ptrs, c.to(c_ptr.dtype.element_ty), mask=mask_m[:, None] & mask_n[None, :])


@triton.jit(do_not_specialize=["M"])  # one binary serves every M of a weight shape
def scaled_mm_kernel(
    # pointers
    a_ptr, b_ptr, c_ptr, scale_a_ptr, scale_b_ptr, bias_ptr, workspace_ptr, counters_ptr,
    # dimensions and row strides (the K dimension is contiguous in A, B and the workspace)
    M, N, K, stride_am, stride_bn, stride_cm,
    # problem options
    ACC_DTYPE: tl.constexpr, SCALE_A_PER_TOKEN: tl.constexpr, SCALE_B_PER_CHANNEL: tl.constexpr,
    HAS_BIAS: tl.constexpr, EVEN_K: tl.constexpr,
    # meta-parameters
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr, SPLIT_K: tl.constexpr,
):
    # pid swizzle: GROUP_SIZE_M rows of tiles are walked column by column so their B tiles stay in L2
    pid = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    pid_m, pid_n = grouped_tile(pid, num_pid_m, num_pid_n, GROUP_SIZE_M)

    # rows of A past M are masked, not wrapped: with M = 1 a wrapped tile would read one row BLOCK_SIZE_M
    # times in every CTA, a hot spot in L2 (measured 2x slower); rows of B past N are wrapped (last tile only)
    offs_m = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    row_ok = (offs_m < M)[:, None]
    offs_am = offs_m.to(tl.int64)
    offs_bn = (offs_n % N).to(tl.int64)
    offs_k = pid_k * BLOCK_SIZE_K + tl.arange(0, BLOCK_SIZE_K)
    a_ptrs = a_ptr + offs_am[:, None] * stride_am + offs_k[None, :]
    b_ptrs = b_ptr + offs_bn[None, :] * stride_bn + offs_k[:, None]

    # main loop: this CTA takes K blocks pid_k, pid_k + SPLIT_K, pid_k + 2 * SPLIT_K, ...
    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=ACC_DTYPE)
    for _ in range(0, tl.cdiv(K, BLOCK_SIZE_K * SPLIT_K)):
        if EVEN_K:
            a = tl.load(a_ptrs, mask=row_ok, other=0.0)
            b = tl.load(b_ptrs)
        else:
            a = tl.load(a_ptrs, mask=row_ok & (offs_k[None, :] < K), other=0.0)
            b = tl.load(b_ptrs, mask=offs_k[:, None] < K, other=0.0)
        acc = tl.dot(a, b, acc, out_dtype=ACC_DTYPE)
        offs_k += BLOCK_SIZE_K * SPLIT_K
        a_ptrs += BLOCK_SIZE_K * SPLIT_K
        b_ptrs += BLOCK_SIZE_K * SPLIT_K

    if SPLIT_K == 1:
        _epilogue(acc, offs_m, offs_n, M, N, c_ptr, stride_cm, scale_a_ptr, scale_b_ptr, bias_ptr,
                  SCALE_A_PER_TOKEN, SCALE_B_PER_CHANNEL, HAS_BIAS)
    else:
        # split-K: add into the workspace; the last of the tile's SPLIT_K CTAs finishes the tile
        tile_mask = (offs_m < M)[:, None] & (offs_n < N)[None, :]
        ws_ptrs = workspace_ptr + offs_m.to(tl.int64)[:, None] * N + offs_n[None, :]
        tl.atomic_add(ws_ptrs, acc, mask=tile_mask, sem="relaxed")
        tl.debug_barrier()  # every thread's adds are issued before the counter's release
        counter = counters_ptr + pid_m * num_pid_n + pid_n
        arrived = tl.atomic_add(counter, 1, sem="acq_rel")
        if arrived == SPLIT_K - 1:
            # swap the sum out as 32-bit words (int32 and fp32 alike), leaving zeros for the next call
            ws_words = ws_ptrs.to(tl.pointer_type(tl.int32))
            words = tl.atomic_xchg(ws_words, tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), tl.int32), mask=tile_mask)
            total = words.to(ACC_DTYPE, bitcast=True)
            tl.atomic_xchg(counter, 0)
            _epilogue(total, offs_m, offs_n, M, N, c_ptr, stride_cm, scale_a_ptr, scale_b_ptr, bias_ptr,
                      SCALE_A_PER_TOKEN, SCALE_B_PER_CHANNEL, HAS_BIAS)


_WORKSPACES: dict = {}  # (device, dtype) -> (workspace, counters): grow-only, zero between calls


def _split_k_buffers(device, acc_dtype: torch.dtype, elements: int, tiles: int):
    key = (str(device), acc_dtype)
    ws, counters = _WORKSPACES.get(key, (None, None))
    if ws is None or ws.numel() < elements or counters.numel() < tiles:
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            raise RuntimeError("split-K workspace must be sized by an eager launch before graph capture")
        ws = torch.zeros(max(elements, ws.numel() if ws is not None else 0), dtype=acc_dtype, device=device)
        counters = torch.zeros(max(tiles, 1024), dtype=torch.int32, device=device)
        _WORKSPACES[key] = (ws, counters)
    return ws, counters


class Inputs:
    """One input set of a problem: int8 / fp8 A and B, fp32 scales, optional bias, the output dtype."""

    def __init__(self, a, b, scale_a, scale_b, bias, out_dtype, per_token: bool, per_channel: bool):
        self.a, self.b, self.scale_a, self.scale_b, self.bias = a, b, scale_a, scale_b, bias
        self.out_dtype, self.per_token, self.per_channel = out_dtype, per_token, per_channel

    def nbytes(self) -> int:
        parts = (self.a, self.b, self.scale_a, self.scale_b, self.bias)
        return sum(t.numel() * t.element_size() for t in parts if t is not None)


def _run(kernel_fn, a, b, c, scale_a, scale_b, bias, ws, counters, M: int, N: int, K: int, strides: tuple,
         config: dict, per_token: bool, per_channel: bool, acc_int: bool):
    """The one place the kernel's arguments are spelled out: launch() runs it, compile_only() warms it up, so
    both meet the same specialization (Triton's cache key) by construction."""
    bm, bn, bk, split = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["SPLIT_K"]
    tiles = triton.cdiv(M, bm) * triton.cdiv(N, bn)
    return kernel_fn((tiles, split))(
        a, b, c, scale_a, scale_b, bias if bias is not None else c, ws, counters,
        M, N, K, *strides,
        ACC_DTYPE=tl.int32 if acc_int else tl.float32,
        SCALE_A_PER_TOKEN=per_token, SCALE_B_PER_CHANNEL=per_channel,
        HAS_BIAS=bias is not None, EVEN_K=K % (bk * split) == 0,
        BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=config["GROUP_SIZE_M"], SPLIT_K=split,
        num_warps=config["num_warps"], num_stages=config["num_stages"],
    )


def launch(family: str, inputs: Inputs, config: dict) -> torch.Tensor:
    """Run the kernel once; allocates C (graph-capturable once the split-K workspace is sized)."""
    a, b = inputs.a, inputs.b
    M, K = a.shape
    N = b.shape[0]
    c = torch.empty((M, N), dtype=inputs.out_dtype, device=a.device)
    acc_dtype = torch.int32 if a.dtype == torch.int8 else torch.float32
    split = config["SPLIT_K"]
    tiles = triton.cdiv(M, config["BLOCK_SIZE_M"]) * triton.cdiv(N, config["BLOCK_SIZE_N"])
    ws, counters = _split_k_buffers(a.device, acc_dtype, M * N, tiles) if split > 1 else (c, c)
    _run(lambda grid: scaled_mm_kernel[grid], a, b, c, inputs.scale_a, inputs.scale_b, inputs.bias, ws, counters,
         M, N, K, (a.stride(0), b.stride(0), c.stride(0)), config, inputs.per_token, inputs.per_channel, a.dtype == torch.int8)
    return c


def compile_only(family: str, problem: dict, config: dict):
    """Compile (or find in Triton's cache) the binary launch() would run for this problem, without touching a
    GPU: Triton's warmup with placeholder tensors (aligned, as real allocations are) and the active driver's
    target. M is not specialized, so one call serves every M of a weight shape."""
    from triton.runtime.jit import MockTensor

    ab = torch.int8 if family == "w8a8-int8" else torch.float8_e4m3fn
    out = OUT_DTYPES[problem["out_dtype"]]
    acc = torch.int32 if family == "w8a8-int8" else torch.float32
    c, f32 = MockTensor(out), MockTensor(torch.float32)
    ws, counters = (MockTensor(acc), MockTensor(torch.int32)) if config["SPLIT_K"] > 1 else (c, c)
    bias = MockTensor(out) if problem["bias"] else None
    return _run(lambda grid: functools.partial(scaled_mm_kernel.warmup, grid=grid), MockTensor(ab), MockTensor(ab), c,
                f32, f32, bias, ws, counters, problem["M"], problem["N"], problem["K"],
                (problem["K"], problem["K"], problem["N"]), config,
                problem["scale_a"] == "token", problem["scale_b"] == "channel", family == "w8a8-int8")


# ---- the family interface (kernels/family.py)

def normalize_problem(family: str, problem: dict) -> dict:
    return protocol.normalize_problem(family, problem)


def default_config(family: str, problem: dict) -> dict:
    """vLLM's default tile rule for triton_scaled_mm (its heuristic when no tuned table applies).

    Keyed on M only: mp2 = max(32, next_power_of_2(M)); small N is N < 8192. vLLM passes GROUP_SIZE_M = 1
    (plain row-major pid order) and leaves num_warps / num_stages at Triton's defaults, 4 and 3; it has
    no split-K, hence SPLIT_K = 1.
    """
    mp2 = max(32, triton.next_power_of_2(problem["M"]))
    if mp2 <= 32:
        tile = (64, 64, 256) if problem["N"] < 8192 else (64, 128, 256)
    elif mp2 <= 64:
        tile = (64, 64, 256)
    elif mp2 <= 128:
        tile = (64, 128, 128)
    else:
        tile = (128, 128, 128)
    return dict(zip(CONFIG_KEYS, (*tile, 1, 4, 3, 1)))


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    """Static checks; shared memory is left to Triton (its OutOfResources becomes 'invalid' in the worker)."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    extra = [k for k in config if k not in CONFIG_KEYS]
    if missing or extra:
        return f"config keys do not match {family}: missing {missing}, unknown {extra}"
    for key in ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps"):
        v = config[key]
        if v < 1 or v & (v - 1):
            return f"{key}={v} is not a power of two"
    if min(config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"]) < 16 or config["BLOCK_SIZE_K"] < 32:
        return "tl.dot on 8-bit inputs needs BLOCK_SIZE_M, BLOCK_SIZE_N >= 16 and BLOCK_SIZE_K >= 32"
    if not 1 <= config["num_stages"] <= 8 or config["num_warps"] > 16:
        return "num_stages must be in 1..8 and num_warps at most 16"
    k_blocks = triton.cdiv(problem["K"], config["BLOCK_SIZE_K"])
    if not 1 <= config["SPLIT_K"] <= k_blocks:
        return f"SPLIT_K={config['SPLIT_K']} must be in 1..{k_blocks} (K blocks of K={problem['K']})"
    return None


def make_inputs(family: str, problem: dict, device: str, seed: int = 0) -> Inputs:
    """Random quantized operands sized so that C is of order 1 (scales ~ 1 / typical |A . B^T|)."""
    gen = torch.Generator(device=device).manual_seed(seed)  # drawn on the device: fast for large weights
    M, N, K = problem["M"], problem["N"], problem["K"]
    kw = {"generator": gen, "device": device}
    if family == "w8a8-int8":
        a = torch.randint(-127, 128, (M, K), dtype=torch.int8, **kw)
        b = torch.randint(-127, 128, (N, K), dtype=torch.int8, **kw)
        typical = 127 * 127 / 3 * K**0.5
    else:
        a = (torch.randn((M, K), **kw) * 64).clamp(-448, 448).to(torch.float8_e4m3fn)
        b = (torch.randn((N, K), **kw) * 64).clamp(-448, 448).to(torch.float8_e4m3fn)
        typical = 64 * 64 * K**0.5
    base = typical**-0.5
    rows = M if problem["scale_a"] == "token" else 1
    cols = N if problem["scale_b"] == "channel" else 1
    scale_a = (torch.rand(rows, **kw) + 0.5) * base
    scale_b = (torch.rand(cols, **kw) + 0.5) * base
    out_dtype = OUT_DTYPES[problem["out_dtype"]]
    bias = torch.randn(N, **kw).to(out_dtype) if problem["bias"] else None
    return Inputs(a, b, scale_a, scale_b, bias, out_dtype, problem["scale_a"] == "token", problem["scale_b"] == "channel")


def reference(family: str, inputs: Inputs) -> torch.Tensor:
    """The exact result in float64 (8-bit products and their sums are exact in fp64 for any K < 2^30),
    scaled and biased in float64, returned as float32 (relative rounding 2^-24, far below the tolerances)."""
    acc = inputs.a.to(torch.float64) @ inputs.b.to(torch.float64).T
    out = acc * inputs.scale_a.to(torch.float64).reshape(-1, 1) * inputs.scale_b.to(torch.float64).reshape(1, -1)
    if inputs.bias is not None:
        out += inputs.bias.to(torch.float64).reshape(1, -1)
    return out.to(torch.float32)


_MANTISSA_BITS = {torch.bfloat16: 7, torch.float16: 10}


def check(family: str, out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    """Correctness gate. max_err is the largest |out - ref| as a fraction of the tolerance: passes iff <= 1.

    Tolerance per element: ulps * ulp_out(|ref|) + rel * max |ref| over the element's row.
    - int8: the int32 accumulation is exact; the only errors are the fp32 epilogue (acc * scale_a * scale_b
      + bias: a few fp32 roundings, <= 2^-22 of the largest term, and the terms are at most a few times
      the row's largest |ref|, hence rel = 2^-18) and the final rounding to bf16/fp16 (<= 1/2 ulp of the
      kernel, and ref is unrounded): ulps = 1. Any indexing, masking or scaling bug is far above this.
    - fp8: Hopper's fp8 MMAs accumulate with reduced internal precision (about 2^-13 per step, as cuBLAS's
      fast-accumulation mode; DeepSeek-V3 measured it), and those errors random-walk over K/32 steps:
      relative to the row's largest value, about sqrt(K/32) * 2^-13 <= 2^-9 for K <= 16384. rel = 2^-6
      leaves 8x headroom; ulps = 2 for the final rounding. A dropped K block or a wrong scale moves
      elements by 10-100 % of the row's largest value, far above it.
    """
    if out.shape != ref.shape:
        return False, float("inf")
    outf = out.to(torch.float32)
    if not torch.isfinite(outf).all():
        return False, float("inf")
    mag = ref.abs()
    row_max = mag.amax(dim=1, keepdim=True)
    bits = _MANTISSA_BITS[out.dtype]
    ulp = torch.exp2(torch.floor(torch.log2(mag.clamp_min(2.0**-14))) - bits)
    ulps, rel = (1.0, 2.0**-18) if family == "w8a8-int8" else (2.0, 2.0**-6)
    tol = ulps * ulp + rel * row_max
    err = float(((outf - ref).abs() / tol).max()) if out.numel() else 0.0
    return err <= 1.0, err


def flops(problem: dict) -> float:
    return 2.0 * problem["M"] * problem["N"] * problem["K"]


def input_bytes(problem: dict) -> float:
    M, N, K = problem["M"], problem["N"], problem["K"]
    scales = 4 * ((M if problem["scale_a"] == "token" else 1) + (N if problem["scale_b"] == "channel" else 1))
    return M * K + N * K + scales + (2 * N if problem["bias"] else 0)


def min_bytes(problem: dict) -> float:
    return input_bytes(problem) + 2 * problem["M"] * problem["N"]
