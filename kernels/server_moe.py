"""The servers' own fused-MoE layer as tritune tunes it: families 'vllm-moe' and 'sglang-moe' (kernels/family.py).

A problem is one MoE layer as the servers name it (src/schema/problem.ts ServerMoEProblem): N = the per-rank
intermediate size I, K = hidden, E experts, top_k, and the quantization. What is timed and checked is the server's
own launcher and kernel (kernels/servers/vllm_moe.py, sglang_moe.py), both GEMMs of the layer with one config, as
the servers' tuning scripts run it; the reference is kernels/servers/moe.py's.

Rules stated here and mirrored in src/families/server-moe.ts (test/families/mirror.test.ts):
- default_config: the config the server runs without a tuned file, as it ends up launching it (its
  get_default_config, then what the launch fills in: vLLM's wna16 block sizes and Triton's num_warps 4 /
  num_stages 3 where the server passes none).
- invalid_reason: block-quantized fp8 takes BLOCK_SIZE_K <= 128 dividing 128 (vLLM caps BLOCK_SIZE_K at the
  block, so larger ones repeat a smaller config); int4/int8 weight-only (wna16) needs BLOCK_SIZE_K and the group
  size to nest, and vLLM's small-batch wna16 CUDA path (M * top_k / E <= 6) BLOCK_SIZE_K a multiple of the group
  size and BLOCK_SIZE_M <= 64.
- flops and minimum bytes (the roofline).
"""

try:  # imported as kernels.server_moe or, by the worker, with kernels/ on sys.path
    from . import protocol
    from .server_family import SERVER_FAMILIES, config_keys_problem, server
except ImportError:
    import protocol
    from server_family import SERVER_FAMILIES, config_keys_problem, server

FAMILIES = ("vllm-moe", "sglang-moe")
# A config's shared memory is the same at every M (M enters only integer arguments): a compile worker that finds a
# binary over the device's limit answers for every M (kernels/triton_backend.py compile).
SHARED_MEMORY_BY_CONFIG = True
FP8_BLOCK = 128
# Bytes per weight element, by quantization (int4: two per byte).
WEIGHT_BYTES = {"bf16": 2, "fp8_w8a8_block": 1, "fp8_w8a8": 1, "int8_w8a8": 1, "int8_w8a16": 1, "int4_w4a16": 0.5}
WNA16 = ("int4_w4a16", "int8_w8a16")
TRITON_DEFAULTS = {"num_warps": 4, "num_stages": 3}  # what a Triton launch uses for keys the server leaves out


def layer(problem: dict) -> dict:
    """The problem in kernels/servers/moe.py's terms (hidden, inter)."""
    p = problem
    return {"M": p["M"], "E": p["E"], "hidden": p["K"], "inter": p["N"], "top_k": p["top_k"], "quant": p["quant"],
            "dtype": p["dtype"], "group_size": p["group_size"], "routing": p["routing"], "seed": p["seed"]}


def normalize_problem(family: str, problem: dict) -> dict:
    """Defaults and field checks of the schema (kernels/protocol.py), then the layer's own (kernels/servers/moe.py)."""
    p = protocol.normalize_problem(family, problem)
    server(family).normalize_problem(layer(p))
    return p


def wna16_cuda_path(p: dict) -> bool:
    """vLLM 0.33.0 serves int4 weight-only batches with M * top_k / E <= 6 with its compiled moe_wna16_gemm on CUDA
    (should_moe_wna16_use_cuda), not with the Triton kernel; the config's block sizes then feed that kernel."""
    return p["quant"] == "int4_w4a16" and p["group_size"] in (32, 64, 128) and p["M"] * p["top_k"] / p["E"] <= 6


