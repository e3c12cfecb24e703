"""vLLM 0.33.0's and SGLang 0.5.23's own block-quantized W8A8 GEMMs, launched by their own launchers under Triton's CPU
interpreter, against kernels/servers/block.py's dequantize-then-matmul reference."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import pytest  # noqa: E402
import torch  # noqa: E402

from kernels import protocol, server_block  # noqa: E402
from kernels.servers import block, sglang_block, sglang_source, vllm_block, vllm_source  # noqa: E402

SERVERS = {"vllm": vllm_block, "sglang": sglang_block}
CASES = [(mod, quant) for mod in SERVERS.values() for quant in mod.QUANTS]
IDS = [f"{mod.SERVER}-{quant}" for mod, quant in CASES]
SMALL = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}


def run(mod, p, config):
    inputs = mod.make_inputs(p, "cpu")
    out = mod.launch(inputs, config)
    assert out.shape == (p["M"], p["N"]) and out.dtype == block.OUT_DTYPES[p.get("out_dtype", "bf16")]
    return mod.check(out, mod.reference(inputs))


@pytest.mark.parametrize("mod,quant", CASES, ids=IDS)
@pytest.mark.parametrize("config", [
    None,  # the server's default
    SMALL,  # BLOCK_SIZE_K below block_k: two tiles per scale
    {**SMALL, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 128},  # BLOCK_SIZE_N over block_n: scales are per column
    {**SMALL, "BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "GROUP_SIZE_M": 32, "num_stages": 3},
])
def test_the_servers_kernel_matches_the_dequantized_product(mod, quant, config):
    p = {"M": 19, "N": 320, "K": 512, "quant": quant}  # N not a multiple of block_n: a partial last block
    ok, err = run(mod, p, config or mod.default_config(p))
    assert ok, f"{mod.SERVER} {quant} {config}: max relative error {err}"


@pytest.mark.parametrize("mod,quant", CASES, ids=IDS)
def test_other_blocks_and_fp16_output(mod, quant):
    p = {"M": 7, "N": 192, "K": 384, "quant": quant, "block_n": 64, "block_k": 64, "out_dtype": "fp16"}
    ok, err = run(mod, p, {**SMALL, "BLOCK_SIZE_K": 32})
    assert ok, err


@pytest.mark.parametrize("mod,quant", CASES, ids=IDS)
def test_a_k_tile_wider_than_block_k_is_wrong_and_ruled_out(mod, quant):
    """What invalid_reason rules out does fail the reference in the server's kernel: one scale for two blocks."""
    p = {"M": 9, "N": 128, "K": 512, "quant": quant}
    wide = {**SMALL, "BLOCK_SIZE_K": 256}
    ok, err = run(mod, p, wide)
    assert not ok and err > 0.05, err
    family = f"{mod.SERVER}-w8a8-block"
    config = lambda entry: protocol.config_of_file_entry(family, entry)  # noqa: E731 (SGLang's: SWAP_AB, SPLIT_K too)
    assert "does not divide block_k 128" in server_block.invalid_reason(family, p, config(wide))
    assert server_block.invalid_reason(family, p, config(SMALL)) is None


@pytest.mark.parametrize("mod", SERVERS.values(), ids=SERVERS)
def test_the_default_config_is_read_from_the_servers_launcher(mod):
    stages = {"vllm": 2, "sglang": 3}[mod.SERVER]
    for bn, bk in ((128, 128), (64, 256)):
        p = {"M": 300, "N": 1024, "K": 1024, "block_n": bn, "block_k": bk}
        assert mod.default_config(p) == {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": bn, "BLOCK_SIZE_K": bk, "GROUP_SIZE_M": 32,
                                         "num_warps": 4, "num_stages": stages}


def test_vllm_has_no_block_int8_gemm():
    with pytest.raises(ValueError, match="no block-quantized int8 GEMM"):
        vllm_block.normalize_problem({"M": 1, "N": 128, "K": 128, "quant": "int8"})
    assert not hasattr(vllm_source.modules().fp8_utils, "w8a8_block_int8_matmul")


@pytest.mark.parametrize("mod,quant", CASES, ids=IDS)
def test_file_names_are_the_servers(mod, quant):
    name = mod.config_file_name({"M": 1, "N": 6144, "K": 4096, "quant": quant})
    shape = "[128,128]" if mod.SERVER == "vllm" else "[128, 128]"
    assert name == f"N=6144,K=4096,device_name=cpu,dtype={quant}_w8a8,block_shape={shape}.json"


def quantizer(server: str, quant: str):
    """The server's own per-token-group activation quantizer as it runs on a CPU (a Triton kernel)."""
    if server == "vllm":
        fp8_utils = vllm_source.modules().fp8_utils
        return lambda x: fp8_utils.per_token_group_quant_fp8(x, 128, column_major_scales=False)
    sglang_source.gemm("fp8_kernel")  # loads SGLang (from the cache: its stand-ins first)
    from sglang.kernels.ops.quantization import fp8_kernel, int8_kernel

    if quant == "fp8":  # on a non-CUDA platform this is its Triton _per_token_group_quant_8bit_raw
        return lambda x: fp8_kernel.per_token_group_quant_fp8(x, 128, column_major_scales=False)
    return lambda x: int8_kernel.per_token_group_quant_int8(x, 128)  # what apply_w8a8_block_int8_linear calls


@pytest.mark.parametrize("server,quant", [("vllm", "fp8"), ("sglang", "fp8"), ("sglang", "int8")])
def test_the_torch_activation_quantizer_is_the_servers(server, quant):
    """block.quantize_activation builds the GEMM's inputs: the server's own Triton quantizer gives the same values."""
    x = (torch.randn(13, 512, generator=torch.Generator().manual_seed(3)) * 3).to(torch.bfloat16)
    x[2, :128] = 0  # an all-zero group: the absmax floor
    q, s = quantizer(server, quant)(x.contiguous())
    ours_q, ours_s = block.quantize_activation(x, quant, 128, reciprocal=server == "vllm")
    assert torch.equal(s, ours_s), (s - ours_s).abs().max()
    assert torch.equal(q.float(), ours_q.float()), (q.float() != ours_q.float()).sum()


def test_sglang_sm90_keys_are_fp8_only():
    """SGLang's int8 block GEMM has no SWAP_AB or SPLIT_K: a config that would write them is ruled out for int8, and
    the fp8 one keeps them (its SM90 kernel; which GPU runs it is the conductor's rule, src/families/server-block.ts)."""
    six = protocol.config_of_file_entry("sglang-w8a8-block", SMALL)
    for sm90 in ({"SWAP_AB": 1}, {"SPLIT_K": 2}):
        int8 = server_block.invalid_reason("sglang-w8a8-block", {"M": 9, "N": 128, "K": 512, "quant": "int8"}, {**six, **sm90})
        assert int8 and "int8 kernel has neither" in int8
        assert server_block.invalid_reason("sglang-w8a8-block", {"M": 9, "N": 128, "K": 512, "quant": "fp8"}, {**six, **sm90}) is None
    assert server_block.invalid_reason("sglang-w8a8-block", {"M": 9, "N": 128, "K": 512, "quant": "int8"}, six) is None
