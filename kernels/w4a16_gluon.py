"""Probe (not a path of the W4A16 family): the decode product written in Gluon, Triton's layout-explicit dialect.

The fused kernel (kernels/w4a16_mma.py) stages the packed weights in shared memory (cp.async), reads them back into
registers, dequantizes them there into the wgmma's register operand, and waits on each K block's MMAs before the next
(Triton 3.6's register-operand hazard). This probe takes the layouts and the waits into its own hands, in two forms:
- REG_A = 0 (w4a16_gluon_kernel): the packed words are loaded from global memory straight into registers (16 bytes
  a thread a row), AHEAD blocks before their use; each word becomes four exact bf16 pairs q - z (shift, LOP3 with
  the 0x43004300 magic number, one bf16x2 add), written to shared memory as the wgmma's A operand, the token tile
  [16, BK] as its B operand (read transposed), two buffers.
- REG_A = 1 (w4a16_gluon_rega_kernel, the note above it): the words, repacked on the host, arrive through a cp.async
  ring and are dequantized straight into the wgmma's register operand; nothing is stored.
In both, each K block's exact product (Q - Z) . A^T goes into its own registers, two blocks an iteration: the first
runs in the MMA while the second is dequantized, then both are scaled by their group's scales into an fp32 total. No
product is in flight across the loop's back edge: ptxas 12.8 serializes every wgmma when one is.

C^T[BN, 16] = W[BN, K] . A[16, K]^T, M <= 16 tokens; group size a multiple of BLOCK_SIZE_K (g128 with BK 64 or 128,
or per-channel); split-K with the last-program reduction of kernels/tiles.py. bf16 activations only. Sm_90 only:
Gluon has no interpreter, so its answers are checked on the GPU (bench/w4a16_gemv_probe.py --kernel gluon) and the
CPU tests read its sm_90 SASS (test/python/test_w4a16_gluon.py). Measured in docs/BENCHMARKS.md ("W4A16 decode in
Gluon: a probe"): correct, 0.68-0.93x the fused kernel.
"""

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.ampere import async_copy
from triton.experimental.gluon.language.nvidia.hopper import fence_async_shared, warpgroup_mma, warpgroup_mma_wait

BLOCK_SIZE_M = 16  # the tokens' side of the MMA (its n): every decode batch up to 16 in one tile


@gluon.jit
def _pair(u, zz):
    """u: packed words shifted so that nibbles j and j+4 sit at bits 0 and 16 -> the bf16 pair q - z, exact (the LOP3
    gives 128 + q by the 0x43004300 magic number, the FMA by one adds -(128 + z))."""
    return gl.inline_asm_elementwise(
        "{ .reg .b32 t, one; lop3.b32 t, $1, 0x000F000F, 0x43004300, 0xEA; mov.b32 one, 0x3F803F80;"
        " fma.rn.bf16x2 $0, t, one, $2; }",
        "=r,r,r", [u, zz], dtype=gl.int32, is_pure=True, pack=1)


@gluon.jit
def _zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP: gl.constexpr):
    """Group g's zero points of rows as the int32 bf16 pair -(128 + z), twice (z = 8 without zero points)."""
    zw = rows
    if HAS_ZP:
        zw = gl.load(z_ptr + g * stride_zg + rows // 8)
    return _zero_word_pairs(zw, rows, HAS_ZP)


@gluon.jit
def _zero_word_pairs(zw, rows, HAS_ZP: gl.constexpr):
    """The packed zero-point words zw of rows (loaded at rows // 8; unused without zero points) -> _zero_pairs."""
    if HAS_ZP:
        j = rows % 8
        z = (zw >> (((j >> 1) + (j & 1) * 4) * 4)) & 0xF
    else:
        z = gl.full(rows.shape, 8, gl.int32, rows.type.layout)
    zh = 0xC300 | z
    return zh | (zh << 16)


@gluon.jit
def _store(total, c_ptr, ws_ptr, cnt_ptr, pid_n, pid_k, M, N, mma: gl.constexpr, BN: gl.constexpr,
           BM: gl.constexpr, SPLIT_K: gl.constexpr):
    """C[m, n] = total[n, m] in bf16; with split-K, fp32 partials and the tile's last program sums them in split order
    (deterministic) and resets the tile's counter."""
    cn = gl.expand_dims(pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(1, mma)), 1)
    cm = gl.expand_dims(gl.arange(0, BM, layout=gl.SliceLayout(0, mma)), 0)
    c_mask = (cm < M) & (cn < N)
    c_offs = cm * N + cn
    if SPLIT_K == 1:
        gl.store(c_ptr + c_offs, total.to(gl.bfloat16), mask=c_mask)
    else:
        gl.store(ws_ptr + pid_k * M * N + c_offs, total, mask=c_mask)
        gl.thread_barrier()
        arrived = gl.atomic_add(cnt_ptr + pid_n, 1, sem="acq_rel", scope="gpu")
        if arrived == SPLIT_K - 1:
            acc = gl.zeros((BN, BM), gl.float32, layout=mma)
            for s in range(SPLIT_K):
                acc += gl.load(ws_ptr + s * M * N + c_offs, mask=c_mask, other=0.0, cache_modifier=".cg")
            gl.store(c_ptr + c_offs, acc.to(gl.bfloat16), mask=c_mask)
            gl.atomic_xchg(cnt_ptr + pid_n, 0)


