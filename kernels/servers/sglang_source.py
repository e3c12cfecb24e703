"""SGLang's fused-MoE modules: the installed SGLang where there is one, else SGLang 0.5.23's sources from the cache.

    from kernels.servers import sglang_source
    m = sglang_source.modules()      # m.fused_moe, m.config (fused_moe_triton_config), m.kernels, m.package
    sglang_source.gemm("fp8_kernel") # sglang.kernels.ops.gemm.fp8_kernel (and int8_kernel): the block GEMMs

Loaded from the cache under their real names (kernels/servers/fetch.py fills it): the package
sglang.srt.layers.moe.moe_runner.triton_utils (its __init__ runs: override_config / get_config are SGLang's
own), its fused_moe, fused_moe_triton_config and moe_align_block_size; moe_runner.base (MoeRunnerConfig);
sglang.kernels.ops.moe.{fused_moe_triton_kernels, moe_align_small_numel}; the quantization kernels
sglang.kernels.ops.quantization.{fp8_kernel, int8_kernel, fp8_utils}; sglang.srt.environ;
sglang.srt.utils.custom_op with sglang.kernels.kernel_api_logging. Put in sys.modules first (kinds in
kernels/servers/shim.py; docs/SERVERS.md has the list with reasons):

stand-ins
- sglang.srt.utils: the platform questions (is_cuda as SGLang asks it: torch sees a GPU and is a CUDA build, or a
  compile worker answers for its target, shim.gpu(); never HIP, XPU, MUSA, NPU or SGLang's CPU engine; no AMX), is_sm90_supported and get_device_name from the
  device; get_device_name answers "cpu" where SGLang's returns None (no GPU), so file names can be built on a
  CPU; get_bool_env_var, ceil_align.
- sglang.srt.utils.common: direct_register_custom_op, registering torch.ops.sglang.* for real (sglang_ops.py).
- sglang.kernels.jit.utils: is_arch_support_pdl (compute capability >= 9, as SGLang), get_jit_cuda_arch, and
  not HIP / MUSA runtimes.
- sglang.srt.runtime_context: get_exec() with the server defaults the kernel path reads (deterministic
  inference off, fused MoE sum all-reduce off); get_parallel().tp_group None.
- sglang.srt.batch_invariant_ops: batch-invariant mode off (SGLang's default).
- sglang.srt.layers.dp_attention: is_allocation_symmetric True (no DP attention);
  sglang.srt.distributed.device_communicators.pynccl_allocator: use_symmetric_memory a null context
  (symmetric memory is off by default: a plain allocation, as SGLang's own context makes then).
- sglang.srt.layers.moe.utils: get_moe_padding_size 0 (SGLANG_MOE_PADDING set raises: padded weights are
  not tuned); its other names are inert.
- the compiled / JIT ops on CUDA (sgl_kernel.moe_sum_reduce, sglang.kernels.ops.moe.moe_align_block_size,
  sglang.kernels.ops.activation.activation, sglang.kernels.ops.quantization.{sgl_per_token_quant_fp8,
  per_tensor_quant_fp8, per_token_group_quant}): Triton kernels, torch where Triton cannot run (sglang_ops.py).
- where torch sees no GPU, SGLang binds three of those names only on GPU platforms and then calls them
  anyway (moe_align_block_size.sgl_moe_align_block_size, fp8_kernel.sgl_per_tensor_quant_fp8 and
  sgl_per_token_quant_fp8): they are bound to the same stand-ins after loading, so the CPU runs the path a
  GPU runs. And `vllm` is hidden while SGLang loads: on a non-CUDA platform SGLang takes vLLM's compiled ops
  when it can import them, which would be tritune's vLLM stand-ins; it takes its own fallbacks instead.
inert (imported for names the kernel path never calls): see INERT below.
"""

import importlib
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import torch

from . import fetch, shim
from .releases import SGLANG

RUNNER = "sglang.srt.layers.moe.moe_runner"
TRITON_UTILS = f"{RUNNER}.triton_utils"
KERNELS = "sglang.kernels.ops.moe.fused_moe_triton_kernels"
QUANT = "sglang.kernels.ops.quantization"

GEMM = "sglang.kernels.ops.gemm"
INERT = (
    "sglang.srt.utils.patch_torch",  # register_fake_if_exists: MUSA only
    "sglang.srt.layers.deep_gemm_wrapper",  # the block GEMMs' DeepGEMM twins only (w8a8_block_fp8_matmul_deepgemm)
)


