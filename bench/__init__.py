"""One-off GPU benchmarks of the kernels in kernels/ (not used at tune or serve time); see bench/README.md."""


def cannot_run(smoke: bool) -> str | None:
    """Why this process cannot run a benchmark as asked (--smoke runs on Triton's CPU interpreter, the rest on a GPU)."""
    import os

    import torch

    if smoke and os.environ.get("TRITON_INTERPRET") != "1":
        return "--smoke runs on Triton's CPU interpreter: set TRITON_INTERPRET=1"
    if not smoke and not torch.cuda.is_available():
        return "no CUDA GPU: run on a GPU box, or with --smoke under TRITON_INTERPRET=1"
    return None
