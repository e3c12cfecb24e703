"""W4A16 at prefill: dequantize the int4 weights to the activation dtype in one Triton pass, then one dense GEMM.

At large M the GEMM is compute-bound and the dequantization is a fixed cost of about 2.5 bytes moved per weight
(0.5 read, 2 written), so writing W once and handing it to cuBLAS (torch's F.linear) runs at the dense GEMM's
TFLOP/s less that pass. The fused kernel (kernels/w4a16_mma.py) waits on each K block's MMAs before it scales them,
which caps it well below the dense GEMM there (docs/BENCHMARKS.md). The tuner times both, per M, as the config key
DEQUANT_GEMM decides (kernels/w4a16.py), so a tuned file keeps whichever is faster on the device.

The dequantized weight is bit-for-bit the reference's (kernels/w4a16_pack.dequantize): (q - z) * s in fp32, rounded
once to the activation dtype. Plain Triton ops: the kernel runs as it is under the CPU interpreter.
"""

import triton
import triton.language as tl

from kernels.w4a16_mma import _zero_points


@triton.jit
def dequant_kernel(qw_ptr, s_ptr, z_ptr, w_ptr, N, K, KW, stride_zg,
                   GROUP: tl.constexpr,  # group size, 0 = per-channel
                   HAS_ZP: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """W[n, k] = (q - z) * s for a BLOCK_N x BLOCK_K tile, from the kernel layout of kernels/w4a16.py."""
    BKW: tl.constexpr = BLOCK_K // 8
    pid_n = tl.program_id(0)
    pid_k = tl.program_id(1)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_kw = pid_k * BKW + tl.arange(0, BKW)
    n_ok = offs_n < N
    words = tl.load(qw_ptr + offs_n[:, None] * KW + offs_kw[None, :], mask=n_ok[:, None] & (offs_kw < KW)[None, :],
                    other=0)
    j = tl.arange(0, 8)
    shifts = ((j >> 1) + (j & 1) * 4) * 4  # element j of a word sits in nibble [0, 4, 1, 5, 2, 6, 3, 7][j]
    q = tl.reshape((words[:, :, None] >> shifts[None, None, :]) & 0xF, (BLOCK_N, BLOCK_K)).to(tl.float32)
    if GROUP != 0 and BLOCK_K > GROUP:  # a tile over several groups: each column's group
        offs_k = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
        ok = n_ok[:, None] & (offs_k < K)[None, :]
        g = (offs_k // GROUP)[None, :]
        rows = offs_n[:, None]
        s = tl.load(s_ptr + g * N + rows, mask=ok, other=0.0).to(tl.float32)
        z = _zero_points(tl.load(z_ptr + g * stride_zg + rows // 8, mask=ok, other=0), rows) if HAS_ZP else 8.0
        w = ((q - z) * s).to(w_ptr.dtype.element_ty)
    else:  # one group per tile (or per-channel): one scale row
        g = 0 if GROUP == 0 else pid_k * BLOCK_K // GROUP
        s = tl.load(s_ptr + g * N + offs_n, mask=n_ok, other=0.0).to(tl.float32)
        if HAS_ZP:
            z = _zero_points(tl.load(z_ptr + g * stride_zg + offs_n // 8, mask=n_ok, other=0), offs_n)
        else:
            z = tl.full((BLOCK_N,), 8.0, tl.float32)
        w = ((q - z[:, None]) * s[:, None]).to(w_ptr.dtype.element_ty)
        offs_k = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    tl.store(w_ptr + offs_n[:, None] * K + offs_k[None, :], w, mask=n_ok[:, None] & (offs_k < K)[None, :])
