"""vLLM's fused-MoE modules: the installed vLLM where there is one, else vLLM 0.33.0's sources from the cache.

    from kernels.servers import vllm_source
    fm = vllm_source.modules().fused_moe       # vllm.model_executor.layers.fused_moe.fused_moe

Loading from the cache (kernels/servers/fetch.py fills it) puts these in sys.modules first (the kinds
are explained in kernels/servers/shim.py; docs/SERVERS.md has the list with reasons):

stand-ins
- vllm.logger: init_logger returns a stdlib logger with vLLM's *_once methods. Logging only.
- vllm.platforms: current_platform for what this process runs on (shim.gpu()): CUDA when torch sees a GPU
  (with its real name and capability, which pick vLLM's SWAP_AB and file names) or in a compile worker (its
  target's capability), else a plain CPU platform. Never ROCm or XPU; fp8 is float8_e4m3fn.
- vllm._custom_ops: the compiled ops the launch path calls, as Triton kernels (kernels/servers/vllm_ops.py,
  torch where Triton cannot run): moe_align_block_size, moe_sum, scaled_fp8_quant, scaled_int8_quant. Any other
  op raises.
- torch.ops._C.{silu_and_mul, per_token_group_fp8_quant, per_token_group_quant_int8}: the same,
  registered with torch.library under the names vLLM calls (vllm_ops.py).
- vllm.utils.torch_utils: direct_register_custom_op registers for real with torch.library (so
  fused_experts goes through torch.ops.vllm.fused_experts as in vLLM); PIN_MEMORY False.
- vllm.triton_utils: triton and triton.language themselves (vLLM's module re-exports them).
- vllm.utils.import_utils.get_triton_kernels_version: None (the triton_kernels package serves other MoE paths).
- vllm.utils.deep_gemm: is_deep_gemm_e8m0_used False (DeepGEMM is not there; vLLM answers False then).
- vllm.model_executor.layers.fused_moe (the package): override_config / get_config, the same global
  its __init__ defines (the tuning script sets it); the __init__ itself imports the whole MoE layer.
- regex: the stdlib re where the regex package is missing (one `[\\s/]+` substitution in device names).
inert (imported for names the kernel path never calls): see INERT below.
"""

import importlib.util
import re
import sys
from types import SimpleNamespace

import torch
import triton
import triton.language as tl

from . import fetch, shim
from .releases import VLLM

MOE = "vllm.model_executor.layers.fused_moe"
FP8_UTILS = "vllm.model_executor.layers.quantization.utils.fp8_utils"  # the block fp8 GEMM and its config lookup

INERT = (
    "vllm.config",
    "vllm.config.kernel",
    "vllm.distributed",
    "vllm.distributed.parallel_state",
    "vllm._aiter_ops",
    "vllm.model_executor.parameter",
    "vllm.model_executor.utils",
    "vllm.model_executor.models",
    "vllm.model_executor.models.utils",
    "vllm.model_executor.layers.quantization.utils.config_utils",
    "vllm.model_executor.layers.quantization.utils.mxfp4_utils",
    "vllm.model_executor.layers.quantization.utils.mxfp6_utils",
    "vllm.model_executor.layers.quantization.utils.mxfp8_utils",
    "vllm.model_executor.layers.quantization.utils.nvfp4_emulation_utils",
    "vllm.model_executor.layers.quantization.utils.w8a8_utils",
    f"{MOE}.moe_output",
    f"{MOE}.routed_experts_capturer",
    f"{MOE}.runner",
    f"{MOE}.runner.shared_experts",
    "vllm.v1",
    "vllm.v1.worker",
    "vllm.v1.worker.ubatching",
    "vllm.v1.worker.workspace",
    "vllm.utils.flashinfer",
)


