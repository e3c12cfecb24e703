"""The W4A16 kernel: the transposed product on tensor cores, raw int4 values in the MMA, scales and zero points applied
to the accumulator once per K block.

Each program computes the tile C^T[BN, BM] = W[BN, K] . A[BM, K]^T over its share of K: the weight tile takes the
MMA's wide side (on Hopper the wgmma A operand, straight from registers, where it was dequantized) and the token tile
its narrow one, so at decode (M <= 16) no MMA row is padding and at prefill the token tile grows to 256.

Dequantization is one shift and one LOP3 per pair of weights. The kernel layout (kernels/w4a16.py) packs eight
consecutive K elements per int32 word in the AWQ order, so nibbles j and j+4 hold elements 2j and 2j+1:
(word >> 4j) & 0x000F000F | 0x43004300 read as two bf16 is (128 + q_2j, 128 + q_2j+1) exactly (fp16: 0x64006400,
1024 + q), which is already the MMA operand register for two consecutive K. Neither the zero point nor the scale
touches a weight: with x = OFFSET + q, OFFSET = 128 (bf16) or 1024 (fp16), and a K block inside one quantization group,

    sum_k a[m, k] (q[n, k] - z[n]) s[n] = s[n] (sum_k a[m, k] x[n, k] - (OFFSET + z[n]) sum_k a[m, k]),

so per block the MMA gives part = W_raw . A^T, and the accumulator takes s (part - (OFFSET + z) rowsum(A)): two FMAs per
output element per block, with rowsum(A) (fp32) shared by every column. The products a * x are exact in fp32 and the
cancellation costs about 2^-24 * OFFSET of the block's sum of |a|, far inside the bf16/fp16 tolerance. Per-channel
quantization (GROUP = 0) applies it once, after the loop. The next block's scale and zero-point rows are loaded one
block ahead (they would otherwise stall every block on a global load).

Under Triton's CPU interpreter (INTERPRET) the inline assembly is replaced by the same bit operations in Triton ops.
Split-K: fp32 partials in a workspace, the last program of a tile sums them in split order (kernels/tiles.py).
"""

import triton
import triton.language as tl

from kernels.tiles import grouped_tile, split_k_store


@triton.jit
def _raw_pair_asm(q, shift, FP16: tl.constexpr):
    """(q >> shift) & 0x000F000F | MAGIC as two 16-bit floats: OFFSET + the nibbles at bits shift and shift + 16."""
    if FP16:
        return tl.inline_asm_elementwise(
            "{ .reg .b32 t, u; shr.u32 u, $2, $3; lop3.b32 t, u, 0x000F000F, 0x64006400, 0xEA; mov.b32 {$0, $1}, t; }",
            "=h,=h,r,r", [q, shift], dtype=(tl.float16, tl.float16), is_pure=True, pack=1)
    else:
        return tl.inline_asm_elementwise(
            "{ .reg .b32 t, u; shr.u32 u, $2, $3; lop3.b32 t, u, 0x000F000F, 0x43004300, 0xEA; mov.b32 {$0, $1}, t; }",
            "=h,=h,r,r", [q, shift], dtype=(tl.bfloat16, tl.bfloat16), is_pure=True, pack=1)


@triton.jit
def _raw_weights(qt, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, FP16: tl.constexpr,
                 INTERPRET: tl.constexpr):
    """Packed words [BN, BK/8] (AWQ order) -> [BN, BK] of OFFSET + q in the activation dtype, K in order."""
    shifts = (tl.arange(0, 4) * 4)[None, None, :]
    if INTERPRET:
        pair = ((qt[:, :, None] >> shifts) & 0x000F000F) | (0x64006400 if FP16 else 0x43004300)
        dtype = tl.float16 if FP16 else tl.bfloat16
        lo = (pair & 0xFFFF).to(tl.int16).to(dtype, bitcast=True)
        hi = ((pair >> 16) & 0xFFFF).to(tl.int16).to(dtype, bitcast=True)
    else:
        lo, hi = _raw_pair_asm(qt[:, :, None], shifts, FP16)
    return tl.reshape(tl.join(lo, hi), (BLOCK_SIZE_N, BLOCK_SIZE_K))  # [BN, BK/8, 4 pairs, 2] -> K order


@triton.jit
def _zero_offsets(zw, offs_n, HAS_ZP: tl.constexpr, OFFSET: tl.constexpr):
    """OFFSET + zero point of columns offs_n (fp32) from their packed words zw (AWQ order); 8 without zero points."""
    if HAS_ZP:
        j = offs_n % 8
        return ((zw >> (((j >> 1) + (j & 1) * 4) * 4)) & 0xF).to(tl.float32) + OFFSET
    else:
        return tl.full(offs_n.shape, OFFSET + 8.0, tl.float32)


