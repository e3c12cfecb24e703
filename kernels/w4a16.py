"""W4A16 dense GEMM: C[M, N] = A[M, K] . dequant(W)[N, K]^T, int4 weights (AWQ / GPTQ checkpoints).

The kernel's layout (what it reads; W is logically [N, K] = out x in, g = group size, G = K/g groups, per-channel
means g = K, G = 1):

    a        [M, K]          bf16 | fp16, row-major (the activations).
    qweight  [N, K/8] int32  packed along K, in the AWQ nibble order: word (n, p) holds W[n, 8p .. 8p+7], element j in
                             nibble [0,4,1,5,2,6,3,7][j] (bits 4i..4i+3 = nibble i), so that nibbles j and j+4 hold the
                             consecutive elements 2j and 2j+1 (kernels/w4a16_mma.py turns each such pair into an MMA
                             operand register with one shift and one LOP3).
    scales   [G, N]          same dtype as a (scale of group k // g, column n).
    qzeros   [G, ceil(N/8)] int32, packed along N in the AWQ order: word (r, c) holds the zero points of columns
                             8c .. 8c+7. Only with zero_points; without them the zero point is the constant 8.
    dequant:                 W[n, k] = (q[n, k] - z[k // g, n]) * s[k // g, n]   (q, z in 0..15).

No checkpoint stores this, so it is converted once at load (kernels/w4a16_pack.py): `awq_to_kernel_layout` takes an
AWQ qweight [K, N/8] (its qzeros and scales are used as they are), `gptq_to_kernel_layout` a GPTQ qweight [K/8, N]
and its qzeros (plain nibble order, zero - 1 in the v1 format).

One kernel for every M (kernels/w4a16_mma.py): the transposed product on tensor cores, the weight tile on the MMA's
wide side, q - z (exact small integers) in the MMA and the group scale applied to each K block's fp32 product (a K
block over several groups, as BLOCK_SIZE_K 128 at g32: the scales in the weights, SCALE_W in kernels/w4a16_mma.py).
Packing, quantization, inputs and the reference live in kernels/w4a16_pack.py.

Meta-parameters (the W4A16Entry config of src/schema/config.ts):
    BLOCK_SIZE_M  tokens per tile (the MMA's narrow side: 16 at decode, up to 256 at prefill).
    BLOCK_SIZE_N  output columns per tile (the MMA's wide side, 64 rows per warp group).
    BLOCK_SIZE_K  K per block; it and the group size nest (one divides the other). A block within one group scales
              its fp32 product; a block over several groups scales its weights (SCALE_W), one HMUL2 per pair.
    GROUP_SIZE_M, num_warps, num_stages as in Triton's matmul tutorial.
    K_UNROLL  K blocks of BLOCK_SIZE_K processed per main-loop iteration (an unrolled inner tl.static_range), so one
              iteration covers K_UNROLL * BLOCK_SIZE_K of K. The split-K share of each program is a whole number of
              iterations: split s of n = cdiv(K, BLOCK_SIZE_K*K_UNROLL) iterations runs [s*n//SPLIT_K,
              (s+1)*n//SPLIT_K), so splits differ by at most one iteration and SPLIT_K <= n is the rule; a K tail is
              masked (EVEN_K=False), otherwise there are no K masks at all. K is a runtime argument.
    SPLIT_K   programs that share the K range of one output tile. Each writes its fp32 partial to a
              workspace, then increments a per-tile counter; the program that arrives last sums the
              partials in split order (deterministic), writes C and resets the counter to zero (the
              counters live in the inputs, zeroed once at make_inputs). One launch, no memset.
    DEQUANT_GEMM  optional, 0 when absent: 1 takes the prefill path (kernels/w4a16_dequant.py), W dequantized once by
              a Triton pass tiled by BLOCK_SIZE_N x BLOCK_SIZE_K with num_warps, then F.linear; the other keys take
              the fixed values of DEQUANT_FIXED. default_config takes it from M = 512.
    TMA       optional, 0 when absent: 1 loads the packed words of each weight tile through a TMA tensor descriptor
              (one bulk copy a tile and stage, zero-filled past N and K) instead of per-thread loads; the rest of the
              kernel is the same. Hopper (sm_90) and later; K a multiple of 32, so that a row of words is a whole
              number of 16 bytes. Not with DEQUANT_GEMM.
    REG_A     optional, 0 when absent: 1 takes the Gluon prefill path (kernels/w4a16_gluon_prefill.py, Hopper): the
              transposed product with the dequantized weights straight into the wgmma's register operand, the
              activations and the packed words (as they are) by TMA through a ring of num_stages slots. BLOCK_SIZE_M
              is the token tile (the wgmma's n: 64, 128 or 256), BLOCK_SIZE_N the weight rows (16 a warp, a multiple
              of 16 x num_warps), BLOCK_SIZE_K 64 or 128 inside one group, GROUP_SIZE_M the token tiles walked weight
              tile by weight tile; SPLIT_K and K_UNROLL take 1 (REG_A_FIXED). bf16 activations, from REG_A_MIN_M
              tokens. Not with DEQUANT_GEMM or TMA. Its module is imported on first use: a Triton without Gluon's Hopper
              modules refuses REG_A by a rule and runs the rest of the family.
"""

