"""A probe, not used by the w4a16 family (bench/w4a16_gemv_probe.py measures it): the W4A16 decode product on CUDA
cores (GEMV). The idea: for a handful of tokens the MMA's per-block wait and the shared-memory
pipeline cost more than the arithmetic, so each program streams its weight rows straight into registers and
multiplies them there.

Each program computes C[:BM, BN tile] over its share of K (split-K as in kernels/w4a16_mma.py: fp32 partials, the
last program of a tile sums them). Per K block it loads the packed words [BN, BK/8] (16-byte loads along K, evicted
first: they are read once) and the activations [BM, BK] (row-major, from the L2).

A weight becomes an fp32 number in two instructions, with no conversion unit: (word & (0xF << 4e)) | 0x4B000000 read
as fp32 is 2^23 + q * 16^e exactly (the nibble in the mantissa; e <= 4, below the exponent's bit 23), and subtracting
2^23 leaves q * 16^e. The nibbles at bits 20..31 come from the word shifted right by 12 (one shift per word, e = 2..4
again). The activation it multiplies is pre-scaled by 16^-e (exact, a power of two), so the FMA adds q * x. The zero
point and the group scale never touch a weight:

    sum_k (q[n, k] - z[n, g]) s[n, g] x[m, k] = s[n, g] (sum_k q[n, k] x[m, k] - z[n, g] sum_k x[m, k])   (k in group g)

so per weight: one LOP3, one FADD and one FFMA per token; per group and row: one FMA and one multiply.

The AWQ nibble order (kernels/w4a16.py) holds element j of a word in nibble [0,4,1,5,2,6,3,7][j], so nibble i holds
element [0,2,4,6,1,3,5,7][i]; each nibble's activations are loaded with a stride of 8 (they come from the L1).

Variants for the probe: PREFETCH loads the next block's words before computing this one (two blocks in flight per
program); TILED reads each (tile, K block) as one contiguous run of memory, as weights repacked per tile would be,
without repacking them: its time is the access pattern's, its numbers are wrong.
"""

import triton
import triton.language as tl

from kernels.tiles import split_k_store

_MAGIC = tl.constexpr(0x4B000000)  # 2^23 as fp32: a nibble ORed into its mantissa reads as 2^23 + the nibble's value


@triton.jit
def _nibble(src, x_ptrs, m_ok, MASK: tl.constexpr, J: tl.constexpr, XSCALE: tl.constexpr, INTERPRET: tl.constexpr):
    """[BN, BKW] words -> [BN, BKW] products q * x for the nibble under MASK (at 16^e), x the element J of each word's
    eight activations (pre-scaled by XSCALE = 16^-e)."""
    if INTERPRET:
        bits = (src & MASK) | _MAGIC
    else:  # one LOP3: (src & MASK) | MAGIC
        bits = tl.inline_asm_elementwise(f"lop3.b32 $0, $1, {MASK}, 0x4B000000, 0xEA;", "=r,r", [src],
                                         dtype=tl.int32, is_pure=True, pack=1)
    v = bits.to(tl.float32, bitcast=True) - 8388608.0
    x = tl.load(x_ptrs + J, mask=m_ok, other=0.0).to(tl.float32) * XSCALE
    return v * x[None, :]


@triton.jit
def _word_products(qt, x_ptrs, m_ok, INTERPRET: tl.constexpr):
    """Packed words [BN, BKW] (AWQ order) and the pointers to each word's first activation of one token [BKW] -> the
    sum over each word's eight elements of q * x, [BN, BKW] (fp32). Nibble i holds element [0,2,4,6,1,3,5,7][i]."""
    hi = qt >> 12  # nibbles 5..7 (bits 20..31) at bits 8..19
    p = _nibble(qt, x_ptrs, m_ok, 0xF, 0, 1.0, INTERPRET)
    p += _nibble(qt, x_ptrs, m_ok, 0xF0, 2, 1.0 / 16, INTERPRET)
    p += _nibble(qt, x_ptrs, m_ok, 0xF00, 4, 1.0 / 256, INTERPRET)
    p += _nibble(qt, x_ptrs, m_ok, 0xF000, 6, 1.0 / 4096, INTERPRET)
    p += _nibble(qt, x_ptrs, m_ok, 0xF0000, 1, 1.0 / 65536, INTERPRET)
    p += _nibble(hi, x_ptrs, m_ok, 0xF00, 3, 1.0 / 256, INTERPRET)
    p += _nibble(hi, x_ptrs, m_ok, 0xF000, 5, 1.0 / 4096, INTERPRET)
    p += _nibble(hi, x_ptrs, m_ok, 0xF0000, 7, 1.0 / 65536, INTERPRET)
    return p


