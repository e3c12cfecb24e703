"""moe_align_block_size in Triton (kernels/servers/fast_align.py) against the torch version (align.py) on the contract."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels.servers import align, fast_align  # noqa: E402


def run(fill, topk_ids, buckets, bs, offset, length):
    """The three buffers, pre-filled with -7 so that an entry the op leaves unwritten shows."""
    sorted_ids = torch.full((length,), -7, dtype=torch.int32)
    expert_ids = torch.full((-(-length // bs),), -7, dtype=torch.int32)
    post = torch.full((1,), -7, dtype=torch.int32)
    if fill is align.fill:
        align.fill(topk_ids, buckets, bs, sorted_ids, expert_ids, post, invalid_bucket=offset == 1)
    else:
        fast_align.fill(topk_ids, buckets, bs, sorted_ids, expert_ids, post, bucket_offset=offset)
    return sorted_ids, expert_ids, post


def routing(M, E, top_k, seed, invalid=False):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.stack([torch.randperm(E, generator=gen)[:top_k] for _ in range(M)]).to(torch.int32)
    if invalid:  # SGLang: ids -1 for experts filtered out (every third token's first slot)
        ids[::3, 0] = -1
    return ids


CASES = [  # (M, E, top_k, block size): decode, prefill, and Qwen3-30B-A3B at M=4096 (32768 pairs)
    (1, 8, 2, 16), (6, 4, 2, 4), (33, 8, 2, 64), (257, 64, 6, 16), (4096, 128, 8, 64), (1000, 256, 8, 16),
    (3, 256, 8, 128), (64, 160, 8, 32),
]


@pytest.mark.parametrize("M,E,top_k,bs", CASES)
@pytest.mark.parametrize("sglang", [False, True], ids=["vllm", "sglang"])
def test_matches_the_torch_alignment_on_the_contract(M, E, top_k, bs, sglang):
    topk_ids = routing(M, E, top_k, seed=M * 31 + E, invalid=sglang)
    buckets, offset = (E + 1, 1) if sglang else (E, 0)
    P = topk_ids.numel()
    length = P + buckets * (bs - 1)  # the servers' worst-case buffer (vLLM shrinks it when P < E; see below)
    ref = run(align.fill, topk_ids, buckets, bs, offset, length)
    out = run(fast_align.fill, topk_ids, buckets, bs, offset, length)
    n = int(ref[2])
    assert int(out[2]) == n
    assert torch.equal(out[1], ref[1])  # expert per block, -1 past the filled ones (and for SGLang's bucket 0)
    assert torch.equal(out[0][n:], ref[0][n:])  # the sentinel everywhere past the filled part
    assert torch.equal(align.canonical(*out[:2], n, bs, P), align.canonical(*ref[:2], n, bs, P))


def test_buffers_shorter_than_the_worst_case():
    """vLLM sizes the buffer P * bs when P < E, which can end inside an expert's padding of the worst case."""
    topk_ids = torch.tensor([[5, 1], [1, 7]], dtype=torch.int32)
    length = topk_ids.numel() * 16
    ref = run(align.fill, topk_ids, 8, 16, 0, length)
    out = run(fast_align.fill, topk_ids, 8, 16, 0, length)
    assert all(torch.equal(a, b) for a, b in zip(ref, out))


def test_a_wrong_alignment_fails_the_comparison():
    """The comparison sees a pair moved to another expert, and a sentinel where a pair should be."""
    topk_ids = routing(40, 8, 2, seed=1)
    P, n_len = topk_ids.numel(), topk_ids.numel() + 8 * 15
    sorted_ids, expert_ids, post = run(fast_align.fill, topk_ids, 8, 16, 0, n_len)
    n = int(post)
    good = align.canonical(sorted_ids, expert_ids, n, 16, P)
    swapped = sorted_ids.clone()
    first, last = 0, n - 16  # a pair of the first expert's block and of the last expert's block, exchanged
    swapped[first], swapped[last] = sorted_ids[last], sorted_ids[first]
    assert not torch.equal(align.canonical(swapped, expert_ids, n, 16, P), good)
    lost = sorted_ids.clone()
    lost[0] = P
    assert not torch.equal(align.canonical(lost, expert_ids, n, 16, P), good)


def test_too_many_buckets_are_refused():
    with pytest.raises(ValueError, match="buckets"):
        run(fast_align.fill, torch.zeros(1, 1, dtype=torch.int32), fast_align.MAX_BUCKETS + 1, 16, 0, 64)
