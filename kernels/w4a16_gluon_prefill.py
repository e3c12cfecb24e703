"""The w4a16 family's REG_A path (kernels/w4a16.py: REG_A 1), Hopper: the prefill product in Gluon, transposed, the
dequantized weights in the wgmma's register operand (docs/BENCHMARKS.md, "W4A16 prefill in Gluon, the weights in the
wgmma's registers" and the sections after it):

    C^T[BN, BM] = W[BN, K] . A[BM, K]^T per K step of BK (inside one quantization group), one or two warp groups of
    16-row slabs of W:
      the activation tile and the step's packed words, as the checkpoint has them, arrive by TMA into a ring of
      num_stages slots, num_stages - 1 steps ahead;
      each lane reads its rows' words whole from shared memory and shifts its pair down (_natural_words, the shift
      from %laneid: one computed from an arange made ptxas serialize the wgmmas of two warp groups, C7515);
      each word becomes bf16 pairs (q - z) * s (LOP3 with the 0x43004300 magic number, two bf16x2 FMAs: q - z exact,
      the product rounded once, as the reference's dequantized weight), already where the wgmma A fragment wants
      them (the layout conversion is a renaming of registers);
      the step's wgmma runs with one in flight, so the next step's fragment is made while it runs; each step's scales
      and zero points are loaded two steps ahead.
  0.90-0.98x cuBLAS bf16 at M = 1024 on the weights of >= 16 MB; slower than the family's DEQUANT_GEMM on narrow
  weights and at M = 4096, where the tuner keeps DEQUANT_GEMM.

Forms measured and dropped (their code is in the history the sections name): the dequantized weights through shared
memory with both wgmma operands there (0.40-0.63x cuBLAS), the words repacked on the host (1.00-1.03x slower), and
the kernel run persistent over whole tiles or stream-K shares (no faster; stream-K slower but on one shape). The
probe's space(16) runs it with a 16-token tile at decode: 0.82-0.98x the fused kernel, so not a path of the family.

bf16 activations, g >= BK (g128 with BK 64 or 128, or per-channel). Gluon has no interpreter: the CPU tests compile it
for sm_90 and read its SASS (test/python/test_w4a16_gluon.py); answers are checked on the GPU (bench/w4a16.py, the
tuner's check of every config it times, bench/w4a16_gemv_probe.py --kernel gluon-prefill for the probe's wider space).
"""

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (fence_async_shared, mbarrier, tma, warpgroup_mma,
                                                               warpgroup_mma_wait)
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

try:  # imported as kernels.w4a16_gluon_prefill or with kernels/ on sys.path
    from .tiles import grouped_tile
    from .w4a16_gluon import _words_layout, _zero_word_pairs, block_k_reason
except ImportError:
    from tiles import grouped_tile
    from w4a16_gluon import _words_layout, _zero_word_pairs, block_k_reason


