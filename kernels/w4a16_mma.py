"""The W4A16 kernel: the transposed product on tensor cores, zero-point-free int4 values in the MMA, the group scales
applied to the fp32 product of each K block.

Each program computes the tile C^T[BN, BM] = W[BN, K] . A[BM, K]^T over its share of K: the weight tile takes the
MMA's wide side (on Hopper the wgmma A operand, straight from registers, where it was dequantized) and the token tile
its narrow one, so at decode (M <= 16) no MMA row is padding and at prefill the token tile grows to 256.

Dequantization is one shift, one LOP3 and one add per pair of weights. The kernel layout (kernels/w4a16.py) packs
eight consecutive K elements per int32 word in the AWQ order, so nibbles j and j+4 hold elements 2j and 2j+1:
(word >> 4j) & 0x000F000F | 0x43004300 read as two bf16 is (128 + q_2j, 128 + q_2j+1) exactly (fp16: 0x64006400,
1024 + q); adding the pair -(OFFSET + z) (OFFSET = 128 or 1024) leaves q - z, an exact integer in -15..15, already the
MMA operand register for two consecutive K. Where a K block lies inside one quantization group, the scale never
touches a weight:

    sum_k a[m, k] (q[n, k] - z[n]) s[n] = s[n] sum_k a[m, k] (q[n, k] - z[n]),

and per block the MMA gives part = (Q - Z) . A^T exactly in fp32 (small integers times bf16/fp16 values), and the
accumulator takes part * s: one FMA per output element per block (at decode, 8 per thread where scaling the weights
would cost one multiply per pair of them). Per-channel quantization (GROUP = 0) does the same with one scale row. The
next block's scale and zero-point rows are loaded one block ahead (they would otherwise stall every block on a global
load).

Where a K block spans several groups (SCALE_W: BLOCK_SIZE_K a multiple of the group, as 128 at g32, so a small group
does not cap the block, and its wait, at 32 K), each packed word takes its own group's zero point and scale, and the
pair (q - z) is multiplied by s in the activation dtype, one HMUL2 per pair: (q - z) is exact and the product of two
16-bit floats is exact in fp32, so the one rounding gives the reference's dequantized weight bit for bit. The block's
scale and zero-point rows are loaded once per group and spread over the group's words (_spread), and the zero point's
pair is built with integer operations (_zero_pair): loading and converting them per word took 1744 instructions for a
g32 block where this takes 1216 (sm_90 SASS of one decode config), 1.2-1.9x faster on an H200 (docs/BENCHMARKS.md).

Each block's MMAs are waited for before the next block's weights are dequantized (the product is consumed by the
scaling): with the accumulator carried through the MMA instead, Triton 3.6 keeps MMAs in flight across iterations
whose register operands the next iteration overwrites (triton-lang/triton issue 9433), which gave wrong answers on an
H200 for some tiles.

With TMA the packed words arrive through a tensor descriptor (qw_ptr is one: one bulk copy a tile and stage,
zero-filled past N and K, pipelined by num_stages as the loads were); everything after the load is the same code.
1.0-1.2x faster at decode on the larger weights of an H200, slower on some small ones, so it is a config key
(docs/BENCHMARKS.md, "W4A16: the packed words through TMA").

Under Triton's CPU interpreter (INTERPRET) the inline assembly is replaced by the same bit operations in Triton ops.
Split-K: fp32 partials in a workspace, the last program of a tile sums them in split order (kernels/tiles.py).
"""

import triton
import triton.language as tl

from kernels.tiles import grouped_tile, split_k_store


