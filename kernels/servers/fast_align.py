"""moe_align_block_size as two Triton kernels (tritune's own code for the op both servers run compiled).

The contract is align.py's (its docstring): pairs grouped by expert, each expert padded with the sentinel
P = topk_ids.numel() to a multiple of block_size, the expert of each filled block, the padded count, and
SGLang's num_experts + 1 bucket convention (bucket_offset=1: id -1 goes to bucket 0, whose blocks get -1).

- _count_kernel, one program: the per-bucket counts (tl.histogram over chunks of pairs), the padded prefix
  sums, and the filled length; it leaves per bucket a write cursor, its padded start, its count and one past
  its last block in a scratch buffer.
- _scatter_kernel, many programs of two kinds. Pair programs place each pair at an atomically taken slot of
  its bucket (so pairs of one expert come in no fixed order, which the contract allows: the GEMMs read a
  pair's row and write it back to the same pair). Block programs find each block's owner (how many buckets
  end at or before it), write expert_ids and the sentinel into every slot no pair takes. The two kinds
  write disjoint slots, so no slot is written twice and no fill has to come first.
No host sync: a launch that includes it can be captured in a CUDA graph.
"""

import torch
import triton
import triton.language as tl

MAX_BUCKETS = 1024  # the count kernel holds one histogram bin per bucket in one program
PAIRS_PER_PROGRAM = 1024
_CURSOR, _START, _COUNT, _END = range(4)  # the scratch buffer's four rows, BUCKETS entries each


@triton.jit
def _count_kernel(
    # pointers
    topk_ids_ptr, scratch_ptr, post_pad_ptr,
    # dimensions
    num_pairs, num_buckets, block_size,
    # meta-parameters
    BUCKET_OFFSET: tl.constexpr, BUCKETS: tl.constexpr, CHUNK: tl.constexpr,
):
    counts = tl.zeros([BUCKETS], dtype=tl.int32)
    for start in range(0, num_pairs, CHUNK):
        offs = start + tl.arange(0, CHUNK)
        bucket = tl.load(topk_ids_ptr + offs, mask=offs < num_pairs, other=0).to(tl.int32) + BUCKET_OFFSET
        valid = (offs < num_pairs) & (bucket >= 0) & (bucket < num_buckets)
        counts += tl.histogram(tl.where(valid, bucket, 0), BUCKETS, mask=valid)

    buckets = tl.arange(0, BUCKETS)
    blocks = (counts + block_size - 1) // block_size
    end_block = tl.cumsum(blocks, 0)  # one past each bucket's last block
    start_slot = (end_block - blocks) * block_size
    real = buckets < num_buckets
    tl.store(scratch_ptr + 0 * BUCKETS + buckets, start_slot, mask=real)  # _CURSOR, advanced by the scatter
    tl.store(scratch_ptr + 1 * BUCKETS + buckets, start_slot, mask=real)  # _START
    tl.store(scratch_ptr + 2 * BUCKETS + buckets, counts, mask=real)  # _COUNT
    tl.store(scratch_ptr + 3 * BUCKETS + buckets, end_block, mask=real)  # _END
    tl.store(post_pad_ptr, tl.sum(blocks, 0) * block_size)