import functools
import os

import torch
import torch.nn.functional as F
from triton.tools.tensor_descriptor import TensorDescriptor

from kernels.compile_only import placeholder
from kernels.w4a16_dequant import dequant_kernel
from kernels.w4a16_mma import w4a16_kernel
from kernels.w4a16_pack import (  # noqa: F401 -- the family interface (kernels/family.py) is this module
    ACT_DTYPES, AWQ_ORDER, FAMILIES, W4A16Inputs, _cdiv, awq_to_kernel_layout, gptq_to_kernel_layout,
    dequantize, make_inputs, normalize_problem, pack_int4, quantize, reference, unpack_int4,
)

CONFIG_KEYS = (
    "BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M",
    "num_warps", "num_stages", "SPLIT_K", "K_UNROLL",
)
# DEQUANT_GEMM (optional, absent = 0): 1 runs the prefill path of kernels/w4a16_dequant.py instead of the fused kernel:
# its BLOCK_SIZE_N, BLOCK_SIZE_K and num_warps tile the dequantization, then F.linear (cuBLAS) multiplies. The keys it
# does not read take one value each (DEQUANT_FIXED), so the space holds no twins of one binary; it is refused below
# DEQUANT_MIN_M tokens, where the dense GEMM is memory-bound and writing W costs more than it saves.
OPTIONAL_CONFIG_KEYS = ("DEQUANT_GEMM", "TMA", "REG_A")
# TMA (optional, absent = 0): the weight tile's packed words through a tensor descriptor (module docstring). A row of
# K/8 words must be a multiple of 16 bytes: K % TMA_K_MULTIPLE == 0.
TMA_K_MULTIPLE = 32
DEQUANT_FIXED = {"BLOCK_SIZE_M": 16, "GROUP_SIZE_M": 8, "num_stages": 2, "SPLIT_K": 1, "K_UNROLL": 1}
DEQUANT_MIN_M = 256
# REG_A (optional, absent = 0): the Gluon prefill path (module docstring); the keys it does not read take one value.
# Refused below REG_A_MIN_M tokens, where a token tile of 64 or more is mostly empty and the product memory-bound.
REG_A_FIXED = {"SPLIT_K": 1, "K_UNROLL": 1}
REG_A_MIN_M = 256
DEQUANT_DEFAULT_M = 512  # default_config takes the prefill path from here (docs/BENCHMARKS.md)
# A split-K workspace is SPLIT_K * M * N fp32; beyond this a config is refused (memory, and it cannot win).
MAX_WORKSPACE_BYTES = 1 << 30
# fp32 accumulator registers per thread (BLOCK_SIZE_N * BLOCK_SIZE_M / threads) beyond which a config spills.
MAX_ACC_PER_THREAD = 128
# The binary's shared memory depends on the config alone (one binary for every M): over the limit means for every M.
SHARED_MEMORY_BY_CONFIG = True
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def default_config(family: str, problem: dict) -> dict:
    """The untuned baseline: one fixed tile per regime (decode below 256 tokens, prefill above), the K block at the
    group size (at most 128); at decode 128 wherever it nests with the group (over several small groups the kernel
    scales the weights, 1.2-1.9x faster at g32 than a block of 32 on an H200: docs/BENCHMARKS.md)."""
    g = problem["group_size"]
    bk = 128 if g == -1 else min(128, g)
    if problem["M"] >= DEQUANT_DEFAULT_M:
        return {**DEQUANT_FIXED, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": bk, "num_warps": 4, "DEQUANT_GEMM": 1, "TMA": 0,
                "REG_A": 0}
    if problem["M"] < 256:
        return {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 128 if _nest(128, g) else bk, "GROUP_SIZE_M": 8,
                "num_warps": 4, "num_stages": 3, "SPLIT_K": 1, "K_UNROLL": 1, "DEQUANT_GEMM": 0, "TMA": 0, "REG_A": 0}
    return {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": 8,
            "num_warps": 8, "num_stages": 3, "SPLIT_K": 1, "K_UNROLL": 1, "DEQUANT_GEMM": 0, "TMA": 0, "REG_A": 0}


