"""Probe (not a path of the W4A16 family, not yet run on a GPU): the W4A16 prefill product in Gluon, the
dequantization overlapped with the tensor cores.

At M >= 1024 the family runs DEQUANT_GEMM (kernels/w4a16_dequant.py: W written once in bf16, then cuBLAS), 0.77-0.83x
cuBLAS bf16 at M = 1024 because writing W costs 2.5 bytes a weight (docs/BENCHMARKS.md, "W4A16 at prefill"). The
fused Triton kernel reached 0.49-0.64x: its dequantization feeds the wgmma's register operand, and the MMA waits on it.
Here the dequantized weights go to shared memory and both wgmma operands come from there, so a K step's MMA runs
while the next step's weights are dequantized:

    C[BM, BN] = A[BM, K] . W[BN, K]^T, per K step of BK (inside one quantization group):
      the activation tile and the packed words arrive by cp.async, RING - 2 steps ahead (each thread copies the
      words it later reads);
      each word becomes four bf16 pairs (q - z) * s (shift, LOP3 with the 0x43004300 magic number, two bf16x2 FMAs:
      q - z exact, the product rounded once, as the reference's dequantized weight) into one of two shared buffers;
      the wgmma accumulates through its registers, at most one step in flight, so the buffer of two steps back is
      free to overwrite when the next step's weights are ready.

bf16 activations, g >= BK (g128 with BK 64 or 128, or per-channel), 8 warps (two warp groups over BM = 128 rows).
Gluon has no interpreter: the CPU tests compile it for sm_90 and read its SASS (test/python/test_w4a16_gluon.py).
"""

import torch
import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.ampere import async_copy
from triton.experimental.gluon.language.nvidia.hopper import (fence_async_shared, warpgroup_mma, warpgroup_mma_init,
                                                           warpgroup_mma_wait)

try:  # imported as kernels.w4a16_gluon_prefill or with kernels/ on sys.path
    from .w4a16_gluon import _zero_pairs, block_k_reason
except ImportError:
    from w4a16_gluon import _zero_pairs, block_k_reason


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
    pid = gl.program_id(0)
    num_pid_m = gl.cdiv(M, BM)
    num_pid_n = gl.cdiv(N, BN)
    in_group = GROUP_SIZE_M * num_pid_n
    first_m = (pid // in_group) * GROUP_SIZE_M
    size_m = gl.minimum(num_pid_m - first_m, GROUP_SIZE_M)
    pid_m = first_m + (pid % in_group) % size_m
    pid_n = (pid % in_group) // size_m

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


def invalid_reason(problem: dict, config: dict) -> str | None:
    """What this probe kernel cannot run (a reason), else None."""
    bm, bn = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"]
    reason = block_k_reason(problem, config["BLOCK_SIZE_K"], (64, 128))
    if reason:
        return reason
    if bm != 16 * config["num_warps"]:
        return f"BLOCK_SIZE_M {bm} must be 16 x num_warps (a warp's 16 rows of the MMA)"
    if bn not in (64, 128, 256):
        return f"BLOCK_SIZE_N {bn} must be 64, 128 or 256"
    if config["RING"] < 3:
        return f"RING {config['RING']} under 3 (two slots for the MMAs in flight, one loading)"
    if smem_bytes(config) > 227 * 1024:
        return f"shared memory {smem_bytes(config)} B over 227 KB"
    return None


def smem_bytes(config: dict) -> int:
    """The ring of activation tiles and packed words, and the two dequantized weight buffers."""
    bm, bn, bk, ring = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["RING"]
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
    w4a16_gluon_prefill_kernel[grid](
        a, inputs.qweight, inputs.scales, zeros, c, M, N, K, K // 8, triton.cdiv(N, 8),
        GROUP=0 if g == -1 else g, HAS_ZP=p["zero_points"], BLOCK_SIZE_M=config["BLOCK_SIZE_M"],
        BLOCK_SIZE_N=config["BLOCK_SIZE_N"], BLOCK_SIZE_K=config["BLOCK_SIZE_K"],
        GROUP_SIZE_M=config["GROUP_SIZE_M"], RING=config["RING"], num_warps=config["num_warps"])
    return c


def space() -> list[dict]:
    """The probe's configs: BN x BK x ring depth (RING - 2 steps loaded ahead), 8 warps over 128 rows; those that fit
    in shared memory."""
    configs = [dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=bn, BLOCK_SIZE_K=bk, GROUP_SIZE_M=8, RING=ring, num_warps=8)
               for bn in (128, 256) for bk in (64, 128) for ring in (4, 5, 6)]
    return [c for c in configs if smem_bytes(c) <= 227 * 1024]