@triton.jit
def _scatter_kernel(
    # pointers
    topk_ids_ptr, scratch_ptr, sorted_ids_ptr, expert_ids_ptr,
    # dimensions
    num_pairs, num_buckets, block_size, sorted_len, expert_ids_len, pair_programs,
    # meta-parameters
    BUCKET_OFFSET: tl.constexpr, BUCKETS: tl.constexpr, PAIRS: tl.constexpr, BLOCKS: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0)
    if pid < pair_programs:
        # pair program: each pair takes the next slot of its bucket
        offs = pid * PAIRS + tl.arange(0, PAIRS)
        bucket = tl.load(topk_ids_ptr + offs, mask=offs < num_pairs, other=0).to(tl.int32) + BUCKET_OFFSET
        valid = (offs < num_pairs) & (bucket >= 0) & (bucket < num_buckets)
        slot = tl.atomic_add(scratch_ptr + tl.where(valid, bucket, 0), 1, mask=valid)
        tl.store(sorted_ids_ptr + slot, offs, mask=valid)
    else:
        # block program: the owner of each of BLOCKS blocks, then the sentinel into the slots no pair takes
        block = (pid - pair_programs) * BLOCKS + tl.arange(0, BLOCKS)
        buckets = tl.arange(0, BUCKETS)
        end_block = tl.load(scratch_ptr + 3 * BUCKETS + buckets, mask=buckets < num_buckets, other=2147483647)
        owner = tl.sum((end_block[None, :] <= block[:, None]).to(tl.int32), axis=1)
        filled = owner < num_buckets
        tl.store(expert_ids_ptr + block, tl.where(filled, owner - BUCKET_OFFSET, -1), mask=block < expert_ids_len)

        safe_owner = tl.where(filled, owner, 0)
        start = tl.load(scratch_ptr + 1 * BUCKETS + safe_owner)
        count = tl.load(scratch_ptr + 2 * BUCKETS + safe_owner)
        cols = tl.arange(0, BLOCK_M)
        cell = block[:, None] * block_size + cols[None, :]  # not `slot`: a name live in both branches needs one type
        unused = (~filled[:, None]) | (cell - start[:, None] >= count[:, None])
        in_buffer = (cols[None, :] < block_size) & (cell < sorted_len)
        tl.store(sorted_ids_ptr + cell, tl.zeros_like(cell) + num_pairs, mask=unused & in_buffer)


def fits(num_buckets: int) -> bool:
    """Whether the kernels take this many buckets (experts, plus SGLang's bucket for the ids -1)."""
    return num_buckets <= MAX_BUCKETS


def fill(topk_ids: torch.Tensor, num_buckets: int, block_size: int, sorted_ids: torch.Tensor,
         expert_ids: torch.Tensor, num_tokens_post_pad: torch.Tensor, bucket_offset: int = 0) -> None:
    """align.fill's contract in two launches (bucket_offset=1: SGLang's convention, align.fill's invalid_bucket)."""
    if not fits(num_buckets):
        raise ValueError(f"moe_align_block_size: {num_buckets} buckets, the Triton version takes {MAX_BUCKETS}")
    ids = topk_ids.reshape(-1)
    P = ids.numel()
    BUCKETS = max(16, triton.next_power_of_2(num_buckets))
    scratch = torch.empty(4 * BUCKETS, dtype=torch.int32, device=ids.device)
    _count_kernel[(1,)](ids, scratch, num_tokens_post_pad, P, num_buckets, block_size,
                        BUCKET_OFFSET=bucket_offset, BUCKETS=BUCKETS, CHUNK=min(4096, max(128, triton.next_power_of_2(P))),
                        num_warps=8 if P > 4096 else 4)

    BLOCK_M = triton.next_power_of_2(block_size)
    BLOCKS = max(1, min(64, 4096 // BUCKETS, 8192 // BLOCK_M))  # an owner search of BLOCKS x BUCKETS compares
    blocks = max(expert_ids.numel(), triton.cdiv(sorted_ids.numel(), block_size))
    pair_programs = triton.cdiv(P, PAIRS_PER_PROGRAM)
    grid = (pair_programs + triton.cdiv(blocks, BLOCKS),)
    _scatter_kernel[grid](ids, scratch, sorted_ids, expert_ids, P, num_buckets, block_size, sorted_ids.numel(),
                          expert_ids.numel(), pair_programs, BUCKET_OFFSET=bucket_offset, BUCKETS=BUCKETS,
                          PAIRS=PAIRS_PER_PROGRAM, BLOCKS=BLOCKS, BLOCK_M=BLOCK_M)
