"""Compiling Triton kernels for a GPU without touching one: what the conductor's compile workers do.

A compile worker (TRITUNE_COMPILE_TARGET=cuda:90, set by the conductor from the bench workers' hello) makes
this driver Triton's active one while a family's `compile_only(family, problem, config)` warms its kernel up
with placeholder tensors: Triton then compiles for that target and writes the binary into the shared cache
(TRITON_CACHE_DIR) under the very key a bench worker's first launch looks up, so the bench worker only loads
it. No CUDA context is opened, so dozens of compile workers start in a second or two and use no GPU memory.

A family whose launch goes through code tritune does not own (a server's launcher) cannot call warmup itself:
its compile_only runs that launcher on CPU tensors under `launches_compile_only()`, which turns every Triton
launch into a warmup (compile or find in the cache, never run), while the launcher's own torch work runs on the
CPU. The family's `compile_variant(family, problem)` says which problems may share a binary (default: all Ms of
one problem, for kernels that do not specialize on M; `specialization` below for ints derived from M).
"""

import contextlib
import functools
import re


def parse_target(text: str):
    """'cuda:90' -> GPUTarget('cuda', 90, 32); ValueError with a one-line reason otherwise."""
    match = re.fullmatch(r"cuda:(\d+)", text.strip())
    if not match:
        raise ValueError(f"TRITUNE_COMPILE_TARGET must look like cuda:90, got {text!r}")
    from triton.backends.compiler import GPUTarget

    return GPUTarget("cuda", int(match.group(1)), 32)


def specialization(value: int) -> str:
    """How Triton (3.6) specializes an int argument that is neither tl.constexpr nor in do_not_specialize: the
    value 1 becomes a constant, a multiple of 16 is marked divisible, and the type is 32 or 64 bits. A family's
    compile_variant names what of M enters its binaries with it."""
    if value == 1:
        return "1"
    bits = "i32" if -(2**31) <= value < 2**31 else "i64"
    return f"{bits}/16" if value % 16 == 0 else bits


def placeholder(dtype, shape=(1,)):
    """A stand-in for a fresh tensor in a warmup: Triton's MockTensor (data_ptr 0, so 16-byte aligned as fresh
    allocations are) with torch's row-major strides and stride(dim); MockTensor's own strides are wrong beyond 2-D
    (Triton 3.6 multiplies the sizes in the wrong order)."""
    return _placeholder_class()(dtype, list(shape))


@functools.cache
def _placeholder_class():
    from triton.runtime.jit import MockTensor

    class Placeholder(MockTensor):
        def stride(self, dim=None):
            strides = [1]
            for size in reversed(self.shape[1:]):
                strides.insert(0, strides[0] * max(size, 1))
            return tuple(strides) if dim is None else strides[dim]

    return Placeholder


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


class NeedsGpu(Exception):
    """A family's compile_only cannot compile this without a GPU: the compile worker launches on one instead."""


@contextlib.contextmanager
def launches_compile_only():
    """Every `kernel[grid](...)` in the block compiles (or finds its binary in the cache) and returns without
    running: JITFunction.run is called with warmup=True. The launcher's outputs are then left unwritten."""
    from triton.runtime.jit import JITFunction

    run = JITFunction.run

    def warmup_run(self, *args, **kwargs):
        kwargs["warmup"] = True
        return run(self, *args, **kwargs)

    JITFunction.run = warmup_run
    try:
        yield
    finally:
        JITFunction.run = run


@contextlib.contextmanager
def compiled_kernels():
    """Collects every kernel Triton compiles or finds in the block (a list, filled as they come), whatever calls
    it: a family's warmup or a server launcher under launches_compile_only()."""
    from triton.runtime.jit import JITFunction

    run, kernels = JITFunction.run, []

    def recording_run(self, *args, **kwargs):
        kernel = run(self, *args, **kwargs)
        if kernel is not None and kwargs.get("warmup"):
            kernels.append(kernel)
        return kernel

    JITFunction.run = recording_run
    try:
        yield kernels
    finally:
        JITFunction.run = run


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