_loaded = None


def modules() -> SimpleNamespace:
    """The SGLang modules tritune calls (loaded once per process): package, fused_moe, config, kernels, base."""
    global _loaded
    if _loaded is None:
        origin = "installed" if shim.installed("sglang") else "cache"
        if origin == "cache":
            _install_from_cache()
            with _vllm_hidden():
                _load()
            _bind_gpu_only_names()
        _loaded = _load()
        _loaded.origin = origin
    return _loaded


def _load() -> SimpleNamespace:
    return SimpleNamespace(
        package=importlib.import_module(TRITON_UTILS),
        fused_moe=importlib.import_module(f"{TRITON_UTILS}.fused_moe"),
        config=importlib.import_module(f"{TRITON_UTILS}.fused_moe_triton_config"),
        align=importlib.import_module(f"{TRITON_UTILS}.moe_align_block_size"),
        kernels=importlib.import_module(KERNELS),
        base=importlib.import_module(f"{RUNNER}.base"),
    )


def gemm(name: str):
    """sglang.kernels.ops.gemm.<name> (fp8_kernel, int8_kernel: the block GEMMs), imported on first use, after the
    modules above (so, from the cache, with their stand-ins in place)."""
    modules()
    return importlib.import_module(f"{GEMM}.{name}")


def shipped_configs_dir() -> Path:
    """The folder holding SGLang's `triton_<x_y_z>` config folders, where the loaded SGLang reads them."""
    return Path(modules().config.__file__).parent / "configs"


class _vllm_hidden:
    """Make `import vllm` fail while SGLang's modules load (see the module docstring), then put it back."""

    def __enter__(self):
        self.saved = sys.modules.get("vllm", _ABSENT)
        sys.modules["vllm"] = None

    def __exit__(self, *exc):
        if self.saved is _ABSENT:
            del sys.modules["vllm"]
        else:
            sys.modules["vllm"] = self.saved


_ABSENT = object()


def _bind_gpu_only_names() -> None:
    from . import sglang_ops

    if _is_cuda():
        return
    bind = {
        f"{TRITON_UTILS}.moe_align_block_size": {"sgl_moe_align_block_size": sglang_ops.moe_align_block_size},
        f"{QUANT}.fp8_kernel": {"sgl_per_tensor_quant_fp8": sglang_ops.per_tensor_quant_fp8,
                                "sgl_per_token_quant_fp8": sglang_ops.sgl_per_token_quant_fp8},
    }
    for module, names in bind.items():
        for name, fn in names.items():
            if not hasattr(sys.modules[module], name):
                setattr(sys.modules[module], name, fn)


def _is_cuda() -> bool:
    return shim.gpu() is not None


def _capability():
    return shim.gpu().capability if _is_cuda() else (0, 0)


def _is_sm90_supported() -> bool:
    return _is_cuda() and _capability()[0] == 9 and tuple(map(int, torch.version.cuda.split(".")[:2])) >= (12, 3)


def _get_bool_env_var(name: str, default: str = "false") -> bool:
    return os.getenv(name, default).lower() in ("true", "1")


def _moe_padding_size(is_aiter_moe):
    if is_aiter_moe or _get_bool_env_var("SGLANG_MOE_PADDING", "0"):
        raise shim.StandInError("SGLANG_MOE_PADDING / aiter: padded MoE weights are not tuned by tritune")
    return 0


