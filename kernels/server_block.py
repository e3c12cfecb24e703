"""The servers' own block-quantized W8A8 GEMM as tritune tunes it: families 'vllm-w8a8-block' and 'sglang-w8a8-block'
(kernels/family.py).

A problem is one dense linear layer of a block-quantized checkpoint (src/schema/problem.ts ServerBlockProblem):
W [N, K] per rank, fp8 e4m3 or int8 with one scale per [block_n, block_k] block, the activation quantized per token
and block_k group at run time. What is timed and checked is the server's own launcher and kernel
(kernels/servers/vllm_block.py, sglang_block.py, through block_server.py); the reference is
kernels/servers/block.py's dequantize-then-matmul.

Rules stated here and mirrored in src/families/server-block.ts (test/families/mirror.test.ts):
- default_config: the config the server's launcher passes without a file (read from its own code).
- configs and files: SGLang's configs carry SWAP_AB (0 / 1) and SPLIT_K, which pick its SM90 fp8 kernel; what reaches
  the server is the entry as a file holds it (protocol.file_entry: both left out for the other kernel, SWAP_AB a
  boolean), and what the server passes its kernel reads back as a config (protocol.config_of_file_entry).
- invalid_reason: SWAP_AB / SPLIT_K only for fp8 (SGLang's int8 kernel has neither; a GPU other than SM90 runs the
  fp8 kernel without them too, which src/families/server-block.ts prunes by the device). block_k a multiple of
  BLOCK_SIZE_K. Both kernels apply one activation and one weight scale per K
  tile: vLLM's and SGLang's int8 kernel index it as k * BLOCK_SIZE_K // block_k, SGLang's fp8 kernel steps it every
  block_k // BLOCK_SIZE_K tiles; a tile wider than block_k spans two scales and uses one (measured: 14 % error on
  the interpreter), and SGLang's fp8 lookup rewrites a narrower one that does not divide block_k to block_k.
  BLOCK_SIZE_N has no rule: the weight scale is loaded per output column (offs_bn // block_n).
- flops and minimum bytes (the roofline).
"""

try:  # imported as kernels.server_block or, by the worker, with kernels/ on sys.path
    from . import protocol
    from .server_family import SERVER_FAMILIES, config_keys_problem, server
    from .servers import block
except ImportError:
    import protocol
    from server_family import SERVER_FAMILIES, config_keys_problem, server
    from servers import block

FAMILIES = ("vllm-w8a8-block", "sglang-w8a8-block")
# A config's shared memory is the same at every M (M enters only integer arguments): a compile worker that finds a
# binary over the device's limit answers for every M (kernels/triton_backend.py compile).
SHARED_MEMORY_BY_CONFIG = True


def normalize_problem(family: str, problem: dict) -> dict:
    """Defaults and field checks of the schema (kernels/protocol.py), then the server's own (vLLM: fp8 only)."""
    p = protocol.normalize_problem(family, problem)
    server(family).normalize_problem(p)
    return p


def default_config(family: str, problem: dict) -> dict:
    """What the server launches this GEMM with when it has no tuned file, in file key order."""
    p = normalize_problem(family, problem)
    return protocol.config_of_file_entry(family, server(family).default_config(p))


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    p = normalize_problem(family, problem)
    bad_keys = config_keys_problem(protocol.CONFIG_KEYS[family], config)
    if bad_keys:
        return bad_keys
    sm90 = protocol.file_entry(family, config).keys() & protocol.OPTIONAL_KEYS[family].keys()  # written: the SM90 kernel
    if sm90 and p["quant"] != "fp8":
        return f"{' and '.join(sorted(sm90))} select SGLang's SM90 fp8 kernel; its {p['quant']} kernel has neither"
    bk = config["BLOCK_SIZE_K"]
    if p["block_k"] % bk:
        return f"BLOCK_SIZE_K {bk} does not divide block_k {p['block_k']} (one scale per K tile)"
    return None


def make_inputs(family: str, problem: dict, device: str, seed: int = 0):
    return server(family).make_inputs(normalize_problem(family, problem), device, seed)


def compile_only(family: str, problem: dict, config: dict) -> None:
    """Compile the server's GEMM for this problem and config without a GPU: its launcher on CPU tensors, its Triton
    launch a warmup (kernels/servers/compiling.py)."""
    from .servers import compiling

    p = normalize_problem(family, problem)
    mod = server(family)
    with compiling.launching(SERVER_FAMILIES[family].server):
        mod.launch(mod.compile_inputs(p), protocol.file_entry(family, config))


def compile_variant(family: str, problem: dict) -> dict:
    """Every M may be its own binary: the servers' kernels take M as an integer Triton specializes on (M == 1,
    M % 16 == 0). An M whose binary another M already built costs only the launcher's host work."""
    return normalize_problem(family, problem)


def reference(family: str, inputs):
    return block.reference(inputs)


def launch(family: str, inputs, config: dict):
    return server(family).launch(inputs, protocol.file_entry(family, config))


def check(family: str, out, ref) -> tuple[bool, float]:
    return block.check(out, ref)


def flops(problem: dict) -> float:
    return block.flops(problem)


def min_bytes(problem: dict) -> float:
    return block.min_bytes(problem)


def held_bytes(problem: dict) -> float:
    """Bytes one input set holds of its own: the quantized activation with its scales and the fp32 reference output.
    The weight is drawn once per seed and shared by every M of the shape (kernels/servers/block.py keeps at most
    four), so it does not count against the worker's input cache."""
    p = problem  # normalized (the worker normalizes every problem first)
    return p["M"] * p["K"] * (1.0 + 4.0 / p["block_k"]) + 4.0 * p["M"] * p["N"]


def input_bytes(problem: dict) -> float:
    return block.min_bytes(problem)
