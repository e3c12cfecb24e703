"""A server's block-quantized W8A8 GEMM launched as the server launches it (kernels/servers/vllm_block.py,
sglang_block.py state which functions; this module is how they are called, the same for both servers).

Both servers' launchers (vLLM's w8a8_triton_block_scaled_mm, SGLang's w8a8_block_fp8_matmul_triton and
w8a8_block_int8_matmul) look the config up themselves: `get_w8a8_block_<dtype>_configs(N, K, block_n, block_k)`,
lru-cached, reads `N=..,K=..,device_name=..,dtype=..,block_shape=[..].json` from the `configs/` folder beside the
module's own file (no environment variable in either server), picks the nearest M, else uses a default written
inline. So:
- launch: the lookup answers {M: config} for the duration (module global swapped), and the server's own launcher
  and kernel run with it: what is timed is the server's code with that config;
- default_config and launched_config: the launcher runs on meta tensors with its kernels swapped for a recorder, so
  the config it would pass (its default, or what its lookup picks from its folder) is read from its own code;
- reading_from(folder): the module's `__file__` points into `folder` for the duration, so the server's own lookup
  reads `folder/configs/` as it reads the package's configs/ folder (what the CI proof uses).
"""

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch

from . import block


@dataclass(frozen=True)
class Launcher:
    """One server's block GEMM for one dtype: the module, its launcher, its config lookup, its kernels."""

    module: Callable[[], ModuleType]  # the loaded server module (loads the server on first call)
    launcher: str  # (A, B, As, Bs, block_size, output_dtype) -> C
    lookup: str  # get_w8a8_block_<dtype>_configs(N, K, block_n, block_k) -> {M: config} | None
    kernels: tuple[str, ...]  # the module globals the launcher launches (by device and config), the GEMM's first
    not_config: tuple[str, ...] = ()  # launch kwargs that are not config keys (SGLang's needs_masking)


@contextlib.contextmanager
def _swapped(module: ModuleType, values: dict):
    old = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)


def launch(launcher: Launcher, inputs: block.Inputs, config: dict) -> torch.Tensor:
    """The server's launcher on the inputs, its lookup answering `config` -> [M, N]."""
    mod = launcher.module()
    with _swapped(mod, {launcher.lookup: lambda *_args, **_kwargs: {inputs.problem["M"]: dict(config)}}):
        return getattr(mod, launcher.launcher)(inputs.a, inputs.w, inputs.a_scale, inputs.w_scale, inputs.block_size,
                                               inputs.out_dtype)


class _Recorder:
    """Stands in for Triton kernels: `kernel[grid](*args, **kwargs)` launches nothing and keeps the first launch's
    kwargs (the GEMM's; SGLang's split-K reduction, launched after it, takes none)."""

    def __init__(self):
        self.kwargs = None

    def __getitem__(self, grid):
        def run(*_args, **kwargs):
            if self.kwargs is None:
                self.kwargs = kwargs

        return run


def launched_config(launcher: Launcher, problem: dict, use_lookup: bool = True) -> dict:
    """The config the server's launcher passes to its kernel for this problem (meta tensors, nothing runs): what its
    lookup picks from its folder, or with use_lookup False (or no file) its default."""
    p = block.normalize_problem(problem)
    mod = launcher.module()
    M, N, K, bn, bk = p["M"], p["N"], p["K"], p["block_n"], p["block_k"]
    meta = {"device": "meta"}
    a = torch.empty(M, K, dtype=block.DTYPES[p["quant"]], **meta)
    a_scale = torch.empty(M, K // bk, dtype=torch.float32, **meta)
    w = torch.empty(N, K, dtype=block.DTYPES[p["quant"]], **meta)
    w_scale = torch.empty(-(-N // bn), K // bk, dtype=torch.float32, **meta)
    recorder = _Recorder()
    swaps = {name: recorder for name in launcher.kernels if hasattr(mod, name)}
    if not use_lookup:
        swaps[launcher.lookup] = lambda *_args, **_kwargs: None
    with _swapped(mod, swaps):
        getattr(mod, launcher.launcher)(a, w, a_scale, w_scale, [bn, bk], block.OUT_DTYPES[p["out_dtype"]])
    if recorder.kwargs is None:
        raise RuntimeError(f"{mod.__name__}.{launcher.launcher} launched none of {launcher.kernels}")
    return {k: v for k, v in recorder.kwargs.items() if k not in launcher.not_config}


def default_config(launcher: Launcher, problem: dict) -> dict:
    """What the server runs without a tuned file."""
    return launched_config(launcher, problem, use_lookup=False)


@contextlib.contextmanager
def reading_from(launcher: Launcher, folder: Path):
    """The server's lookup reading `folder/configs/` instead of its package's configs/ folder (cache cleared)."""
    mod = launcher.module()
    lookup = getattr(mod, launcher.lookup)
    lookup.cache_clear()
    try:
        with _swapped(mod, {"__file__": str(Path(folder) / Path(mod.__file__).name)}):
            yield
    finally:
        lookup.cache_clear()


def file_configs(launcher: Launcher, problem: dict) -> dict | None:
    """The server's own lookup for this shape: {M: config} from the folder it reads, else None."""
    p = block.normalize_problem(problem)
    lookup = getattr(launcher.module(), launcher.lookup)
    lookup.cache_clear()
    return lookup(p["N"], p["K"], p["block_n"], p["block_k"])


class _Paths(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.paths = []

    def emit(self, record):
        self.paths += [a for a in (record.args or ()) if isinstance(a, str) and a.endswith(".json")]


class Server:
    """A server's block-GEMM module API (vllm_block.py, sglang_block.py) from how it picks the launcher of a problem."""

    def __init__(self, launcher_of: Callable[[dict], Launcher]):
        self.launcher_of = launcher_of

    def launch(self, inputs: block.Inputs, config: dict) -> torch.Tensor:
        return launch(self.launcher_of(inputs.problem), inputs, config)

    def default_config(self, problem: dict) -> dict:
        return default_config(self.launcher_of(problem), problem)

    def lookup_config(self, problem: dict) -> dict:
        """The config the server launches at batch M: its lookup's nearest entry (as the lookup rewrites it), else its
        default."""
        return launched_config(self.launcher_of(problem), problem)

    def file_configs(self, problem: dict) -> dict | None:
        return file_configs(self.launcher_of(problem), problem)

    def config_file_name(self, problem: dict) -> str:
        return config_file_name(self.launcher_of(problem), problem)

    def reading_from(self, problem: dict, folder: Path):
        return reading_from(self.launcher_of(problem), folder)


def config_file_name(launcher: Launcher, problem: dict) -> str:
    """The file name the server's lookup looks for on this process's device: read from the path its 'not found'
    warning names, with its folder pointed at an empty one (neither server has a name function of its own)."""
    mod = launcher.module()
    handler = _Paths()
    logger = logging.getLogger(mod.__name__)
    logger.addHandler(handler)
    try:
        with tempfile.TemporaryDirectory() as empty, reading_from(launcher, Path(empty)):
            file_configs(launcher, problem)  # finds nothing, and says where it looked
    finally:
        logger.removeHandler(handler)
    if len(handler.paths) != 1:
        raise RuntimeError(f"{mod.__name__}.{launcher.lookup} named {handler.paths} in its warning, not one file")
    return Path(handler.paths[0]).name
