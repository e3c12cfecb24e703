"""Kernel families whose kernel is a server's (vLLM, SGLang): fetching a pinned release, loading its code, its launch.

releases.py  the pinned wheels and the files read from them     fetch.py   python3 -m kernels.servers.fetch
shim.py      bare packages, stand-ins, inert modules, custom ops  align.py   moe_align_block_size in torch
vllm_source  vLLM's modules (installed or cache)                 vllm_ops   stand-ins for vLLM's compiled ops
moe.py       one MoE layer: inputs, reference, check             vllm_moe   the layer through vLLM's fused_experts
sglang_source SGLang's modules (installed or cache)              sglang_ops stand-ins for SGLang's compiled ops
sglang_moe   the layer through SGLang's fused_moe (vllm_moe's API)
block.py     one block-quantized W8A8 GEMM                       {vllm,sglang}_block  the servers' block GEMMs
compiling.py compiling a server's kernels on the CPU for a GPU   fast_ops, fast_align  Triton kernels of the stand-ins
The provenance of a server family's code (version, origin, hashes) is kernels/server_family.py's.
docs/SERVERS.md says what is fetched, what stands in and why.
"""
