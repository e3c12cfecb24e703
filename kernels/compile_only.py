"""Compiling Triton kernels for a GPU without touching one: what the conductor's compile workers do.

A compile worker (TRITUNE_COMPILE_TARGET=cuda:90, set by the conductor from the bench workers' hello) makes
this driver Triton's active one while a family's `compile_only(family, problem, config)` warms its kernel up
with placeholder tensors: Triton then compiles for that target and writes the binary into the shared cache
(TRITON_CACHE_DIR) under the very key a bench worker's first launch looks up, so the bench worker only loads
it. No CUDA context is opened, so dozens of compile workers start in a second or two and use no GPU memory.
"""

import contextlib
import re


def parse_target(text: str):
    """'cuda:90' -> GPUTarget('cuda', 90, 32); ValueError with a one-line reason otherwise."""
    match = re.fullmatch(r"cuda:(\d+)", text.strip())
    if not match:
        raise ValueError(f"TRITUNE_COMPILE_TARGET must look like cuda:90, got {text!r}")
    from triton.backends.compiler import GPUTarget

    return GPUTarget("cuda", int(match.group(1)), 32)


def make_driver(target):
    """A Triton driver that only knows its target: enough for compiling, nothing for running."""
    from triton.backends.driver import DriverBase

    class CompileOnlyDriver(DriverBase):
        @staticmethod
        def is_active():
            return False

        def get_current_target(self):
            return target

        def get_current_device(self):
            return 0

        def get_current_stream(self, device=None):
            return 0

        def get_active_torch_device(self):
            import torch

            return torch.device("cpu")

        def get_benchmarker(self):
            raise RuntimeError("a compile-only driver cannot run kernels")

        def map_python_to_cpp_type(self, ty):
            raise RuntimeError("a compile-only driver cannot run kernels")

    return CompileOnlyDriver()


@contextlib.contextmanager
def active(driver):
    """Makes `driver` Triton's active driver for the block (the default one is restored after)."""
    from triton.runtime.driver import driver as config

    previous = config._active
    config.set_active(driver)
    try:
        yield
    finally:
        config._active = previous