@triton.jit
def _pair_asm(q, shift, zz, FP16: tl.constexpr):
    """Two dequantized weights as two 16-bit floats: x = (q >> shift) & 0x000F000F | MAGIC is the pair OFFSET + q at
    bits shift and shift + 16, then x + zz (zz: the pair -(OFFSET + z)) = q - z exactly. An FMA by one rather than an
    add keeps it to sm_80's instructions (ptxas emits HADD2)."""
    if FP16:
        lo, hi = tl.inline_asm_elementwise(
            "{ .reg .b32 t, u, one; shr.u32 u, $2, $3; lop3.b32 t, u, 0x000F000F, 0x64006400, 0xEA;"
            " mov.b32 one, 0x3C003C00; fma.rn.f16x2 t, t, one, $4; mov.b32 {$0, $1}, t; }",
            "=h,=h,r,r,r", [q, shift, zz], dtype=(tl.float16, tl.float16), is_pure=True, pack=1)
    else:
        lo, hi = tl.inline_asm_elementwise(
            "{ .reg .b32 t, u, one; shr.u32 u, $2, $3; lop3.b32 t, u, 0x000F000F, 0x43004300, 0xEA;"
            " mov.b32 one, 0x3F803F80; fma.rn.bf16x2 t, t, one, $4; mov.b32 {$0, $1}, t; }",
            "=h,=h,r,r,r", [q, shift, zz], dtype=(tl.bfloat16, tl.bfloat16), is_pure=True, pack=1)
    return lo, hi


@triton.jit
def _pairs(qt, zz, FP16: tl.constexpr, INTERPRET: tl.constexpr):
    """Packed words [BN, BK/8] (AWQ order) -> (lo, hi) [BN, BK/8, 4]: pair j of each word, q - z in the activation
    dtype (zz: the pair -(OFFSET + z) as two 16-bit floats in one int32, per row [BN, 1] or per word [BN, BK/8])."""
    shifts = (tl.arange(0, 4) * 4)[None, None, :]
    dtype = tl.float16 if FP16 else tl.bfloat16
    if INTERPRET:  # the same arithmetic in Triton ops, exact as on the GPU
        pair = ((qt[:, :, None] >> shifts) & 0x000F000F) | (0x64006400 if FP16 else 0x43004300)
        nz = (zz & 0xFFFF).to(tl.int16).to(dtype, bitcast=True).to(tl.float32)[:, :, None]
        lo = ((pair & 0xFFFF).to(tl.int16).to(dtype, bitcast=True).to(tl.float32) + nz).to(dtype)
        hi = (((pair >> 16) & 0xFFFF).to(tl.int16).to(dtype, bitcast=True).to(tl.float32) + nz).to(dtype)
    else:
        lo, hi = _pair_asm(qt[:, :, None], shifts, zz[:, :, None], FP16)
    return lo, hi


@triton.jit
def _neg_pair(zf, FP16: tl.constexpr):
    """zf = OFFSET + z (fp32) -> the pair -(OFFSET + z) that _pairs adds, as two 16-bit floats in one int32."""
    h = (-zf).to(tl.float16 if FP16 else tl.bfloat16).to(tl.int16, bitcast=True).to(tl.int32) & 0xFFFF
    return h | (h << 16)


@triton.jit
def _zero_pair(z, FP16: tl.constexpr):
    """An integer zero point z (0..15) -> the same pair as _neg_pair, with integer operations only: -(1024 + z) in fp16
    is 0xE400 | z, -(128 + z) in bf16 is 0xC300 | z (z in the mantissa's low bits)."""
    h = (0xE400 if FP16 else 0xC300) | z
    return h | (h << 16)


@triton.jit
def _weights(qt, zf, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, FP16: tl.constexpr,
             INTERPRET: tl.constexpr):
    """Packed words [BN, BK/8] (AWQ order) -> [BN, BK] of q - z in the activation dtype, K in order (zf = OFFSET + z
    per row, [BN, 1] fp32)."""
    lo, hi = _pairs(qt, _neg_pair(zf, FP16), FP16, INTERPRET)
    return tl.reshape(tl.join(lo, hi), (BLOCK_SIZE_N, BLOCK_SIZE_K))  # [BN, BK/8, 4 pairs, 2] -> K order


