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

Kernel (one launch, also for split-K): each program computes one BLOCK_SIZE_M x BLOCK_SIZE_N tile over
its share of K. Per K block it loads A [BM, BK] and qweight [BK/8, BN] (coalesced along N), unpacks the
nibbles in registers with a float trick (nibble | 0x4B000000 read as fp32 is 2^23 + q, so
(2^23 + q) - (2^23 + z) = q - z exactly, without int->float conversions), scales, casts to the
activation dtype and calls tl.dot with fp32 accumulation. Scales: BLOCK_K <= g loads one scale row
per block; BLOCK_K > g loads BLOCK_K/g rows and broadcasts each over its g K rows (one scale per K
row, as the MoE kernels do). Per-channel scales are applied once to the accumulator after the loop.
Small-M tiles (BLOCK_SIZE_M <= 32 with BLOCK_SIZE_K >= 128, chosen in `launch`, not a config key) take the
nibble-dot path instead: no reshape; nibble i of every word of the block is dequantized as a [BK/8, BN] tile
and multiplied with the A columns it holds (k = 8p + element(i), a stride-8 load of A), eight dots per block.
The PTX has about 8x fewer shared-memory stores there; on the H200 it was faster for M <= 4, slower at M=16
(docs/BENCHMARKS.md).

Meta-parameters (the W4A16Entry config of src/schema/config.ts):
    BLOCK_SIZE_M/N/K, GROUP_SIZE_M (pid swizzle), num_warps, num_stages as in Triton's matmul tutorial.
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

import os

import torch
import triton
import triton.language as tl

FAMILIES = ("w4a16",)
CONFIG_KEYS = (
    "BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M",
    "num_warps", "num_stages", "SPLIT_K", "K_UNROLL",
)
GROUP_SIZES = (32, 64, 128, -1)
PROBLEM_DEFAULTS = {"group_size": 128, "zero_points": True, "packing": "plain", "act_dtype": "bf16"}
ACT_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)  # nibble i of a word holds element AWQ_ORDER[i]
# A split-K workspace is SPLIT_K * M * N fp32; beyond this a config is refused (memory, and it cannot win).
MAX_WORKSPACE_BYTES = 1 << 30
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _nibble_shift(j, AWQ: tl.constexpr):
    """Bit offset of element j (0..7) inside its int32 word."""
    if AWQ:
        return ((j >> 1) + (j & 1) * 4) * 4
    else:
        return j * 4


