"""What every family whose kernel is a server's shares (kernels/server_moe.py, kernels/server_block.py): which server
module runs it, which of the server's source files are timed, and where the release's shipped tuned files lie.

Imports neither torch nor a server: kernels/sources.py reads the provenance for a worker's hello and a journal's
fingerprint before any problem is built.
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerFamily:
    server: str  # the server's package (kernels/servers/releases.py RELEASES key)
    module: str  # kernels/servers/<module>.py: loads and launches the server's code
    timed: tuple[str, ...]  # the server's source files whose kernels and launchers are timed (paths in the wheel)
    shipped: str  # the Release field naming the folder of the tuned files the release ships


_VLLM_QUANT = "vllm/model_executor/layers/quantization/utils/"
SERVER_FAMILIES = {
    "vllm-moe": ServerFamily("vllm", "vllm_moe", ("vllm/model_executor/layers/fused_moe/fused_moe.py",), "moe_configs"),
    "sglang-moe": ServerFamily("sglang", "sglang_moe", ("sglang/kernels/ops/moe/fused_moe_triton_kernels.py",
                                                        "sglang/srt/layers/moe/moe_runner/triton_utils/fused_moe.py"),
                               "moe_configs"),
    "vllm-w8a8-block": ServerFamily("vllm", "vllm_block", (_VLLM_QUANT + "fp8_utils.py",), "block_configs"),
    "sglang-w8a8-block": ServerFamily("sglang", "sglang_block", ("sglang/kernels/ops/gemm/fp8_kernel.py",
                                                                 "sglang/kernels/ops/gemm/int8_kernel.py"),
                                      "block_configs"),
}
# what server() imports by name (kernels/sources.py follows these into the journal fingerprint)
IMPORTED_AT_RUN_TIME = {family: (f"servers/{f.module}.py",) for family, f in SERVER_FAMILIES.items()}


def server_provenance(family: str) -> dict:
    """Which server code a family's trials run, without importing it: {name, version, origin, sources: {path: sha256},
    members: {path: sha256}, shipped?} from the installed package where there is one, else from the pinned release's
    cache (kernels/servers/fetch.py). `sources` are the timed files; `members` every Python source of the server that
    tritune loads for the launch (the release's members: the timed files and what they import, config lookups and
    the alignment wrapper included). Raises FileNotFoundError naming the fix when neither is there."""
    import hashlib
    import importlib.metadata
    import importlib.util
    import sys
    from pathlib import Path

    from .servers import fetch
    from .servers.releases import RELEASES

    f = SERVER_FAMILIES[family]
    name, release = f.server, RELEASES[f.server]
    loaded = sys.modules.get(name)  # loaded from the cache by kernels/servers (marked), or the installed one
    spec = None if loaded is not None and getattr(loaded, "_tritune_cache", False) else importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations:
        root, origin, version = Path(list(spec.submodule_search_locations)[0]).parent, "installed", importlib.metadata.version(name)
    else:
        root, origin, version = fetch.release_dir(release), "pinned release", release.version
        if not fetch.is_complete(release):
            raise FileNotFoundError(f"{name} is not installed and {root} is incomplete: run `npm run setup:servers`")
    sha = lambda p: hashlib.sha256((root / p).read_bytes()).hexdigest()  # noqa: E731
    sources = {p: sha(p) for p in f.timed}
    members = {p: sha(p) for p in release.members if p.endswith(".py") and (root / p).is_file()}
    shipped = root / getattr(release, f.shipped)  # the tuned files the release ships (SGLang MoE: one folder per Triton)
    return {"name": name, "version": version, "origin": origin, "sources": sources, "members": members,
            **({"shipped": str(shipped)} if shipped.is_dir() else {})}


def config_keys_problem(keys: tuple[str, ...], config: dict) -> str | None:
    """Why a config does not have exactly the family's keys (the server passes them to its kernel as **config)."""
    missing = [k for k in keys if k not in config]
    extra = [k for k in config if k not in keys]
    return f"config keys must be {', '.join(keys)} (missing {missing}, unknown {extra})" if missing or extra else None


def server(family: str):
    """The server module (kernels/servers/<module>.py) of a family, imported on first use."""
    name = SERVER_FAMILIES[family].module
    package = f"{__package__}.servers" if __package__ else "servers"
    return importlib.import_module(f"{package}.{name}")