@gluon.jit
def _scaled_halves(u, zz, ss):
    """u: packed words shifted so that nibbles j and j + 4 sit at bits 0 and 16 -> the bf16 pair (q - z) * s as two
    bf16 values (its low and high half)."""
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
    """A step's words as they lie in the checkpoint (word 4h + j of a row holds K = 32h + 8j .. + 7, pair
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
def _rega_step(i, acc, s, zw, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, n_steps, HAS_ZP: gl.constexpr,
               BN: gl.constexpr, BK: gl.constexpr, RING: gl.constexpr, NBYTES: gl.constexpr, lq: gl.constexpr,
               lw: gl.constexpr, dot: gl.constexpr):
    """Step i: its fragment, its wgmma on the accumulator, then the refill of step i - 1's slot (module note)."""
    ss, zz = _group_pairs(s, zw, rows, HAS_ZP)
    slot = i % RING
    mbarrier.wait(bars.index(slot), (i // RING) & 1)  # the step's activations and words
    u0, u1, u2, u3 = _natural_words(w_ring.index(slot), lq, lw, BN, BK // 32)
    w = _fragment(u0, u1, u2, u3, zz, ss, dot, BN, BK)
    acc = warpgroup_mma(w, a_ring.index(slot).permute((1, 0)), acc, is_async=True)
    acc = warpgroup_mma_wait(num_outstanding=1, deps=(acc,))
    gl.thread_barrier()  # both warp groups are past step i - 1's wgmma: its slot may take step i + RING - 1
    nxt = i + RING - 1
    _refill(nxt, nxt < n_steps, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK, RING, NBYTES)
    return acc


@gluon.jit
def _refill(step, pred, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK: gl.constexpr, RING: gl.constexpr,
            NBYTES: gl.constexpr):
    """TMA of step's activation tile and words into ring slot step % RING, if pred."""
    slot = step % RING
    mbarrier.expect(bars.index(slot), NBYTES, pred=pred)
    tma.async_copy_global_to_shared(a_desc, [off_m, step * BK], bars.index(slot), a_ring.index(slot), pred=pred)
    tma.async_copy_global_to_shared(w_desc, [off_n, step * (BK // 8)], bars.index(slot), w_ring.index(slot), pred=pred)


@gluon.jit(do_not_specialize=["M"])  # M changes every step in a server: one binary for all M
def w4a16_gluon_prefill_rega_kernel(
    a_desc, w_desc, s_ptr, z_ptr, c_ptr,
    M, N, K, stride_zg,
    GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
    BLOCK_SIZE_M: gl.constexpr, BLOCK_SIZE_N: gl.constexpr, BLOCK_SIZE_K: gl.constexpr, GROUP_SIZE_M: gl.constexpr,
    RING: gl.constexpr, num_warps: gl.constexpr,
):
    BM: gl.constexpr = BLOCK_SIZE_M
    BN: gl.constexpr = BLOCK_SIZE_N
    BK: gl.constexpr = BLOCK_SIZE_K
    BKW: gl.constexpr = BK // 8
    H: gl.constexpr = BK // 32
    NBYTES: gl.constexpr = BM * BK * 2 + BN * BK // 2  # a ring slot's TMA bytes
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

    a_ring = gl.allocate_shared_memory(gl.bfloat16, [RING, BM, BK], a_desc.layout)
    w_ring = gl.allocate_shared_memory(gl.int32, [RING, BN, BKW], w_desc.layout)
    bars = gl.allocate_shared_memory(gl.int64, [RING, 1], mbarrier.MBarrierLayout())
    for r in gl.static_range(RING):
        mbarrier.init(bars.index(r), count=1)
    fence_async_shared()  # the barriers initialized before TMA signals them
    n_steps = K // BK
    last = n_steps - 1
    for r in gl.static_range(RING - 1):
        _refill(r, r < n_steps, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, BK, RING, NBYTES)

    # each step's scales and zero points are loaded two steps before its fragment is made
    s_a, z_a = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, 0, GROUP, HAS_ZP, BK)
    s_b, z_b = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(1, last), GROUP, HAS_ZP, BK)
    acc = gl.zeros((BN, BM), gl.float32, layout=mma)
    for i in range(0, n_steps, 2):  # n_steps is even (invalid_reason)
        s_a2, z_a2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(i + 2, last), GROUP, HAS_ZP, BK)
        s_b2, z_b2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(i + 3, last), GROUP, HAS_ZP, BK)
        acc = _rega_step(i, acc, s_a, z_a, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, n_steps, HAS_ZP,
                         BN, BK, RING, NBYTES, lq, lw, dot)
        acc = _rega_step(i + 1, acc, s_b, z_b, rows, a_desc, w_desc, a_ring, w_ring, bars, off_m, off_n, n_steps,
                         HAS_ZP, BN, BK, RING, NBYTES, lq, lw, dot)
        s_a, z_a = s_a2, z_a2
        s_b, z_b = s_b2, z_b2
    acc = warpgroup_mma_wait(num_outstanding=0, deps=(acc,))
    for r in gl.static_range(RING):
        mbarrier.invalidate(bars.index(r))

    out = gl.convert_layout(acc.to(gl.bfloat16), lc)
    cn = gl.expand_dims(off_n + gl.arange(0, BN, layout=gl.SliceLayout(1, lc)), 1)
    cm = gl.expand_dims(off_m + gl.arange(0, BM, layout=gl.SliceLayout(0, lc)), 0)
    gl.store(c_ptr + cm * N + cn, out, mask=(cm < M) & (cn < N))


@triton.constexpr_function
def _natural_layout(BN, H, num_warps):
    """The words [BN, H, 4 (j)] of a step as _natural_words loads them: a row's words in one thread (in
    order: one vector load), the four lanes c of a row holding the same ones; rows as in _words_layout."""
    reg = [[0, 0, 1], [0, 0, 2]] + [[0, 1 << b, 0] for b in range(H.bit_length() - 1)] + [[8, 0, 0]]
    reg += [[1 << b, 0, 0] for b in range((16 * num_warps).bit_length() - 1, BN.bit_length() - 1)]
    lane = [[0, 0, 0], [0, 0, 0], [1, 0, 0], [2, 0, 0], [4, 0, 0]]
    warp = [[16 << b, 0, 0] for b in range(num_warps.bit_length() - 1)]
    return gl.DistributedLinearLayout(reg, lane, warp, [], [BN, H, 4])


def invalid_reason(problem: dict, config: dict) -> str | None:
    """What the kernel cannot run (a reason), else None; config in the family's keys (num_stages: the ring's depth)."""
    bm, bn, bk, warps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["num_warps"]
    reason = block_k_reason(problem, bk, (64, 128))
    if reason:
        return f"REG_A: {reason}"
    if bn % (16 * warps):
        return f"REG_A: BLOCK_SIZE_N {bn} must be a multiple of 16 x num_warps (a warp's 16 rows of the MMA)"
    if bm not in (16, 32, 64, 128, 256):
        return f"REG_A: BLOCK_SIZE_M {bm} (the wgmma's n) must be 16, 32, 64, 128 or 256"
    if (problem["K"] // bk) % 2:
        return f"REG_A: K / BLOCK_SIZE_K = {problem['K'] // bk} must be even (steps come in pairs)"
    regs = rega_registers(config)
    if regs > REG_A_REGISTERS:
        return (f"REG_A: ~{regs} registers a thread for the accumulator, two fragments and four steps of words, over "
                f"{REG_A_REGISTERS} (ptxas then serializes the wgmmas and spills)")
    if config["num_stages"] < 2:
        return f"REG_A: num_stages {config['num_stages']} under 2 (the ring: the slot in the MMA, one loading)"
    if smem_bytes(config) > 227 * 1024:
        return f"REG_A: shared memory {smem_bytes(config)} B over 227 KB"
    return None


REG_A_REGISTERS = 176  # of 255: the rest is addresses, scales and the loop (sm_90 builds: 176 here compiles to 219)


def rega_registers(config: dict) -> int:
    """32-bit registers a thread holds across a step: the fp32 accumulator [BN, BM], the A fragments of two steps (4 a
    16-row slab and k-step of 16) and packed words, 2 rows x BK/8 a slab, for four steps' worth (the rule was fitted
    with them; the words now come one step at a time from shared memory)."""
    bm, bn, bk, warps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["num_warps"]
    slabs = bn // (16 * warps)
    return bn * bm // (32 * warps) + 2 * slabs * (bk // 16) * 4 + 4 * slabs * 2 * (bk // 32)


def smem_bytes(config: dict) -> int:
    """The ring of num_stages activation tiles and words, and its barriers."""
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    return config["num_stages"] * (bm * bk * 2 + 8 + bn * bk // 2)


def run_reg_a(kernel_fn, a, qweight, scales, zeros, c, problem: dict, config: dict):
    """The kernel's arguments spelled out once: the family's REG_A path (kernels/w4a16.py) launches and compiles ahead
    through it, so both meet one specialization; so does the probe. kernel_fn(kernel, grid) -> the callable."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    a_desc = TensorDescriptor(a, [M, K], [K, 1], [bm, bk], gl.NVMMASharedLayout.get_default_for([bm, bk], gl.bfloat16))
    # the words [N, K/8] int32 in tiles of [BLOCK_SIZE_N, BLOCK_SIZE_K/8], unswizzled
    w_desc = TensorDescriptor(qweight, [N, K // 8], [K // 8, 1], [bn, bk // 8], gl.NVMMASharedLayout(0, 32, 2))
    g = problem["group_size"]
    kernel_fn(w4a16_gluon_prefill_rega_kernel, (triton.cdiv(M, bm) * triton.cdiv(N, bn),))(
        a_desc, w_desc, scales, zeros, c, M, N, K, triton.cdiv(N, 8),
        GROUP=0 if g == -1 else g, HAS_ZP=problem["zero_points"], BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk,
        GROUP_SIZE_M=config["GROUP_SIZE_M"], RING=config["num_stages"], num_warps=config["num_warps"])


def launch(inputs, config: dict) -> torch.Tensor:
    """The probe's launch (bench/w4a16_gemv_probe.py): kernels/w4a16.py W4A16Inputs -> C [M, N]."""
    p, a = inputs.problem, inputs.a
    reason = invalid_reason(p, config)
    if reason:
        raise ValueError(f"w4a16 gluon prefill: {reason}")
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight
    c = torch.empty((p["M"], p["N"]), dtype=a.dtype, device=a.device)
    run_reg_a(lambda kernel, grid: kernel[grid], a, inputs.qweight, inputs.scales, zeros, c, p, config)
    return c


def space(bm: int = 256) -> list[dict]:
    """The probe's configs, wider than the family's: one or two warp groups, token tile x weight tile x BK x ring
    depth x GROUP_SIZE_M, those that fit in shared memory and in the registers (rega_registers). bm <= 32 (a decode
    M): one token tile of bm, weight tiles of 64 to 256 rows, rings of 4 to 8 steps."""
    if bm <= 32:
        cfgs = [dict(BLOCK_SIZE_M=max(16, bm), BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=1, num_stages=ring,
                     num_warps=w)
                for w in (4, 8) for bn in (64, 128, 256) if bn % (16 * w) == 0 for bk in (64, 128) for ring in (4, 6, 8)]
    else:
        cfgs = [dict(BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=gm, num_stages=ring, num_warps=w)
                for w in (4, 8) for bm in (128, 256) for bn in (16 * w, 32 * w) for bk in (64, 128)
                for ring in (2, 3, 4) for gm in (4, 64)]
    return [c for c in cfgs if smem_bytes(c) <= 227 * 1024 and rega_registers(c) <= REG_A_REGISTERS]