@triton.jit
def _scaled_weights(qt, zz, sw, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, FP16: tl.constexpr,
                    INTERPRET: tl.constexpr):
    """As _weights with each word's own group: (q - z) * s in the activation dtype (zz, as _pairs takes it, and sw per
    word, [BN, BK/8]). (q - z) is exact and the product of two 16-bit floats is exact in fp32, so one rounding gives
    the reference's W."""
    lo, hi = _pairs(qt, zz, FP16, INTERPRET)
    if INTERPRET:  # the interpreter has no 16-bit float multiply; fp32 then one rounding is the same value
        dtype = tl.float16 if FP16 else tl.bfloat16
        lo = (lo.to(tl.float32) * sw[:, :, None].to(tl.float32)).to(dtype)
        hi = (hi.to(tl.float32) * sw[:, :, None].to(tl.float32)).to(dtype)
    else:  # HMUL2
        lo = lo * sw[:, :, None]
        hi = hi * sw[:, :, None]
    return tl.reshape(tl.join(lo, hi), (BLOCK_SIZE_N, BLOCK_SIZE_K))


@triton.jit
def _zero_nibbles(zw, offs_n):
    """The zero points of columns offs_n (int32) from their packed words zw (AWQ order along N)."""
    j = offs_n % 8
    return (zw >> (((j >> 1) + (j & 1) * 4) * 4)) & 0xF


@triton.jit
def _zero_points(zw, offs_n):
    """The zero points of columns offs_n (fp32) from their packed words zw (AWQ order along N)."""
    return _zero_nibbles(zw, offs_n).to(tl.float32)


@triton.jit
def _spread(x, BLOCK_SIZE_N: tl.constexpr, GROUPS: tl.constexpr, WORDS: tl.constexpr):
    """[BN, GROUPS] -> [BN, GROUPS * WORDS]: each group's value on each of its WORDS packed words."""
    return tl.reshape(tl.broadcast_to(x[:, :, None], (BLOCK_SIZE_N, GROUPS, WORDS)), (BLOCK_SIZE_N, GROUPS * WORDS))


@triton.jit
def _zero_offsets(zw, offs_n, HAS_ZP: tl.constexpr, OFFSET: tl.constexpr):
    """OFFSET + zero point of columns offs_n (fp32) from their packed words zw (AWQ order); 8 without zero points."""
    if HAS_ZP:
        return _zero_points(zw, offs_n) + OFFSET
    else:
        return tl.full(offs_n.shape, OFFSET + 8.0, tl.float32)