def _install_from_cache() -> None:
    from . import sglang_ops

    root = fetch.release_dir(SGLANG)
    if not fetch.is_complete(SGLANG):
        raise RuntimeError(f"SGLang is not installed and {root} is incomplete: run `python3 -m kernels.servers.fetch`")
    no = lambda *_a, **_k: False  # noqa: E731
    arch = SimpleNamespace(major=_capability()[0], minor=_capability()[1])
    # the block fp8 GEMM asks is_sm90 (Hopper-only configs with SWAP_AB / SPLIT_K take another kernel)
    platform = SimpleNamespace(is_sm90=_is_cuda() and _capability()[0] == 9)
    exec_defaults = SimpleNamespace(deterministic=SimpleNamespace(enable_deterministic_inference=False),
                                    moe=SimpleNamespace(enable_fused_moe_sum_all_reduce=False))
    stand_ins = {
        "sglang": shim.bare_package("sglang", root / "sglang", _tritune_cache=True, __version__=SGLANG.version),
        "sglang.srt.utils": shim.bare_package(
            "sglang.srt.utils", root / "sglang/srt/utils",
            is_cuda=_is_cuda, is_hip=no, is_cpu=no, is_xpu=no, is_musa=no, is_npu=no, cpu_has_amx_support=no,
            is_sm90_supported=_is_sm90_supported,
            get_device_name=lambda device_id=0: shim.gpu().name if _is_cuda() else "cpu",
            get_bool_env_var=_get_bool_env_var, ceil_align=lambda x, y: -(-x // y) * y,
            is_gfx1250_supported=no, log_info_on_rank0=lambda logger, msg: logger.info(msg),
            get_device_core_count=lambda device_id=0: shim.gpu().sm_count if _is_cuda() else 1,
        ),
        "sglang.srt.utils.common": shim.stand_in(
            "sglang.srt.utils.common", "stand-in: custom-op registration",
            direct_register_custom_op=sglang_ops.direct_register_custom_op,
        ),
        "sglang.kernels.jit.utils": shim.stand_in(
            "sglang.kernels.jit.utils", "stand-in: the device's architecture",
            is_arch_support_pdl=lambda: _is_cuda() and arch.major >= 9,
            get_jit_cuda_arch=lambda: arch, is_hip_runtime=no, is_musa_runtime=no,
        ),
        "sglang.srt.runtime_context": shim.stand_in(
            "sglang.srt.runtime_context", "stand-in: server defaults", True,
            get_exec=lambda: exec_defaults, get_parallel=lambda: SimpleNamespace(tp_group=None),
            get_platform=lambda: platform,
        ),
        "sglang.srt.batch_invariant_ops": shim.stand_in(
            "sglang.srt.batch_invariant_ops", "stand-in", is_batch_invariant_mode_enabled=no
        ),
        "sglang.srt.layers.dp_attention": shim.stand_in(
            "sglang.srt.layers.dp_attention", "stand-in: no DP attention", is_allocation_symmetric=lambda: True
        ),
        "sglang.srt.distributed.device_communicators.pynccl_allocator": shim.stand_in(
            "sglang.srt.distributed.device_communicators.pynccl_allocator", "stand-in: symmetric memory off",
            use_symmetric_memory=lambda group, disabled=False: nullcontext(),
        ),
        "sglang.srt.layers.moe.utils": shim.stand_in(
            "sglang.srt.layers.moe.utils", "stand-in: no padding", True, get_moe_padding_size=_moe_padding_size
        ),
        "sgl_kernel": sglang_ops.sgl_kernel_module(),
        "sglang.kernels.ops.moe": shim.bare_package(
            "sglang.kernels.ops.moe", root / "sglang/kernels/ops/moe",
            moe_align_block_size=sglang_ops.moe_align_block_size,
        ),
        "sglang.kernels.ops.activation.activation": shim.stand_in(
            "sglang.kernels.ops.activation.activation", "stand-in: JIT activations in torch",
            silu_and_mul=sglang_ops.silu_and_mul, gelu_and_mul=sglang_ops.gelu_and_mul,
            gelu_tanh_and_mul=sglang_ops.gelu_tanh_and_mul,
            silu_and_mul_with_activation_rounding=sglang_ops.silu_and_mul_with_activation_rounding,
        ),
        QUANT: shim.bare_package(QUANT, root / QUANT.replace(".", "/"),
                                 sgl_per_token_quant_fp8=sglang_ops.sgl_per_token_quant_fp8),
        f"{QUANT}.per_tensor_quant_fp8": shim.stand_in(
            f"{QUANT}.per_tensor_quant_fp8", "stand-in: JIT op in torch",
            per_tensor_quant_fp8=sglang_ops.per_tensor_quant_fp8,
        ),
        f"{QUANT}.per_token_group_quant": shim.stand_in(
            f"{QUANT}.per_token_group_quant", "stand-in: JIT op in torch",
            per_token_group_quant=sglang_ops.per_token_group_quant,
        ),
    }
    stand_ins.update({name: shim.inert(name) for name in INERT})
    packages = shim.packages_for(root, "sglang", SGLANG.members, stand_ins)
    packages.pop(TRITON_UTILS)  # its __init__ runs (it imports only the modules loaded here)
    stand_ins.update(packages)
    shim.install(stand_ins)
    # moe_runner's own __init__ imports every runner; the kernel path needs only MoeRunnerConfig from it
    runner = sys.modules[RUNNER]
    runner.MoeRunnerConfig = importlib.import_module(f"{RUNNER}.base").MoeRunnerConfig
