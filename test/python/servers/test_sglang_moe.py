"""SGLang 0.5.23's own fused-MoE kernels, launched by its own fused_moe under Triton's CPU interpreter."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import hashlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels.server_family import SERVER_FAMILIES, server_provenance  # noqa: E402
from kernels.servers import align, fetch, moe, releases, sglang_moe, sglang_ops, sglang_source  # noqa: E402

SMALL = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}


def problem(**kw):
    return sglang_moe.normalize_problem({"M": 5, "E": 4, "hidden": 128, "inter": 64, "top_k": 2, **kw})


def run(p, config, seed=0):
    inputs = sglang_moe.make_inputs(p, "cpu", seed)
    out = sglang_moe.launch(inputs, config)
    ok, err = sglang_moe.check(out, sglang_moe.reference(inputs), p["quant"])
    assert out.shape == (p["M"], p["hidden"]) and out.dtype == inputs.x.dtype
    assert ok, f"{p['quant']}: max relative error {err}"
    return inputs, out


def test_loads_sglang_from_the_pinned_cache():
    m = sglang_source.modules()
    prov = server_provenance("sglang-moe")
    assert (prov["name"], prov["version"]) == ("sglang", releases.SGLANG.version)
    if m.origin == "cache":  # the timed sources loaded are the ones the wheel's RECORD (pinned) names
        marker = json.loads((fetch.release_dir(releases.SGLANG) / fetch.MARKER).read_text())
        for path in SERVER_FAMILIES["sglang-moe"].timed:
            loaded = Path(sys.modules[path[:-3].replace("/", ".")].__file__).read_bytes()
            assert hashlib.sha256(loaded).hexdigest() == prov["sources"][path] == marker["members"][path]


@pytest.mark.parametrize("M,E,dtype,routing", [(5, 4, "bf16", "uniform"), (33, 8, "fp16", "skewed")])
def test_bf16_layer(M, E, dtype, routing):
    run(problem(M=M, E=E, dtype=dtype, routing=routing), {**SMALL, "BLOCK_SIZE_M": 32 if M > 16 else 16})


def test_fp8_block_layer():
    run(problem(quant="fp8_w8a8_block", inter=128), {**SMALL, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128})


def test_int4_w4a16_layer():
    run(problem(quant="int4_w4a16", inter=128), SMALL)


def test_unknown_config_keys_reach_sglangs_kernels(tmp_path, monkeypatch):
    """SGLang hands a file's entries to the kernel as they are (vLLM drops triton_version when reading), and its
    fused_moe_kernel_gptq_awq has no SPLIT_K (vLLM's needs one). On a GPU Triton's launcher rejects such a key
    ("specified but unrecognised"); the CPU interpreter ignores it, so here the parameters are checked."""
    kernels = sglang_source.modules().kernels
    assert "SPLIT_K" not in kernels.fused_moe_kernel_gptq_awq.arg_names
    assert "SPLIT_K" not in kernels.fused_moe_kernel.arg_names and "BLOCK_SIZE_K" in kernels.fused_moe_kernel.arg_names
    p = {**LAYER, "quant": "bf16"}
    (tmp_path / "configs" / sglang_moe.config_dir_name()).mkdir(parents=True)
    body = {"1": SMALL, "triton_version": "3.6.0"}
    (tmp_path / "configs" / sglang_moe.config_dir_name() / sglang_moe.config_file_name(p)).write_text(json.dumps(body))
    monkeypatch.setenv("SGLANG_MOE_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="triton_version"):  # SGLang's int(key) on every key of the file
        sglang_moe.file_configs(p)
    sglang_source.modules().config.get_moe_configs.cache_clear()


def test_fp8_per_tensor_layer():
    run(problem(quant="fp8_w8a8"), {**SMALL, "BLOCK_SIZE_K": 128})


def test_int8_w8a16_layer():
    run(problem(quant="int8_w8a16"), SMALL)


@pytest.mark.skipif(moe.INTERPRET, reason="SGLang quantizes int8 activations per token with a Triton kernel that "
                    "calls libdevice.round, which Triton's CPU interpreter cannot run")
def test_int8_w8a8_layer():
    run(problem(quant="int8_w8a8"), SMALL)


def test_a_wrong_expert_fails_the_check():
    inputs, out = run(problem(), SMALL)
    inputs.topk_ids[0, 0] = (inputs.topk_ids[0, 0] + 1) % 4
    if inputs.topk_ids[0, 0] == inputs.topk_ids[0, 1]:
        inputs.topk_ids[0, 0] = (inputs.topk_ids[0, 0] + 1) % 4
    ok, err = sglang_moe.check(out, sglang_moe.reference(inputs), "bf16")
    assert not ok and err > 0.1


LAYER = {"M": 8, "E": 8, "hidden": 256, "inter": 128, "top_k": 2}


@pytest.mark.parametrize("quant,name", [
    ("bf16", "E=8,N=128,device_name=cpu.json"),
    ("fp8_w8a8_block", "E=8,N=128,device_name=cpu,dtype=fp8_w8a8,block_shape=[128, 128].json"),
    ("fp8_w8a8", "E=8,N=128,device_name=cpu,dtype=fp8_w8a8.json"),
    ("int4_w4a16", "E=8,N=64,device_name=cpu,dtype=int4_w4a16.json"),  # w2.shape[2] = I/2, not doubled
    ("int8_w8a16", "E=8,N=128,device_name=cpu,dtype=int8_w8a16.json"),
    ("int8_w8a8", "E=8,N=128,device_name=cpu,dtype=int8_w8a8,per_channel_quant=True.json"),
])
def test_sglang_names_its_config_files(quant, name):
    assert sglang_moe.config_file_name({**LAYER, "quant": quant}) == name


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """A SGLANG_MOE_CONFIG_DIR with the configs/ folder SGLang lists."""
    (tmp_path / "configs").mkdir()
    monkeypatch.setenv("SGLANG_MOE_CONFIG_DIR", str(tmp_path))
    yield tmp_path / "configs"
    sglang_source.modules().config.get_moe_configs.cache_clear()


def test_sglang_finds_a_file_in_its_config_folder(config_dir):
    small, large = SMALL, {**SMALL, "BLOCK_SIZE_M": 64}
    p = {**LAYER, "quant": "fp8_w8a8_block"}
    folder = config_dir / sglang_moe.config_dir_name()
    folder.mkdir()
    (folder / sglang_moe.config_file_name(p)).write_text(json.dumps({"1": small, "17": large}))
    assert sglang_moe.file_configs(p) == {1: small, 17: large}
    assert sglang_moe.lookup_config({**p, "M": 9}) == small  # nearest M, a tie goes to the smaller key
    assert sglang_moe.lookup_config({**p, "M": 10}) == large
    (folder / sglang_moe.config_file_name(p)).unlink()
    assert sglang_moe.file_configs(p) is None
    assert sglang_moe.lookup_config({**p, "M": 10}) == sglang_moe.default_config({**p, "M": 10})


def test_sglang_falls_back_to_other_triton_folders_newest_first(config_dir):
    p = {**LAYER, "quant": "bf16"}
    for version, block_m in (("triton_1_0_0", 16), ("triton_1_1_0", 32)):
        (config_dir / version).mkdir()
        (config_dir / version / sglang_moe.config_file_name(p)).write_text(json.dumps({"1": {**SMALL, "BLOCK_SIZE_M": block_m}}))
    assert sglang_moe.file_configs(p)[1]["BLOCK_SIZE_M"] == 32


def test_sglang_reads_a_down_file_for_the_second_gemm_only_without_an_override(config_dir):
    p = {**LAYER, "quant": "bf16"}
    folder = config_dir / sglang_moe.config_dir_name()
    folder.mkdir()
    name = sglang_moe.config_file_name(p)
    (folder / name).write_text(json.dumps({"1": SMALL}))
    (folder / name.replace(".json", "_down.json")).write_text(json.dumps({"1": {**SMALL, "BLOCK_SIZE_N": 64}}))
    config = sglang_source.modules().config
    config.get_moe_configs.cache_clear()
    w1, w2 = sglang_moe.weight_shapes(p)
    up, (down, _) = config.try_get_optimal_moe_config(w1, w2, 2, None, 8, return_down_config=True)
    assert up == SMALL and down == {**SMALL, "BLOCK_SIZE_N": 64}
    with sglang_source.modules().package.override_config({**SMALL, "BLOCK_SIZE_M": 32}):
        up, (down, _) = config.try_get_optimal_moe_config(w1, w2, 2, None, 8, return_down_config=True)
    assert up["BLOCK_SIZE_M"] == 32 and down is None  # the override serves both GEMMs


def test_sglang_default_configs():
    fp8 = sglang_moe.default_config({**LAYER, "M": 4, "quant": "fp8_w8a8_block"})
    assert fp8["BLOCK_SIZE_N"] == fp8["BLOCK_SIZE_K"] == 128 and "SPLIT_K" not in fp8
    assert sglang_moe.default_config({**LAYER, "M": 4})["BLOCK_SIZE_M"] == 16  # M <= E


# the torch stand-ins for SGLang's CUDA ops, checked against SGLang's own Triton code that does the same job

@pytest.mark.parametrize("numel_ids,E,bs", [([[0, 3], [3, 0], [0, 3], [3, 2], [0, 3], [3, 0]], 4, 4),
                                            ([[5, 1], [-1, 1]], 8, 16), ([[2, 2, 1]], 3, 2)])
def test_align_stand_in_matches_sglangs_triton_alignment(numel_ids, E, bs):
    sglang_source.modules()
    small = importlib.import_module("sglang.kernels.ops.moe.moe_align_small_numel")
    topk_ids = torch.tensor(numel_ids, dtype=torch.int32)
    outs = []
    for op in ("stand-in", "sglang"):
        sorted_ids = torch.full((topk_ids.numel() + (E + 1) * (bs - 1),), -7, dtype=torch.int32)
        expert_ids = torch.full((-(-sorted_ids.numel() // bs),), -7, dtype=torch.int32)
        post = torch.zeros(1, dtype=torch.int32)
        if op == "sglang":
            small.moe_align_small_numel(topk_ids, E + 1, bs, sorted_ids, expert_ids, post)
        else:
            sglang_ops.moe_align_block_size(topk_ids, E + 1, bs, sorted_ids, expert_ids, post, None, True)
        n = int(post)
        P = topk_ids.numel()  # an expert's pairs come in no fixed order (align.py): compared in canonical order
        outs.append((n, align.canonical(sorted_ids, expert_ids, n, bs, P).tolist(), expert_ids[: n // bs].tolist()))
    assert outs[0] == outs[1]
    assert (-1 in outs[0][2]) == (-1 in topk_ids)  # the -1 ids get their own blocks, expert -1


def test_sum_and_group_quant_stand_ins_match_sglangs_triton_code():
    kernels = sglang_source.modules().kernels
    fp8 = importlib.import_module("sglang.kernels.ops.quantization.fp8_kernel")
    x = torch.randn(5, 3, 64, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    ours, theirs = torch.empty(5, 64, dtype=torch.bfloat16), torch.empty(5, 64, dtype=torch.bfloat16)
    sglang_ops.moe_sum_reduce(x, ours, 0.5)
    kernels.moe_sum_reduce_triton(x, theirs, 0.5)
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=1e-2, atol=1e-2)
    a = torch.randn(7, 256, generator=torch.Generator().manual_seed(1)).to(torch.bfloat16)
    q, s = sglang_ops.per_token_group_quant(a, group_size=128)
    q_ref, s_ref = fp8._per_token_group_quant_8bit_raw(a, 128)
    torch.testing.assert_close(s, s_ref)
    assert (q.float() - q_ref.float()).abs().max() <= (q_ref.float().abs() / 8).max()  # one fp8 step at most
    assert (q.float() == q_ref.float()).float().mean() > 0.99