@triton.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_kernel(
    # pointers
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    # dimensions (all tensors contiguous)
    M, N, K, KW, stride_zg,  # KW = K / 8, its own argument so Triton sees it divisible by 16: 16-byte loads
    # quantization and build
    GROUP: tl.constexpr,  # group size; 0 = per-channel
    HAS_ZP: tl.constexpr,
    FP16: tl.constexpr,  # activations fp16 (else bf16)
    EVEN_K: tl.constexpr,  # K % (BLOCK_SIZE_K * K_UNROLL) == 0: no K masks
    SCALE_W: tl.constexpr,  # BLOCK_SIZE_K spans several groups: the scales go into the weights (module docstring)
    INTERPRET: tl.constexpr,  # Triton's CPU interpreter: no inline assembly
    # meta-parameters
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr, SPLIT_K: tl.constexpr, K_UNROLL: tl.constexpr,
    TMA: tl.constexpr,  # qw_ptr is a TMA tensor descriptor of the words [N, K/8] in [BLOCK_SIZE_N, BKW] tiles
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
    row_ok = (offs_m < M)[:, None]  # rows past M load no activations (zeros) and are never stored
    offs_bn = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)
    rows = offs_bn[:, None]  # per-row quantities (scales, zero points) are [BN, 1]
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_kw = tl.arange(0, BKW)

    # this program's share: whole iterations of BLOCK_SIZE_K * K_UNROLL (split s runs [s*n//SPLIT_K, (s+1)*n//SPLIT_K))
    num_iters = tl.cdiv(K, BLOCK_SIZE_K * K_UNROLL)
    it_start = pid_k * num_iters // SPLIT_K
    it_end = (pid_k + 1) * num_iters // SPLIT_K

    acc = tl.zeros((BLOCK_SIZE_N, BLOCK_SIZE_M), dtype=tl.float32)
    # 1.0 that the compiler cannot fold: SCALE_W's `acc += part * one` keeps each block's product out of the
    # accumulator, so its MMAs are waited for per block as in the other path (issue 9433 in the module docstring)
    one = (K > 0).to(tl.float32)
    if GROUP == 0:
        s_blk = tl.load(s_ptr + rows).to(tl.float32)
        zf_blk = _zero_offsets(tl.load(z_ptr + rows // 8) if HAS_ZP else 0, rows, HAS_ZP, OFFSET)
    else:
        n_groups = K // GROUP
        g_next = tl.minimum(it_start * K_UNROLL * BLOCK_SIZE_K // GROUP, n_groups - 1)
        s_next = tl.load(s_ptr + g_next * N + rows)
        zw_next = tl.load(z_ptr + g_next * stride_zg + rows // 8) if HAS_ZP else 0
    for it in range(it_start, it_end):
        for u in tl.static_range(K_UNROLL):
            k0 = (it * K_UNROLL + u) * BLOCK_SIZE_K
            a_ptrs = a_ptr + offs_m[:, None] * K + (k0 + offs_k)[None, :]
            if EVEN_K:
                a = tl.load(a_ptrs, mask=row_ok, other=0.0)
            else:  # a masked K tail: zero activations, so whatever the masked weights dequantize to adds nothing
                a = tl.load(a_ptrs, mask=row_ok & ((k0 + offs_k)[None, :] < K), other=0.0)
            if TMA:  # qw_ptr is a tensor descriptor: one bulk copy of the tile, zeros past N and K
                qt = qw_ptr.load([pid_n * BLOCK_SIZE_N, k0 // 8])
            elif EVEN_K:
                qt = tl.load(qw_ptr + rows * KW + (k0 // 8 + offs_kw)[None, :])
            else:
                qt = tl.load(qw_ptr + rows * KW + (k0 // 8 + offs_kw)[None, :], mask=(k0 // 8 + offs_kw)[None, :] < KW,
                             other=0)
            if SCALE_W:  # the block's groups: each scale and zero point loaded and converted once, then spread
                g_b = tl.minimum(k0 // GROUP + tl.arange(0, BLOCK_SIZE_K // GROUP), n_groups - 1)[None, :]
                s_w = _spread(tl.load(s_ptr + g_b * N + rows), BLOCK_SIZE_N, BLOCK_SIZE_K // GROUP, GROUP // 8)
                if HAS_ZP:
                    z_g = _zero_nibbles(tl.load(z_ptr + g_b * stride_zg + rows // 8), rows)
                else:
                    z_g = tl.full((BLOCK_SIZE_N, BLOCK_SIZE_K // GROUP), 8, tl.int32)
                zz_w = _spread(_zero_pair(z_g, FP16), BLOCK_SIZE_N, BLOCK_SIZE_K // GROUP, GROUP // 8)
                part = tl.dot(_scaled_weights(qt, zz_w, s_w, BLOCK_SIZE_N, BLOCK_SIZE_K, FP16, INTERPRET),
                              tl.trans(a))
                acc += part * one
            else:
                if GROUP != 0:
                    s_blk = s_next.to(tl.float32)
                    zf_blk = _zero_offsets(zw_next, rows, HAS_ZP, OFFSET)
                    g_next = tl.minimum((k0 + BLOCK_SIZE_K) // GROUP, n_groups - 1)  # the next block's rows, ahead
                    s_next = tl.load(s_ptr + g_next * N + rows)
                    zw_next = tl.load(z_ptr + g_next * stride_zg + rows // 8) if HAS_ZP else 0
                part = tl.dot(_weights(qt, zf_blk, BLOCK_SIZE_N, BLOCK_SIZE_K, FP16, INTERPRET), tl.trans(a))
                acc += part * s_blk
    split_k_store(tl.trans(acc), c_ptr, ws_ptr, cnt_ptr, pid, pid_k, offs_m, offs_n, M, N, BLOCK_SIZE_M,
                  BLOCK_SIZE_N, SPLIT_K)
