"""moe_align_block_size (tritune's stand-in: Triton under the interpreter) through vLLM's own Python wrapper, which
allocates the buffers. The order of an expert's pairs is free (align.py), so sorted ids are compared by align.canonical."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import importlib  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels import moe_routing  # noqa: E402
from kernels.servers import align, vllm_source  # noqa: E402


def vllm_align():
    vllm_source.modules()
    return importlib.import_module("vllm.model_executor.layers.fused_moe.moe_align_block_size").moe_align_block_size


def brute_force(topk_ids, E, bs):
    """The contract spelled out with Python loops: per expert its pairs, then sentinels to a multiple of bs."""
    flat = topk_ids.flatten().tolist()
    P = len(flat)
    rows, experts = [], []
    for e in range(E):
        pairs = [i for i, x in enumerate(flat) if x == e]
        padded = pairs + [P] * (-len(pairs) % bs)
        rows += padded
        experts += [e] * (len(padded) // bs)
    return rows, experts


# tokens 0..5, top-2 over 4 experts: expert 0 gets 5 pairs, expert 1 none, expert 2 one, expert 3 six
UNEVEN = [[0, 3], [3, 0], [0, 3], [3, 2], [0, 3], [3, 0]]


@pytest.mark.parametrize("bs", [4, 16, 64])
@pytest.mark.parametrize("ids,E", [(UNEVEN, 4), ([[5, 1]], 8), ([[1, 0], [0, 1], [1, 0]], 2)])
def test_contract_against_loops(ids, E, bs):
    topk_ids = torch.tensor(ids, dtype=torch.int32)
    P = topk_ids.numel()
    sorted_ids, expert_ids, post_pad = vllm_align()(topk_ids, bs, E)
    rows, experts = brute_force(topk_ids, E, bs)
    # the buffers are vLLM's: int32, sized for the worst case (numel + E * (bs - 1), or numel * bs when numel < E)
    expected_len = min(P * bs, P + E * (bs - 1)) if P < E else P + E * (bs - 1)
    assert sorted_ids.dtype == expert_ids.dtype == post_pad.dtype == torch.int32
    assert sorted_ids.shape == (expected_len,) and expert_ids.shape == (-(-expected_len // bs),) and post_pad.shape == (1,)
    n = int(post_pad)
    assert n == len(rows) and n % bs == 0
    assert torch.equal(align.canonical(sorted_ids, expert_ids, n, bs, P),
                       align.canonical(torch.tensor(rows, dtype=torch.int32), torch.tensor(experts), n, bs, P))
    assert (sorted_ids[n:] == P).all()  # the sentinel is numel(topk_ids) everywhere past the filled part
    assert expert_ids[: n // bs].tolist() == experts
    assert (expert_ids[n // bs :] == -1).all()


def test_matches_the_padded_tables_of_the_project_kernels():
    """kernels/moe_routing.py builds the same padded table for tritune's own MoE kernel, independently."""
    topk_ids, _ = moe_routing.make_routing(33, 8, 2, "skewed", seed=4)
    _, padded = moe_routing.prepare_tables(topk_ids, 8, "cpu")
    for bs in (16, 64):
        sorted_ids, expert_ids, post_pad = vllm_align()(topk_ids.to(torch.int32), bs, 8)
        table = padded[bs]
        n = int(post_pad)
        assert n == int(table.num_blocks) * bs
        P = topk_ids.numel()
        assert torch.equal(align.canonical(sorted_ids, expert_ids, n, bs, P),
                           align.canonical(table.sorted_pairs, table.block_expert, n, bs, P))
        assert torch.equal(expert_ids[: n // bs], table.block_expert[: n // bs])


def test_expert_maps_reaching_the_op_are_refused():
    """Expert parallelism is not tuned: an expert map that vLLM hands to the compiled op raises, naming why."""
    ids, expert_map = torch.tensor(UNEVEN, dtype=torch.int32), torch.arange(4, dtype=torch.int32)
    with pytest.raises(RuntimeError, match="expert parallelism"):
        vllm_align()(ids, 16, 4, expert_map, ignore_invalid_experts=True)
