"""moe_align_block_size in torch: tritune's own code for the op both servers run from compiled extensions.

The contract (what the servers' fused MoE kernels read), for topk_ids [M, top_k] over E experts, P = M * top_k
pairs (pair = token * top_k + slot) and BLOCK_SIZE_M = block_size:
- sorted_token_ids (int32, a buffer the server's Python code allocates): for each expert in ascending
  order, the ids of its pairs, then the sentinel P up to a multiple of block_size; every other entry of
  the buffer is P too. Pairs of one expert are in ascending order here (stable sort); the compiled ops
  make no promise about that order, and the kernels do not depend on it.
- expert_ids (int32, one per block of the buffer): the expert of each filled block; -1 past them (the
  kernels stop at num_tokens_post_padded before reading those).
- num_tokens_post_padded (int32 [1]): the filled length, sum over experts of ceil(count / block_size) * block_size.
Every step is a device op without a host sync, so a launch that includes it can be captured in a CUDA graph.

SGLang calls its compiled op with num_experts + 1 buckets (the "+1 offset" convention, spelled out in SGLang's
own Triton twin, kernels/ops/moe/moe_align_small_numel.py): expert id e goes to bucket e + 1, bucket 0 holds
the ids -1 (experts filtered out under expert parallelism) and its blocks get expert id -1, which the kernels
skip. fill(..., invalid_bucket=True) follows that convention; with no -1 ids bucket 0 is empty and the buffers
are those of the plain convention. SGLang also pre-fills the whole sorted buffer with the sentinel, as here.
"""

import torch


def fill(topk_ids: torch.Tensor, num_experts: int, block_size: int, sorted_ids, expert_ids, num_tokens_post_pad,
         invalid_bucket: bool = False) -> None:
    """Fill the three buffers in place (the compiled ops' calling convention). With invalid_bucket, num_experts
    counts SGLang's extra bucket 0 for the ids -1 (see the module docstring)."""
    flat = topk_ids.flatten().to(torch.int64) + (1 if invalid_bucket else 0)
    P = flat.numel()
    device = flat.device
    counts = torch.zeros(num_experts, dtype=torch.int64, device=device)
    counts.scatter_add_(0, flat, torch.ones_like(flat))
    blocks = (counts + block_size - 1) // block_size
    last_block = torch.cumsum(blocks, 0)  # one past each expert's last block
    padded_start = (last_block - blocks) * block_size
    first_pair = torch.cumsum(counts, 0) - counts  # where each expert starts in the unpadded sorted order

    order = torch.sort(flat, stable=True).indices  # pair ids sorted by expert
    sorted_expert = flat[order]
    rank = torch.arange(P, device=device) - first_pair[sorted_expert]
    sorted_ids.fill_(P)
    sorted_ids[padded_start[sorted_expert] + rank] = order.to(sorted_ids.dtype)

    block = torch.arange(expert_ids.numel(), device=device)
    owner = torch.searchsorted(last_block, block, right=True)  # == num_experts past the filled blocks
    expert_ids.copy_(torch.where(owner < num_experts, owner - (1 if invalid_bucket else 0), -1))
    num_tokens_post_pad.copy_((last_block[-1:] * block_size).to(num_tokens_post_pad.dtype))



def canonical(sorted_ids: torch.Tensor, expert_ids: torch.Tensor, filled: int, block_size: int, num_pairs: int):
    """The filled part of sorted_ids with each expert's pairs in ascending order, as keys expert * (P + 1) + id.
    The contract leaves the order within an expert free, so two alignments with the same expert_ids and count
    agree when these agree (the sentinel P sorts after its expert's pairs, where the contract puts it)."""
    experts = expert_ids[: filled // block_size].long().repeat_interleave(block_size)
    return (experts * (num_pairs + 1) + sorted_ids[:filled].long()).sort().values
