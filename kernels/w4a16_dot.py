"""The W4A16 tl.dot path (BLOCK_SIZE_M >= 32 in the config, or any with SWAP_AB; tensor cores) and the helpers both
paths share. SWAP_AB accumulates the transposed tile, W^T-side first (_dot_swapped), and transposes it once at the end.

Each program computes one BLOCK_SIZE_M x BLOCK_SIZE_N tile over its share of K. Per K block it loads A
[BM, BK] and the packed words, dequantizes in registers with a float trick (nibble | 0x4B000000 read as fp32
is 2^23 + q, so (2^23 + q) - (2^23 + z) = q - z exactly, without int->float conversions), scales, casts to
the activation dtype and calls tl.dot with fp32 accumulation. Scales: BLOCK_K <= g loads one scale row per
block; BLOCK_K > g loads BLOCK_K/g rows and broadcasts each over its g K rows. Per-channel scales are applied
once to the accumulator after the loop.
The dequantized tile: words [BK/8, BN] -> nibbles [BK/8, 8, BN] -> reshape [BK, BN]. Tried on an H200 and
dropped (docs/BENCHMARKS.md): a K-major tile built with tl.join from the 8 nibble planes (1.1-1.25x slower on
the mma v2 path, and Triton 3.6's OptimizeDotOperands pass fails on it for wgmma tiles), and one dot per
nibble position (slower than the GEMV path for M <= 4, than this one at M = 16).
"""

import triton
import triton.language as tl

from kernels.tiles import grouped_tile


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


@triton.jit
def _dot_swapped(a, w, acc_t, UPCAST: tl.constexpr):
    """acc_t + (a . w)^T = w^T . a^T: the weight tile on the MMA's M side, the tokens on its N side."""
    w = w.to(a.dtype)
    if UPCAST:
        return tl.dot(tl.trans(w.to(tl.float32)), tl.trans(a.to(tl.float32)), acc_t)
    else:
        return tl.dot(tl.trans(w), tl.trans(a), acc_t)


@triton.jit
def split_k_store(acc, c_ptr, ws_ptr, cnt_ptr, tile, pid_k, offs_m, offs_n, M, N,
                  BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, SPLIT_K: tl.constexpr):
    """Store the fp32 tile; with SPLIT_K > 1 publish it as a partial, count arrivals, and let the last program of
    the tile sum the partials in split order (deterministic), write C and reset the counter."""
    c_mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    c_offs = offs_m[:, None] * N + offs_n[None, :]
    if SPLIT_K == 1:
        tl.store(c_ptr + c_offs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)
    else:
        tl.store(ws_ptr + pid_k * M * N + c_offs, acc, mask=c_mask)
        tl.debug_barrier()
        arrived = tl.atomic_add(cnt_ptr + tile, 1, sem="acq_rel", scope="gpu")
        if arrived == SPLIT_K - 1:
            total = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
            for s in range(SPLIT_K):
                total += tl.load(ws_ptr + s * M * N + c_offs, mask=c_mask, other=0.0, cache_modifier=".cg")
            tl.store(c_ptr + c_offs, total.to(c_ptr.dtype.element_ty), mask=c_mask)
            tl.atomic_xchg(cnt_ptr + tile, 0)


@triton.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_dot_kernel(
    # pointers
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    # dimensions (all tensors contiguous)
    M, N, K, stride_zg,
    # quantization
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr,
    AWQ: tl.constexpr,
    UPCAST: tl.constexpr,  # interpreter with bf16 activations
    EVEN_K: tl.constexpr,  # K % (BLOCK_SIZE_K * K_UNROLL) == 0: no K masks
    # meta-parameters
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr, SPLIT_K: tl.constexpr, K_UNROLL: tl.constexpr,
    SWAP_AB: tl.constexpr = False,  # the transposed product (small M: the weight fills the MMA's wide side)
):
    # pid swizzle (grouped ordering, as in the matmul tutorial); axis 1 is the K split
    pid = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    pid_m, pid_n = grouped_tile(pid, num_pid_m, num_pid_n, GROUP_SIZE_M)
    BKW: tl.constexpr = BLOCK_SIZE_K // 8

    offs_m = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    offs_am = offs_m % M  # wrapped rows/columns are computed but never stored
    # wrapped columns stay in runs of BLOCK_SIZE_N (wraps land on multiples of N's divisibility): wide loads
    offs_bn = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_kw = tl.arange(0, BKW)
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

    if SWAP_AB:
        acc = tl.zeros((BLOCK_SIZE_N, BLOCK_SIZE_M), dtype=tl.float32)
    else:
        acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for it in range(it_start, it_end):
        for u in tl.static_range(K_UNROLL):
            k0 = (it * K_UNROLL + u) * BLOCK_SIZE_K
            rk = k0 + offs_k
            a_ptrs = a_ptr + offs_am[:, None] * K + rk[None, :]
            if EVEN_K:
                a = tl.load(a_ptrs)
            else:
                a = tl.load(a_ptrs, mask=rk[None, :] < K, other=0.0)
            # [BK/8, BN] words -> [BK/8, 8, BN] nibbles -> [BK, BN] (row 8p + j = element j)
            rkw = k0 // 8 + offs_kw
            q_ptrs = qw_ptr + rkw[:, None] * N + offs_bn[None, :]
            if EVEN_K:
                q = tl.load(q_ptrs)
            else:
                q = tl.load(q_ptrs, mask=rkw[:, None] < K // 8, other=0)
            nib = (q[:, None, :] >> shifts) & 0xF
            x = tl.reshape(nib, (BLOCK_SIZE_K, BLOCK_SIZE_N))
            x = (x | 0x4B000000).to(tl.float32, bitcast=True)  # 2^23 + q
            if GROUP == 0:
                w = x - zf_col
            else:
                s, zf = _block_scales(s_ptr, z_ptr, k0, n_groups, offs_bn, N, stride_zg, BLOCK_SIZE_K,
                                      GROUP, BLOCK_SIZE_K, HAS_ZP, AWQ)
                w = (x - zf) * s
            if SWAP_AB:
                acc = _dot_swapped(a, w, acc, UPCAST)
            else:
                acc = _dot(a, w, acc, UPCAST)
    if SWAP_AB:
        acc = tl.trans(acc)

    if GROUP == 0:
        acc = acc * _group_rows(s_ptr, tl.zeros((1,), tl.int32), 1, offs_bn, N, False, AWQ)
    split_k_store(acc, c_ptr, ws_ptr, cnt_ptr, pid, pid_k, offs_m, offs_n, M, N, BLOCK_SIZE_M, BLOCK_SIZE_N, SPLIT_K)
