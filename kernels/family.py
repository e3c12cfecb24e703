"""The interface every kernel-family module in kernels/ implements (one module per family).

The worker (kernels/worker.py) only talks to families through these functions (the scripts in bench/ also use a
module's own helpers), so a new family is one new file plus one line in FAMILY_MODULES below, beside its
TypeScript twin in src/families/ (docs/FAMILIES.md). Formats are defined once in src/schema and read from
schemas/families.json (kernels/protocol.py).

A family module provides:

    FAMILIES: tuple[str, ...]
        The family names (as in src/schema/family.ts) the module serves, e.g. ('w8a8-int8', 'w8a8-fp8').
    CONFIG_KEYS: tuple[str, ...]
        The config keys, in file order (BLOCK_SIZE_M, ..., num_stages, then the family's own keys).

    normalize_problem(family: str, problem: dict) -> dict
        Fill defaults and validate a problem dict from a request; raise ValueError with a one-line reason.
    default_config(family: str, problem: dict) -> dict
        The untuned config a server would use without a tuned file (the baseline 'default').
    invalid_reason(family: str, problem: dict, config: dict) -> str | None
        Why this config cannot run this problem (static checks), or None.
    make_inputs(family: str, problem: dict, device: str, seed: int = 0) -> object
        Build one set of inputs (tensors on `device`), deterministic in `seed`.
    reference(family: str, inputs) -> torch.Tensor
        The reference output (plain torch, fp32 accumulation), used by the correctness gate.
    launch(family: str, inputs, config: dict) -> torch.Tensor
        Run the Triton kernel once and return its output (allocation included; graph-capturable).
    check(family: str, out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]
        Correctness gate: (passes, max error in the family's measure); tolerances justified there.
    flops(problem: dict) -> float
    min_bytes(problem: dict) -> float
        Minimum bytes a kernel must move (read inputs once, write output once): the roofline's numerator.
    input_bytes(problem: dict) -> float
        Bytes of one input set, so timing can rotate enough copies to exceed the L2 several times.

Optional:
    shared_memory_bytes(family: str, problem: dict, config: dict) -> int
        The shared-memory estimate invalid_reason holds against the limit (absent: left to Triton).
    held_bytes(problem: dict) -> float
        Bytes one input set allocates of its own, against the worker's input cache (absent: input_bytes); less
        where the weights are shared by every M of a shape and held once per seed by the module.
    gemm_problems(problem: dict) -> list[dict]
        The GEMMs one problem launches (a MoE 'layer': up and down); absent: the problem itself.
    compile_only(family: str, problem: dict, config: dict) -> None
        Compile without a GPU (see kernels/compile_only.py).
    SHARED_MEMORY_BY_CONFIG: bool
        A config's shared memory is the same at every M, so a compile worker that finds a binary over the device's
        limit answers for every M of the request (absent: False; the bench measures each M).
    compile_variant(family: str, problem: dict) -> dict
        What of a problem decides its binary, so one compile serves the problems that share it (absent: the
        problem without M, for kernels that do not specialize on M).

The TypeScript twin of each module is src/families/<family>.ts; test/families/mirror.test.ts checks the rules
both state (defaults, pruning, shared memory, flops, bytes, the GEMM split) pair by pair.
"""

import importlib
from types import ModuleType

# family name -> module in kernels/
FAMILY_MODULES = {
    "w8a8-int8": "w8a8",
    "w8a8-fp8": "w8a8",
    "w4a16": "w4a16",
    "moe-w4a16": "moe_w4a16",
    "vllm-moe": "server_moe",  # imports neither torch nor the server until a problem is built
    "sglang-moe": "server_moe",
    "vllm-w8a8-block": "server_block",  # imports no server until a problem is built
    "sglang-w8a8-block": "server_block",
}


def family_module(family: str) -> ModuleType:
    """The module implementing `family` (imported on first use, so a worker only loads what it runs)."""
    try:
        name = FAMILY_MODULES[family]
    except KeyError:
        raise ValueError(f"unknown kernel family {family!r} (known: {', '.join(FAMILY_MODULES)})") from None
    package = __package__ or ""
    return importlib.import_module(f"{package}.{name}" if package else name)