@functools.cache
def _reg_a():
    """(kernels/w4a16_gluon_prefill.py, None), or (None, why) on a Triton without Gluon's Hopper modules."""
    try:
        from kernels import w4a16_gluon_prefill
    except ImportError as e:
        return None, f"REG_A needs Triton's Gluon Hopper modules (triton.experimental.gluon), not here: {e}"
    return w4a16_gluon_prefill, None


def _reg_a_reason(problem: dict, config: dict) -> str | None:
    """The REG_A path's rules: a path of its own, its fixed keys, from REG_A_MIN_M tokens, Gluon there, then the
    kernel's (kernels/w4a16_gluon_prefill.py invalid_reason: bf16, the K block, the tiles, the registers, shared
    memory)."""
    if config.get("DEQUANT_GEMM", 0) or config.get("TMA", 0):
        return "REG_A is a path of its own: not with DEQUANT_GEMM or TMA"
    other = [f"{k}={config[k]}" for k, v in REG_A_FIXED.items() if config[k] != v]
    if other:
        return f"REG_A takes {', '.join(f'{k}={v}' for k, v in REG_A_FIXED.items())}, not {', '.join(other)}"
    if problem["M"] < REG_A_MIN_M:
        return f"REG_A at M={problem['M']} < {REG_A_MIN_M}: a token tile of 64 or more, mostly empty"
    if config["BLOCK_SIZE_M"] not in (64, 128, 256):  # the kernel takes 16 and 32 too (a decode probe)
        return f"REG_A: BLOCK_SIZE_M {config['BLOCK_SIZE_M']} (the wgmma's n) must be 64, 128 or 256"
    module, why = _reg_a()
    return why or module.invalid_reason(problem, config)


def _nest(bk: int, g: int) -> bool:
    """A K block and the group nest (one divides the other); per-channel (g = -1) always does."""
    return g == -1 or (bk % g if bk > g else g % bk) == 0


