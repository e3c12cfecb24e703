"""Runtime loader: what a server calls to pick the tuned config for one GEMM call.

    from kernels.configs import get_config
    cfg = get_config("w8a8-int8", M=37, N=6144, K=2560)               # device from torch.cuda
    cfg = get_config("w4a16", M=5, N=4096, K=4096, group_size=128, device_name="NVIDIA H100 80GB HBM3")
    cfg = get_config("moe-w4a16", M=64, N=768, K=2048, E=128, top_k=8)  # N = intermediate (per rank), K = hidden

Files are read from $TRITUNE_CONFIG_DIR, else the repository's tuned-configs/, as
<dir>/<family>/<name> with the names of src/store/naming.ts (the grammar both read from schemas/families.json). Each file is read once per
process (cached by path). When no file exists the family's default config is returned and a warning is
issued once per missing file. MoE files are per layer, looked up by (E, N) with N = the per-rank intermediate
size, as vLLM's get_config_file_name(E, N=w2.shape[2]) does; the config serves both expert GEMMs (K = hidden is
only needed for the default, which is then the 'layer' default). Pure Python at import time: torch is imported only to ask the device name,
and the family module only for a default. A W4A16 entry may name a prefill path (DEQUANT_GEMM 1, or REG_A 1 on
Hopper); kernels/w4a16.launch runs whichever path the entry names, on the one weight layout all of them read.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings

try:  # the grammar of every family's file names, from schemas/families.json (generated from src/schema)
    from .protocol import FAMILY_TABLES
except ImportError:  # kernels/ itself on sys.path (as the worker runs)
    from protocol import FAMILY_TABLES


def _grammar_regex(table: dict) -> re.Pattern:
    """A family's file-name template as a regular expression with one named group per field."""
    def part(token: str) -> str:
        if token in ("<", ">"):  # an optional segment
            return "(?:" if token == "<" else ")?"
        if not (token.startswith("{") and token.endswith("}")):
            return re.escape(token)
        field = token[1:-1]
        if field == "device":
            return r"(?P<device>[^,/=]+)"
        if field == "dtype":
            return re.escape(table["dtype"])
        return rf"(?P<{field}>{'-1|' if field == 'group_size' else ''}[1-9]\d*)"

    return re.compile("^" + "".join(part(t) for t in re.split(r"(\{\w+\}|<|>)", table["file_name"]) if t) + r"\.json$")


# tritune's own families (a fixed dtype tag); the servers' families are read by the servers themselves
OWN_FAMILIES = {family: table for family, table in FAMILY_TABLES.items() if table["dtype"]}
_GRAMMARS = {family: _grammar_regex(table) for family, table in OWN_FAMILIES.items()}


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
    """The file name tritune writes for this family, shape and device (src/store/naming.ts, from the same grammar)."""
    if family not in OWN_FAMILIES:
        raise ValueError(f"unknown kernel family {family!r} (known: {', '.join(OWN_FAMILIES)})")
    table = FAMILY_TABLES[family]
    values = {"N": N, "K": K, "E": E, "group_size": group_size}

    def fill(match: re.Match) -> str:
        field = match[1]
        if field == "device":
            return device_slug(device_name)
        if field == "dtype":
            return table["dtype"]
        if values.get(field) is None:
            raise ValueError(f"{family} needs {field}" + (" (-1 for per-channel)" if field == "group_size" else ""))
        return str(values[field])

    def optional(match: re.Match) -> str:  # a <...> segment: only when every shape field in it is given
        given = all(f in ("device", "dtype") or values.get(f) is not None for f in re.findall(r"\{(\w+)\}", match[1]))
        return match[1] if given else ""

    template = re.sub(r"<([^>]*)>", optional, table["file_name"])
    return re.sub(r"\{(\w+)\}", fill, template) + ".json"


def parse_config_file_name(name: str) -> dict | None:
    """{family, N, K?, E?, group_size?, device} from a file name; None for names tritune does not write."""
    for family, regex in _GRAMMARS.items():
        m = regex.match(name)
        if m:
            fields = {k: (v if k == "device" else int(v)) for k, v in m.groupdict().items() if v is not None}
            return {"family": family, **fields}
    return None


_M_KEY = re.compile(r"[1-9][0-9]*")  # the M keys tritune writes (src/schema/family.ts MKey)


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
    bad = [key for key in raw if not _M_KEY.fullmatch(key)]
    if bad:  # "__proto__", "1.5", "-8", "016": int() would fail, or read a key tune validate refuses
        raise ValueError(f"{path}: M key {bad[0]!r} is not a positive decimal integer (run `npx tune validate {path}`)")
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