def default_config(family: str, problem: dict) -> dict:
    """What the server launches this layer with when it has no tuned file, every key filled."""
    p = normalize_problem(family, problem)
    mod = server(family)
    c = dict(mod.default_config(layer(p)))
    if p["quant"] in WNA16 and ("BLOCK_SIZE_N" not in c or "BLOCK_SIZE_K" not in c):
        c.update(mod.wna16_block_config(layer(p), c))
    for k, v in TRITON_DEFAULTS.items():
        c.setdefault(k, v)
    keys = protocol.CONFIG_KEYS[family]
    return {k: c[k] for k in keys if k in c} | ({"SPLIT_K": 1} if "SPLIT_K" in keys and "SPLIT_K" not in c else {})


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    p = normalize_problem(family, problem)
    bad_keys = config_keys_problem(protocol.CONFIG_KEYS[family], config)
    if bad_keys:
        return bad_keys
    bk, bm = config["BLOCK_SIZE_K"], config["BLOCK_SIZE_M"]
    if p["quant"] == "fp8_w8a8_block" and (bk > FP8_BLOCK or FP8_BLOCK % bk):
        return f"BLOCK_SIZE_K {bk} does not divide the fp8 block {FP8_BLOCK} (the server caps it there)"
    if p["quant"] in WNA16:
        g = p["group_size"]
        if (g % bk) if bk <= g else (bk % g):
            return f"BLOCK_SIZE_K {bk} and the group size {g} do not nest"
        if family == "vllm-moe" and wna16_cuda_path(p) and (bk % g or bm > 64):  # SGLang has no such path
            return f"vLLM's wna16 CUDA path (M*top_k/E <= 6) needs BLOCK_SIZE_K a multiple of {g} and BLOCK_SIZE_M <= 64"
    return None


def make_inputs(family: str, problem: dict, device: str, seed: int = 0):
    return server(family).make_inputs(layer(normalize_problem(family, problem)), device, seed)


def compile_only(family: str, problem: dict, config: dict) -> None:
    """Compile the server's kernels for this layer and config without a GPU: its launcher on CPU tensors, every
    Triton launch a warmup (kernels/servers/compiling.py)."""
    from .servers import compiling

    p = normalize_problem(family, problem)
    mod = server(family)
    with compiling.launching(SERVER_FAMILIES[family].server):
        mod.launch(mod.compile_inputs(layer(p)), config)


def compile_variant(family: str, problem: dict) -> dict:
    """Every M may be its own binary: the servers' kernels take M-derived integers (the padded token count, the
    number of routed pairs) that Triton specializes on, and their launchers pick M-dependent paths. An M whose
    binary another M already built costs only the launcher's host work."""
    return normalize_problem(family, problem)


def reference(family: str, inputs):
    """The reference output, with the quantization its tolerance depends on."""
    return server(family).reference(inputs), inputs.problem["quant"]


def launch(family: str, inputs, config: dict):
    return server(family).launch(inputs, config)


def check(family: str, out, ref) -> tuple[bool, float]:
    expected, quant = ref
    return server(family).check(out, expected, quant)


def flops(problem: dict) -> float:
    """Both GEMMs of every routed pair: up [2I, hidden] and down [hidden, I]: 6 * M * top_k * I * hidden."""
    return 6.0 * problem["M"] * problem["top_k"] * problem["N"] * problem["K"]


def expected_active_experts(E: int, top_k: int, M: int) -> float:
    """Experts that receive at least one of M tokens, each picking top_k distinct experts of E uniformly (expected)."""
    return E * (1 - (1 - top_k / E) ** M)


def expert_bytes(problem: dict) -> float:
    """One expert's weights (w1 [2I, hidden] and w2 [hidden, I]) with their scales, as stored."""
    N, K, q = problem["N"], problem["K"], problem["quant"]
    elems = 3 * N * K
    scales = {"fp8_w8a8_block": elems / FP8_BLOCK**2 * 4, "fp8_w8a8": 2 * 4, "int8_w8a8": (2 * N + K) * 4,
              "int8_w8a16": (2 * N + K) * 4, "int4_w4a16": elems / problem["group_size"] * 2}.get(q, 0)
    return elems * WEIGHT_BYTES[q] + scales


def min_bytes(problem: dict) -> float:
    """Minimum bytes one layer moves: the weights of the experts the batch touches (expected count), the
    activations read once and the output written once (16-bit)."""
    p = problem
    return expected_active_experts(p["E"], p["top_k"], p["M"]) * expert_bytes(p) + 4.0 * p["M"] * p["K"]


def held_bytes(problem: dict) -> float:
    """Bytes one input set holds of its own: the activations, the routing and the fp32 reference output. Its weights
    are drawn once per seed and shared by every M of the layer (kernels/servers/moe.py keeps at most four sets), so
    they do not count against the worker's input cache."""
    p = problem
    return 2.0 * p["M"] * p["K"] + 8.0 * p["M"] * p["top_k"] + 4.0 * p["M"] * p["K"]


def input_bytes(problem: dict) -> float:
    return min_bytes(problem)
