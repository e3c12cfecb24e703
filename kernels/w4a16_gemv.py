"""The W4A16 GEMV path (BLOCK_SIZE_M = 16 in the config): CUDA-core multiply-adds, no tl.dot, for decode.

A program owns BLOCK_SIZE_N output columns of ROWS rows of A (ROWS = min(16, next_pow2(M)), a launch-time
constexpr, so M=1 does one row's work, not sixteen) over its share of K. Per K block it loads the packed
words [BK/8, BN] (coalesced along N, whole int32 words per thread) and, for each nibble position i, the A
elements that nibble holds (a stride-8 [ROWS, BK/8] load, from L1/L2: A is small) and accumulates
a[r, p] * w[p, n] into a [ROWS, BK/8, BN] fp32 register tile: multiply-adds only; the weights never go
through shared memory (only the small scale rows change layout). The BK/8 axis is summed once, after the loop.

Dequantization, meant as three instructions per weight (and, or -> one LOP3; a subtract; the multiply-add; ptxas
emits about two LOP3 per weight on sm_90, docs/BENCHMARKS.md): nibble
i < 4 of word q is masked in place, (q & 0xF << 4i) | 0x4B000000 read as fp32 is 2^23 + q_i 16^i exactly,
and subtracting 2^23 + z 16^i leaves (q_i - z) 16^i; the 16^-i goes into the A element instead (exact, a
power of two). Nibbles 4..7 do the same on q >> 16 (one shift per word). The scale multiplies the block's
partial sum once per word row (per column after the loop for per-channel scales).

Split-K is the same one-launch scheme as the tl.dot kernel (kernels/w4a16_dot.py): fp32 partials in a
workspace, the last program to arrive sums them in split order and resets its counter.
"""

import triton
import triton.language as tl

from kernels.w4a16_dot import _block_scales, _group_rows, split_k_store


@triton.jit(do_not_specialize=["M"])
def w4a16_gemv_kernel(
    # pointers
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    # dimensions (all tensors contiguous)
    M, N, K, stride_zg,
    # quantization
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr,
    AWQ: tl.constexpr,
    EVEN_K: tl.constexpr,  # K % (BLOCK_SIZE_K * K_UNROLL) == 0: no K masks
    ROWS: tl.constexpr,  # rows of A per program: min(16, next_pow2(M))
    # meta-parameters
    BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, SPLIT_K: tl.constexpr, K_UNROLL: tl.constexpr,
):
    pid = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    pid_m = pid // num_pid_n
    pid_n = pid % num_pid_n
    BKW: tl.constexpr = BLOCK_SIZE_K // 8  # packed words along K per block

    offs_m = pid_m * ROWS + tl.arange(0, ROWS)
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    offs_am = offs_m % M  # wrapped rows/columns are computed but never stored
    # wrapped columns stay in runs of BLOCK_SIZE_N (wraps land on multiples of N's divisibility): wide loads
    offs_bn = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)
    offs_kw = tl.arange(0, BKW)

    num_iters = tl.cdiv(K, BLOCK_SIZE_K * K_UNROLL)
    it_start = pid_k * num_iters // SPLIT_K
    it_end = (pid_k + 1) * num_iters // SPLIT_K

    if GROUP == 0:
        n_groups = 1
        if HAS_ZP:
            zf_col = _group_rows(z_ptr, tl.zeros((1,), tl.int32), 1, offs_bn, stride_zg, True, AWQ)
        else:
            zf_col = tl.full((1, BLOCK_SIZE_N), 8388616.0, tl.float32)  # 2^23 + 8
    else:
        n_groups = K // GROUP

    # everything is 3D [ROWS, BKW, BN] so that one layout (N fastest, 4 words per thread) serves loads and math
    offs_kw3 = offs_kw[None, :, None]
    a_rows = a_ptr + offs_am[:, None, None] * K
    acc = tl.zeros((ROWS, BKW, BLOCK_SIZE_N), dtype=tl.float32)
    for it in range(it_start, it_end):
        for u in tl.static_range(K_UNROLL):
            k0 = (it * K_UNROLL + u) * BLOCK_SIZE_K
            rkw = k0 // 8 + offs_kw3
            q_ptrs = qw_ptr + rkw * N + offs_bn[None, None, :]
            if EVEN_K:
                q = tl.load(q_ptrs)
            else:
                q = tl.load(q_ptrs, mask=rkw < K // 8, other=0)
            if GROUP == 0:
                zf = zf_col[None, :, :]
            else:
                s, zf = _block_scales(s_ptr, z_ptr, k0, n_groups, offs_bn, N, stride_zg, BKW, GROUP, BLOCK_SIZE_K,
                                      HAS_ZP, AWQ)
                s = s[None, :, :]
                zf = zf[None, :, :]
            zq = zf - 8388608.0  # z as fp32, [1, 1 or BKW, BN]
            q_hi = q >> 16
            t = tl.zeros((ROWS, BKW, BLOCK_SIZE_N), dtype=tl.float32)
            for i in tl.static_range(8):
                e = i + AWQ * ((i % 4) * 2 + i // 4 - i)  # the element nibble i holds (AWQ: [0,2,4,6,1,3,5,7][i])
                j = i % 4
                word = q if i < 4 else q_hi
                x = ((word & (0xF << (4 * j))) | 0x4B000000).to(tl.float32, bitcast=True)  # 2^23 + q_i 16^j
                w = x - (8388608.0 + zq * (1 << (4 * j)))  # (q_i - z) 16^j, exact
                rk = k0 + offs_kw3 * 8 + e
                if EVEN_K:
                    a = tl.load(a_rows + rk)
                else:
                    a = tl.load(a_rows + rk, mask=rk < K, other=0.0)
                a = a.to(tl.float32) * (1.0 if j == 0 else (0.0625 if j == 1 else (0.00390625 if j == 2 else 0.000244140625)))
                t += a * w
            if GROUP == 0:
                acc += t
            else:
                acc += t * s

    out = tl.sum(acc, axis=1)
    if GROUP == 0:
        out = out * _group_rows(s_ptr, tl.zeros((1,), tl.int32), 1, offs_bn, N, False, AWQ)
    split_k_store(out, c_ptr, ws_ptr, cnt_ptr, pid, pid_k, offs_m, offs_n, M, N, ROWS, BLOCK_SIZE_N, SPLIT_K)
