"""vLLM 0.33.0's block-quantized W8A8 GEMM: fp8 only (kernels/servers/block_server.py says how it is launched).

    fp8_utils.w8a8_triton_block_scaled_mm(A, B, As, Bs, block_size, output_dtype)   the launcher that is timed
    fp8_utils._w8a8_triton_block_scaled_mm                                             its Triton kernel
    fp8_utils.get_w8a8_block_fp8_configs(N, K, block_n, block_k)                       its lookup: fp8_utils.py's own
        configs/ folder only (no environment variable), file
        N={N},K={K},device_name={dev},dtype=fp8_w8a8,block_shape=[{bn},{bk}].json, dev from
        get_device_name_as_file_name (whitespace and '/' as '_'; no H200 family mapping, unlike the fused-MoE names)
    default without a file: BLOCK_SIZE_M 64, BLOCK_SIZE_N block_n, BLOCK_SIZE_K block_k, GROUP_SIZE_M 32, 4 warps, 2 stages

vLLM 0.33.0 has no block int8 GEMM (int8_utils.py keeps only the activation quantizers): the int8_w8a8 block files
its release still ships are read by no code. On CUDA vLLM picks this Triton kernel for block fp8 linears only when the
faster ones cannot run or are excluded: its order is FlashInfer/DeepGEMM, DeepGEMM, CUTLASS (SM90: yes), ... Triton;
`--linear-backend triton` selects it (docs/FORMATS.md).
"""

import functools

from . import block, block_server, vllm_source

SERVER = "vllm"
QUANTS = ("fp8",)
FP8 = block_server.Launcher(module=lambda: vllm_source.modules().fp8_utils, launcher="w8a8_triton_block_scaled_mm",
                            lookup="get_w8a8_block_fp8_configs", kernels=("_w8a8_triton_block_scaled_mm",))
make_inputs = functools.partial(block.make_inputs, reciprocal=True)  # vLLM's quantizer: absmax * (1 / fp8 max)
reference = block.reference
check = block.check
compile_inputs = block.compile_inputs


def normalize_problem(problem: dict) -> dict:
    p = block.normalize_problem(problem)
    if p["quant"] not in QUANTS:
        raise ValueError("vLLM 0.33.0 has no block-quantized int8 GEMM (quant must be fp8)")
    return p


def _launcher(problem: dict) -> block_server.Launcher:
    normalize_problem(problem)
    return FP8


_api = block_server.Server(_launcher)
launch, default_config, lookup_config = _api.launch, _api.default_config, _api.lookup_config
file_configs, config_file_name, reading_from = _api.file_configs, _api.config_file_name, _api.reading_from
