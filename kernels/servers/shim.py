"""The pieces of the import shim that loads a server's Python modules from the fetched cache.

Where a server is not installed, its kernel modules are loaded under their real names
(`vllm.model_executor.layers.fused_moe.fused_moe`, ...) from the cache that kernels/servers/fetch.py
fills. Their imports of the rest of the server are met in sys.modules, before loading, by:
- bare packages: a package object that only locates submodules in the cache; its __init__.py is not
  run (a server's package __init__ imports the whole server);
- stand-ins: small modules with the few names the kernel path calls, each documented where it is built
  (kernels/servers/vllm_source.py, sglang_source.py);
- inert modules: imported for names the kernel path never calls (type annotations, classes of other
  code paths). Each name is a class that raises when called, so a path that does call one fails
  loudly, naming it; only modules listed as inert get one, so a new import in a new release fails
  at load time instead of being silently stood in for.
A module that is none of these and not in the cache fails to import: the fetch list is incomplete.
"""

import functools
import importlib
import importlib.machinery
import logging
import os
import sys
from pathlib import Path
from types import ModuleType


@functools.lru_cache(maxsize=1)
def gpu():
    """The GPU the stand-ins answer the server's platform questions about: None (a CPU platform), or one with
    `name`, `capability` (major, minor) and `sm_count`. A compile worker (TRITUNE_COMPILE_TARGET=cuda:90,
    kernels/compile_only.py) answers for its target without touching CUDA, so the server's code takes the paths it
    takes on that GPU (SGLang's SM90 kernels, vLLM's capability checks) while the worker compiles them on the CPU;
    elsewhere, the GPU torch sees."""
    import torch

    target = os.environ.get("TRITUNE_COMPILE_TARGET", "")
    if target:
        from ..compile_only import parse_target

        arch = parse_target(target).arch
        return _Gpu(f"compile-only ({target})", (arch // 10, arch % 10), 1)
    if not (torch.cuda.is_available() and torch.version.cuda is not None):
        return None
    props = torch.cuda.get_device_properties(0)
    return _Gpu(props.name, (props.major, props.minor), props.multi_processor_count)


class _Gpu:
    def __init__(self, name: str, capability: tuple[int, int], sm_count: int):
        self.name, self.capability, self.sm_count = name, capability, sm_count


def installed(name: str) -> bool:
    """Whether the real server package `name` is importable (checked before anything of ours is put in sys.modules;
    once the cache's copy is loaded, it is marked `_tritune_cache`)."""
    import importlib.util

    module = sys.modules.get(name)
    if module is not None:
        return not getattr(module, "_tritune_cache", False)
    return importlib.util.find_spec(name) is not None


_libraries = []  # torch.library.Library objects must stay alive for their ops to stay registered


def library(namespace: str):
    """A torch.library fragment of `namespace` that lives as long as the process."""
    import torch

    lib = torch.library.Library(namespace, "FRAGMENT")
    _libraries.append(lib)
    return lib


def register_custom_op(namespace: str, op_name: str, op_func, mutates_args, fake_impl=None, target_lib=None, tags=()):
    """Define torch.ops.<namespace>.<op_name> from a Python function, as the servers' direct_register_custom_op do,
    for every device (the servers register for their platform's; a compile worker answers as CUDA and runs the op on
    CPU tensors, kernels/servers/compiling.py)."""
    import torch

    lib = target_lib or library(namespace)
    lib.define(op_name + torch.library.infer_schema(op_func, mutates_args=mutates_args or []), tags=tags)
    lib.impl(op_name, op_func, "CompositeExplicitAutograd")
    if fake_impl is not None:
        lib._register_fake(op_name, fake_impl)


class StandInError(RuntimeError):
    """A server path reached a name that only exists in the real server."""


class _InertMeta(type):
    def __getattr__(cls, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _inert_class(f"{cls.__qualname__}.{attr}", cls.__module__)

    def __call__(cls, *args, **kwargs):
        raise StandInError(f"{cls.__module__}.{cls.__qualname__} is not available where the server is not installed")


def _inert_class(name: str, module: str) -> type:
    return _InertMeta(name, (), {"__module__": module, "__qualname__": name})


def inert(name: str) -> ModuleType:
    """A module whose every attribute is an inert class (see the module docstring)."""
    module = ModuleType(name, "inert stand-in (tritune): names imported, never called on the kernel path")
    module.__getattr__ = lambda attr: _inert_class(attr, name) if not attr.startswith("__") else _missing(name, attr)
    module.__path__ = []  # so `import name.sub` reaches sys.modules for listed submodules
    return module


def _missing(module: str, attr: str):
    raise AttributeError(f"module {module!r} has no attribute {attr!r}")


def bare_package(name: str, path: Path, **attrs) -> ModuleType:
    """A package that finds its submodules under `path` without running its __init__.py."""
    module = ModuleType(name)
    module.__path__ = [str(path)]
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__spec__.submodule_search_locations = module.__path__
    module.__dict__.update(attrs)
    return module


def stand_in(name: str, doc: str, rest_inert: bool = False, **attrs) -> ModuleType:
    """A module with `attrs`; with rest_inert, every other name is inert (as in inert())."""
    module = inert(name) if rest_inert else ModuleType(name)
    module.__doc__ = doc
    module.__dict__.update(attrs)
    return module


def install(modules: dict[str, ModuleType]) -> None:
    """Put modules into sys.modules (parents first) and bind each as an attribute of its parent."""
    for name in sorted(modules, key=lambda n: n.count(".")):
        sys.modules[name] = modules[name]
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, modules[name])


def packages_for(root: Path, top: str, members, have) -> dict[str, ModuleType]:
    """Bare packages for every folder on the way to the cached members that is not already stood in."""
    out = {}
    for member in members:
        parts = Path(member).with_suffix("").parts[:-1]
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name.startswith(top) and name not in have and name not in out:
                out[name] = bare_package(name, root.joinpath(*parts[:i]))
    return out


def import_real(name: str) -> ModuleType:
    return importlib.import_module(name)


class OnceLogger(logging.LoggerAdapter):
    """A stdlib logger with the *_once methods the servers' loggers add (each message logged once)."""

    def __init__(self, name: str):
        super().__init__(logging.getLogger(name), {})

    @functools.lru_cache(maxsize=None)  # noqa: B019 -- the cache is the point: one entry per message
    def _once(self, level: int, msg: str, args: tuple) -> None:
        self.log(level, msg, *args)

    def info_once(self, msg, *args, **_scope):
        self._once(logging.INFO, msg, args)

    def warning_once(self, msg, *args, **_scope):
        self._once(logging.WARNING, msg, args)

    def debug_once(self, msg, *args, **_scope):
        self._once(logging.DEBUG, msg, args)