class _Platform:
    """vllm.platforms.current_platform stand-in (see the module docstring)."""

    def __init__(self):
        self.gpu = shim.gpu()
        self.cuda = self.gpu is not None
        self.simple_compile_backend = "inductor"
        self.dispatch_key = "CUDA" if self.cuda else "CPU"

    def is_cuda(self):
        return self.cuda

    def is_cuda_alike(self):
        return self.cuda

    def is_rocm(self):
        return False

    def is_xpu(self):
        return False

    def is_cpu(self):
        return not self.cuda

    def is_fp8_fnuz(self):
        return False

    def fp8_dtype(self):
        return torch.float8_e4m3fn

    def supports_mx(self):
        return False

    def get_device_capability(self, device_id: int = 0):
        if not self.cuda:
            return None
        major, minor = self.gpu.capability
        return SimpleNamespace(major=major, minor=minor, to_int=lambda: major * 10 + minor)

    def has_device_capability(self, capability, device_id: int = 0):
        cap = self.get_device_capability(device_id)
        return cap is not None and cap.to_int() >= (capability if isinstance(capability, int) else capability[0] * 10 + capability[1])

    def is_device_capability(self, capability, device_id: int = 0):
        cap = self.get_device_capability(device_id)
        return cap is not None and cap.to_int() == (capability if isinstance(capability, int) else capability[0] * 10 + capability[1])

    def get_device_name(self, device_id: int = 0):
        return self.gpu.name if self.cuda else "cpu"

    def num_compute_units(self, device_id: int = 0):
        return self.gpu.sm_count if self.cuda else 1

    def is_pin_memory_available(self):
        return False


_loaded = None


def modules() -> SimpleNamespace:
    """The vLLM modules tritune calls (loaded once per process): fused_moe, moe_align, config, package."""
    global _loaded
    if _loaded is None:
        origin = "installed" if shim.installed("vllm") else "cache"
        if origin == "cache":
            _install_from_cache()
        import importlib

        _loaded = SimpleNamespace(
            origin=origin,
            package=importlib.import_module(MOE),
            fused_moe=importlib.import_module(f"{MOE}.fused_moe"),
            config=importlib.import_module(f"{MOE}.config"),
            envs=importlib.import_module("vllm.envs"),
            fp8_utils=importlib.import_module(FP8_UTILS),
        )
    return _loaded


def _install_from_cache() -> None:
    from . import vllm_ops

    root = fetch.release_dir(VLLM)
    if not fetch.is_complete(VLLM):
        raise RuntimeError(f"vLLM is not installed and {root} is incomplete: run `python3 -m kernels.servers.fetch`")
    logger_module = shim.stand_in("vllm.logger", "stand-in: stdlib logging", init_logger=shim.OnceLogger)
    platform = _Platform()
    stand_ins = {
        "vllm": shim.bare_package("vllm", root / "vllm", _tritune_cache=True, __version__=VLLM.version),
        "vllm.logger": logger_module,
        "vllm.platforms": shim.stand_in("vllm.platforms", "stand-in: this process's device", current_platform=platform),
        "vllm._custom_ops": vllm_ops.custom_ops_module(platform),
        "vllm.utils.torch_utils": shim.stand_in(
            "vllm.utils.torch_utils",
            "stand-in: custom-op registration",
            direct_register_custom_op=vllm_ops.direct_register_custom_op,
            PIN_MEMORY=False,
        ),
        "vllm.triton_utils": shim.bare_package(
            "vllm.triton_utils", root / "vllm/triton_utils", triton=triton, tl=tl, HAS_TRITON=True
        ),
        "vllm.utils.import_utils": shim.stand_in(
            "vllm.utils.import_utils", "stand-in", get_triton_kernels_version=lambda: None
        ),
        "vllm.utils.deep_gemm": shim.stand_in(
            "vllm.utils.deep_gemm", "stand-in: no DeepGEMM", True, is_deep_gemm_e8m0_used=lambda: False
        ),
        MOE: _moe_package(root),
    }
    if importlib.util.find_spec("regex") is None:
        stand_ins["regex"] = re
    stand_ins.update({name: shim.inert(name) for name in INERT})
    stand_ins.update(shim.packages_for(root, "vllm", VLLM.members, stand_ins))
    shim.install(stand_ins)
    vllm_ops.register_torch_ops()


def _moe_package(root):
    """The fused_moe package with only the tuning-config override its __init__ defines."""
    state = {"config": None}

    from contextlib import contextmanager

    @contextmanager
    def override_config(config):
        old, state["config"] = state["config"], config
        try:
            yield
        finally:
            state["config"] = old

    return shim.bare_package(
        MOE,
        root / MOE.replace(".", "/"),
        override_config=override_config,
        get_config=lambda: state["config"],
    )
