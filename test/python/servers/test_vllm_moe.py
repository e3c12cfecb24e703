"""vLLM 0.33.0's own fused-MoE kernels, launched by its own fused_experts under Triton's CPU interpreter."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import hashlib  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from kernels.server_family import server_provenance  # noqa: E402
from kernels.servers import fetch, moe, releases, vllm_moe, vllm_source  # noqa: E402

SMALL = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}
WNA16 = {**SMALL, "SPLIT_K": 1}  # vLLM's fused_moe_kernel_gptq_awq takes the config as is, SPLIT_K included


def problem(**kw):
    return vllm_moe.normalize_problem({"M": 5, "E": 4, "hidden": 128, "inter": 64, "top_k": 2, **kw})


def run(p, config, seed=0):
    inputs = vllm_moe.make_inputs(p, "cpu", seed)
    out = vllm_moe.launch(inputs, config)
    ok, err = vllm_moe.check(out, vllm_moe.reference(inputs), p["quant"])
    assert out.shape == (p["M"], p["hidden"]) and out.dtype == inputs.x.dtype
    assert ok, f"{p['quant']}: max relative error {err}"
    return inputs, out


def test_loads_vllm_from_the_pinned_cache():
    m = vllm_source.modules()
    prov = server_provenance("vllm-moe")
    assert (prov["name"], prov["version"]) == ("vllm", releases.VLLM.version)
    if m.origin == "cache":  # the timed source loaded is the one the wheel's RECORD (pinned) names
        marker = json.loads((fetch.release_dir(releases.VLLM) / fetch.MARKER).read_text())
        path = "vllm/model_executor/layers/fused_moe/fused_moe.py"
        loaded = Path(m.fused_moe.__file__).read_bytes()
        assert hashlib.sha256(loaded).hexdigest() == prov["sources"][path] == marker["members"][path]


@pytest.mark.parametrize("M,E,dtype,routing", [(5, 4, "bf16", "uniform"), (33, 8, "fp16", "skewed")])
def test_bf16_layer(M, E, dtype, routing):
    run(problem(M=M, E=E, dtype=dtype, routing=routing), {**SMALL, "BLOCK_SIZE_M": 32 if M > 16 else 16})


def test_bf16_single_token_takes_the_naive_block_path():
    # M * top_k * 4 <= E: vLLM skips the alignment and gives each pair its own block (sorted_token_ids None)
    run(problem(M=1, E=8), SMALL)


def test_fp8_block_layer():
    run(problem(quant="fp8_w8a8_block", inter=128), {**SMALL, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128})


@pytest.fixture
def sm90(monkeypatch):
    """The platform stand-in answering as an H100/H200 would (vLLM caches enable_swap_ab's answers)."""
    fm = vllm_source.modules().fused_moe
    monkeypatch.setattr(fm.current_platform, "is_device_capability", lambda cap, device_id=0: cap in (90, (9, 0)))
    fm.enable_swap_ab.cache_clear()
    yield
    fm.enable_swap_ab.cache_clear()


def test_fp8_block_layer_with_swap_ab_as_on_sm90(sm90):
    # on compute capability 9.0 vLLM swaps A and B for fp8 when BLOCK_SIZE_M < 64 <= BLOCK_SIZE_N
    assert vllm_source.modules().fused_moe.enable_swap_ab(16, 64)
    run(problem(quant="fp8_w8a8_block", inter=128, M=3), {**SMALL, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128}, seed=1)


def test_int4_w4a16_layer():
    run(problem(quant="int4_w4a16", inter=128), WNA16)


def test_int4_w4a16_needs_split_k_in_the_config():
    inputs = vllm_moe.make_inputs(problem(quant="int4_w4a16", inter=128), "cpu")
    with pytest.raises(Exception, match="SPLIT_K"):
        vllm_moe.launch(inputs, SMALL)


def test_fp8_per_tensor_layer():
    run(problem(quant="fp8_w8a8"), {**SMALL, "BLOCK_SIZE_K": 128})


def test_int8_w8a16_layer():
    run(problem(quant="int8_w8a16"), SMALL)


@pytest.mark.skipif(moe.INTERPRET, reason="vLLM quantizes int8 activations per token with a Triton kernel that calls "
                    "libdevice.round, which Triton's CPU interpreter cannot run")
def test_int8_w8a8_layer():
    run(problem(quant="int8_w8a8"), SMALL)


def test_a_wrong_expert_fails_the_check():
    inputs, out = run(problem(), SMALL)
    inputs.topk_ids[0, 0] = (inputs.topk_ids[0, 0] + 1) % 4
    if inputs.topk_ids[0, 0] == inputs.topk_ids[0, 1]:
        inputs.topk_ids[0, 0] = (inputs.topk_ids[0, 0] + 1) % 4
    ok, err = vllm_moe.check(out, vllm_moe.reference(inputs), "bf16")
    assert not ok and err > 0.1


LAYER = {"M": 8, "E": 8, "hidden": 256, "inter": 128, "top_k": 2}


@pytest.mark.parametrize("quant,name", [
    ("bf16", "E=8,N=128,device_name=cpu.json"),
    ("fp8_w8a8_block", "E=8,N=128,device_name=cpu,dtype=fp8_w8a8,block_shape=[128,128].json"),
    ("fp8_w8a8", "E=8,N=128,device_name=cpu,dtype=fp8_w8a8.json"),
    ("int4_w4a16", "E=8,N=128,device_name=cpu,dtype=int4_w4a16.json"),  # w2.shape[2] = 64, doubled; no group size
    ("int8_w8a16", "E=8,N=128,device_name=cpu,dtype=int8_w8a16.json"),
    ("int8_w8a8", "E=8,N=128,device_name=cpu.json"),  # vLLM 0.33.0 passes no int8_w8a8 flag to the dtype string
])
def test_vllm_names_its_config_files(quant, name):
    assert vllm_moe.config_file_name({**LAYER, "quant": quant}) == name


def test_vllm_finds_a_file_in_its_tuned_config_folder(tmp_path, monkeypatch):
    small, large = {**SMALL, "SPLIT_K": 1}, {**SMALL, "BLOCK_SIZE_M": 64, "SPLIT_K": 1}
    p = {**LAYER, "quant": "fp8_w8a8_block"}
    body = {"1": small, "17": large, "triton_version": "3.6.0"}
    (tmp_path / vllm_moe.config_file_name(p)).write_text(json.dumps(body))
    monkeypatch.setenv("VLLM_TUNED_CONFIG_FOLDER", str(tmp_path))
    assert vllm_moe.file_configs(p) == {1: small, 17: large}  # triton_version dropped, keys made ints
    assert vllm_moe.lookup_config({**p, "M": 9}) == small  # nearest M, a tie goes to the smaller key
    assert vllm_moe.lookup_config({**p, "M": 10}) == large
    monkeypatch.delenv("VLLM_TUNED_CONFIG_FOLDER")
    assert vllm_moe.file_configs(p) is None
    assert vllm_moe.lookup_config({**p, "M": 10}) == vllm_moe.default_config({**p, "M": 10})


def test_vllm_default_configs():
    fp8 = vllm_moe.default_config({**LAYER, "M": 4, "quant": "fp8_w8a8_block"})
    assert fp8["BLOCK_SIZE_K"] == 128 and fp8["SPLIT_K"] == 1
    int4 = vllm_moe.default_config({**LAYER, "M": 4, "quant": "int4_w4a16"})
    assert set(int4) == {"BLOCK_SIZE_M", "GROUP_SIZE_M", "SPLIT_K"}  # vLLM fills BLOCK_SIZE_N/K at launch
