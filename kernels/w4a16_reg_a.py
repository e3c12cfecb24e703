"""W4A16 prefill, REG_A persistent: the Gluon kernel of kernels/w4a16_gluon_prefill.py (the transposed product, the
dequantized weights in the wgmma's register operand, the words as the checkpoint has them by TMA with the activations)
run by one program an SM over a contiguous share of all (tile, K step) pairs, as stream-K does:

    the (tile, K step) pairs in order, tiles in the grouped order (kernels/tiles.py grouped_tile), steps of a tile in a
    row; program p takes the pairs [p * per, (p + 1) * per), per even (steps come in pairs);
    the ring of TMA copies runs across tiles: the next tile's first steps are in flight while a tile ends;
    a tile done by one program is stored from its registers; a tile shared by programs (one whose steps a program
    boundary cuts) has each program's part written to a workspace slot of its own, and the last program to arrive
    (a per-tile counter, acq_rel) sums the parts in program order (deterministic) and stores the tile, then resets the
    counter, so there is no memset and no second launch.

per = K/BLOCK_SIZE_K x (tiles / programs, rounded up) gives whole tiles only (no workspace): the data-parallel
persistent kernel. per = the steps / programs (rounded up to even) balances the programs when the tiles do not fill
the SMs evenly (N = 2560 at M = 1024 is 80 tiles of 256 x 128 for 132 SMs).

Gluon has no interpreter: the CPU tests compile it for sm_90 and read its SASS; answers are checked on the GPU.
"""

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (fence_async_shared, mbarrier, tma, warpgroup_mma,
                                                               warpgroup_mma_wait)
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

try:  # imported as kernels.w4a16_reg_a or with kernels/ on sys.path
    from .tiles import grouped_tile
    from .w4a16_gluon import _words_layout
    from .w4a16_gluon_prefill import _fragment, _group_pairs, _group_rows, _natural_layout, _natural_words
except ImportError:
    from tiles import grouped_tile
    from w4a16_gluon import _words_layout
    from w4a16_gluon_prefill import _fragment, _group_pairs, _group_rows, _natural_layout, _natural_words


@gluon.jit
def _tile_offsets(tile, n_m, n_n, BM: gl.constexpr, BN: gl.constexpr, GROUP_SIZE_M: gl.constexpr):
    pid_m, pid_n = grouped_tile(tile, n_m, n_n, GROUP_SIZE_M)
    return pid_m * BM, pid_n * BN


