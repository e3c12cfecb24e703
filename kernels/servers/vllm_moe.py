"""vLLM's fused-MoE layer, launched the way vLLM's tuning script (benchmarks/kernels/benchmark_moe.py) does.

    inputs = make_inputs(problem, "cuda")           # problem: M, E, hidden, inter, top_k, quant (kernels/servers/moe.py)
    out = launch(inputs, config)                     # vLLM's fused_experts under override_config(config)
    ok, err = check(out, reference(inputs), problem["quant"])

One config serves both GEMMs of the layer, as in vLLM: fused_experts_impl reads it through
try_get_optimal_moe_config, which returns the override. vLLM's own config helpers are exposed for tests
and for the file writer: default_config (get_default_config), config_file_name (get_config_file_name),
file_configs (get_moe_configs) and lookup_config (try_get_optimal_moe_config).

Quantization routes in vLLM 0.33.0 (fused_experts -> dispatch_fused_moe_kernel):
- bf16, fp8_w8a8_block, int8_w8a8, fp8_w8a8, int8_w8a16: fused_moe_kernel via invoke_fused_moe_triton_kernel,
  which sets SPLIT_K itself and caps BLOCK_SIZE_K at the fp8 block.
- int4_w4a16: fused_moe_kernel_gptq_awq via invoke_fused_moe_wna16_triton_kernel, which passes the config
  as is: it must carry SPLIT_K. On CUDA, batches with M * top_k / E <= 6 go to vLLM's compiled
  moe_wna16_gemm instead, which is not here (it raises).
"""

import contextlib

import torch

from . import moe, vllm_source

SERVER = "vllm"
QUANTS = moe.QUANTS
normalize_problem = moe.normalize_problem
make_inputs = moe.make_inputs
compile_inputs = moe.compile_inputs
reference = moe.reference
check = moe.check



def block_shape(problem: dict) -> list[int] | None:
    """The block_shape vLLM's quant config carries for this quantization."""
    return {"fp8_w8a8_block": [moe.BLOCK, moe.BLOCK], "int4_w4a16": [0, problem.get("group_size", 128)]}.get(
        problem["quant"]
    )


def quant_config(inputs: moe.Inputs):
    """vLLM's FusedMoEQuantConfig for the inputs, built with vLLM's own helpers."""
    cfg = vllm_source.modules().config
    quant, p = inputs.problem["quant"], inputs.problem
    s1, s2 = inputs.w1_scale, inputs.w2_scale
    if quant == "bf16":
        return cfg.FUSED_MOE_UNQUANTIZED_CONFIG
    if quant in ("fp8_w8a8_block", "fp8_w8a8"):
        return cfg.fp8_w8a8_moe_quant_config(w1_scale=s1, w2_scale=s2, block_shape=block_shape(p))
    if quant == "int8_w8a8":
        return cfg.int8_w8a8_moe_quant_config(w1_scale=s1, w2_scale=s2, a1_scale=None, a2_scale=None,
                                              per_act_token_quant=True)
    if quant == "int8_w8a16":
        return cfg.int8_w8a16_moe_quant_config(w1_scale=s1, w2_scale=s2, block_shape=None)
    return cfg.int4_w4a16_moe_quant_config(w1_scale=s1, w2_scale=s2, block_shape=block_shape(p))


def launch(inputs: moe.Inputs, config: dict) -> torch.Tensor:
    """vLLM's fused_experts on the inputs with `config` for both GEMMs -> [M, hidden].

    int4 weight-only batches with M * top_k / E <= 6 go, in vLLM on CUDA, to its compiled moe_wna16_gemm, which
    is not here: they are launched on vLLM's Triton wna16 kernel instead (should_moe_wna16_use_cuda answers False
    during the launch), so what is timed there is the Triton kernel, not what vLLM runs."""
    m = vllm_source.modules()
    qc = quant_config(inputs)
    with triton_wna16(), m.package.override_config(config):
        return m.fused_moe.fused_experts(inputs.x, inputs.w1, inputs.w2, inputs.topk_weights, inputs.topk_ids,
                                         quant_config=qc)


@contextlib.contextmanager
def triton_wna16():
    """vLLM's wna16 choice answering 'Triton kernel' (should_moe_wna16_use_cuda False) for the duration."""
    fm = vllm_source.modules().fused_moe
    use_cuda = fm.should_moe_wna16_use_cuda
    fm.should_moe_wna16_use_cuda = lambda *args, **kwargs: False
    try:
        yield
    finally:
        fm.should_moe_wna16_use_cuda = use_cuda