@triton.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_kernel(
    # pointers
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    # dimensions (all tensors contiguous)
    M, N, K, stride_zg,
    # quantization and build
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr,
    FP16: tl.constexpr,  # activations fp16 (else bf16)
    EVEN_K: tl.constexpr,  # K % (BLOCK_SIZE_K * K_UNROLL) == 0: no K masks
    INTERPRET: tl.constexpr,  # Triton's CPU interpreter: no inline assembly
    # meta-parameters
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr, SPLIT_K: tl.constexpr, K_UNROLL: tl.constexpr,
):
    OFFSET: tl.constexpr = 1024.0 if FP16 else 128.0
    BKW: tl.constexpr = BLOCK_SIZE_K // 8
    pid = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    pid_m, pid_n = grouped_tile(pid, num_pid_m, num_pid_n, GROUP_SIZE_M)

    offs_m = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    offs_am = offs_m % M  # wrapped rows/columns are computed but never stored
    offs_bn = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_kw = tl.arange(0, BKW)
    KW = K // 8

    # this program's share: whole iterations of BLOCK_SIZE_K * K_UNROLL (split s runs [s*n//SPLIT_K, (s+1)*n//SPLIT_K))
    num_iters = tl.cdiv(K, BLOCK_SIZE_K * K_UNROLL)
    it_start = pid_k * num_iters // SPLIT_K
    it_end = (pid_k + 1) * num_iters // SPLIT_K

    acc = tl.zeros((BLOCK_SIZE_N, BLOCK_SIZE_M), dtype=tl.float32)
    if GROUP == 0:
        s_col = tl.load(s_ptr + offs_bn).to(tl.float32)
        zf_col = _zero_offsets(tl.load(z_ptr + offs_bn // 8) if HAS_ZP else 0, offs_bn, HAS_ZP, OFFSET)
        a_sum = tl.zeros((BLOCK_SIZE_M,), dtype=tl.float32)
    else:
        n_groups = K // GROUP
        g_next = tl.minimum(it_start * K_UNROLL * BLOCK_SIZE_K // GROUP, n_groups - 1)
        s_next = tl.load(s_ptr + g_next * N + offs_bn)
        zw_next = tl.load(z_ptr + g_next * stride_zg + offs_bn // 8) if HAS_ZP else 0
    for it in range(it_start, it_end):
        for u in tl.static_range(K_UNROLL):
            k0 = (it * K_UNROLL + u) * BLOCK_SIZE_K
            a_ptrs = a_ptr + offs_am[:, None] * K + (k0 + offs_k)[None, :]
            q_ptrs = qw_ptr + offs_bn[:, None] * KW + (k0 // 8 + offs_kw)[None, :]
            if EVEN_K:
                a = tl.load(a_ptrs)
                qt = tl.load(q_ptrs)
            else:  # a masked K tail: raw weights OFFSET times zero activations add nothing, to part or to the row sums
                a = tl.load(a_ptrs, mask=(k0 + offs_k)[None, :] < K, other=0.0)
                qt = tl.load(q_ptrs, mask=(k0 // 8 + offs_kw)[None, :] < KW, other=0)
            w_raw = _raw_weights(qt, BLOCK_SIZE_N, BLOCK_SIZE_K, FP16, INTERPRET)
            if GROUP == 0:
                acc = tl.dot(w_raw, tl.trans(a), acc)
                a_sum += tl.sum(a.to(tl.float32), axis=1)
            else:
                s_blk = s_next.to(tl.float32)
                zf_blk = _zero_offsets(zw_next, offs_bn, HAS_ZP, OFFSET)
                g_next = tl.minimum((k0 + BLOCK_SIZE_K) // GROUP, n_groups - 1)  # the next block's rows, ahead
                s_next = tl.load(s_ptr + g_next * N + offs_bn)
                zw_next = tl.load(z_ptr + g_next * stride_zg + offs_bn // 8) if HAS_ZP else 0
                part = tl.dot(w_raw, tl.trans(a))
                a_blk = tl.sum(a.to(tl.float32), axis=1)
                acc += (part - zf_blk[:, None] * a_blk[None, :]) * s_blk[:, None]
    if GROUP == 0:
        acc = (acc - zf_col[:, None] * a_sum[None, :]) * s_col[:, None]
    split_k_store(tl.trans(acc), c_ptr, ws_ptr, cnt_ptr, pid, pid_k, offs_m, offs_n, M, N, BLOCK_SIZE_M,
                  BLOCK_SIZE_N, SPLIT_K)