@gluon.jit
def _fill(slot, k, off_m, off_n, pred, a_desc, w_desc, a_ring, w_ring, bars, BK: gl.constexpr, NBYTES: gl.constexpr):
    """TMA of K step k of tile (off_m, off_n): its activation tile and its words, into ring slot slot, if pred."""
    mbarrier.expect(bars.index(slot), NBYTES, pred=pred)
    tma.async_copy_global_to_shared(a_desc, [off_m, k * BK], bars.index(slot), a_ring.index(slot), pred=pred)
    tma.async_copy_global_to_shared(w_desc, [off_n, k * (BK // 8)], bars.index(slot), w_ring.index(slot), pred=pred)


@gluon.jit
def _step(l, i, acc, s, zw, rows, off_m, off_n, nxt_m, nxt_n, n_steps, n_local, a_desc, w_desc, a_ring, w_ring,
          bars, HAS_ZP: gl.constexpr, BN: gl.constexpr, BK: gl.constexpr, RING: gl.constexpr, NBYTES: gl.constexpr,
          lq: gl.constexpr, lw: gl.constexpr, dot: gl.constexpr):
    """The program's step l (K step i of its tile): the fragment, its wgmma, then the ring slot of step l - 1 refilled
    with step l + RING - 1, which may be the next tile's (nxt_m, nxt_n)."""
    ss, zz = _group_pairs(s, zw, rows, HAS_ZP)
    slot = l % RING
    mbarrier.wait(bars.index(slot), (l // RING) & 1)  # the step's activations and words
    u0, u1, u2, u3 = _natural_words(w_ring.index(slot), lq, lw, BN, BK // 32)
    w = _fragment(u0, u1, u2, u3, zz, ss, dot, BN, BK)
    acc = warpgroup_mma(w, a_ring.index(slot).permute((1, 0)), acc, is_async=True)
    acc = warpgroup_mma_wait(num_outstanding=1, deps=(acc,))
    gl.thread_barrier()  # every warp group is past step l - 1's wgmma: its slot may take step l + RING - 1
    k = i + RING - 1
    nx = (k >= n_steps).to(gl.int32)
    _fill((l + RING - 1) % RING, k - nx * n_steps, off_m + nx * (nxt_m - off_m), off_n + nx * (nxt_n - off_n),
          l + RING - 1 < n_local, a_desc, w_desc, a_ring, w_ring, bars, BK, NBYTES)
    return acc


@gluon.jit
def _store(acc, c_ptr, off_m, off_n, M, N, BM: gl.constexpr, BN: gl.constexpr, lc: gl.constexpr):
    """C[off_m + m, off_n + n] = acc[n, m] in bf16, 16 bytes of a C row a thread."""
    out = gl.convert_layout(acc.to(gl.bfloat16), lc)
    cn = gl.expand_dims(off_n + gl.arange(0, BN, layout=gl.SliceLayout(1, lc)), 1)
    cm = gl.expand_dims(off_m + gl.arange(0, BM, layout=gl.SliceLayout(0, lc)), 0)
    gl.store(c_ptr + cm * N + cn, out, mask=(cm < M) & (cn < N))


@gluon.jit
def _sum_parts(ws_ptr, c_ptr, tile, first, owner, per, n_steps, off_m, off_n, M, N, BM: gl.constexpr,
               BN: gl.constexpr, lc: gl.constexpr, num_warps: gl.constexpr):
    """The last program of a shared tile: the parts of programs first..owner summed in program order (the sum does
    not depend on who came last), stored; by halves of the tile, so the registers hold one half and one part, read
    along the workspace's rows (16 bytes a thread) and turned to C's rows for the store."""
    CH: gl.constexpr = BN // 2
    lp: gl.constexpr = gl.BlockedLayout([1, 4], [1, 32], [num_warps, 1], [1, 0])
    r = gl.expand_dims(gl.arange(0, CH, layout=gl.SliceLayout(1, lp)), 1)
    m = gl.expand_dims(gl.arange(0, BM, layout=gl.SliceLayout(0, lp)), 0)
    cn = gl.expand_dims(off_n + gl.arange(0, CH, layout=gl.SliceLayout(1, lc)), 1)
    cm = gl.expand_dims(off_m + gl.arange(0, BM, layout=gl.SliceLayout(0, lc)), 0)
    for h in gl.static_range(2):
        total = gl.zeros((CH, BM), gl.float32, layout=lp)
        for p in range(first, owner + 1):
            slot = 2 * p + (tile != p * per // n_steps).to(gl.int32)
            total += gl.load(ws_ptr + slot * (BN * BM) + (h * CH + r) * BM + m, cache_modifier=".cg")
        out = gl.convert_layout(total.to(gl.bfloat16), lc)
        gl.store(c_ptr + cm * N + cn + h * CH, out, mask=(cm < M) & (cn + h * CH < N))


@gluon.jit(do_not_specialize=["M", "per"])  # M changes every step in a server, per with M: one binary for all M
def w4a16_reg_a_kernel(
    a_desc, w_desc, s_ptr, z_ptr, c_ptr, ws_ptr, cnt_ptr,
    M, N, K, stride_zg, per,
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

    pid = gl.program_id(0)
    n_m = gl.cdiv(M, BM)
    n_n = gl.cdiv(N, BN)
    n_steps = K // BK
    start = pid * per
    end = gl.minimum(start + per, n_m * n_n * n_steps)
    n_local = end - start

    a_ring = gl.allocate_shared_memory(gl.bfloat16, [RING, BM, BK], a_desc.layout)
    w_ring = gl.allocate_shared_memory(gl.int32, [RING, BN, BKW], w_desc.layout)
    bars = gl.allocate_shared_memory(gl.int64, [RING, 1], mbarrier.MBarrierLayout())
    for r in gl.static_range(RING):
        mbarrier.init(bars.index(r), count=1)
    fence_async_shared()  # the barriers initialized before TMA signals them

    # the ring's first RING - 1 steps: the first tile's, and the next tile's where the first ends sooner (a rule
    # keeps RING - 1 <= K / BLOCK_SIZE_K, so they reach at most one tile further)
    t_first = start // n_steps
    t_last = (end - 1) // n_steps
    f_m, f_n = _tile_offsets(t_first, n_m, n_n, BM, BN, GROUP_SIZE_M)
    g_m, g_n = _tile_offsets(t_first + 1, n_m, n_n, BM, BN, GROUP_SIZE_M)
    k_first = start - t_first * n_steps
    for r in gl.static_range(RING - 1):
        nx = (k_first + r >= n_steps).to(gl.int32)
        _fill(r, k_first + r - nx * n_steps, f_m + nx * (g_m - f_m), f_n + nx * (g_n - f_n), r < n_local, a_desc,
              w_desc, a_ring, w_ring, bars, BK, NBYTES)

    for tile in range(t_first, t_last + 1):
        k0 = gl.maximum(start - tile * n_steps, 0)
        k1 = gl.minimum(end - tile * n_steps, n_steps)
        base = tile * n_steps - start  # the program's step index of this tile's K step 0
        off_m, off_n = _tile_offsets(tile, n_m, n_n, BM, BN, GROUP_SIZE_M)
        nxt_m, nxt_n = _tile_offsets(tile + 1, n_m, n_n, BM, BN, GROUP_SIZE_M)
        rows = (off_n + gl.arange(0, BN, layout=lrow)) % N  # a ragged tile re-reads valid rows

        # each step's scales and zero points are loaded two steps before its fragment is made
        last = k1 - 1
        s_a, z_a = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, k0, GROUP, HAS_ZP, BK)
        s_b, z_b = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(k0 + 1, last), GROUP, HAS_ZP, BK)
        acc = gl.zeros((BN, BM), gl.float32, layout=mma)
        for i in range(k0, k1, 2):  # k0 and k1 are even (per and K / BLOCK_SIZE_K are)
            s_a2, z_a2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(i + 2, last), GROUP, HAS_ZP, BK)
            s_b2, z_b2 = _group_rows(s_ptr, z_ptr, rows, N, stride_zg, gl.minimum(i + 3, last), GROUP, HAS_ZP, BK)
            acc = _step(base + i, i, acc, s_a, z_a, rows, off_m, off_n, nxt_m, nxt_n, n_steps, n_local, a_desc,
                        w_desc, a_ring, w_ring, bars, HAS_ZP, BN, BK, RING, NBYTES, lq, lw, dot)
            acc = _step(base + i + 1, i + 1, acc, s_b, z_b, rows, off_m, off_n, nxt_m, nxt_n, n_steps, n_local,
                        a_desc, w_desc, a_ring, w_ring, bars, HAS_ZP, BN, BK, RING, NBYTES, lq, lw, dot)
            s_a, z_a = s_a2, z_a2
            s_b, z_b = s_b2, z_b2
        acc = warpgroup_mma_wait(num_outstanding=0, deps=(acc,))

        if (k0 == 0) & (k1 == n_steps):  # the whole tile here
            _store(acc, c_ptr, off_m, off_n, M, N, BM, BN, lc)
        else:  # part of a tile: slot 2p for the program's first tile, 2p + 1 for its last
            first = tile * n_steps // per
            owner = ((tile + 1) * n_steps - 1) // per  # the tile's last program: its counter's index
            part = ws_ptr + (2 * pid + (tile != t_first).to(gl.int32)) * (BN * BM)
            gl.store(part + gl.expand_dims(gl.arange(0, BN, layout=gl.SliceLayout(1, mma)), 1) * BM
                     + gl.expand_dims(gl.arange(0, BM, layout=gl.SliceLayout(0, mma)), 0), acc)
            gl.thread_barrier()  # every thread's part is written before the counter's release
            arrived = gl.atomic_add(cnt_ptr + owner, 1, sem="acq_rel", scope="gpu")
            if arrived == owner - first:
                _sum_parts(ws_ptr, c_ptr, tile, first, owner, per, n_steps, off_m, off_n, M, N, BM, BN, lc, num_warps)
                gl.atomic_xchg(cnt_ptr + owner, 0)

    for r in gl.static_range(RING):
        mbarrier.invalidate(bars.index(r))


def shares(problem: dict, config: dict, programs: int, stream_k: bool) -> tuple[int, int]:
    """(per, grid): the (tile, K step) pairs a program takes and the programs that get any. stream_k: balanced over
    the programs; else whole tiles (tiles / programs of them, rounded up)."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    steps = K // config["BLOCK_SIZE_K"]
    tiles = triton.cdiv(M, config["BLOCK_SIZE_M"]) * triton.cdiv(N, config["BLOCK_SIZE_N"])
    if stream_k:
        per = max(2, 2 * triton.cdiv(tiles * steps, 2 * programs))
    else:
        per = steps * triton.cdiv(tiles, programs)
    return per, triton.cdiv(tiles * steps, per)


def workspace(problem: dict, config: dict, grid: int, device) -> torch.Tensor:
    """Two [BLOCK_SIZE_N, BLOCK_SIZE_M] fp32 slots a program (its first and last tile's parts); uninitialized."""
    return torch.empty(2 * grid * config["BLOCK_SIZE_N"] * config["BLOCK_SIZE_M"], dtype=torch.float32, device=device)


def run(kernel_fn, a, qweight, scales, zeros, c, ws, counters, problem: dict, config: dict, per: int, grid: int):
    """The kernel's arguments spelled out once (launch and compile-ahead). kernel_fn(kernel, grid) -> the callable."""
    M, N, K = problem["M"], problem["N"], problem["K"]
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    a_desc = TensorDescriptor(a, [M, K], [K, 1], [bm, bk], gl.NVMMASharedLayout.get_default_for([bm, bk], gl.bfloat16))
    w_desc = TensorDescriptor(qweight, [N, K // 8], [K // 8, 1], [bn, bk // 8], gl.NVMMASharedLayout(0, 32, 2))
    g = problem["group_size"]
    kernel_fn(w4a16_reg_a_kernel, (grid,))(
        a_desc, w_desc, scales, zeros, c, ws, counters, M, N, K, triton.cdiv(N, 8), per,
        GROUP=0 if g == -1 else g, HAS_ZP=problem["zero_points"], BLOCK_SIZE_M=bm, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk,
        GROUP_SIZE_M=config["GROUP_SIZE_M"], RING=config["num_stages"], num_warps=config["num_warps"])
