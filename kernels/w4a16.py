"""W4A16 dense GEMM: C[M, N] = A[M, K] . dequant(W)[N, K]^T, int4 weights (AWQ / GPTQ checkpoints).

Layouts (what the kernel reads; W is logically [N, K] = out x in, g = group size, G = K/g groups,
per-channel means g = K, G = 1):

    a        [M, K]          bf16 | fp16, row-major (the activations).
    qweight  [K/8, N] int32  packed along K (the GPTQ layout): word (p, n) holds W[n, 8p .. 8p+7].
                             Nibble order inside a word (bits 4i..4i+3 = nibble i):
                               'plain': nibble i holds element 8p + i                 (GPTQ's order);
                               'awq':   nibble i holds element 8p + [0,2,4,6,1,3,5,7][i]  (AWQ's interleave),
                                        i.e. element j sits in nibble [0,4,1,5,2,6,3,7][j].
                             Both orders are read natively (a constexpr shift table), no conversion.
    scales   [G, N]          same dtype as a (scale of group k // g, column n).
    qzeros   [G, ceil(N/8)] int32, packed along N (the GPTQ/AWQ qzeros layout) with the same nibble order
                             as qweight: word (r, c) holds the zero points of columns 8c .. 8c+7.
                             Only with zero_points; without them the zero point is the constant 8.
    dequant:                 W[n, k] = (q[n, k] - z[k // g, n]) * s[k // g, n]   (q, z in 0..15).

AWQ checkpoints store qweight as [K, N/8] (packed along N, AWQ order): `awq_to_kernel_layout` repacks
such a tensor once at load; GPTQ checkpoints ([K/8, N], plain order; zeros stored minus one in the v1
format -- add one at load) already match.

Two kernels, chosen by the config (so the tuner chooses):
    BLOCK_SIZE_M = 16   the GEMV path, kernels/w4a16_gemv.py: CUDA-core multiply-adds in fp32 registers, no
                        tl.dot, no shared memory for the weights; a program takes min(16, next_pow2(M)) rows
                        of A, so M=1 does one row's work. For decode.
    BLOCK_SIZE_M >= 32  the tl.dot path, kernels/w4a16_dot.py: tensor cores, the dequantized tile built in
                        registers and handed to tl.dot.
    SWAP_AB = 1         (optional key, absent = 0) the tl.dot path computing the transposed product, the weight
                        tile on the MMA's wide side and the tokens on its narrow one; BLOCK_SIZE_M 16 then runs it
                        instead of the GEMV. In the exhaustive space only so far (the default space's exhaustive
                        journals were recorded without it); bench/w4a16_swap.py measures it.
Packing, quantization, inputs and the reference live in kernels/w4a16_pack.py.

Meta-parameters (the W4A16Entry config of src/schema/config.ts):
    BLOCK_SIZE_M/N/K, GROUP_SIZE_M (pid swizzle; the GEMV path ignores it), num_warps, num_stages as in Triton's matmul tutorial.
    K_UNROLL  K blocks of BLOCK_SIZE_K processed per main-loop iteration (an unrolled inner
              tl.static_range), so one iteration covers K_UNROLL * BLOCK_SIZE_K of K. Any power of two
              is valid (K_UNROLL=1 always); the split-K share of each program is a whole number of
              iterations: split s of n = cdiv(K, BLOCK_SIZE_K*K_UNROLL) iterations runs [s*n//SPLIT_K,
              (s+1)*n//SPLIT_K), so splits differ by at most one iteration and SPLIT_K <= n is the rule;
              a K tail is masked (EVEN_K=False), otherwise there are no K masks at all. K is a runtime
              argument, so one binary serves every K of a model (loop bounds need
              kernels/interpret_compat under the CPU interpreter with numpy >= 2.4).
    SPLIT_K   programs that share the K range of one output tile. Each writes its fp32 partial to a
              workspace, then increments a per-tile counter; the program that arrives last sums the
              partials in split order (deterministic), writes C and resets the counter to zero (the
              counters live in the inputs, zeroed once at make_inputs). One launch, no memset.
"""

import functools
import os

import torch

from kernels import protocol
from kernels.compile_only import placeholder
from kernels.w4a16_dot import w4a16_dot_kernel
from kernels.w4a16_gemv import w4a16_gemv_kernel
from kernels.w4a16_pack import (  # noqa: F401 -- the family interface (kernels/family.py) is this module
    ACT_DTYPES, AWQ_ORDER, FAMILIES, W4A16Inputs, _cdiv, awq_to_kernel_layout,
    dequantize, make_inputs, normalize_problem, pack_int4, quantize, reference, unpack_int4,
)