@triton.jit
def _group_rows(ptr, rows, n_rows, offs_n, stride, ZP_WORDS: tl.constexpr, AWQ: tl.constexpr):
    """Rows `rows` of scales [G, N] (ZP_WORDS=False) or of the zero points as 2^23 + z in fp32 (packed
    qzeros [G, ceil(N/8)], ZP_WORDS=True); rows >= n_rows read as zero."""
    mask = rows[:, None] < n_rows
    if ZP_WORDS:
        words = tl.load(ptr + rows[:, None] * stride + (offs_n // 8)[None, :], mask=mask, other=0)
        z = (words >> _nibble_shift(offs_n % 8, AWQ)[None, :]) & 0xF
        return (z | 0x4B000000).to(tl.float32, bitcast=True)
    else:
        return tl.load(ptr + rows[:, None] * stride + offs_n[None, :], mask=mask, other=0.0).to(tl.float32)


@triton.jit
def _block_scales(s_ptr, z_ptr, k0, n_groups, offs_bn, N, stride_zg, ROWS: tl.constexpr, GROUP: tl.constexpr,
                  BLOCK_K: tl.constexpr, HAS_ZP: tl.constexpr, AWQ: tl.constexpr):
    """Scales and 2^23 + zero points of the K block at k0, for a dequantized tile of ROWS rows spanning BLOCK_K
    (ROWS = BLOCK_K: one row per k; ROWS = BLOCK_K/8: one row per packed word). One row [1, BN] when the block
    lies in one group (GROUP >= BLOCK_K), else BLOCK_K/GROUP rows, each broadcast over its ROWS*GROUP/BLOCK_K rows."""
    if GROUP >= BLOCK_K:
        rows = k0 // GROUP + tl.zeros((1,), tl.int32)
        s = _group_rows(s_ptr, rows, n_groups, offs_bn, N, False, AWQ)
        if HAS_ZP:
            zf = _group_rows(z_ptr, rows, n_groups, offs_bn, stride_zg, True, AWQ)
        else:
            zf = tl.full((1, offs_bn.shape[0]), 8388616.0, tl.float32)  # 2^23 + 8
    else:
        rows = k0 // GROUP + tl.arange(0, BLOCK_K // GROUP)
        s = _group_rows(s_ptr, rows, n_groups, offs_bn, N, False, AWQ)
        s = tl.reshape(tl.broadcast_to(s[:, None, :], (BLOCK_K // GROUP, ROWS * GROUP // BLOCK_K, offs_bn.shape[0])),
                       (ROWS, offs_bn.shape[0]))
        if HAS_ZP:
            zf = _group_rows(z_ptr, rows, n_groups, offs_bn, stride_zg, True, AWQ)
            zf = tl.reshape(tl.broadcast_to(zf[:, None, :], (BLOCK_K // GROUP, ROWS * GROUP // BLOCK_K,
                                                             offs_bn.shape[0])), (ROWS, offs_bn.shape[0]))
        else:
            zf = tl.full((1, offs_bn.shape[0]), 8388616.0, tl.float32)
    return s, zf


@triton.jit
def _dot(a, w, acc, UPCAST: tl.constexpr):
    """acc + a . w with w cast to a's dtype; under the CPU interpreter (UPCAST) in fp32, since it does bf16
    dot products on the raw bits (the values are the same: w is rounded to bf16 first)."""
    w = w.to(a.dtype)
    if UPCAST:
        return tl.dot(a.to(tl.float32), w.to(tl.float32), acc)
    else:
        return tl.dot(a, w, acc)


@triton.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_kernel(
    # pointers
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    # dimensions and strides (all tensors contiguous)
    M, N, K, stride_zg,
    # quantization
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr,
    AWQ: tl.constexpr,
    UPCAST: tl.constexpr,  # interpreter with bf16 activations
    EVEN_K: tl.constexpr,  # K % (BLOCK_SIZE_K * K_UNROLL) == 0: no K masks
    NIBBLE_DOTS: tl.constexpr,  # small-M path: 8 dots per K block, one per nibble position (see launch)
    # meta-parameters
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr, SPLIT_K: tl.constexpr, K_UNROLL: tl.constexpr,
):
    # pid swizzle (grouped ordering, as in the matmul tutorial); axis 1 is the K split
    pid = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    num_pid_in_group = GROUP_SIZE_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_SIZE_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_SIZE_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    offs_m = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    offs_am = offs_m % M  # wrapped rows/columns are computed but never stored
    offs_bn = offs_n % N
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_kw = tl.arange(0, BLOCK_SIZE_K // 8)
    shifts = _nibble_shift(tl.arange(0, 8), AWQ)[None, :, None]

    # this program's share of the main loop: whole iterations of BLOCK_SIZE_K * K_UNROLL, balanced
    # (split s runs iterations [s * n // SPLIT_K, (s + 1) * n // SPLIT_K); none is empty while SPLIT_K <= n)
    num_iters = tl.cdiv(K, BLOCK_SIZE_K * K_UNROLL)
    it_start = pid_k * num_iters // SPLIT_K
    it_end = (pid_k + 1) * num_iters // SPLIT_K

    if GROUP == 0:
        n_groups = 1  # per-channel: zero point here, scale after the loop
        if HAS_ZP:
            zf_col = _group_rows(z_ptr, tl.zeros((1,), tl.int32), 1, offs_bn, stride_zg, True, AWQ)
        else:
            zf_col = tl.full((1, BLOCK_SIZE_N), 8388616.0, tl.float32)  # 2^23 + 8
    else:
        n_groups = K // GROUP

    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for it in range(it_start, it_end):
        for u in tl.static_range(K_UNROLL):
            k0 = (it * K_UNROLL + u) * BLOCK_SIZE_K
            rkw = k0 // 8 + offs_kw
            q_ptrs = qw_ptr + rkw[:, None] * N + offs_bn[None, :]
            if EVEN_K:
                q = tl.load(q_ptrs)
            else:
                q = tl.load(q_ptrs, mask=rkw[:, None] < K // 8, other=0)
            if NIBBLE_DOTS:
                # 8 dots of depth BLOCK_K/8: nibble i of every word against the A columns it holds (stride 8);
                # the dequantized operand keeps the loaded layout (no reshape, far fewer shared-memory stores)
                if GROUP != 0:
                    s, zf = _block_scales(s_ptr, z_ptr, k0, n_groups, offs_bn, N, stride_zg, BLOCK_SIZE_K // 8,
                                          GROUP, BLOCK_SIZE_K, HAS_ZP, AWQ)
                for i in tl.static_range(8):
                    e = i + AWQ * ((i % 4) * 2 + i // 4 - i)  # the element nibble i holds (AWQ: [0,2,4,6,1,3,5,7][i])
                    x = (((q >> (4 * i)) & 0xF) | 0x4B000000).to(tl.float32, bitcast=True)  # 2^23 + q
                    rk = k0 + offs_kw * 8 + e
                    a_ptrs = a_ptr + offs_am[:, None] * K + rk[None, :]
                    if EVEN_K:
                        a = tl.load(a_ptrs)
                    else:
                        a = tl.load(a_ptrs, mask=rk[None, :] < K, other=0.0)
                    if GROUP == 0:
                        w = x - zf_col
                    else:
                        w = (x - zf) * s
                    acc = _dot(a, w, acc, UPCAST)
            else:
                rk = k0 + offs_k
                a_ptrs = a_ptr + offs_am[:, None] * K + rk[None, :]
                if EVEN_K:
                    a = tl.load(a_ptrs)
                else:
                    a = tl.load(a_ptrs, mask=rk[None, :] < K, other=0.0)
                # unpack: [BK/8, BN] words -> [BK/8, 8, BN] nibbles -> [BK, BN] (row 8p + j = element j)
                nib = (q[:, None, :] >> shifts) & 0xF
                x = tl.reshape(nib, (BLOCK_SIZE_K, BLOCK_SIZE_N))
                x = (x | 0x4B000000).to(tl.float32, bitcast=True)  # 2^23 + q
                if GROUP == 0:
                    w = x - zf_col
                else:
                    s, zf = _block_scales(s_ptr, z_ptr, k0, n_groups, offs_bn, N, stride_zg, BLOCK_SIZE_K,
                                          GROUP, BLOCK_SIZE_K, HAS_ZP, AWQ)
                    w = (x - zf) * s
                acc = _dot(a, w, acc, UPCAST)

    if GROUP == 0:
        acc = acc * _group_rows(s_ptr, tl.zeros((1,), tl.int32), 1, offs_bn, N, False, AWQ)

    c_mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    c_offs = offs_m[:, None] * N + offs_n[None, :]
    if SPLIT_K == 1:
        tl.store(c_ptr + c_offs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)
    else:
        # publish this split's partial, then count arrivals; the last program reduces and resets
        tl.store(ws_ptr + pid_k * M * N + c_offs, acc, mask=c_mask)
        tl.debug_barrier()
        arrived = tl.atomic_add(cnt_ptr + pid, 1, sem="acq_rel", scope="gpu")
        if arrived == SPLIT_K - 1:
            total = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
            for s in range(SPLIT_K):
                total += tl.load(ws_ptr + s * M * N + c_offs, mask=c_mask, other=0.0, cache_modifier=".cg")
            tl.store(c_ptr + c_offs, total.to(c_ptr.dtype.element_ty), mask=c_mask)
            tl.atomic_xchg(cnt_ptr + pid, 0)


# ---------------------------------------------------------------------------------------------- host side

def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def normalize_problem(family: str, problem: dict) -> dict:
    """Fill defaults (src/schema/problem.ts W4A16Problem) and check what the kernel needs."""
    if family not in FAMILIES:
        raise ValueError(f"w4a16 module does not serve family {family!r}")
    unknown = set(problem) - {"M", "N", "K", *PROBLEM_DEFAULTS}
    if unknown:
        raise ValueError(f"unknown w4a16 problem field(s): {', '.join(sorted(unknown))}")
    p = {**PROBLEM_DEFAULTS, **problem}
    for dim in ("M", "N", "K"):
        if not isinstance(p.get(dim), int) or isinstance(p[dim], bool) or p[dim] <= 0:
            raise ValueError(f"w4a16 problem needs a positive integer {dim}, got {p.get(dim)!r}")
    if p["group_size"] not in GROUP_SIZES:
        raise ValueError(f"group_size must be one of {GROUP_SIZES}, got {p['group_size']!r}")
    if p["packing"] not in ("awq", "plain"):
        raise ValueError(f"packing must be 'awq' or 'plain', got {p['packing']!r}")
    if p["act_dtype"] not in ACT_DTYPES:
        raise ValueError(f"act_dtype must be 'bf16' or 'fp16', got {p['act_dtype']!r}")
    if not isinstance(p["zero_points"], bool):
        raise ValueError(f"zero_points must be a boolean, got {p['zero_points']!r}")
    if p["K"] % 8:
        raise ValueError(f"K={p['K']} must be a multiple of 8 (8 int4 values per int32 along K)")
    if p["group_size"] > 0 and p["K"] % p["group_size"]:
        raise ValueError(f"K={p['K']} must be a multiple of group_size={p['group_size']}")
    return {k: p[k] for k in ("M", "N", "K", *PROBLEM_DEFAULTS)}


def default_config(family: str, problem: dict) -> dict:
    """The untuned baseline. Small M follows vLLM's Triton AWQ GEMM (awq_gemm_triton: 32x32x32 blocks,
    split_k_iters=8, used below 256 tokens); from M=256 vLLM dequantizes and calls cuBLAS, for which we
    stand in with the Triton matmul tutorial's first config (128x256x64, GROUP_SIZE_M 8, 8 warps, 3 stages)."""
    if problem["M"] < 256:
        return {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8,
                "num_warps": 4, "num_stages": 2, "SPLIT_K": 8, "K_UNROLL": 1}
    return {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 8,
            "num_warps": 8, "num_stages": 3, "SPLIT_K": 1, "K_UNROLL": 1}


def _smem_bytes(problem: dict, config: dict) -> int:
    """Shared memory the pipelined loop needs, an upper bound: num_stages * K_UNROLL copies of the A and
    packed-W tiles plus one bf16 copy of the dequantized W tile (the dot operand). Checked on an H200 over
    the default space (docs/BENCHMARKS.md): it refuses every config that Triton failed for shared memory,
    and 24 of the 816 that ran (it is conservative)."""
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    per_stage = bm * bk * 2 + bk * bn // 2
    return config["num_stages"] * config["K_UNROLL"] * per_stage + bk * bn * 2


SMEM_LIMIT = 227 * 1024  # H100/H200 opt-in shared memory per block


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    """Static rules. Every power-of-two BLOCK_SIZE_K >= 16 works with every group size (one scale row per
    block when BLOCK_K <= g, BLOCK_K/g rows otherwise) and K_UNROLL needs no divisibility (tails are
    masked); what is refused is what cannot run or is wasted work by construction."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        return f"config lacks {', '.join(missing)}"
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
    smem = _smem_bytes(problem, config)
    if smem > SMEM_LIMIT:
        return f"needs ~{smem} bytes of shared memory > {SMEM_LIMIT}"
    return None


# ----------------------------------------------------------------------------------- packing & problems

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


def awq_to_kernel_layout(qweight_awq: torch.Tensor) -> torch.Tensor:
    """An AWQ checkpoint's qweight [K, N/8] (packed along N, AWQ order) -> the kernel's [K/8, N] packed along
    K in the AWQ order (problem packing 'awq'). AWQ's qzeros [G, N/8] and scales [G, N] are used as they are."""
    q_kn = unpack_int4(qweight_awq, awq=True)  # [K, N]
    return pack_int4(q_kn.t().contiguous(), awq=True).t().contiguous()  # pack along K, then [K/8, N]


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
    dtype, awq = ACT_DTYPES[p["act_dtype"]], p["packing"] == "awq"
    gen = torch.Generator(device=device).manual_seed(seed)
    a = torch.randn((M, K), generator=gen, device=device, dtype=torch.float32).to(dtype)
    w = torch.randn((N, K), generator=gen, device=device, dtype=torch.float32) * 0.02
    q, scales, zeros = quantize(w, p["group_size"], p["zero_points"])
    qweight = pack_int4(q, awq).t().contiguous()  # q [N, K] packed along K -> [N, K/8] -> [K/8, N]
    qzeros = None
    if p["zero_points"]:
        padded = torch.zeros((zeros.shape[0], _cdiv(N, 8) * 8), dtype=torch.int32, device=device)
        padded[:, :N] = zeros
        qzeros = pack_int4(padded, awq)
    counters = torch.zeros(_cdiv(M, 16) * _cdiv(N, 16), dtype=torch.int32, device=device)
    return W4A16Inputs(p, a, qweight, scales.to(dtype), qzeros, counters)


def dequantize(inputs: W4A16Inputs) -> torch.Tensor:
    """W [N, K] in the activation dtype, from the packed tensors (the 'dequantize then matmul' baseline)."""
    p = inputs.problem
    N, K, awq = p["N"], p["K"], p["packing"] == "awq"
    g = K if p["group_size"] == -1 else p["group_size"]
    q = unpack_int4(inputs.qweight.t().contiguous(), awq).float()  # [N, K]
    s = inputs.scales.float().t().repeat_interleave(g, dim=1)  # [N, K]
    if inputs.qzeros is not None:
        z = unpack_int4(inputs.qzeros, awq)[:, :N].float().t().repeat_interleave(g, dim=1)
    else:
        z = 8.0
    return ((q - z) * s).to(inputs.a.dtype)


def reference(family: str, inputs: W4A16Inputs) -> torch.Tensor:
    """Dequantize (to the activation dtype, as the kernel does) then matmul in fp32."""
    return inputs.a.float() @ dequantize(inputs).float().t()


def launch(family: str, inputs: W4A16Inputs, config: dict) -> torch.Tensor:
    """One kernel launch; allocates C (and the split-K workspace, uninitialized) and returns C."""
    p = inputs.problem
    M, N, K = p["M"], p["N"], p["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    split, unroll = config["SPLIT_K"], config["K_UNROLL"]
    a = inputs.a
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    ws = torch.empty((split, M, N), dtype=torch.float32, device=a.device) if split > 1 else c
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight  # unused without zero points
    grid = (_cdiv(M, bm) * _cdiv(N, bn), split)
    w4a16_kernel[grid](
        a, inputs.qweight, inputs.scales, zeros, c, ws, inputs.counters,
        M, N, K, _cdiv(N, 8),
        GROUP=0 if p["group_size"] == -1 else p["group_size"],
        HAS_ZP=inputs.qzeros is not None, AWQ=p["packing"] == "awq",
        UPCAST=_INTERPRET and a.dtype == torch.bfloat16, EVEN_K=K % (bk * unroll) == 0,
        NIBBLE_DOTS=bm <= 32 and bk >= 128,
        BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=config["GROUP_SIZE_M"],
        SPLIT_K=split, K_UNROLL=unroll,
        num_warps=config["num_warps"], num_stages=config["num_stages"],
    )
    return c


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
