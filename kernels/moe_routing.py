"""Routing for the MoE kernels: seeded top-k routing and the per-block tables the kernels read.

Rows are (token, slot) pairs, pair = token * top_k + slot. Both tables walk the pairs sorted by expert
(stable, so pairs of one expert keep token order); they differ in how a CTA finds its rows:
- grouped: (expert, row start, row count) per block over the unpadded sorted order;
- padded: vLLM's moe_align_block_size -- each expert's pairs padded to a multiple of BLOCK_M with the sentinel P.
Everything is computed on the CPU (a few small tensors) and then moved, so it is identical on every device.
"""

from dataclasses import dataclass

import torch

BLOCK_MS = (16, 32, 64, 128, 256)  # the BLOCK_SIZE_M values tables are prepared for
ZIPF_EXPONENT = 1.0  # 'skewed' routing: expert popularity ~ 1 / rank^s over a seeded random expert order


def make_routing(M: int, E: int, top_k: int, routing: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(topk_ids int64 [M, top_k], router weights fp32 [M, top_k]), deterministic in `seed` on every machine."""
    gen = torch.Generator().manual_seed(seed)
    log_p = torch.zeros(E, dtype=torch.float64)
    if routing == "skewed":
        rank = torch.randperm(E, generator=gen).to(torch.float64)
        log_p = -ZIPF_EXPONENT * torch.log1p(rank)
    # Gumbel top-k: top_k distinct experts per token, drawn without replacement in proportion to exp(log_p)
    u = torch.rand(M, E, generator=gen, dtype=torch.float64).clamp_(1e-12, 1 - 1e-12)
    topk_ids = (log_p - torch.log(-torch.log(u))).topk(top_k, dim=1).indices
    # renormalized softmax over the chosen experts, as Qwen3 / Mixtral do (norm_topk_prob)
    weights = torch.softmax(torch.randn(M, top_k, generator=gen), dim=1)
    return topk_ids, weights


@dataclass
class BlockTable:
    """What one launch reads: sorted pair ids, per-block expert (and rows), the real block count, the grid bound."""

    sorted_pairs: torch.Tensor  # int32
    block_expert: torch.Tensor  # int32 [grid_m]
    block_start: torch.Tensor  # int32 [grid_m] (grouped only; padded blocks start at pid_m * BLOCK_M)
    block_count: torch.Tensor  # int32 [grid_m] (grouped only)
    num_blocks: torch.Tensor  # int32 [1]: blocks with rows; pid_m beyond it exits at once
    grid_m: int  # host-side upper bound on num_blocks: what the launch grid is sized by


def grouped_bound(P: int, E: int, block_m: int) -> int:
    """Most blocks any routing of P pairs over E experts needs: each used expert wastes at most one partial block."""
    return min(P, P // block_m + min(E, P))


def padded_bound(P: int, E: int, block_m: int) -> int:
    """The grid vLLM's fused_moe launches over moe_align_block_size's output (its max_num_tokens_padded)."""
    em = P + E * (block_m - 1)
    if P < E:
        em = min(em, P * block_m)
    return -(-em // block_m)


def _pad(t: torch.Tensor, n: int) -> torch.Tensor:
    return torch.cat([t, t.new_zeros(n - t.numel())])


def prepare_tables(topk_ids: torch.Tensor, E: int, device) -> tuple[dict, dict]:
    """({BLOCK_M: grouped BlockTable}, {BLOCK_M: padded BlockTable}) for every BLOCK_M in BLOCK_MS."""
    flat = topk_ids.flatten()
    P = flat.numel()
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=E)
    offsets = torch.cumsum(counts, 0) - counts
    sorted_expert = flat[order]
    rank_in_expert = torch.arange(P) - offsets[sorted_expert]
    grouped, padded = {}, {}
    for bm in BLOCK_MS:
        nb = -(-counts // bm)
        total = int(nb.sum())
        block_expert = torch.repeat_interleave(torch.arange(E), nb)
        first_block = torch.cumsum(nb, 0) - nb
        i = torch.arange(total) - first_block[block_expert]
        start = offsets[block_expert] + i * bm
        count = (counts[block_expert] - i * bm).clamp(max=bm)
        num_blocks = torch.tensor([total])

        gm = grouped_bound(P, E, bm)
        grouped[bm] = _table(order, _pad(block_expert, gm), _pad(start, gm), _pad(count, gm), num_blocks, gm, device)

        pm = padded_bound(P, E, bm)
        padded_off = torch.cumsum(nb * bm, 0) - nb * bm
        sorted_padded = torch.full((pm * bm,), P, dtype=torch.int64)
        sorted_padded[padded_off[sorted_expert] + rank_in_expert] = order
        empty = torch.zeros(1, dtype=torch.int64)
        padded[bm] = _table(sorted_padded, _pad(block_expert, pm), empty, empty, num_blocks, pm, device)
    return grouped, padded


def _table(sorted_pairs, block_expert, block_start, block_count, num_blocks, grid_m, device) -> BlockTable:
    to = lambda t: t.to(device=device, dtype=torch.int32)  # noqa: E731
    return BlockTable(to(sorted_pairs), to(block_expert), to(block_start), to(block_count), to(num_blocks), grid_m)


def active_experts(topk_ids: torch.Tensor) -> int:
    """How many experts receive at least one pair (their weights are what a launch must read)."""
    return int(torch.unique(topk_ids).numel())