@triton.jit(do_not_specialize=["M"])
def w4a16_gemv_kernel(
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    M, N, K, KW, stride_zg,
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr, EVEN_K: tl.constexpr,
    INTERPRET: tl.constexpr,  # Triton's CPU interpreter: no inline assembly
    BLOCK_SIZE_M: tl.constexpr,  # >= M: one tile of tokens
    BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, SPLIT_K: tl.constexpr,
    PREFETCH: tl.constexpr = 0, TILED: tl.constexpr = 0,
):
    BKW: tl.constexpr = BLOCK_SIZE_K // 8
    # groups a block spans (1 where the block lies inside one group) and packed words per such group
    GB: tl.constexpr = BLOCK_SIZE_K // GROUP if GROUP != 0 and GROUP < BLOCK_SIZE_K else 1
    pid_n = tl.program_id(axis=0)
    pid_k = tl.program_id(axis=1)
    offs_m = tl.arange(0, BLOCK_SIZE_M)
    m_ok = offs_m < M
    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    rows = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)
    offs_kw = tl.arange(0, BKW)
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_g = tl.arange(0, GB)

    num_iters = tl.cdiv(K, BLOCK_SIZE_K)
    it_start = pid_k * num_iters // SPLIT_K
    it_end = (pid_k + 1) * num_iters // SPLIT_K
    n_groups = 1 if GROUP == 0 else K // GROUP
    acc = tl.zeros((BLOCK_SIZE_N, BLOCK_SIZE_M), dtype=tl.float32)
    if PREFETCH:
        k_first = it_start * BKW + offs_kw
        qt_next = tl.load(qw_ptr + rows[:, None] * KW + k_first[None, :], mask=(k_first < KW)[None, :], other=0,
                          eviction_policy="evict_first")
    else:
        qt_next = tl.zeros((BLOCK_SIZE_N, BKW), tl.int32)
    for it in range(it_start, it_end):
        k0 = it * BLOCK_SIZE_K
        kw = k0 // 8 + offs_kw
        if PREFETCH:  # the next block's words are loaded before this block is computed
            kw_ok = kw < KW
            qt = qt_next
            kn = tl.minimum(it + 1, it_end - 1) * BKW + offs_kw
            qt_next = tl.load(qw_ptr + rows[:, None] * KW + kn[None, :], mask=(kn < KW)[None, :], other=0,
                              eviction_policy="evict_first")
        elif TILED:  # timing experiment: each (tile, K block) contiguous in memory
            kw_ok = offs_kw >= 0
            t_ptrs = qw_ptr + ((pid_n * num_iters + it) * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)[:, None]) * BKW
            qt = tl.load(t_ptrs + offs_kw[None, :], eviction_policy="evict_first")
        elif EVEN_K:
            kw_ok = offs_kw >= 0
            qt = tl.load(qw_ptr + rows[:, None] * KW + kw[None, :], eviction_policy="evict_first")
        else:  # a masked K tail: zero activations, so the masked words add nothing
            kw_ok = kw < KW
            qt = tl.load(qw_ptr + rows[:, None] * KW + kw[None, :], mask=kw_ok[None, :], other=0,
                         eviction_policy="evict_first")
        if GROUP == 0:
            g = tl.zeros((GB,), tl.int32)
        else:
            g = tl.minimum(k0 // GROUP + offs_g, n_groups - 1)
        s = tl.load(s_ptr + g[None, :] * N + rows[:, None]).to(tl.float32)  # [BN, GB]
        if HAS_ZP:
            zw = tl.load(z_ptr + g[None, :] * stride_zg + rows[:, None] // 8)
            j = rows[:, None] % 8
            z = ((zw >> (((j >> 1) + (j & 1) * 4) * 4)) & 0xF).to(tl.float32)
        else:
            z = tl.full((BLOCK_SIZE_N, GB), 8.0, tl.float32)
        for m in tl.static_range(BLOCK_SIZE_M):
            x_ok = kw_ok & (m < M)
            x_ptrs = a_ptr + m * K + k0 + offs_kw * 8
            p = _word_products(qt, x_ptrs, x_ok, INTERPRET)  # [BN, BKW]
            r = tl.sum(tl.reshape(p, (BLOCK_SIZE_N, GB, BKW // GB)), axis=2)  # [BN, GB]
            xs = tl.sum(tl.reshape(tl.load(a_ptr + m * K + k0 + offs_k, mask=(k0 + offs_k < K) & (m < M), other=0.0)
                                   .to(tl.float32), (GB, BLOCK_SIZE_K // GB)), axis=1)  # [GB]
            col = tl.sum((r - z * xs[None, :]) * s, axis=1)  # [BN]
            acc += tl.where((offs_m == m)[None, :], col[:, None], 0.0)
    split_k_store(tl.trans(acc), c_ptr, ws_ptr, cnt_ptr, pid_n, pid_k, offs_m, offs_n, M, N, BLOCK_SIZE_M,
                  BLOCK_SIZE_N, SPLIT_K)