def wna16_block_config(problem: dict, config: dict) -> dict:
    """BLOCK_SIZE_N and BLOCK_SIZE_K vLLM's Triton wna16 launcher fills in when the config lacks them
    (get_moe_wna16_block_config, as invoke_fused_moe_wna16_triton_kernel calls it for the up GEMM)."""
    p = moe.normalize_problem(problem)
    w1_shape, _ = weight_shapes(p)
    fm = vllm_source.modules().fused_moe
    return fm.get_moe_wna16_block_config(config=config, use_moe_wna16_cuda=False, num_valid_tokens=p["M"] * p["top_k"],
                                         size_k=p["hidden"], size_n=w1_shape[1], num_experts=w1_shape[1],
                                         group_size=p["group_size"], real_top_k=p["top_k"],
                                         block_size_m=config["BLOCK_SIZE_M"])


def config_dtype(problem: dict) -> str | None:
    """The dtype part of vLLM's config file name, from vLLM's own _get_config_dtype_str as fused_experts calls it.
    vLLM 0.33.0 passes no int8_w8a8 flag there, so int8_w8a8 layers read the same file as bf16 ones."""
    q = problem["quant"]
    return vllm_source.modules().config._get_config_dtype_str(
        dtype=moe._DTYPES[problem.get("dtype", "bf16")],
        use_fp8_w8a8=q in ("fp8_w8a8", "fp8_w8a8_block"),
        use_int8_w8a16=q == "int8_w8a16",
        use_int4_w4a16=q == "int4_w4a16",
    )


def weight_shapes(problem: dict) -> tuple[tuple, tuple]:
    """(w1.shape, w2.shape) as vLLM sees them (int4 weights hold two values per byte along K)."""
    p = moe.normalize_problem(problem)
    pack = 2 if p["quant"] == "int4_w4a16" else 1
    return (p["E"], 2 * p["inter"], p["hidden"] // pack), (p["E"], p["hidden"], p["inter"] // pack)


def file_n(problem: dict) -> int:
    """N in vLLM's file name: w2.shape[2], doubled for int4 (so the per-rank intermediate size), as in
    try_get_optimal_moe_config."""
    (_, (_, _, n)) = weight_shapes(problem)
    return n * 2 if problem["quant"] == "int4_w4a16" else n


def default_config(problem: dict) -> dict:
    """vLLM's get_default_config for this layer: what vLLM runs without a tuned file (for int4 at M * top_k / E <= 6,
    its Triton-kernel default, the kernel launch() runs there; vLLM on CUDA would run its compiled kernel)."""
    p = moe.normalize_problem(problem)
    w1_shape, _ = weight_shapes(p)
    fm = vllm_source.modules().fused_moe
    with triton_wna16():
        return fm.get_default_config(p["M"], p["E"], file_n(p), w1_shape[2], p["top_k"], config_dtype(p),
                                     block_shape(p))


def config_file_name(problem: dict) -> str:
    """vLLM's get_config_file_name for this layer on this process's device."""
    p = moe.normalize_problem(problem)
    return vllm_source.modules().fused_moe.get_config_file_name(p["E"], file_n(p), config_dtype(p), block_shape(p))


def file_configs(problem: dict) -> dict | None:
    """vLLM's get_moe_configs: {M: config} from $VLLM_TUNED_CONFIG_FOLDER or vLLM's configs folder, else None.
    It is lru-cached in vLLM; the cache is cleared first so a changed folder is seen."""
    p = moe.normalize_problem(problem)
    fm = vllm_source.modules().fused_moe
    fm.get_moe_configs.cache_clear()
    bs = block_shape(p) or [0, 0]
    return fm.get_moe_configs(p["E"], file_n(p), config_dtype(p), bs[0], bs[1])


def lookup_config(problem: dict) -> dict:
    """vLLM's try_get_optimal_moe_config: the config vLLM would run this layer with at batch M."""
    p = moe.normalize_problem(problem)
    fm = vllm_source.modules().fused_moe
    fm.get_moe_configs.cache_clear()
    w1_shape, w2_shape = weight_shapes(p)
    return fm.try_get_optimal_moe_config(w1_shape, w2_shape, p["top_k"], config_dtype(p), p["M"], block_shape(p))
