"""Compiling a server family's kernels on the CPU, for a GPU it does not touch (kernels/compile_only.py).

The kernels are launched by the server's own code, which tritune cannot call warmup through; so the server's
launcher runs as in a trial, on CPU tensors: the activations and routing drawn as for the GPU (the alignment, the
grid and every integer argument are then what the GPU run computes), the weights and scales with their shapes,
dtypes and strides but never written (nothing reads them). Every Triton launch in it compiles for the target and
returns without running (compile_only.launches_compile_only), tritune's Triton stand-ins for the server's compiled
ops included (fast_ops.anywhere), so a bench worker's first launch of each finds its binary in the cache. The
platform questions the server asks are answered for the target (shim.gpu), so it takes the GPU's kernel paths.

An installed server's compiled ops take CUDA tensors only: there a compile worker launches on the GPU as before
(compile_only.NeedsGpu).
"""

import contextlib

import torch

from .. import compile_only
from . import fast_ops, shim


@contextlib.contextmanager
def launching(server: str):
    """The block's launches of `server` (its package name) compile without running."""
    if shim.installed(server):
        raise compile_only.NeedsGpu(f"an installed {server}'s compiled ops need CUDA tensors")
    with fast_ops.anywhere(), compile_only.launches_compile_only():
        yield


def unwritten(t: torch.Tensor | None) -> torch.Tensor | None:
    """A CPU tensor shaped, typed and strided as t (a meta tensor), its memory allocated but never written."""
    if t is None:
        return None
    return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype)