CONFIG_KEYS = (
    "BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M",
    "num_warps", "num_stages", "SPLIT_K", "K_UNROLL",
)
# Keys an entry may leave out, with the value that stands for them (src/schema/formats.ts optionalKeys)
OPTIONAL_KEYS = {k: o["absent"] for k, o in protocol.OPTIONAL_KEYS["w4a16"].items()}
# A split-K workspace is SPLIT_K * M * N fp32; beyond this a config is refused (memory, and it cannot win).
MAX_WORKSPACE_BYTES = 1 << 30
GEMV_BLOCK_M = 16  # BLOCK_SIZE_M that selects the GEMV path
# GEMV: fp32 accumulator elements per thread, rows * BLOCK_K/8 * BLOCK_N / threads; beyond this it spills.
GEMV_MAX_ACC_PER_THREAD = 64
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def gemv_rows(M: int) -> int:
    """Rows of A one GEMV program takes: min(16, next_pow2(M))."""
    return min(GEMV_BLOCK_M, 1 << (M - 1).bit_length())


def default_config(family: str, problem: dict) -> dict:
    """The untuned baseline. Small M follows vLLM's Triton AWQ GEMM (awq_gemm_triton: 32x32x32 blocks,
    split_k_iters=8, used below 256 tokens); from M=256 vLLM dequantizes and calls cuBLAS, for which we
    stand in with the Triton matmul tutorial's first config (128x256x64, GROUP_SIZE_M 8, 8 warps, 3 stages)."""
    if problem["M"] < 256:
        return {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8,
                "num_warps": 4, "num_stages": 2, "SPLIT_K": 8, "K_UNROLL": 1, "SWAP_AB": 0}
    return {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 8,
            "num_warps": 8, "num_stages": 3, "SPLIT_K": 1, "K_UNROLL": 1, "SWAP_AB": 0}


def _smem_bytes(problem: dict, config: dict) -> int:
    """Shared memory the pipelined loop needs, an upper bound: num_stages * K_UNROLL copies of the A and
    packed-W tiles plus one bf16 copy of the dequantized W tile (the dot operand). Checked on an H200 over
    the default space (docs/BENCHMARKS.md): it refuses every config that Triton failed for shared memory,
    and 24 of the 816 that ran (it is conservative)."""
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    per_stage = bm * bk * 2 + bk * bn // 2
    return config["num_stages"] * config["K_UNROLL"] * per_stage + bk * bn * 2


SMEM_LIMIT = 227 * 1024  # H100/H200 opt-in shared memory per block


