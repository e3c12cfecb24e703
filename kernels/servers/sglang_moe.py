"""SGLang's fused-MoE layer, launched the way SGLang's tuning script
(benchmark/kernels/fused_moe_triton/tuning_fused_moe_triton.py) does. The same API as vllm_moe.py.

    inputs = make_inputs(problem, "cuda")           # problem: M, E, hidden, inter, top_k, quant (kernels/servers/moe.py)
    out = launch(inputs, config)                     # SGLang's fused_moe under override_config(config)
    ok, err = check(out, reference(inputs), problem["quant"])

One config serves both GEMMs of the layer: with an override set, try_get_optimal_moe_config returns it and
looks up no `_down.json` file. SGLang's own config helpers are exposed for tests and for the file writer:
default_config (get_default_config), config_file_name (get_config_file_name), config_dir_name (the
`triton_<x_y_z>` folder), file_configs (get_moe_configs) and lookup_config (try_get_optimal_moe_config).

What differs from vLLM 0.33.0 (read in SGLang 0.5.23's sources):
- N in the file name is w2.shape[2] as is: I/2 for int4 (vLLM doubles it back to I).
- block_shape is written `[128, 128]` (a Python list's str); int8_w8a8 layers have their own dtype part and
  `,per_channel_quant=True` (SGLang's int8 path is per channel); int4's block shape [0, group] adds no part.
- Files live in `$SGLANG_MOE_CONFIG_DIR/configs/triton_<x_y_z>/` (default: the config module's folder), then
  in every other `triton_*` folder there, newest first; with SGLANG_MOE_CONFIG_DIR set, that folder needs a
  `configs/` subfolder or SGLang's lookup fails (it lists it). Without an override, the second GEMM reads
  `<name>_down.json` when one exists, else the up file.
- A file's keys reach the kernel as **config: `triton_version` or `SPLIT_K` (SGLang's int4 kernel has none)
  fail the launch; SGLang pops only `USE_TMA` (its TMA flag).
- The router output is a (topk_weights, topk_ids, router_logits) tuple, as SGLang's StandardTopKOutput is;
  fused_moe unpacks it and does not read the logits (None here).
- launch runs out of place (MoeRunnerConfig(inplace=False)); the tuning script runs in place, writing the
  output over its input. The same kernels run; out of place keeps the inputs for the next repeat.
"""

import torch

from . import moe, sglang_source

SERVER = "sglang"
QUANTS = moe.QUANTS
normalize_problem = moe.normalize_problem
make_inputs = moe.make_inputs
compile_inputs = moe.compile_inputs
reference = moe.reference
check = moe.check



def block_shape(problem: dict) -> list[int] | None:
    """The block_shape SGLang passes for this quantization (int4: [0, group], which picks the GPTQ/AWQ kernel)."""
    return {"fp8_w8a8_block": [moe.BLOCK, moe.BLOCK], "int4_w4a16": [0, problem.get("group_size", 128)]}.get(
        problem["quant"]
    )


def _flags(problem: dict) -> dict:
    q = problem["quant"]
    return dict(use_fp8_w8a8=q in ("fp8_w8a8", "fp8_w8a8_block"), use_int8_w8a8=q == "int8_w8a8",
                use_int8_w8a16=q == "int8_w8a16", use_int4_w4a16=q == "int4_w4a16")


def _per_channel(problem: dict) -> bool:
    """SGLang runs int8_w8a8 without blocks per channel only (it asserts so)."""
    return problem["quant"] == "int8_w8a8"


def launch(inputs: moe.Inputs, config: dict) -> torch.Tensor:
    """SGLang's fused_moe on the inputs with `config` for both GEMMs -> [M, hidden]."""
    m = sglang_source.modules()
    p = inputs.problem
    with m.package.override_config(config):
        return m.fused_moe.fused_moe(
            inputs.x, inputs.w1, inputs.w2, (inputs.topk_weights, inputs.topk_ids, None),
            moe_runner_config=m.base.MoeRunnerConfig(inplace=False),
            per_channel_quant=_per_channel(p), w1_scale=inputs.w1_scale, w2_scale=inputs.w2_scale,
            block_shape=block_shape(p), **_flags(p),
        )


def config_dtype(problem: dict) -> str | None:
    """The dtype part of SGLang's config file name, from its own get_config_dtype_str as fused_experts calls it."""
    return sglang_source.modules().config.get_config_dtype_str(dtype=moe._DTYPES[problem.get("dtype", "bf16")],
                                                               **_flags(problem))


def weight_shapes(problem: dict) -> tuple[tuple, tuple]:
    """(w1.shape, w2.shape) as SGLang sees them (int4 weights hold two values per byte along K)."""
    p = moe.normalize_problem(problem)
    pack = 2 if p["quant"] == "int4_w4a16" else 1
    return (p["E"], 2 * p["inter"], p["hidden"] // pack), (p["E"], p["hidden"], p["inter"] // pack)


def file_n(problem: dict) -> int:
    """N in SGLang's file name: w2.shape[2] as is (so I/2 for int4), as in try_get_optimal_moe_config."""
    return weight_shapes(problem)[1][2]


def _block_nk(problem: dict) -> tuple[int, int]:
    bs = block_shape(problem)
    return (bs[0], bs[1]) if bs else (0, 0)


def default_config(problem: dict) -> dict:
    """SGLang's get_default_config for this layer: what SGLang runs without a tuned file."""
    p = moe.normalize_problem(problem)
    w1_shape, _ = weight_shapes(p)
    return sglang_source.modules().config.get_default_config(p["M"], p["E"], file_n(p), w1_shape[2], p["top_k"],
                                                             config_dtype(p), False, block_shape(p))


def config_file_name(problem: dict) -> str:
    """SGLang's get_config_file_name for this layer on this process's device."""
    p = moe.normalize_problem(problem)
    return sglang_source.modules().config.get_config_file_name(p["E"], file_n(p), config_dtype(p), list(_block_nk(p)),
                                                               _per_channel(p))


def config_dir_name() -> str:
    """The `triton_<x_y_z>` folder SGLang reads first: from the version of the Triton it imported, as
    get_moe_configs writes it."""
    version = sglang_source.modules().config.triton.__version__
    return f"triton_{version.replace('.', '_')}"


def file_configs(problem: dict) -> dict | None:
    """SGLang's get_moe_configs: {M: config} from $SGLANG_MOE_CONFIG_DIR/configs/ (or the shipped folder), this
    Triton's folder first, else None. It is lru-cached in SGLang; the cache is cleared first."""
    p = moe.normalize_problem(problem)
    config = sglang_source.modules().config
    config.get_moe_configs.cache_clear()
    bn, bk = _block_nk(p)
    return config.get_moe_configs(p["E"], file_n(p), config_dtype(p), bn, bk, _per_channel(p))


def lookup_config(problem: dict) -> dict:
    """SGLang's try_get_optimal_moe_config: the config SGLang would run this layer's up GEMM with at batch M."""
    p = moe.normalize_problem(problem)
    config = sglang_source.modules().config
    config.get_moe_configs.cache_clear()
    w1_shape, w2_shape = weight_shapes(p)
    return config.try_get_optimal_moe_config(w1_shape, w2_shape, p["top_k"], config_dtype(p), p["M"],
                                             block_shape=block_shape(p), per_channel_quant=_per_channel(p))
