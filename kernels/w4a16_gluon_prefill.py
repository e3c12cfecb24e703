"""The W4A16 prefill product in Gluon, the dequantization overlapped with the tensor cores, in two forms
(docs/BENCHMARKS.md, "W4A16 prefill in Gluon, the weights in the wgmma's registers" and the section after it). The
second form with the words as the checkpoint has them (REG_A = 1, WORDS_TMA = 1) is the family's REG_A path
(kernels/w4a16.py: run_reg_a, family_reason, family_smem_bytes); the rest is a probe (bench/w4a16_gemv_probe.py
--kernel gluon-prefill).

At M >= 1024 the family runs DEQUANT_GEMM (kernels/w4a16_dequant.py: W written once in bf16, then cuBLAS), 0.78-0.83x
cuBLAS bf16 at M = 1024 because writing W costs 2.5 bytes a weight.

REG_A = 0 (w4a16_gluon_prefill_kernel): the dequantized weights go to shared memory and both wgmma operands come
from there, so a K step's MMA runs while the next step's weights are dequantized:

    C[BM, BN] = A[BM, K] . W[BN, K]^T, per K step of BK (inside one quantization group):
      the activation tile and the packed words arrive by cp.async, RING - 2 steps ahead (each thread copies the
      words it later reads);
      each word becomes four bf16 pairs (q - z) * s (shift, LOP3 with the 0x43004300 magic number, two bf16x2 FMAs:
      q - z exact, the product rounded once, as the reference's dequantized weight) into one of two shared buffers;
      the wgmma accumulates through its registers, at most one step in flight, so the buffer of two steps back is
      free to overwrite when the next step's weights are ready.
  Measured 0.40-0.63x cuBLAS bf16.

REG_A = 1 (w4a16_gluon_prefill_rega_kernel, the note above it): the transposed product, the dequantized weights
straight into the wgmma's register operand, the activations by TMA. With each step's scales and zero points loaded two
steps ahead: 0.90-0.98x cuBLAS bf16 at M = 1024 on the weights of >= 16 MB (1.13-1.20x the family's DEQUANT_GEMM
there); slower than DEQUANT_GEMM on narrow weights and at M = 4096. Its words either repacked on the host
(WORDS_TMA = 0) or as the checkpoint has them, by TMA with the activations (WORDS_TMA = 1).

bf16 activations, g >= BK (g128 with BK 64 or 128, or per-channel). Gluon has no interpreter: the CPU tests compile
both forms for sm_90 and read their SASS (test/python/test_w4a16_gluon.py); answers are checked on the GPU
(bench/w4a16_gemv_probe.py --kernel gluon-prefill).
"""

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.ampere import async_copy
from triton.experimental.gluon.language.nvidia.hopper import (fence_async_shared, warpgroup_mma, warpgroup_mma_init,
                                                           warpgroup_mma_wait)

from triton.experimental.gluon.language.nvidia.hopper import mbarrier, tma
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

try:  # imported as kernels.w4a16_gluon_prefill or with kernels/ on sys.path
    from .tiles import grouped_tile
    from .w4a16_gluon import _words_layout, _zero_pairs, _zero_word_pairs, block_k_reason
    from .w4a16_pack import unpack_int4
except ImportError:
    from tiles import grouped_tile
    from w4a16_gluon import _words_layout, _zero_pairs, _zero_word_pairs, block_k_reason
    from w4a16_pack import unpack_int4


@gluon.jit
def _scaled_pair(u, zz, ss):
    """u: packed words shifted so that nibbles j and j+4 sit at bits 0 and 16 -> the bf16 pair (q - z) * s."""
    return gl.inline_asm_elementwise(
        "{ .reg .b32 t, one, nz; lop3.b32 t, $1, 0x000F000F, 0x43004300, 0xEA; mov.b32 one, 0x3F803F80;"
        " fma.rn.bf16x2 t, t, one, $2; mov.b32 nz, 0x80008000; fma.rn.bf16x2 $0, t, $3, nz; }",
        "=r,r,r,r", [u, zz, ss], dtype=gl.int32, is_pure=True, pack=1)