def shared_memory_bytes(family: str, problem: dict, config: dict) -> int:
    """The shared-memory estimate invalid_reason checks (the family interface's name for _smem_bytes)."""
    return _smem_bytes(problem, config)


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    """Static rules. Every power-of-two BLOCK_SIZE_K >= 16 works with every group size (one scale row per
    block when BLOCK_K <= g, BLOCK_K/g rows otherwise) and K_UNROLL needs no divisibility (tails are
    masked); what is refused is what cannot run or is wasted work by construction."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        return f"config lacks {', '.join(missing)}"
    extra = [k for k in config if k not in CONFIG_KEYS and k not in OPTIONAL_KEYS]
    if extra:
        return f"unknown config key(s) {', '.join(extra)}"
    if config.get("SWAP_AB", 0) not in (0, 1) or isinstance(config.get("SWAP_AB"), bool):
        return f"SWAP_AB={config['SWAP_AB']!r} must be 0 or 1"
    for k in CONFIG_KEYS:
        v = config[k]
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            return f"{k}={v!r} must be a positive integer"
        if k not in ("num_stages", "SPLIT_K") and v & (v - 1):
            return f"{k}={v} must be a power of two"
    bk, split, unroll = config["BLOCK_SIZE_K"], config["SPLIT_K"], config["K_UNROLL"]
    M, N, K = problem["M"], problem["N"], problem["K"]
    if min(config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], bk) < 16:
        return "BLOCK_SIZE_M/N/K must be >= 16 (tl.dot)"
    iters = _cdiv(K, bk * unroll)
    if split > iters:
        return (f"SPLIT_K={split} > {iters} main-loop iterations (BLOCK_SIZE_K*K_UNROLL={bk * unroll} over "
                f"K={K}): empty splits")
    if bk * unroll > 2 * K:
        return f"BLOCK_SIZE_K*K_UNROLL={bk * unroll} > 2*K={2 * K}: mostly masked work"
    if split > 1 and split * M * N * 4 > MAX_WORKSPACE_BYTES:
        return f"split-K workspace {split}*M*N*4 bytes > {MAX_WORKSPACE_BYTES}"
    if config["BLOCK_SIZE_M"] == GEMV_BLOCK_M and not config.get("SWAP_AB", 0):
        per_thread = gemv_rows(M) * (bk // 8) * config["BLOCK_SIZE_N"] // (32 * config["num_warps"])
        if per_thread > GEMV_MAX_ACC_PER_THREAD:
            return (f"GEMV accumulator rows*BLOCK_SIZE_K/8*BLOCK_SIZE_N/threads = {per_thread} fp32 registers per "
                    f"thread > {GEMV_MAX_ACC_PER_THREAD}")
    smem = _smem_bytes(problem, config)
    if smem > SMEM_LIMIT:
        return f"needs ~{smem} bytes of shared memory > {SMEM_LIMIT}"
    return None


def _run(kernel_fn, a, qweight, scales, zeros, c, ws, counters, problem: dict, config: dict):
    """The one place the kernels' arguments are spelled out: launch() runs it, compile_only() warms it up, so both
    meet the same specialization (Triton's cache key) by construction. kernel_fn(kernel, grid) -> the callable."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    split, unroll = config["SPLIT_K"], config["K_UNROLL"]
    quant = dict(GROUP=0 if problem["group_size"] == -1 else problem["group_size"], HAS_ZP=problem["zero_points"],
                 AWQ=problem["packing"] == "awq", EVEN_K=K % (bk * unroll) == 0)
    swap = bool(config.get("SWAP_AB", 0))
    if bm == GEMV_BLOCK_M and not swap:
        rows = gemv_rows(M)
        kernel_fn(w4a16_gemv_kernel, (_cdiv(M, rows) * _cdiv(N, bn), split))(
            a, qweight, scales, zeros, c, ws, counters, M, N, K, _cdiv(N, 8), **quant,
            ROWS=rows, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, SPLIT_K=split, K_UNROLL=unroll,
            num_warps=config["num_warps"], num_stages=config["num_stages"],
        )
    else:
        kernel_fn(w4a16_dot_kernel, (_cdiv(M, bm) * _cdiv(N, bn), split))(
            a, qweight, scales, zeros, c, ws, counters, M, N, K, _cdiv(N, 8), **quant,
            UPCAST=_INTERPRET and a.dtype == torch.bfloat16,
            BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=config["GROUP_SIZE_M"],
            SPLIT_K=split, K_UNROLL=unroll, SWAP_AB=swap, num_warps=config["num_warps"], num_stages=config["num_stages"],
        )


def launch(family: str, inputs: W4A16Inputs, config: dict) -> torch.Tensor:
    """One kernel launch; allocates C (and the split-K workspace, uninitialized) and returns C."""
    p, a = inputs.problem, inputs.a
    split = config["SPLIT_K"]
    c = torch.empty((p["M"], p["N"]), dtype=a.dtype, device=a.device)
    ws = torch.empty((split, p["M"], p["N"]), dtype=torch.float32, device=a.device) if split > 1 else c
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight  # unused without zero points
    _run(lambda kernel, grid: kernel[grid], a, inputs.qweight, inputs.scales, zeros, c, ws, inputs.counters, p, config)
    return c


def compile_only(family: str, problem: dict, config: dict):
    """Compile (or find in Triton's cache) the binary launch() would run for this problem, without a GPU: Triton's
    warmup with placeholder tensors (aligned, as fresh allocations are) on the active driver's target. M itself is
    not specialized; what of it is (the GEMV path's ROWS) is in compile_variant."""
    act, i32 = placeholder(ACT_DTYPES[problem["act_dtype"]]), placeholder(torch.int32)
    ws = placeholder(torch.float32) if config["SPLIT_K"] > 1 else act
    _run(lambda kernel, grid: functools.partial(kernel.warmup, grid=grid), act, i32, act, i32, act, ws, i32,
         problem, config)


def compile_variant(family: str, problem: dict) -> dict:
    """What decides the binary: the problem without M, plus the GEMV path's ROWS (min(16, next_pow2(M)), a
    constexpr); both kernels take M itself unspecialized. ROWS is kept for the tl.dot path too (the variant does
    not see the config): the extra warmups find the binary in Triton's in-memory cache."""
    return {**{k: v for k, v in problem.items() if k != "M"}, "gemv_rows": gemv_rows(problem["M"])}


# Correctness gate: max |out - ref| / max |ref|. The kernel rounds each dequantized weight and the output to
# the activation dtype (relative 2^-9 for bf16, 2^-12 for fp16) and accumulates in fp32; 10x margin (as moe).
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