def _smem_bytes(problem: dict, config: dict) -> int:
    """Shared memory, an upper bound: num_stages * K_UNROLL copies of the A tile and the packed-W tile (the weights go
    from there to registers, where the MMA takes them), plus the fp32 tile the epilogue transposes. A block over
    several groups (SCALE_W) also pipelines each word's scale and zero-point word: 6 bytes per packed word (fitted on
    the binaries compiled for sm_90, never under)."""
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    per_stage = bm * bk * 2 + bk * bn // 2
    g = problem["group_size"]
    if g != -1 and bk > g:
        per_stage += bn * (bk // 8) * 6
    return config["num_stages"] * config["K_UNROLL"] * per_stage + bm * bn * 4


SMEM_LIMIT = 227 * 1024  # H100/H200 opt-in shared memory per block


def shared_memory_bytes(family: str, problem: dict, config: dict) -> int:
    """The shared-memory estimate invalid_reason checks (the family interface's name for _smem_bytes; REG_A: its
    ring's)."""
    if config.get("REG_A", 0):
        module, _ = _reg_a()
        return module.smem_bytes(config) if module else 0  # (without Gluon a rule refuses REG_A before this counts)
    return _smem_bytes(problem, config)


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    """Static rules: what cannot run or is wasted work by construction. K_UNROLL needs no divisibility (tails are
    masked); a K block and the quantization group nest (one divides the other)."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        return f"config lacks {', '.join(missing)}"
    extra = [k for k in config if k not in CONFIG_KEYS + OPTIONAL_CONFIG_KEYS]
    if extra:
        return f"unknown config key(s) {', '.join(extra)}"
    for k in CONFIG_KEYS:
        v = config[k]
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            return f"{k}={v!r} must be a positive integer"
        if k not in ("num_stages", "SPLIT_K") and v & (v - 1):
            return f"{k}={v} must be a power of two"
    for k in OPTIONAL_CONFIG_KEYS:
        if config.get(k, 0) not in (0, 1):
            return f"{k}={config[k]!r} must be 0 or 1"
    if config.get("REG_A", 0):
        return _reg_a_reason(problem, config)
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    split, unroll = config["SPLIT_K"], config["K_UNROLL"]
    M, N, K, g = problem["M"], problem["N"], problem["K"], problem["group_size"]
    if config.get("DEQUANT_GEMM", 0):
        if M < DEQUANT_MIN_M:
            return f"DEQUANT_GEMM at M={M} < {DEQUANT_MIN_M}: the GEMM is memory-bound, writing W costs more"
        other = [f"{k}={config[k]}" for k, v in DEQUANT_FIXED.items() if config[k] != v]
        if other:
            return f"DEQUANT_GEMM takes {', '.join(f'{k}={v}' for k, v in DEQUANT_FIXED.items())}, not {', '.join(other)}"
    if config.get("TMA", 0):
        if config.get("DEQUANT_GEMM", 0):
            return "TMA is a path of the fused kernel, not of DEQUANT_GEMM"
        if K % TMA_K_MULTIPLE:
            return f"TMA needs K % {TMA_K_MULTIPLE} == 0 (rows of packed words in whole 16 bytes), K={K}"
    if min(bm, bn, bk) < 16:
        return "BLOCK_SIZE_M/N/K must be >= 16 (tl.dot)"
    if not _nest(bk, g):
        return f"BLOCK_SIZE_K={bk} and group_size={g} do not nest (one must divide the other)"
    iters = _cdiv(K, bk * unroll)
    if split > iters:
        return (f"SPLIT_K={split} > {iters} main-loop iterations (BLOCK_SIZE_K*K_UNROLL={bk * unroll} over "
                f"K={K}): empty splits")
    if bk * unroll > 2 * K:
        return f"BLOCK_SIZE_K*K_UNROLL={bk * unroll} > 2*K={2 * K}: mostly masked work"
    if split > 1 and split * M * N * 4 > MAX_WORKSPACE_BYTES:
        return f"split-K workspace {split}*M*N*4 bytes > {MAX_WORKSPACE_BYTES}"
    per_thread = bm * bn // (32 * config["num_warps"])
    if per_thread > MAX_ACC_PER_THREAD:
        return (f"accumulator BLOCK_SIZE_M*BLOCK_SIZE_N/threads = {per_thread} fp32 registers per thread > "
                f"{MAX_ACC_PER_THREAD}")
    smem = _smem_bytes(problem, config)
    if smem > SMEM_LIMIT:
        return f"needs ~{smem} bytes of shared memory > {SMEM_LIMIT}"
    return None


def _run(kernel_fn, a, qweight, scales, zeros, c, ws, counters, problem: dict, config: dict):
    """The one place the kernel's arguments are spelled out: launch() runs it, compile_only() warms it up, so both
    meet the same specialization (Triton's cache key) by construction. kernel_fn(kernel, grid) -> the callable."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    split, unroll = config["SPLIT_K"], config["K_UNROLL"]
    g = problem["group_size"]
    if not _nest(bk, g):  # the rule whose breach gives wrong numbers
        raise ValueError(f"w4a16: BLOCK_SIZE_K {bk} and group_size {g} do not nest: one must divide the other")
    tma = bool(config.get("TMA", 0))
    if tma and K % TMA_K_MULTIPLE:  # the descriptor would refuse it with a bare assertion
        raise ValueError(f"w4a16: TMA needs K % {TMA_K_MULTIPLE} == 0 (rows of packed words in whole 16 bytes), K={K}")
    if tma:  # the words through a descriptor: [N, K/8] int32 in tiles of [BLOCK_SIZE_N, BLOCK_SIZE_K/8]
        qweight = TensorDescriptor(qweight, [N, K // 8], [K // 8, 1], [bn, bk // 8])
    kernel_fn(w4a16_kernel, (_cdiv(M, bm) * _cdiv(N, bn), split))(
        a, qweight, scales, zeros, c, ws, counters, M, N, K, K // 8, _cdiv(N, 8),
        GROUP=0 if problem["group_size"] == -1 else problem["group_size"], HAS_ZP=problem["zero_points"],
        FP16=problem["act_dtype"] == "fp16", EVEN_K=K % (bk * unroll) == 0, SCALE_W=g != -1 and bk > g,
        INTERPRET=_INTERPRET,
        BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=config["GROUP_SIZE_M"],
        SPLIT_K=split, K_UNROLL=unroll, TMA=tma, num_warps=config["num_warps"], num_stages=config["num_stages"],
    )


def _run_dequant(kernel_fn, qweight, scales, zeros, w, problem: dict, config: dict):
    """The dequantization pass of the prefill path, its arguments spelled out once (as _run for the fused kernel)."""
    N, K = problem["N"], problem["K"]
    bn, bk = config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    kernel_fn(dequant_kernel, (_cdiv(N, bn), _cdiv(K, bk)))(
        qweight, scales, zeros, w, N, K, K // 8, _cdiv(N, 8),
        GROUP=0 if problem["group_size"] == -1 else problem["group_size"], HAS_ZP=problem["zero_points"],
        BLOCK_N=bn, BLOCK_K=bk, num_warps=config["num_warps"],
    )


def launch(family: str, inputs: W4A16Inputs, config: dict) -> torch.Tensor:
    """One kernel launch; allocates C (and the split-K workspace, uninitialized) and returns C. With DEQUANT_GEMM,
    the dequantization pass into a fresh W [N, K] (a server would keep one such buffer for its largest layer), then
    F.linear. With REG_A, the Gluon prefill kernel."""
    p, a = inputs.problem, inputs.a
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight  # unused without zero points
    if config.get("REG_A", 0):
        reason = _reg_a_reason(p, config)  # its kernel has no masks for what the rules keep out
        if reason:
            raise ValueError(f"w4a16: {reason}")
        c = torch.empty((p["M"], p["N"]), dtype=a.dtype, device=a.device)
        _reg_a()[0].run_reg_a(lambda kernel, grid: kernel[grid], a, inputs.qweight, inputs.scales, zeros, c, p, config)
        return c
    if config.get("DEQUANT_GEMM", 0):
        w = torch.empty((p["N"], p["K"]), dtype=a.dtype, device=a.device)
        _run_dequant(lambda kernel, grid: kernel[grid], inputs.qweight, inputs.scales, zeros, w, p, config)
        return F.linear(a, w)
    split = config["SPLIT_K"]
    c = torch.empty((p["M"], p["N"]), dtype=a.dtype, device=a.device)
    ws = torch.empty((split, p["M"], p["N"]), dtype=torch.float32, device=a.device) if split > 1 else c
    _run(lambda kernel, grid: kernel[grid], a, inputs.qweight, inputs.scales, zeros, c, ws, inputs.counters, p, config)
    return c


def compile_only(family: str, problem: dict, config: dict):
    """Compile (or find in Triton's cache) the binary launch() would run for this problem, without a GPU: Triton's
    warmup with placeholder tensors (aligned, as fresh allocations are) on the active driver's target. M itself is
    not specialized (compile_variant)."""
    act, i32 = placeholder(ACT_DTYPES[problem["act_dtype"]]), placeholder(torch.int32)
    if config.get("REG_A", 0):
        module, why = _reg_a()
        if why:
            raise ValueError(f"w4a16: {why}")
        module.run_reg_a(lambda kernel, grid: functools.partial(kernel.warmup, grid=grid), act, i32, act, i32, act,
                         problem, config)
        return
    if config.get("DEQUANT_GEMM", 0):
        _run_dequant(lambda kernel, grid: functools.partial(kernel.warmup, grid=grid), i32, act, i32, act, problem,
                     config)
        return
    ws = placeholder(torch.float32) if config["SPLIT_K"] > 1 else act
    _run(lambda kernel, grid: functools.partial(kernel.warmup, grid=grid), act, i32, act, i32, act, ws, i32,
         problem, config)


def compile_variant(family: str, problem: dict) -> dict:
    """What decides the binary: the problem without M (the kernel takes M unspecialized)."""
    return {k: v for k, v in problem.items() if k != "M"}


# Correctness gate: max |out - ref| / max |ref|. The reference rounds each dequantized weight to the activation dtype
# (relative 2^-9 for bf16, 2^-12 for fp16), the kernel rounds the output; both accumulate in fp32; 10x margin (as moe).
_TOLERANCE = {torch.bfloat16: 2e-2, torch.float16: 5e-3}


def check(family: str, out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    """(passes, error as a fraction of the tolerance: max |out - ref| / max |ref| / tolerance; passes iff <= 1)."""
    if out.shape != ref.shape or not torch.isfinite(out).all():
        return False, float("inf")
    err = ((out.float() - ref).abs().max() / ref.abs().max().clamp(min=1e-6)).item() / _TOLERANCE[out.dtype]
    return err <= 1.0, err


def _groups(problem: dict) -> int:
    return 1 if problem["group_size"] == -1 else problem["K"] // problem["group_size"]


def flops(problem: dict) -> float:
    return 2.0 * problem["M"] * problem["N"] * problem["K"]


def input_bytes(problem: dict) -> float:
    """A, packed W, scales and packed zero points (2-byte activations and scales)."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    G = _groups(problem)
    zp = G * _cdiv(N, 8) * 4 if problem.get("zero_points", True) else 0
    return 2.0 * M * K + N * K / 2 + 2.0 * G * N + zp


def min_bytes(problem: dict) -> float:
    """Read every input once and write C once."""
    return input_bytes(problem) + 2.0 * problem["M"] * problem["N"]
