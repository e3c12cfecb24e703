"""Tile helpers shared by the kernel families' Triton kernels."""

import triton
import triton.language as tl


@triton.jit
def grouped_tile(pid, num_pid_m, num_pid_n, GROUP_SIZE_M):
    """pid -> (pid_m, pid_n) in the matmul tutorial's grouped order: GROUP_SIZE_M rows of tiles are walked column
    by column, so the weight tiles they share stay in L2 (inlined by the compiler). GROUP_SIZE_M is a constexpr
    where the caller's is (the binary then computes with the number) or an int argument (one binary for all)."""
    num_pid_in_group = GROUP_SIZE_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_SIZE_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_SIZE_M)
    pid_m = first_pid_m + (pid % num_pid_in_group) % group_size_m
    pid_n = (pid % num_pid_in_group) // group_size_m
    return pid_m, pid_n


@triton.jit
def split_k_store(acc, c_ptr, ws_ptr, cnt_ptr, tile, pid_k, offs_m, offs_n, M, N,
                  BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, SPLIT_K: tl.constexpr):
    """Store the fp32 tile; with SPLIT_K > 1 publish it as a partial, count arrivals, and let the last program of
    the tile sum the partials in split order (deterministic), write C and reset the counter."""
    c_mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    c_offs = offs_m[:, None] * N + offs_n[None, :]
    if SPLIT_K == 1:
        tl.store(c_ptr + c_offs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)
    else:
        tl.store(ws_ptr + pid_k * M * N + c_offs, acc, mask=c_mask)
        tl.debug_barrier()
        arrived = tl.atomic_add(cnt_ptr + tile, 1, sem="acq_rel", scope="gpu")
        if arrived == SPLIT_K - 1:
            total = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
            for s in range(SPLIT_K):
                total += tl.load(ws_ptr + s * M * N + c_offs, mask=c_mask, other=0.0, cache_modifier=".cg")
            tl.store(c_ptr + c_offs, total.to(c_ptr.dtype.element_ty), mask=c_mask)
            tl.atomic_xchg(cnt_ptr + tile, 0)
