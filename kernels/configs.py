"""Runtime loader: what a server calls to pick the tuned config for one GEMM call.

    from kernels.configs import get_config
    cfg = get_config("w8a8-int8", M=37, N=6144, K=2560)               # device from torch.cuda
    cfg = get_config("w4a16", M=5, N=4096, K=4096, group_size=128, device_name="NVIDIA H100 80GB HBM3")
    cfg = get_config("moe-w4a16", M=64, N=768, K=2048, E=128, top_k=8)  # N = intermediate (per rank), K = hidden

Files are read from $TRITUNE_CONFIG_DIR, else the repository's tuned-configs/, as
<dir>/<family>/<name> with the names of src/store/naming.ts (mirrored below). Each file is read once per
process (cached by path). When no file exists the family's default config is returned and a warning is
issued once per missing file. MoE files are per layer, looked up by (E, N) with N = the per-rank intermediate
size, as vLLM's get_config_file_name(E, N=w2.shape[2]) does; the config serves both expert GEMMs (K = hidden is
only needed for the default, which is then the 'layer' default). Pure Python at import time: torch is imported only to ask the device name,
and the family module only for a default.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings

# family -> dtype tag in file names (src/store/naming.ts DTYPE)
_DTYPE = {
    "w8a8-int8": "int8_w8a8",
    "w8a8-fp8": "fp8_w8a8",
    "w4a16": "int4_w4a16",
    "moe-w4a16": "int4_w4a16",
}

_NAME_RE = re.compile(
    r"^(?:E=(?P<E>[1-9]\d*),)?N=(?P<N>[1-9]\d*),(?:K=(?P<K>[1-9]\d*),)?device_name=(?P<dev>[^,/=]+),"
    r"dtype=(?P<dtype>[a-z0-9_]+)(?:,group_size=(?P<g>-1|[1-9]\d*))?\.json$"
)


class TunedConfigMissing(UserWarning):
    """No tuned-config file for a (family, shape, device): the family's default config is used."""


def default_config_dir() -> str:
    """$TRITUNE_CONFIG_DIR, else tuned-configs/ beside this package."""
    env = os.environ.get("TRITUNE_CONFIG_DIR")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tuned-configs")


def device_slug(name: str) -> str:
    """The CUDA device name as in file names: runs of whitespace become '_' (e.g. NVIDIA_H100_80GB_HBM3)."""
    return "_".join(name.split())


def current_device_name() -> str:
    """torch.cuda.get_device_name() of the current device (torch imported here, not at module import)."""
    import torch

    return torch.cuda.get_device_name()


def config_file_name(family: str, device_name: str, N: int, K: int | None = None, E: int | None = None,
                     group_size: int | None = None) -> str:
    """The file name tritune writes (and vLLM-style servers look up) for this family, shape and device."""
    if family not in _DTYPE:
        raise ValueError(f"unknown kernel family {family!r} (known: {', '.join(_DTYPE)})")
    dev = device_slug(device_name)
    dtype = _DTYPE[family]
    if family == "moe-w4a16":
        if E is None:
            raise ValueError("moe-w4a16 needs E (number of experts)")
        return f"E={E},N={N},device_name={dev},dtype={dtype}.json"
    if K is None:
        raise ValueError(f"{family} needs K")
    base = f"N={N},K={K},device_name={dev},dtype={dtype}"
    if family == "w4a16":
        if group_size is None:
            raise ValueError("w4a16 needs group_size (-1 for per-channel)")
        return f"{base},group_size={group_size}.json"
    return f"{base}.json"


def parse_config_file_name(name: str) -> dict | None:
    """{family, N, K?, E?, group_size?, device} from a file name; None for names tritune does not write."""
    m = _NAME_RE.match(name)
    if not m:
        return None
    E, K, g, dtype = m["E"], m["K"], m["g"], m["dtype"]
    if E is not None:
        family = "moe-w4a16" if K is None and g is None and dtype == "int4_w4a16" else None
    elif K is None:
        family = None
    elif g is None and dtype in ("int8_w8a8", "fp8_w8a8"):
        family = "w8a8-int8" if dtype == "int8_w8a8" else "w8a8-fp8"
    elif g is not None and dtype == "int4_w4a16":
        family = "w4a16"
    else:
        family = None
    if family is None:
        return None
    out = {"family": family, "N": int(m["N"]), "device": m["dev"]}
    for key, val in (("K", K), ("E", E), ("group_size", g)):
        if val is not None:
            out[key] = int(val)
    return out