@gluon.jit
def w4a16_gluon_prefill_kernel(
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr,
    M, N, K, KW, stride_zg,
    GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
    BLOCK_SIZE_M: gl.constexpr, BLOCK_SIZE_N: gl.constexpr, BLOCK_SIZE_K: gl.constexpr, GROUP_SIZE_M: gl.constexpr,
    RING: gl.constexpr, num_warps: gl.constexpr,
):
    BM: gl.constexpr = BLOCK_SIZE_M
    BN: gl.constexpr = BLOCK_SIZE_N
    BK: gl.constexpr = BLOCK_SIZE_K
    BKW: gl.constexpr = BK // 8
    # packed words [BN, BKW]: 16 bytes a thread; activations [BM, BK]: 16 bytes a thread
    lq: gl.constexpr = gl.BlockedLayout([1, 4], [32 // (BKW // 4), BKW // 4], [num_warps, 1], [1, 0])
    la: gl.constexpr = gl.BlockedLayout([1, 8], [32 // (BK // 8), BK // 8], [num_warps, 1], [1, 0])
    mma: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                  instr_shape=[16, BN, 16])
    plain: gl.constexpr = gl.SwizzledSharedLayout(1, 1, 1, [1, 0])
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BM, BK], gl.bfloat16)
    w32_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=32, rank=2)
    w16_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)

    # program -> (row tile, column tile), GROUP_SIZE_M row tiles walked column by column (weights shared in L2)
    pid_m, pid_n = grouped_tile(gl.program_id(0), gl.cdiv(M, BM), gl.cdiv(N, BN), GROUP_SIZE_M)

    rows = (pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(1, lq))) % N  # a ragged tile re-reads valid rows
    q_base = qw_ptr + gl.expand_dims(rows, 1) * KW + gl.expand_dims(gl.arange(0, BKW, layout=gl.SliceLayout(0, lq)), 0)
    offs_am = pid_m * BM + gl.arange(0, BM, layout=gl.SliceLayout(1, la))
    a_base = a_ptr + gl.expand_dims(offs_am, 1) * K + gl.expand_dims(gl.arange(0, BK, layout=gl.SliceLayout(0, la)), 0)
    a_mask = gl.expand_dims(offs_am < M, 1)

    a_ring = gl.allocate_shared_memory(gl.bfloat16, [RING, BM, BK], a_layout)
    q_ring = gl.allocate_shared_memory(gl.int32, [RING, BN, BKW], plain)
    w_smem = gl.allocate_shared_memory(gl.int32, [2, BN, BK // 2], w32_layout)

    # the ring: RING - 2 steps ahead of the one being dequantized, and the slots of the (at most) two steps whose
    # MMAs may still run; a step past the end loads the last one again (its copy is never read)
    n_steps = K // BK
    last = n_steps - 1
    for r in gl.static_range(RING - 2):
        step = gl.minimum(r, last)
        async_copy.async_copy_global_to_shared(a_ring.index(r), a_base + step * BK, mask=a_mask)
        async_copy.async_copy_global_to_shared(q_ring.index(r), q_base + step * BKW)
        async_copy.commit_group()

    acc = warpgroup_mma_init(gl.zeros((BM, BN), gl.float32, layout=mma))
    for i in range(0, n_steps):
        slot = i % RING
        async_copy.wait_group(RING - 3)  # step i's tiles are in (this thread's copies)
        q = q_ring.index(slot).load(lq)
        g = 0
        if GROUP != 0:
            g = i * BK // GROUP
        s = gl.load(s_ptr + g * N + rows)
        h = s.to(gl.int16, bitcast=True).to(gl.int32) & 0xFFFF
        ss = gl.expand_dims(h | (h << 16), 1)
        zz = gl.expand_dims(_zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP), 1)
        p0 = _scaled_pair(q, zz, ss)
        p1 = _scaled_pair(q >> 4, zz, ss)
        p2 = _scaled_pair(q >> 8, zz, ss)
        p3 = _scaled_pair(q >> 12, zz, ss)
        w = gl.reshape(gl.join(gl.join(p0, p2), gl.join(p1, p3)), [BN, BK // 2])  # K in order (w4a16_gluon._stage)
        # the MMA of step i - 2 (which read this weight buffer and the ring slot refilled below) is done
        acc = warpgroup_mma_wait(num_outstanding=1, deps=(acc,))
        w_smem.index(i % 2).store(w)
        fence_async_shared()
        gl.thread_barrier()  # every warp's weights and activations in place before the warp groups' MMAs
        acc = warpgroup_mma(a_ring.index(slot),
                            w_smem.index(i % 2)._reinterpret(gl.bfloat16, [BN, BK], w16_layout).permute((1, 0)),
                            acc, is_async=True)
        # step i + RING - 2 into the slot of step i - 2, whose MMA the wait above saw done
        step = gl.minimum(i + RING - 2, last)
        nxt = (i + RING - 2) % RING
        async_copy.async_copy_global_to_shared(a_ring.index(nxt), a_base + step * BK, mask=a_mask)
        async_copy.async_copy_global_to_shared(q_ring.index(nxt), q_base + step * BKW)
        async_copy.commit_group()
    acc = warpgroup_mma_wait(num_outstanding=0, deps=(acc,))
    async_copy.wait_group(0)

    cm = gl.expand_dims(pid_m * BM + gl.arange(0, BM, layout=gl.SliceLayout(1, mma)), 1)
    cn = gl.expand_dims(pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(0, mma)), 0)
    gl.store(c_ptr + cm * N + cn, acc.to(gl.bfloat16), mask=(cm < M) & (cn < N))


# ---------------------------------------------------------------------------------------------------------------------
# REG_A = 1: the transposed product C^T[BN, BM] = W[BN, K] . A[BM, K]^T, the dequantized weights straight into the
# wgmma's register operand (the weight rows on the MMA's m side, 16 a warp; the token tile on its n side, up to 256),
# the activations as its shared operand, by TMA through a ring of RING steps (one mbarrier a slot). Nothing is stored.
#
# The wgmma A fragment gives lane l of a warp rows l/4 (+8) of its 16 and, in each K step of 16, the pairs of K at
# 2c and 8 + 2c (c = l % 4). The words of a K block are repacked once on the host (repack_prefill_reg_a) so that word
# (c, h) of a row holds, as its pair j (nibbles j and j + 4, the AWQ order's pairs), K = 32h + 16(j // 2) +
# 8(j % 2) + 2c (+ 1): exactly the pairs lane c holds in the fragment, the activations in their natural order (so
# TMA can bring them). Lane c reads its H = BK/32 words of a row as one run; the layout of the words
# (w4a16_gluon._words_layout) makes the conversion to the fragment a renaming of registers.
#
# WORDS_TMA = 1 reads the words unrepacked: word 4h + j of a row holds K = 32h + 8j .. 8j + 7, its pair c at nibbles
# c and c + 4, so the pairs lane c needs are pair c of each word. The words come by TMA into the ring with the
# activations; each lane reads its rows' words whole from shared memory (the four lanes of a row the same ones) and
# shifts pair c down (_natural_words, the shift read from %laneid: _lane_pair).
#
# Each step: dequantize (q - z) * s into the fragment (two bf16x2 FMAs a pair: q - z exact, the product rounded
# once), wait for the step's activations, issue the wgmma on the accumulator, wait until at most this one is in
# flight, and refill the previous step's slot. Steps come in pairs, each with its own fragment, so that the
# fragment being written is never the one the wgmma in flight reads. The scales and zero points of a step are
# loaded two steps ahead, with its words (_group_rows).


@gluon.jit
def _scaled_halves(u, zz, ss):
    """As _scaled_pair, the pair (q - z) * s as two bf16 values (its low and high half)."""
    return gl.inline_asm_elementwise(
        "{ .reg .b32 t, one, nz; lop3.b32 t, $2, 0x000F000F, 0x43004300, 0xEA; mov.b32 one, 0x3F803F80;"
        " fma.rn.bf16x2 t, t, one, $3; mov.b32 nz, 0x80008000; fma.rn.bf16x2 t, t, $4, nz; mov.b32 {$0, $1}, t; }",
        "=h,=h,r,r,r", [u, zz, ss], dtype=(gl.bfloat16, gl.bfloat16), is_pure=True, pack=1)


@gluon.jit
def _fragment(u0, u1, u2, u3, zz, ss, dot: gl.constexpr, BN: gl.constexpr, BK: gl.constexpr):
    """Words [BN, 4 (c), H] whose pair j of the fragment sits at nibbles 0 and 4 of uj -> the wgmma A fragment
    [BN, BK] of (q - z) * s (the note above)."""
    lo0, hi0 = _scaled_halves(u0, zz, ss)
    lo1, hi1 = _scaled_halves(u1, zz, ss)
    lo2, hi2 = _scaled_halves(u2, zz, ss)
    lo3, hi3 = _scaled_halves(u3, zz, ss)
    x0 = gl.join(gl.join(lo0, hi0), gl.join(lo1, hi1))  # [BN, 4, H, e, j % 2] of pairs j = 0, 1
    x1 = gl.join(gl.join(lo2, hi2), gl.join(lo3, hi3))  # pairs j = 2, 3
    w = gl.permute(gl.join(x0, x1), (0, 2, 5, 4, 1, 3))  # (n, h, j // 2, j % 2, c, e): K in order
    return gl.convert_layout(gl.reshape(w, [BN, BK]), dot)


@gluon.jit
def _lane_pair(w):
    """w >> 4c, c = lane % 4 (where _words_layout puts the fragment's c): pair c of each word down to nibbles 0 and 4.
    The shift is read from %laneid: one computed from an arange over c made ptxas serialize the wgmmas of two warp
    groups (C7515)."""
    return gl.inline_asm_elementwise(
        "{ .reg .b32 l; mov.u32 l, %laneid; and.b32 l, l, 3; shl.b32 l, l, 2; shr.u32 $0, $1, l; }",
        "=r,r", [w], dtype=gl.int32, is_pure=True, pack=1)


@gluon.jit
def _natural_words(w_slot, lq: gl.constexpr, lw: gl.constexpr, BN: gl.constexpr, H: gl.constexpr):
    """WORDS_TMA: a step's words as they lie in the checkpoint (word 4h + j of a row holds K = 32h + 8j .. + 7, pair
    c at nibbles c and c + 4) from shared memory -> the four tensors [BN, 4 (c), H] _fragment takes: lane c reads
    its rows' words whole (the four lanes of a row read the same ones) and shifts pair c down."""
    plain: gl.constexpr = gl.SwizzledSharedLayout(1, 1, 1, [2, 1, 0])
    w = w_slot._reinterpret(gl.int32, [BN, H, 4], plain).load(lw)  # [BN, H, 4 (j)]
    ev, od = gl.split(gl.reshape(w, [BN, H, 2, 2]))  # j = 0, 2 and j = 1, 3
    w0, w2 = gl.split(ev)
    w1, w3 = gl.split(od)
    c = gl.expand_dims(gl.expand_dims(gl.arange(0, 4, layout=gl.SliceLayout(0, gl.SliceLayout(2, lq))), 0), 2)
    lrh: gl.constexpr = gl.SliceLayout(1, lq)
    u0 = _lane_pair(gl.broadcast(gl.expand_dims(gl.convert_layout(w0, lrh, assert_trivial=True), 1), c)[0])
    u1 = _lane_pair(gl.broadcast(gl.expand_dims(gl.convert_layout(w1, lrh, assert_trivial=True), 1), c)[0])
    u2 = _lane_pair(gl.broadcast(gl.expand_dims(gl.convert_layout(w2, lrh, assert_trivial=True), 1), c)[0])
    u3 = _lane_pair(gl.broadcast(gl.expand_dims(gl.convert_layout(w3, lrh, assert_trivial=True), 1), c)[0])
    return u0, u1, u2, u3


@gluon.jit
def _group_rows(s_ptr, z_ptr, rows, N, stride_zg, step, GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
                BK: gl.constexpr):
    """The loads of step's quantization group for rows: its scales and (with zero points) its zero-point words, as
    loaded (_group_pairs converts them), so that the loop issues them steps before their use."""
    g = 0
    if GROUP != 0:
        g = step * BK // GROUP
    s = gl.load(s_ptr + g * N + rows)
    zw = rows
    if HAS_ZP:
        zw = gl.load(z_ptr + g * stride_zg + rows // 8)
    return s, zw


@gluon.jit
def _group_pairs(s, zw, rows, HAS_ZP: gl.constexpr):
    """_group_rows' loads -> the bf16 pairs s, s and -(128 + z), -(128 + z) of each row, shaped for _fragment."""
    h = s.to(gl.int16, bitcast=True).to(gl.int32) & 0xFFFF
    ss = gl.expand_dims(gl.expand_dims(h | (h << 16), 1), 2)
    zz = gl.expand_dims(gl.expand_dims(_zero_word_pairs(zw, rows, HAS_ZP), 1), 2)
    return ss, zz


@gluon.jit
def _rega_step(i, acc, q, s, zw, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, n_steps,
               HAS_ZP: gl.constexpr, BN: gl.constexpr, BK: gl.constexpr, RING: gl.constexpr, WORDS_TMA: gl.constexpr,
               NBYTES: gl.constexpr, lq: gl.constexpr, lw: gl.constexpr, dot: gl.constexpr):
    """Step i: its fragment, its wgmma on the accumulator, then the refill of step i - 1's slot (module note)."""
    ss, zz = _group_pairs(s, zw, rows, HAS_ZP)
    slot = i % RING
    if WORDS_TMA:
        mbarrier.wait(bars.index(slot), (i // RING) & 1)  # the step's activations and words
        u0, u1, u2, u3 = _natural_words(w_ring.index(slot), lq, lw, BN, BK // 32)
        w = _fragment(u0, u1, u2, u3, zz, ss, dot, BN, BK)
    else:
        w = _fragment(q, q >> 4, q >> 8, q >> 12, zz, ss, dot, BN, BK)
        mbarrier.wait(bars.index(slot), (i // RING) & 1)
    acc = warpgroup_mma(w, a_ring.index(slot).permute((1, 0)), acc, is_async=True)
    acc = warpgroup_mma_wait(num_outstanding=1, deps=(acc,))
    gl.thread_barrier()  # both warp groups are past step i - 1's wgmma: its slot may take step i + RING - 1
    nxt = i + RING - 1
    _refill(nxt, nxt < n_steps, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK, RING, WORDS_TMA, NBYTES)
    return acc


@gluon.jit
def _refill(step, pred, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK: gl.constexpr, RING: gl.constexpr,
            WORDS_TMA: gl.constexpr, NBYTES: gl.constexpr):
    """TMA of step's activation tile (and WORDS_TMA: its words) into ring slot step % RING, if pred."""
    slot = step % RING
    mbarrier.expect(bars.index(slot), NBYTES, pred=pred)
    tma.async_copy_global_to_shared(a_desc, [off_m, step * BK], bars.index(slot), a_ring.index(slot), pred=pred)
    if WORDS_TMA:
        tma.async_copy_global_to_shared(w_desc, [off_n, step * (BK // 8)], bars.index(slot), w_ring.index(slot),
                                        pred=pred)


@gluon.jit
def _words_ahead(q_base, step, BKW: gl.constexpr, WORDS_TMA: gl.constexpr):
    """The repacked words of step into registers (WORDS_TMA: none, the ring brings them)."""
    if WORDS_TMA:
        return 0
    else:
        return gl.load(q_base + step * BKW)


@gluon.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_gluon_prefill_rega_kernel(
    a_desc, w_desc, qw_ptr, s_ptr, z_ptr, c_ptr,
    M, N, K, KW, stride_zg,
    GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
    BLOCK_SIZE_M: gl.constexpr, BLOCK_SIZE_N: gl.constexpr, BLOCK_SIZE_K: gl.constexpr, GROUP_SIZE_M: gl.constexpr,
    RING: gl.constexpr, WORDS_TMA: gl.constexpr, num_warps: gl.constexpr,
):
    BM: gl.constexpr = BLOCK_SIZE_M
    BN: gl.constexpr = BLOCK_SIZE_N
    BK: gl.constexpr = BLOCK_SIZE_K
    BKW: gl.constexpr = BK // 8
    H: gl.constexpr = BK // 32
    NBYTES: gl.constexpr = BM * BK * 2 + WORDS_TMA * BN * BK // 2  # a ring slot's TMA bytes
    lq: gl.constexpr = _words_layout(BN, H, num_warps)
    lw: gl.constexpr = _natural_layout(BN, H, num_warps)
    lrow: gl.constexpr = gl.SliceLayout(1, gl.SliceLayout(2, lq))
    mma: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                  instr_shape=[16, BM, 16])
    dot: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=mma, k_width=2)
    lc: gl.constexpr = gl.BlockedLayout([8, 1], [8, 4], [1, num_warps], [0, 1])  # C^T: 16 bytes of a C row a thread

    # program -> (token tile, weight tile): GROUP_SIZE_M token tiles walked weight tile by weight tile (the token
    # tiles of one weight tile in a row, its words read once; the group's activations held in L2)
    pid_m, pid_n = grouped_tile(gl.program_id(0), gl.cdiv(M, BM), gl.cdiv(N, BN), GROUP_SIZE_M)
    off_m = pid_m * BM
    off_n = pid_n * BN

    rows = (off_n + gl.arange(0, BN, layout=lrow)) % N  # a ragged tile re-reads valid rows
    cs = gl.expand_dims(gl.expand_dims(gl.arange(0, 4, layout=gl.SliceLayout(0, gl.SliceLayout(2, lq))), 0), 2)
    hs = gl.expand_dims(gl.expand_dims(gl.arange(0, H, layout=gl.SliceLayout(0, gl.SliceLayout(1, lq))), 0), 1)
    q_base = qw_ptr + gl.expand_dims(gl.expand_dims(rows, 1), 2) * KW + cs * H + hs

    a_ring = gl.allocate_shared_memory(gl.bfloat16, [RING, BM, BK], a_desc.layout)
    if WORDS_TMA:
        w_ring = gl.allocate_shared_memory(gl.int32, [RING, BN, BKW], w_desc.layout)
    else:
        w_ring = a_ring  # unused
    bars = gl.allocate_shared_memory(gl.int64, [RING, 1], mbarrier.MBarrierLayout())
    for r in gl.static_range(RING):
        mbarrier.init(bars.index(r), count=1)
    fence_async_shared()  # the barriers initialized before TMA signals them
    n_steps = K // BK
    last = n_steps - 1
    for r in gl.static_range(RING - 1):
        _refill(r, r < n_steps, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK, RING, WORDS_TMA, NBYTES)

    # each step's words (unless the ring brings them), scales and zero points are loaded two steps before its
    # fragment is made
    q_a = _words_ahead(q_base, 0, BKW, WORDS_TMA)
    s_a, z_a = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, 0, GROUP, HAS_ZP, BK)
    q_b = _words_ahead(q_base, gl.minimum(1, last), BKW, WORDS_TMA)
    s_b, z_b = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(1, last), GROUP, HAS_ZP, BK)
    acc = gl.zeros((BN, BM), gl.float32, layout=mma)
    for i in range(0, n_steps, 2):  # n_steps is even (invalid_reason)
        ahead_a = gl.minimum(i + 2, last)
        ahead_b = gl.minimum(i + 3, last)
        q_a2 = _words_ahead(q_base, ahead_a, BKW, WORDS_TMA)
        s_a2, z_a2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, ahead_a, GROUP, HAS_ZP, BK)
        q_b2 = _words_ahead(q_base, ahead_b, BKW, WORDS_TMA)
        s_b2, z_b2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, ahead_b, GROUP, HAS_ZP, BK)
        acc = _rega_step(i, acc, q_a, s_a, z_a, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, n_steps,
                         HAS_ZP, BN, BK, RING, WORDS_TMA, NBYTES, lq, lw, dot)
        acc = _rega_step(i + 1, acc, q_b, s_b, z_b, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n,
                         n_steps, HAS_ZP, BN, BK, RING, WORDS_TMA, NBYTES, lq, lw, dot)
        q_a, s_a, z_a = q_a2, s_a2, z_a2
        q_b, s_b, z_b = q_b2, s_b2, z_b2
    acc = warpgroup_mma_wait(num_outstanding=0, deps=(acc,))
    for r in gl.static_range(RING):
        mbarrier.invalidate(bars.index(r))

    out = gl.convert_layout(acc.to(gl.bfloat16), lc)
    cn = gl.expand_dims(off_n + gl.arange(0, BN, layout=gl.SliceLayout(1, lc)), 1)
    cm = gl.expand_dims(off_m + gl.arange(0, BM, layout=gl.SliceLayout(0, lc)), 0)
    gl.store(c_ptr + cm * N + cn, out, mask=(cm < M) & (cn < N))


@triton.constexpr_function
def _natural_layout(BN, H, num_warps):
    """WORDS_TMA: the words [BN, H, 4 (j)] of a step as _natural_words loads them: a row's words in one thread (in
    order: one vector load), the four lanes c of a row holding the same ones; rows as in _words_layout."""
    reg = [[0, 0, 1], [0, 0, 2]] + [[0, 1 << b, 0] for b in range(H.bit_length() - 1)] + [[8, 0, 0]]
    reg += [[1 << b, 0, 0] for b in range((16 * num_warps).bit_length() - 1, BN.bit_length() - 1)]
    lane = [[0, 0, 0], [0, 0, 0], [1, 0, 0], [2, 0, 0], [4, 0, 0]]
    warp = [[16 << b, 0, 0] for b in range(num_warps.bit_length() - 1)]
    return gl.DistributedLinearLayout(reg, lane, warp, [], [BN, H, 4])


def repack_prefill_reg_a(qweight: torch.Tensor, block_k: int) -> torch.Tensor:
    """The kernel layout [N, K/8] (AWQ order) -> REG_A prefill's: in each block of BK/8 words, word c * H + h (H =
    BK/32) holds in nibbles j and j + 4 the values at K = 32h + 16(j // 2) + 8(j % 2) + 2c and the next one (the
    module note). A load-time conversion, as the checkpoint converters are."""
    n, kw = qweight.shape
    k, h = kw * 8, block_k // 32
    q = unpack_int4(qweight, awq=True).to(torch.int64)  # [N, K], 0..15
    # K = (((h * 2 + j2) * 2 + j1) * 4 + c) * 2 + e  ->  (c, h, nibble = 4e + 2j2 + j1)
    q = q.view(n, k // block_k, h, 2, 2, 4, 2).permute(0, 1, 5, 2, 6, 3, 4).reshape(n, k // block_k, 4, h, 8)
    words = (q << (4 * torch.arange(8, device=q.device))).sum(-1)
    return (words - ((words >> 31) << 32)).to(torch.int32).reshape(n, kw).contiguous()


def invalid_reason(problem: dict, config: dict) -> str | None:
    """What this probe kernel cannot run (a reason), else None."""
    bm, bn = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"]
    reason = block_k_reason(problem, config["BLOCK_SIZE_K"], (64, 128))
    if reason:
        return reason
    if config.get("REG_A"):
        return _rega_reason(problem, config)
    if bm != 16 * config["num_warps"]:
        return f"BLOCK_SIZE_M {bm} must be 16 x num_warps (a warp's 16 rows of the MMA)"
    if bn not in (64, 128, 256):
        return f"BLOCK_SIZE_N {bn} must be 64, 128 or 256"
    if config["RING"] < 3:
        return f"RING {config['RING']} under 3 (two slots for the MMAs in flight, one loading)"
    if smem_bytes(config) > 227 * 1024:
        return f"shared memory {smem_bytes(config)} B over 227 KB"
    return None


def _rega_reason(problem: dict, config: dict) -> str | None:
    bm, bn, bk, warps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["num_warps"]
    if bn % (16 * warps):
        return f"REG_A: BLOCK_SIZE_N {bn} must be a multiple of 16 x num_warps (a warp's 16 rows of the MMA)"
    if bm not in (64, 128, 256):
        return f"REG_A: BLOCK_SIZE_M {bm} (the wgmma's n) must be 64, 128 or 256"
    if config.get("PERSIST") and (problem["K"] // bk < config["RING"] - 1 or not config.get("WORDS_TMA")):
        return "PERSIST: the words by TMA (WORDS_TMA 1), and K / BLOCK_SIZE_K >= RING - 1 (the ring reaches one tile on)"
    if (problem["K"] // bk) % 2:
        return f"REG_A: K / BLOCK_SIZE_K = {problem['K'] // bk} must be even (steps come in pairs)"
    regs = rega_registers(config)
    if regs > REG_A_REGISTERS:
        return (f"REG_A: ~{regs} registers a thread for the accumulator, two fragments and four steps of words, over "
                f"{REG_A_REGISTERS} (ptxas then serializes the wgmmas and spills)")
    if config["RING"] < 2:
        return f"RING {config['RING']} under 2 (the slot in the MMA, one loading; the family's num_stages)"
    if smem_bytes(config) > 227 * 1024:
        return f"shared memory {smem_bytes(config)} B over 227 KB"
    return None


REG_A_REGISTERS = 176  # of 255: the rest is addresses, scales and the loop (sm_90 builds: 176 here compiles to 219)


def rega_registers(config: dict) -> int:
    """REG_A: 32-bit registers a thread holds across a step: the fp32 accumulator [BN, BM], the A fragments of two
    steps (4 a 16-row slab and k-step of 16) and the packed words of four steps (2 rows x BK/32 a slab; WORDS_TMA:
    one step's, 2 rows x BK/8, as many)."""
    bm, bn, bk, warps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["num_warps"]
    slabs = bn // (16 * warps)
    return bn * bm // (32 * warps) + 2 * slabs * (bk // 16) * 4 + 4 * slabs * 2 * (bk // 32)


def smem_bytes(config: dict) -> int:
    """The ring of activation tiles and packed words, and the two dequantized weight buffers; REG_A: the ring of
    activation tiles (WORDS_TMA: and words) and its barriers."""
    bm, bn, bk, ring = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["RING"]
    if config.get("REG_A"):  # PERSIST: and the epilogues' layout conversions (at most 16 KB in sm_90 builds)
        return ring * (bm * bk * 2 + 8 + config.get("WORDS_TMA", 0) * bn * bk // 2) + 16384 * config.get("PERSIST", 0)
    return ring * (bm * bk * 2 + bn * bk // 2) + 2 * bn * bk * 2


def launch(inputs, config: dict) -> torch.Tensor:
    """kernels/w4a16.py W4A16Inputs -> C [M, N]."""
    p, a = inputs.problem, inputs.a
    M, N, K = p["M"], p["N"], p["K"]
    reason = invalid_reason(p, config)
    if reason:
        raise ValueError(f"w4a16 gluon prefill probe: {reason}")
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    g = p["group_size"]
    grid = (triton.cdiv(M, config["BLOCK_SIZE_M"]) * triton.cdiv(N, config["BLOCK_SIZE_N"]),)
    if config.get("PERSIST"):  # kernels/w4a16_reg_a.py (imported here: it imports this module)
        from kernels import w4a16_reg_a as persistent
        programs = torch.cuda.get_device_properties(a.device).multi_processor_count
        cfg = {**config, "num_stages": config["RING"]}
        per, grid = persistent.shares(p, cfg, programs, bool(config["SK"]))
        ws = persistent.workspace(p, cfg, grid, a.device)
        persistent.run(lambda kernel, grid: kernel[grid], a, inputs.qweight, inputs.scales, zeros, c, ws,
                       inputs.counters, p, cfg, per, grid)
        return c
    if config.get("REG_A"):
        qw, words_tma = inputs.qweight, config.get("WORDS_TMA", 0)
        if not words_tma:
            repacked = inputs.__dict__.setdefault("_prefill_reg_a", {})  # once per input set and block size
            bk = config["BLOCK_SIZE_K"]
            if bk not in repacked:
                repacked[bk] = repack_prefill_reg_a(inputs.qweight, bk)
            qw = repacked[bk]
        run_reg_a(lambda kernel, grid: kernel[grid], a, qw, inputs.scales, zeros, c, p,
                  {**config, "num_stages": config["RING"]}, words_tma)
        return c
    w4a16_gluon_prefill_kernel[grid](
        a, inputs.qweight, inputs.scales, zeros, c, M, N, K, K // 8, triton.cdiv(N, 8),
        GROUP=0 if g == -1 else g, HAS_ZP=p["zero_points"], BLOCK_SIZE_M=config["BLOCK_SIZE_M"],
        BLOCK_SIZE_N=config["BLOCK_SIZE_N"], BLOCK_SIZE_K=config["BLOCK_SIZE_K"],
        GROUP_SIZE_M=config["GROUP_SIZE_M"], RING=config["RING"], num_warps=config["num_warps"])
    return c


def run_reg_a(kernel_fn, a, qweight, scales, zeros, c, problem: dict, config: dict, words_tma: int = 1):
    """The REG_A kernel's arguments spelled out once: the family's REG_A path (kernels/w4a16.py: the words as the
    checkpoint has them, num_stages as RING) launches and compiles ahead through it, so both meet one specialization;
    the probe launches through it too. kernel_fn(kernel, grid) -> the callable."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    a_desc = TensorDescriptor(a, [M, K], [K, 1], [bm, bk], gl.NVMMASharedLayout.get_default_for([bm, bk], gl.bfloat16))
    w_desc = a_desc  # (unused: the repacked words come by plain loads)
    if words_tma:  # [N, K/8] int32 in tiles of [BLOCK_SIZE_N, BLOCK_SIZE_K/8], unswizzled
        w_desc = TensorDescriptor(qweight, [N, K // 8], [K // 8, 1], [bn, bk // 8], gl.NVMMASharedLayout(0, 32, 2))
    g = problem["group_size"]
    kernel_fn(w4a16_gluon_prefill_rega_kernel, (triton.cdiv(M, bm) * triton.cdiv(N, bn),))(
        a_desc, w_desc, qweight, scales, zeros, c, M, N, K, K // 8, triton.cdiv(N, 8),
        GROUP=0 if g == -1 else g, HAS_ZP=problem["zero_points"], BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk,
        GROUP_SIZE_M=config["GROUP_SIZE_M"], RING=config["num_stages"], WORDS_TMA=words_tma,
        num_warps=config["num_warps"])


def _as_probe(config: dict) -> dict:
    """A w4a16 family config of the REG_A path -> this module's: num_stages is the ring's depth, the words unrepacked."""
    return {**config, "RING": config["num_stages"], "REG_A": 1, "WORDS_TMA": 1}


def family_reason(problem: dict, config: dict) -> str | None:
    """What the family's REG_A path cannot run (kernels/w4a16.py invalid_reason takes it from here)."""
    return invalid_reason(problem, _as_probe(config))


def family_smem_bytes(config: dict) -> int:
    """The family's REG_A path: the ring of activation tiles and words, and its barriers."""
    return smem_bytes(_as_probe(config))


def space() -> list[dict]:
    """The probe's configs: the shared form (REG_A 0), 8 warps, BN x BK x ring depth (RING - 2 steps loaded ahead)
    over 128 token rows; the register form (REG_A 1), one or two warp groups, token tile x weight tile x BK x ring
    depth. Those that fit in shared memory and (REG_A) in the registers (rega_registers)."""
    shared = [dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=8, RING=ring, num_warps=8)
              for bn in (128, 256) for bk in (64, 128) for ring in (4, 5, 6)]
    reg_a = [dict(BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=gm, RING=ring, num_warps=w, REG_A=1,
                  WORDS_TMA=wt)
             for w in (4, 8) for bm in (128, 256) for bn in (16 * w, 32 * w) for bk in (64, 128) for ring in (2, 3, 4)
             for gm in (4, 64) for wt in (1,)]
    reg_a += [{**c, "PERSIST": 1, "SK": sk} for c in reg_a for sk in (0, 1)]
    return [c for c in shared if smem_bytes(c) <= 227 * 1024] + [
        c for c in reg_a if smem_bytes(c) <= 227 * 1024 and rega_registers(c) <= REG_A_REGISTERS]
