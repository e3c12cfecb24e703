"""SGLang 0.5.23's block-quantized W8A8 GEMMs, fp8 and int8 (kernels/servers/block_server.py says how they are
launched). Both live in sglang/kernels/ops/gemm/ and read that folder's configs/ (no environment variable):

    fp8_kernel.w8a8_block_fp8_matmul_triton   -> _w8a8_block_fp8_matmul (SM90 configs with SWAP_AB or SPLIT_K > 1:
                                                 _w8a8_block_fp8_matmul_hopper), lookup get_w8a8_block_fp8_configs
    int8_kernel.w8a8_block_int8_matmul        -> _w8a8_block_int8_matmul, lookup get_w8a8_block_int8_configs

File N={N},K={K},device_name={dev},dtype={fp8|int8}_w8a8,block_shape=[{bn}, {bk}].json (a space after the comma),
dev = the torch device name with spaces as '_'. Defaults without a file: BLOCK_SIZE_M 64, BLOCK_SIZE_N block_n,
BLOCK_SIZE_K block_k, GROUP_SIZE_M 32, 4 warps, 3 stages. The fp8 lookup rewrites entries whose BLOCK_SIZE_K is below
block_k and does not divide it (on CUDA; below block_k at all elsewhere) to block_k. On SM90 an fp8 entry with SWAP_AB true or
SPLIT_K > 1 runs _w8a8_block_fp8_matmul_hopper (then _reduce_block_fp8_split_k over the SPLIT_K fp32 partials); an
entry with those keys anywhere else reaches a kernel without them, and fails (kernels/server_block.py).

When SGLang runs these on an H200 (fp8_utils.dispatch_w8a8_block_fp8_linear): `--fp8-gemm-backend triton`; or auto
without DeepGEMM (the sgl-deep-gemm package missing, or SGLANG_ENABLE_JIT_DEEPGEMM=0); or auto with DeepGEMM for a
layer it does not take (output not bf16, N % 64 or K % 128, block shape not [128, 128]). Block int8 always runs here.
"""

from . import block, block_server, sglang_source

SERVER = "sglang"
QUANTS = ("fp8", "int8")
LAUNCHERS = {
    "fp8": block_server.Launcher(
        module=lambda: sglang_source.gemm("fp8_kernel"), launcher="w8a8_block_fp8_matmul_triton",
        lookup="get_w8a8_block_fp8_configs", not_config=("needs_masking",),
        kernels=("_w8a8_block_fp8_matmul", "_w8a8_block_fp8_matmul_hopper", "_w8a8_block_fp8_matmul_gfx1250",
                 "_reduce_block_fp8_split_k")),
    "int8": block_server.Launcher(
        module=lambda: sglang_source.gemm("int8_kernel"), launcher="w8a8_block_int8_matmul",
        lookup="get_w8a8_block_int8_configs", kernels=("_w8a8_block_int8_matmul",)),
}
normalize_problem = block.normalize_problem
make_inputs = block.make_inputs
reference = block.reference
check = block.check
compile_inputs = block.compile_inputs


def _launcher(problem: dict) -> block_server.Launcher:
    return LAUNCHERS[block.normalize_problem(problem)["quant"]]


_api = block_server.Server(_launcher)
launch, default_config, lookup_config = _api.launch, _api.default_config, _api.lookup_config
file_configs, config_file_name, reading_from = _api.file_configs, _api.config_file_name, _api.reading_from
