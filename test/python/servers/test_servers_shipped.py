"""The tuned MoE configs each pinned release ships: fetched from the wheel, and found by the server's own lookup."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import json  # noqa: E402

import pytest  # noqa: E402

from kernels.servers import fetch, sglang_moe, sglang_source, vllm_moe, vllm_source  # noqa: E402
from kernels.servers.releases import SGLANG, VLLM  # noqa: E402

H200 = "E=128,N=768,device_name=NVIDIA_H200.json"
QWEN3_30B_A3B = {"M": 64, "E": 128, "hidden": 2048, "inter": 768, "top_k": 8}  # one rank (TP1); TP2 halves inter


def body(path):
    return {int(k): v for k, v in json.loads(path.read_text()).items()}


@pytest.mark.parametrize("release,count", [(VLLM, 339), (SGLANG, 401)])  # files under the folder in the RECORD
def test_every_shipped_config_is_fetched(release, count):
    shipped = fetch.shipped_moe_configs(release)
    assert sum(1 for p in shipped.rglob("*") if p.is_file()) == count


@pytest.fixture
def vllm_device_name():
    """vLLM caches the device's file name (get_device_name_as_file_name): cleared around a changed device."""
    fm = vllm_source.modules().fused_moe
    fm.get_device_name_as_file_name.cache_clear()
    yield
    fm.get_device_name_as_file_name.cache_clear()
    fm.get_moe_configs.cache_clear()


def test_vllm_reads_its_shipped_h200_file_when_no_tuned_folder_is_set(monkeypatch, vllm_device_name):
    monkeypatch.delenv("VLLM_TUNED_CONFIG_FOLDER", raising=False)
    fm = vllm_source.modules().fused_moe
    if vllm_source.modules().origin == "cache":  # the folder vLLM falls back to is the fetched one
        assert os.path.samefile(os.path.join(os.path.dirname(fm.__file__), "configs"), fetch.shipped_moe_configs(VLLM))
    monkeypatch.setattr(fm.current_platform, "get_device_name", lambda device_id=0: "NVIDIA H200")
    assert vllm_moe.config_file_name(QWEN3_30B_A3B) == H200
    assert vllm_moe.file_configs(QWEN3_30B_A3B) == body(fetch.shipped_moe_configs(VLLM) / H200)
    assert vllm_moe.lookup_config(QWEN3_30B_A3B) == body(fetch.shipped_moe_configs(VLLM) / H200)[64]


@pytest.mark.parametrize("inter,folder", [(768, None), (384, "triton_3_2_0")])  # TP1, TP2
def test_sglang_reads_its_shipped_h200_files(monkeypatch, inter, folder):
    """TP1's file is shipped for this Triton (3.6.0); TP2's only for Triton 3.2.0, which SGLang falls back to."""
    monkeypatch.delenv("SGLANG_MOE_CONFIG_DIR", raising=False)
    config = sglang_source.modules().config
    if sglang_source.modules().origin == "cache":
        assert os.path.samefile(sglang_source.shipped_configs_dir(), fetch.shipped_moe_configs(SGLANG))
    monkeypatch.setattr(config, "get_device_name", lambda device_id=0: "NVIDIA H200")
    p = {**QWEN3_30B_A3B, "inter": inter}
    name = sglang_moe.config_file_name(p)
    assert name == f"E=128,N={inter},device_name=NVIDIA_H200.json"
    expected = fetch.shipped_moe_configs(SGLANG) / (folder or sglang_moe.config_dir_name()) / name
    if not expected.is_file():
        pytest.skip(f"SGLang {SGLANG.version} ships no {name} for this process's Triton ({sglang_moe.config_dir_name()})")
    try:
        assert sglang_moe.file_configs(p) == body(expected)
        assert sglang_moe.lookup_config(p) == body(expected)[64]
    finally:
        config.get_moe_configs.cache_clear()
