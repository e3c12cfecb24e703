"""The worker's input cache (kernels/triton_backend.py) counts what an input set holds of its own (held_bytes): a
server MoE layer's weights are shared by every M, so its Ms stay cached where counting the touched weights per M
would evict them and redraw the inputs again and again."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: the interpreter backend, on the CPU

from kernels import server_moe  # noqa: E402
from kernels.triton_backend import TritonBackend  # noqa: E402


def test_moe_inputs_of_every_m_stay_cached_under_a_budget_their_weights_would_exceed():
    backend = TritonBackend("interpret")
    problems = [server_moe.normalize_problem("vllm-moe", {"M": m, "E": 8, "N": 128, "K": 256, "top_k": 2})
                for m in (4, 5, 6)]
    touched = server_moe.input_bytes(problems[0])
    backend.cache_limit = 1.5 * touched  # the touched weights of two Ms would not fit
    entries = [backend._entry(server_moe, "vllm-moe", p) for p in problems]
    assert len(backend.inputs) == 3  # none evicted
    assert backend.cache_bytes == sum(server_moe.held_bytes(p) for p in problems) < touched
    assert backend._entry(server_moe, "vllm-moe", problems[0]) is entries[0]  # the same inputs, not redrawn