@gluon.jit
def _stage(q, a, zz, w_buf, a_buf, BN: gl.constexpr, BK: gl.constexpr):
    """Dequantize the packed words q [BN, BK/8] to q - z and write them, and the token tile a, to their buffers."""
    zz = gl.expand_dims(zz, 1)
    p0 = _pair(q, zz)
    p1 = _pair(q >> 4, zz)
    p2 = _pair(q >> 8, zz)
    p3 = _pair(q >> 12, zz)
    # word w's pairs j = 0..3 at int32 columns 4w + j: bf16 columns 8w + 2j, 8w + 2j + 1 are K in order
    w_buf.store(gl.reshape(gl.join(gl.join(p0, p2), gl.join(p1, p3)), [BN, BK // 2]))
    a_buf.store(a)
    fence_async_shared()
    gl.thread_barrier()  # every warp's part of both tiles is written before the warp group's MMA reads them


@gluon.jit
def w4a16_gluon_kernel(
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    M, N, K, KW, stride_zg,
    GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
    BLOCK_SIZE_N: gl.constexpr, BLOCK_SIZE_K: gl.constexpr, SPLIT_K: gl.constexpr, AHEAD: gl.constexpr,
    num_warps: gl.constexpr,
):
    BM: gl.constexpr = 16
    BN: gl.constexpr = BLOCK_SIZE_N
    BK: gl.constexpr = BLOCK_SIZE_K
    BKW: gl.constexpr = BK // 8
    TPW_K: gl.constexpr = BKW // 4  # threads along a row's words, 4 words (16 bytes) each
    lq: gl.constexpr = gl.BlockedLayout([1, 4], [32 // TPW_K, TPW_K], [num_warps, 1], [1, 0])
    la: gl.constexpr = gl.BlockedLayout([1, 8], [32 // (BK // 8), BK // 8], [num_warps, 1], [1, 0])
    mma: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                  instr_shape=[16, BM, 16])
    w32_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=32, rank=2)
    w16_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)
    a_layout: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=16, rank=2)

    pid_n = gl.program_id(0)
    pid_k = gl.program_id(1)
    n_iters = K // BK
    it_start = pid_k * n_iters // SPLIT_K
    it_end = (pid_k + 1) * n_iters // SPLIT_K

    rows = (pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(1, lq))) % N  # a ragged tile re-reads valid rows
    q_base = qw_ptr + gl.expand_dims(rows, 1) * KW + gl.expand_dims(gl.arange(0, BKW, layout=gl.SliceLayout(0, lq)), 0)
    s_rows = (pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(1, mma))) % N
    offs_am = gl.arange(0, BM, layout=gl.SliceLayout(1, la))
    a_base = a_ptr + gl.expand_dims(offs_am, 1) * K + gl.expand_dims(gl.arange(0, BK, layout=gl.SliceLayout(0, la)), 0)
    a_mask = gl.expand_dims(offs_am < M, 1)

    w_smem = gl.allocate_shared_memory(gl.int32, [2, BN, BK // 2], w32_layout)
    a_smem = gl.allocate_shared_memory(gl.bfloat16, [2, BM, BK], a_layout)
    zero = gl.zeros((BN, BM), gl.float32, layout=mma)
    total = gl.zeros((BN, BM), gl.float32, layout=mma)
    # Two blocks an iteration, each block's exact product (Q - Z) . A^T into its own registers: the first runs in
    # the MMA while the second is dequantized, then both are scaled into the total. No product is in flight across
    # the loop's back edge (ptxas 12.8 serializes every wgmma when one is). A block past the end of an odd count is
    # the last one again, scaled by zero.

    # the first AHEAD blocks in flight; loads past the end load the last block again (no masks)
    last = it_end - 1
    q0 = gl.load(q_base + it_start * BKW)
    a0 = gl.load(a_base + it_start * BK, mask=a_mask, other=0.0)
    if AHEAD == 2:
        q1 = gl.load(q_base + gl.minimum(it_start + 1, last) * BKW)
        a1 = gl.load(a_base + gl.minimum(it_start + 1, last) * BK, mask=a_mask, other=0.0)
    for it in range(it_start, it_end, 2):
        # block it -> buffer 0
        ahead = gl.minimum(it + AHEAD, last)
        qf = gl.load(q_base + ahead * BKW)
        af = gl.load(a_base + ahead * BK, mask=a_mask, other=0.0)
        g = 0
        if GROUP != 0:
            g = it * BK // GROUP
        s_a = gl.load(s_ptr + g * N + s_rows).to(gl.float32)
        _stage(q0, a0, _zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP), w_smem.index(0), a_smem.index(0), BN, BK)
        acc_a = warpgroup_mma(w_smem.index(0)._reinterpret(gl.bfloat16, [BN, BK], w16_layout),
                              a_smem.index(0).permute((1, 0)), zero, use_acc=False, is_async=True)
        if AHEAD == 2:
            q0, a0, q1, a1 = q1, a1, qf, af
        else:
            q0, a0 = qf, af
        # block it + 1 (or the last again, scaled by zero) -> buffer 1, dequantized while the MMA runs block it
        ahead = gl.minimum(it + 1 + AHEAD, last)
        qf = gl.load(q_base + ahead * BKW)
        af = gl.load(a_base + ahead * BK, mask=a_mask, other=0.0)
        g = 0
        if GROUP != 0:
            g = gl.minimum(it + 1, last) * BK // GROUP
        s_b = gl.load(s_ptr + g * N + s_rows).to(gl.float32) * (it + 1 <= last).to(gl.float32)
        _stage(q0, a0, _zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP), w_smem.index(1), a_smem.index(1), BN, BK)
        acc_b = warpgroup_mma(w_smem.index(1)._reinterpret(gl.bfloat16, [BN, BK], w16_layout),
                              a_smem.index(1).permute((1, 0)), zero, use_acc=False, is_async=True)
        if AHEAD == 2:
            q0, a0, q1, a1 = q1, a1, qf, af
        else:
            q0, a0 = qf, af
        acc_a = warpgroup_mma_wait(num_outstanding=1, deps=(acc_a,))
        total += acc_a * gl.expand_dims(s_a, 1)
        acc_b = warpgroup_mma_wait(num_outstanding=0, deps=(acc_b,))
        total += acc_b * gl.expand_dims(s_b, 1)

    _store(total, c_ptr, ws_ptr, cnt_ptr, pid_n, pid_k, M, N, mma, BN, BM, SPLIT_K)


def block_k_reason(problem: dict, bk: int, block_ks: tuple[int, ...]) -> str | None:
    """The Gluon probes' shared rules: bf16 activations, a K block of block_ks that divides K and nests in one
    quantization group (its scale row taken once)."""
    if problem.get("act_dtype", "bf16") != "bf16":
        return "bf16 activations only"
    if bk not in block_ks or problem["K"] % bk:
        return f"BLOCK_SIZE_K {bk} must be {' or '.join(map(str, block_ks))} and divide K {problem['K']}"
    if problem["group_size"] != -1 and problem["group_size"] % bk:
        return f"BLOCK_SIZE_K {bk} must divide the group size {problem['group_size']}"
    return None


def invalid_reason(problem: dict, config: dict) -> str | None:
    """What this probe kernel cannot run (a reason), else None."""
    bk, bn = config["BLOCK_SIZE_K"], config["BLOCK_SIZE_N"]
    if problem["M"] > BLOCK_SIZE_M:
        return f"M {problem['M']} > {BLOCK_SIZE_M}"
    reason = block_k_reason(problem, bk, (64, 128, 256))
    if reason:
        return reason
    if bn % (16 * config["num_warps"]):
        return f"BLOCK_SIZE_N {bn} must be a multiple of 16 x num_warps"
    if config["SPLIT_K"] > problem["K"] // bk:
        return f"SPLIT_K {config['SPLIT_K']} > {problem['K'] // bk} K blocks"
    if config.get("REG_A") and bn > 32 * config["num_warps"]:
        return f"REG_A: BLOCK_SIZE_N {bn} over 32 x num_warps (registers: its wgmmas are serialized)"
    if config.get("REG_A"):
        smem = _max_blocks(problem, config) * bk * 32 + ring_blocks(config) * bn * bk // 2
        if smem > REG_A_SMEM:
            return (f"REG_A: the activations of {_max_blocks(problem, config)} K blocks and a ring of "
                    f"{ring_blocks(config)} need {smem} B of shared memory, over {REG_A_SMEM}")
    return None


REG_A_SMEM = 220 * 1024  # what a REG_A program may hold in shared memory (of 227 KB)


def ring_blocks(config: dict) -> int:
    """REG_A: K blocks of packed words in flight (the ring), 4 per AHEAD."""
    return 4 * config.get("AHEAD", 1)


def _max_blocks(problem: dict, config: dict) -> int:
    return triton.cdiv(problem["K"] // config["BLOCK_SIZE_K"], config["SPLIT_K"])


def launch(inputs, config: dict) -> torch.Tensor:
    """kernels/w4a16.py W4A16Inputs -> C [M, N]."""
    p, a = inputs.problem, inputs.a
    M, N, K = p["M"], p["N"], p["K"]
    reason = invalid_reason(p, config)
    if reason:
        raise ValueError(f"w4a16 gluon probe: {reason}")
    split = config["SPLIT_K"]
    zeros = inputs.qzeros if inputs.qzeros is not None else inputs.qweight
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    ws = torch.empty((split, M, N), dtype=torch.float32, device=a.device) if split > 1 else c
    g = p["group_size"]
    common = dict(GROUP=0 if g == -1 else g, HAS_ZP=p["zero_points"], BLOCK_SIZE_N=config["BLOCK_SIZE_N"],
                  BLOCK_SIZE_K=config["BLOCK_SIZE_K"], SPLIT_K=split, num_warps=config["num_warps"])
    grid = (triton.cdiv(N, config["BLOCK_SIZE_N"]), split)
    if config.get("REG_A"):
        repacked = inputs.__dict__.setdefault("_reg_a", {})  # once per input set and block size, as at load time
        if config["BLOCK_SIZE_K"] not in repacked:
            repacked[config["BLOCK_SIZE_K"]] = repack_reg_a(inputs.qweight, config["BLOCK_SIZE_K"])
        w4a16_gluon_rega_kernel[grid](a, repacked[config["BLOCK_SIZE_K"]], inputs.scales, zeros, c, ws,
                                      inputs.counters, M, N, K, K // 8, triton.cdiv(N, 8),
                                      MAX_BLOCKS=_max_blocks(p, config), RING=ring_blocks(config), **common)
    else:
        w4a16_gluon_kernel[grid](a, inputs.qweight, inputs.scales, zeros, c, ws, inputs.counters, M, N, K, K // 8,
                                 triton.cdiv(N, 8), AHEAD=config.get("AHEAD", 1), **common)
    return c


def space() -> list[dict]:
    """The probe's configs: BN x BK x SPLIT_K x warps x AHEAD, with the weights through shared memory (REG_A 0) or
    straight into the MMA's registers (REG_A 1)."""
    return [dict(BLOCK_SIZE_M=BLOCK_SIZE_M, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, SPLIT_K=sk, num_warps=w, AHEAD=ah,
                 REG_A=ra)
            for ra in (0, 1) for bn in (64, 128, 256) for bk in (64, 128) for sk in (1, 2, 4, 8) for w in (4, 8)
            for ah in (1, 2) if bn % (16 * w) == 0]


# ---------------------------------------------------------------------------------------------------------------------
# REG_A = 1: the weights go from shared memory into the wgmma's register operand, no dequantized tile stored.
#
# The wgmma A fragment (as mma.sync's m16n8k16) gives lane l of a warp rows l/4 (+8) of its 16 and, in each K step of
# 16, the pairs of K at 2(l % 4) and 8 + 2(l % 4). A block's BK/8 words w are repacked once on the host
# (repack_reg_a) so that lane c = l % 4 finds its words w = 4t + c (t < T = BK/32) as one 16-byte run; then pair j of
# each word (K = 8w + 2j, 8w + 2j + 1) is, for that lane, exactly where the fragment of a [BN, BK/4] operand A_j wants
# it, with column k' = 2w + e (the layout conversion to the fragment is a renaming of registers). So each block is
# four wgmmas, A_j . B_j, where B_j holds the tokens' activations at K = 8(k' // 2) + 2j + k' % 2: these are gathered
# into shared memory once per program (all its K blocks) by cp.async before the loop. The words stream through a
# ring of RING = 4 x AHEAD blocks by cp.async, each thread copying the 16 bytes it reads back. (Triton's barrier
# analysis still puts a barrier before each copy and after each wait: two a block.)


@triton.constexpr_function
def _words_layout(BN, T, num_warps):
    """Registers, lanes and warps of the packed words [BN, 4 (c), T] such that pair j of each word lands where the
    wgmma A fragment of a [BN, 8T] operand (k' = 2(4t + c) + e) wants it (module note above)."""
    reg = [[0, 0, 1 << b] for b in range(T.bit_length() - 1)] + [[8, 0, 0]]
    reg += [[1 << b, 0, 0] for b in range((16 * num_warps).bit_length() - 1, BN.bit_length() - 1)]
    lane = [[0, 1, 0], [0, 2, 0], [1, 0, 0], [2, 0, 0], [4, 0, 0]]
    warp = [[16 << b, 0, 0] for b in range(num_warps.bit_length() - 1)]
    return gl.DistributedLinearLayout(reg, lane, warp, [], [BN, 4, T])


@gluon.jit
def _pair_halves(u, zz):
    """As _pair, the pair as two bf16 values (its low and high half)."""
    return gl.inline_asm_elementwise(
        "{ .reg .b32 t, one; lop3.b32 t, $2, 0x000F000F, 0x43004300, 0xEA; mov.b32 one, 0x3F803F80;"
        " fma.rn.bf16x2 t, t, one, $3; mov.b32 {$0, $1}, t; }",
        "=h,=h,r,r", [u, zz], dtype=(gl.bfloat16, gl.bfloat16), is_pure=True, pack=1)


@gluon.jit
def _block_product(q, zz, a_smem, first, zero, dot: gl.constexpr, BN: gl.constexpr, T: gl.constexpr):
    """One K block's exact product (Q - Z) . A^T, four wgmmas in flight (one per pair j of each word)."""
    acc = zero
    for j in gl.static_range(4):
        lo, hi = _pair_halves(q >> (4 * j), zz)
        w = gl.reshape(gl.permute(gl.join(lo, hi), (0, 2, 1, 3)), [BN, 8 * T])  # k' = 2(4t + c) + e
        acc = warpgroup_mma(gl.convert_layout(w, dot), a_smem.index(first + j).permute((1, 0)), acc,
                            use_acc=j > 0, is_async=True)
    return acc


@gluon.jit
def w4a16_gluon_rega_kernel(
    a_ptr, qw_ptr, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    M, N, K, KW, stride_zg,
    GROUP: gl.constexpr, HAS_ZP: gl.constexpr,
    BLOCK_SIZE_N: gl.constexpr, BLOCK_SIZE_K: gl.constexpr, SPLIT_K: gl.constexpr, RING: gl.constexpr,
    MAX_BLOCKS: gl.constexpr, num_warps: gl.constexpr,
):
    BM: gl.constexpr = 16
    BN: gl.constexpr = BLOCK_SIZE_N
    BK: gl.constexpr = BLOCK_SIZE_K
    BKW: gl.constexpr = BK // 8
    T: gl.constexpr = BK // 32
    lq: gl.constexpr = _words_layout(BN, T, num_warps)
    lrow: gl.constexpr = gl.SliceLayout(1, gl.SliceLayout(2, lq))
    mma: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[num_warps, 1],
                                                  instr_shape=[16, BM, 16])
    dot: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=mma, k_width=2)
    la: gl.constexpr = gl.BlockedLayout([1, 2], [4, 8], [num_warps, 1], [1, 0])
    a_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([BM, BK // 4], gl.bfloat16)

    pid_n = gl.program_id(0)
    pid_k = gl.program_id(1)
    n_iters = K // BK
    it_start = pid_k * n_iters // SPLIT_K
    it_end = (pid_k + 1) * n_iters // SPLIT_K
    last = it_end - 1

    # the tokens' activations of this program's K blocks, gathered per pair j (B_j) by cp.async, once
    a_smem = gl.allocate_shared_memory(gl.bfloat16, [4 * MAX_BLOCKS, BM, BK // 4], a_layout)
    am = gl.expand_dims(gl.arange(0, BM, layout=gl.SliceLayout(1, la)), 1)
    kp = gl.expand_dims(gl.arange(0, BK // 4, layout=gl.SliceLayout(0, la)), 0)
    a_ptrs = a_ptr + am * K + 8 * (kp // 2) + kp % 2
    for b in range(0, it_end - it_start):
        for j in gl.static_range(4):
            async_copy.async_copy_global_to_shared(a_smem.index(4 * b + j), a_ptrs + (it_start + b) * BK + 2 * j,
                                                   mask=am < M)

    # the packed words: a ring of RING K blocks in flight by cp.async, each thread copying the 16 bytes it reads
    # back (so no barrier between the copy and the read)
    rows = (pid_n * BN + gl.arange(0, BN, layout=lrow)) % N  # a ragged tile re-reads valid rows
    cs = gl.expand_dims(gl.expand_dims(gl.arange(0, 4, layout=gl.SliceLayout(0, gl.SliceLayout(2, lq))), 0), 2)
    ts = gl.expand_dims(gl.expand_dims(gl.arange(0, T, layout=gl.SliceLayout(0, gl.SliceLayout(1, lq))), 0), 1)
    q_base = qw_ptr + gl.expand_dims(gl.expand_dims(rows, 1), 2) * KW + cs * T + ts
    ring = gl.allocate_shared_memory(gl.int32, [RING, BN, 4, T], gl.SwizzledSharedLayout(1, 1, 1, [2, 1, 0]))
    for r in gl.static_range(RING):
        async_copy.async_copy_global_to_shared(ring.index(r), q_base + gl.minimum(it_start + r, last) * BKW)
        async_copy.commit_group()  # the activations ride in the first group
    async_copy.wait_group(RING - 1)
    fence_async_shared()
    gl.thread_barrier()  # every thread's activations are in place before any wgmma reads them

    s_rows = (pid_n * BN + gl.arange(0, BN, layout=gl.SliceLayout(1, mma))) % N
    zero = gl.zeros((BN, BM), gl.float32, layout=mma)
    total = gl.zeros((BN, BM), gl.float32, layout=mma)
    for it in range(it_start, it_end, 2):
        i = it - it_start
        # block it: its words from the ring, whose slot then takes block it + RING
        async_copy.wait_group(RING - 1)
        q = ring.index(i % RING).load(lq)
        g = 0
        if GROUP != 0:
            g = it * BK // GROUP
        s_a = gl.load(s_ptr + g * N + s_rows).to(gl.float32)
        zz = gl.expand_dims(gl.expand_dims(_zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP), 1), 2)
        acc_a = _block_product(q, zz, a_smem, 4 * i, zero, dot, BN, T)
        async_copy.async_copy_global_to_shared(ring.index(i % RING), q_base + gl.minimum(it + RING, last) * BKW)
        async_copy.commit_group()
        # block it + 1 (or the last again, scaled by zero), dequantized while the MMA runs block it
        async_copy.wait_group(RING - 1)
        q = ring.index((i + 1) % RING).load(lq)
        it1 = gl.minimum(it + 1, last)
        g = 0
        if GROUP != 0:
            g = it1 * BK // GROUP
        s_b = gl.load(s_ptr + g * N + s_rows).to(gl.float32) * (it + 1 <= last).to(gl.float32)
        zz = gl.expand_dims(gl.expand_dims(_zero_pairs(z_ptr, rows, g, stride_zg, HAS_ZP), 1), 2)
        acc_b = _block_product(q, zz, a_smem, 4 * (it1 - it_start), zero, dot, BN, T)
        async_copy.async_copy_global_to_shared(ring.index((i + 1) % RING),
                                               q_base + gl.minimum(it + 1 + RING, last) * BKW)
        async_copy.commit_group()
        acc_a = warpgroup_mma_wait(num_outstanding=1, deps=(acc_a,))
        total += acc_a * gl.expand_dims(s_a, 1)
        acc_b = warpgroup_mma_wait(num_outstanding=0, deps=(acc_b,))
        total += acc_b * gl.expand_dims(s_b, 1)
    async_copy.wait_group(0)

    _store(total, c_ptr, ws_ptr, cnt_ptr, pid_n, pid_k, M, N, mma, BN, BM, SPLIT_K)


def repack_reg_a(qweight: torch.Tensor, block_k: int) -> torch.Tensor:
    """The kernel layout [N, K/8] -> REG_A's: within each block of BK/8 words, word 4t + c moves to c * BK/32 + t
    (a lane's words become one 16-byte run). A load-time conversion, as the checkpoint converters are."""
    n, kw = qweight.shape
    t = block_k // 32
    return qweight.view(n, kw // (block_k // 8), t, 4).transpose(2, 3).reshape(n, kw).contiguous()