@functools.lru_cache(maxsize=None)
def _read(path: str) -> dict[int, dict] | None:
    """M -> config in the file's own key order (as vLLM's loader builds it), or None when the file is absent."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path}: expected a non-empty object of M -> config")
    return {int(key): val for key, val in raw.items()}


def config_path(family: str, N: int, K: int | None = None, E: int | None = None, group_size: int | None = None,
                device_name: str | None = None, config_dir: str | None = None) -> str:
    """Where the tuned-config file for this call would be."""
    name = config_file_name(family, device_name or current_device_name(), N, K, E, group_size)
    return os.path.join(config_dir or default_config_dir(), family, name)


def load_configs(family: str, N: int, K: int | None = None, E: int | None = None, group_size: int | None = None,
                 device_name: str | None = None, config_dir: str | None = None) -> dict[int, dict] | None:
    """All tuned entries (M -> config) for a weight shape on a device, cached per file; None when no file exists."""
    return _read(os.path.abspath(config_path(family, N, K, E, group_size, device_name, config_dir)))


def nearest_m(configs: dict[int, dict], M: int) -> int:
    """The tuned M a call with `M` rows uses: vLLM's `min(configs.keys(), key=lambda x: abs(x - M))`.

    Ties (M exactly halfway between two keys) go to the key that comes first in the file, because Python's min
    returns the first minimum in iteration order and the dict keeps the file's order. Files are written with M
    ascending, so a tie picks the SMALLER M (e.g. M=48 between 32 and 64 uses 32). Nothing here sorts the keys,
    so even an unsorted file resolves exactly as vLLM would resolve it.
    """
    return min(configs.keys(), key=lambda x: abs(x - M))


_warned: set[str] = set()


def get_config(family: str, M: int, *, N: int, K: int | None = None, E: int | None = None,
               group_size: int | None = None, device_name: str | None = None, config_dir: str | None = None,
               **problem) -> dict:
    """The config to launch with for M rows: the tuned entry nearest M, else the family's default config.

    Extra keyword arguments (e.g. top_k for MoE) only matter for the default, which the family module computes
    from the full problem (MoE: a 'layer' problem, N = intermediate, K = hidden, unless gemm= says otherwise).
    A copy is returned, so callers may modify it.
    """
    if not isinstance(M, int) or M < 1:
        raise ValueError(f"M must be a positive integer, got {M!r}")
    path = config_path(family, N, K, E, group_size, device_name, config_dir)
    configs = _read(os.path.abspath(path))
    if configs:
        return dict(configs[nearest_m(configs, M)])
    if path not in _warned:
        _warned.add(path)
        warnings.warn(f"no tuned config {path}; using the {family} default config (run `npx tune` to create it)",
                      TunedConfigMissing, stacklevel=2)
    return _default(family, M, N, K, E, group_size, problem)


def _default(family: str, M: int, N: int, K: int | None, E: int | None, group_size: int | None, problem: dict) -> dict:
    if K is None:
        raise ValueError(f"{family}: K is needed to compute the default config when no tuned file exists")
    if __package__:
        from .family import family_module
    else:  # kernels/ itself on sys.path (as the worker runs)
        from family import family_module

    p = {"M": M, "N": N, "K": K, **problem}
    if family == "moe-w4a16":
        p.setdefault("gemm", "layer")  # the file is per layer: one config for both GEMMs
    if E is not None:
        p["E"] = E
    if group_size is not None:
        p["group_size"] = group_size
    return dict(family_module(family).default_config(family, p))


def clear_cache() -> None:
    """Forget every file read and every warning given (for tests, or after tuned-configs/ changed on disk)."""
    _read.cache_clear()
    _warned.clear()
