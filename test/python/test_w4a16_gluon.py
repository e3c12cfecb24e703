"""The Gluon probes (kernels/w4a16_gluon.py at decode, kernels/w4a16_gluon_prefill.py at prefill): Gluon has no
interpreter, so on the CPU machine each probe is compiled for sm_90 without a GPU (kernels/compile_only.py) and its
SASS read: the tensor-core products are there, and ptxas did not serialize them (a wgmma whose accumulator an
instruction reads while it is in flight makes ptxas wait after every wgmma, which the decode kernel's two-slot loop
avoids). Their answers are checked on a GPU by bench/w4a16_gemv_probe.py --kernel gluon (or gluon-prefill)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SASS_SCRIPT = r"""
import json, os, subprocess, sys, tempfile, torch, triton
from kernels.compile_only import active, make_driver, parse_target, placeholder
from kernels import w4a16_gluon as G
c, g, zp = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
bf, i32 = placeholder(torch.bfloat16), placeholder(torch.int32)
common = dict(GROUP=0 if g == -1 else g, HAS_ZP=zp, BLOCK_SIZE_N=c["BLOCK_SIZE_N"], BLOCK_SIZE_K=c["BLOCK_SIZE_K"],
              SPLIT_K=c["SPLIT_K"], num_warps=c["num_warps"], grid=(1,))
args = (bf, i32, bf, i32, bf, placeholder(torch.float32), i32, 16, 4608, 7168, 896, 576)
with active(make_driver(parse_target("cuda:90"))):
    if c.get("REG_A"):
        p = {"M": 16, "N": 4608, "K": 7168, "group_size": g}
        k = G.w4a16_gluon_rega_kernel.warmup(*args, MAX_BLOCKS=G._max_blocks(p, c), RING=G.ring_blocks(c), **common)
    else:
        k = G.w4a16_gluon_kernel.warmup(*args, AHEAD=c["AHEAD"], **common)
nvdisasm = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "nvdisasm")
with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
    f.write(k.asm["cubin"]); f.flush()
    print(subprocess.run([nvdisasm, "-c", f.name], capture_output=True, text=True, check=True).stdout)
"""


@pytest.mark.parametrize("config,group,zp", [
    (dict(BLOCK_SIZE_N=64, BLOCK_SIZE_K=128, SPLIT_K=2, num_warps=4, AHEAD=1), 128, True),
    (dict(BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, SPLIT_K=1, num_warps=8, AHEAD=2), -1, False),
    (dict(BLOCK_SIZE_N=128, BLOCK_SIZE_K=128, SPLIT_K=4, num_warps=4, AHEAD=1, REG_A=1), 128, True),
])
def test_gluon_probe_compiles_with_unserialized_wgmma(tmp_path, config, group, zp):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", SASS_SCRIPT, json.dumps(config), str(group), "1" if zp else "0"],
                          cwd=ROOT, env={**env, "TRITON_CACHE_DIR": str(tmp_path / "cache")}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sass = proc.stdout
    blocks = 2 * (config["BLOCK_SIZE_N"] // (16 * config["num_warps"])) * (config["BLOCK_SIZE_K"] // 16)
    assert sass.count("HGMMA.64x16x16.F32.BF16") == blocks  # two K blocks an iteration, each in m64n16k16 steps
    if config.get("REG_A"):  # the weights in the MMA's registers: a register operand, and the loop stores nothing
        assert len(re.findall(r"HGMMA\.64x16x16\.F32\.BF16 R\d+, R\d+, gdesc", sass)) == blocks
        loop = sass[sass.index("HGMMA"):sass.rindex("HGMMA")]  # only the loop has wgmmas
        # the words from the ring (LDS), refilled by cp.async (LDGSTS); the dequantized pairs stored nowhere (STS)
        assert not re.search(r"\sSTS[\s.]", loop) and "LDS.128" in loop and "LDGSTS" in loop
    # a serialized loop waits after every wgmma; this one waits twice an iteration (and once per split-K reduction)
    assert sass.count("WARPGROUP.DEPBAR") <= 3, sass.count("WARPGROUP.DEPBAR")


def test_reg_a_repack_puts_a_lanes_words_together():
    """repack_reg_a: within each block of BK/8 words, word 4t + c sits at c * BK/32 + t."""
    import torch

    sys.path.insert(0, str(ROOT))
    from kernels.w4a16_gluon import repack_reg_a

    q = torch.arange(2 * 32, dtype=torch.int32).view(2, 32)  # two rows, K = 256: two blocks of 16 words at BK 128
    r = repack_reg_a(q, 128)
    for row in range(2):
        for blk in range(2):
            for t in range(4):
                for c in range(4):
                    assert r[row, blk * 16 + c * 4 + t] == q[row, blk * 16 + 4 * t + c]


def test_gluon_probe_refuses_what_it_cannot_run():
    sys.path.insert(0, str(ROOT))
    from kernels import w4a16_gluon as G

    cfg = dict(BLOCK_SIZE_N=64, BLOCK_SIZE_K=128, SPLIT_K=2, num_warps=4, AHEAD=1)
    ok = dict(M=16, N=4608, K=7168, group_size=128)
    assert G.invalid_reason(ok, cfg) is None
    assert "M 17" in G.invalid_reason({**ok, "M": 17}, cfg)
    assert "divide the group" in G.invalid_reason({**ok, "group_size": 32}, cfg)
    assert "bf16" in G.invalid_reason({**ok, "act_dtype": "fp16"}, cfg)
    assert "16 x num_warps" in G.invalid_reason(ok, {**cfg, "num_warps": 8})
    assert "SPLIT_K" in G.invalid_reason({**ok, "K": 256}, {**cfg, "SPLIT_K": 4})
    assert G.invalid_reason(ok, {**cfg, "REG_A": 1, "SPLIT_K": 2}) is None
    assert "shared memory" in G.invalid_reason(ok, {**cfg, "REG_A": 1, "SPLIT_K": 1})  # 7168 x 32 B of activations
    assert "registers" in G.invalid_reason(ok, {**cfg, "REG_A": 1, "BLOCK_SIZE_N": 256, "SPLIT_K": 2})


PREFILL_SCRIPT = r"""
import json, os, subprocess, sys, tempfile, torch, triton
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor
from kernels.compile_only import active, make_driver, parse_target, placeholder
from kernels import w4a16_gluon_prefill as P
c = json.loads(sys.argv[1])
bf, i32 = placeholder(torch.bfloat16), placeholder(torch.int32)
bm, bk = c["BLOCK_SIZE_M"], c["BLOCK_SIZE_K"]
common = dict(GROUP=128, HAS_ZP=True, BLOCK_SIZE_M=bm, BLOCK_SIZE_N=c["BLOCK_SIZE_N"], BLOCK_SIZE_K=bk, RING=c["RING"],
              num_warps=c["num_warps"], grid=(1,))
with active(make_driver(parse_target("cuda:90"))):
    if c.get("REG_A"):  # the activations by TMA: a descriptor over A [M, K]
        a = TensorDescriptor(bf, [1024, 2560], [2560, 1], [bm, bk],
                             gl.NVMMASharedLayout.get_default_for([bm, bk], gl.bfloat16))
        w = a
        if c.get("WORDS_TMA"):  # the words by TMA too: a descriptor over the words [N, K / 8]
            w = TensorDescriptor(i32, [19456, 320], [320, 1], [c["BLOCK_SIZE_N"], bk // 8], gl.NVMMASharedLayout(0, 32, 2))
        k = P.w4a16_gluon_prefill_rega_kernel.warmup(a, w, i32, bf, i32, bf, 1024, 19456, 2560, 320, 2432,
                                                     GROUP_SIZE_M=c["GROUP_SIZE_M"], WORDS_TMA=c.get("WORDS_TMA", 0),
                                                     **common)
    else:
        k = P.w4a16_gluon_prefill_kernel.warmup(bf, i32, bf, i32, bf, 1024, 19456, 2560, 320, 2432,
                                                GROUP_SIZE_M=c["GROUP_SIZE_M"], **common)
nvdisasm = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "nvdisasm")
with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
    f.write(k.asm["cubin"]); f.flush()
    sass = subprocess.run([nvdisasm, "-c", f.name], capture_output=True, text=True, check=True).stdout
print(json.dumps({"shared": k.metadata.shared, "sass": sass}))
"""


def _prefill_build(tmp_path, config: dict) -> dict:
    """One prefill probe config compiled for sm_90 without a GPU: its shared memory and SASS; the probe accepts it on
    the problem compiled and counts the shared memory Triton allocates."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", PREFILL_SCRIPT, json.dumps(config)], cwd=ROOT,
                          env={**env, "TRITON_CACHE_DIR": str(tmp_path / "cache")}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    sys.path.insert(0, str(ROOT))
    from kernels import w4a16_gluon_prefill as P

    assert P.invalid_reason({"M": 1024, "N": 19456, "K": 2560, "group_size": 128}, config) is None
    assert out["shared"] == P.smem_bytes(config)
    return out


@pytest.mark.parametrize("config", [
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, RING=4, num_warps=8),
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=128, BLOCK_SIZE_K=128, GROUP_SIZE_M=8, RING=4, num_warps=8),
])
def test_gluon_prefill_probe_compiles_with_shared_operands(tmp_path, config):
    """Both wgmma operands from shared memory (the dequantized weights stored there), one wait a K step."""
    out = _prefill_build(tmp_path, config)
    bn, steps = config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"] // 16
    wgmmas = re.findall(rf"HGMMA\.64x{bn}x16\.F32\.BF16 R\d+, gdesc", out["sass"])  # no register operand: both shared
    assert len(wgmmas) == steps, len(wgmmas)
    assert out["sass"].count("WARPGROUP.DEPBAR") <= 2  # one wait a K step in the loop, one after it


def test_gluon_prefill_probe_refuses_what_it_cannot_run():
    sys.path.insert(0, str(ROOT))
    from kernels import w4a16_gluon_prefill as P

    cfg = dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, RING=4, num_warps=8)
    ok = dict(M=1024, N=4608, K=7168, group_size=128)
    assert P.invalid_reason(ok, cfg) is None
    assert "16 x num_warps" in P.invalid_reason(ok, {**cfg, "num_warps": 4})
    assert "group size" in P.invalid_reason({**ok, "group_size": 32}, cfg)
    assert "shared memory" in P.invalid_reason(ok, {**cfg, "BLOCK_SIZE_K": 128, "RING": 6})
    assert "RING" in P.invalid_reason(ok, {**cfg, "RING": 2})
    reg_a = dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, RING=3, num_warps=8, REG_A=1)
    assert P.invalid_reason(ok, reg_a) is None
    assert "registers" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_K": 128})  # two 128-wide fragments: spills
    assert "even" in P.invalid_reason({**ok, "K": 192}, reg_a)
    assert "multiple of 16 x num_warps" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_N": 64})
    assert "must be 64, 128 or 256" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_M": 32})
    assert P.invalid_reason(ok, {**reg_a, "WORDS_TMA": 1}) is None
    assert all(P.invalid_reason(ok, c) is None for c in P.space())


def test_prefill_reg_a_repack_gives_each_lane_its_fragment_pairs():
    """repack_prefill_reg_a: word c * H + h of a K block holds, as its pair j (nibbles j and j + 4), the values at
    K = 32h + 16(j // 2) + 8(j % 2) + 2c and the next one: the pairs lane c holds in the wgmma A fragment."""
    import torch

    sys.path.insert(0, str(ROOT))
    from kernels.w4a16_gluon_prefill import repack_prefill_reg_a
    from kernels.w4a16_pack import pack_int4

    gen = torch.Generator().manual_seed(0)
    for bk in (64, 128):
        q = torch.randint(0, 16, (3, 2 * bk), generator=gen, dtype=torch.int32)  # two K blocks
        r = repack_prefill_reg_a(pack_int4(q, awq=True), bk)
        h_count = bk // 32
        for row in range(3):
            for blk in range(2):
                for c in range(4):
                    for h in range(h_count):
                        word = int(r[row, blk * bk // 8 + c * h_count + h]) & 0xFFFFFFFF
                        for j in range(4):
                            k = blk * bk + 32 * h + 16 * (j // 2) + 8 * (j % 2) + 2 * c
                            assert (word >> (4 * j)) & 0xF == q[row, k]
                            assert (word >> (4 * j + 16)) & 0xF == q[row, k + 1]


def test_reg_a_unrepacked_words_give_lane_c_the_repacks_pairs():
    """WORDS_TMA: lane c shifts pair c of word 4h + j down (_natural_words, _lane_pair) where the repacked form has
    pair j of its word (c, h): the same K values, so both forms make the same fragment (the repack's mapping to the
    fragment is the test above)."""
    import torch

    sys.path.insert(0, str(ROOT))
    from kernels.w4a16_gluon_prefill import repack_prefill_reg_a
    from kernels.w4a16_pack import pack_int4

    q = torch.randint(0, 16, (5, 256), generator=torch.Generator().manual_seed(1), dtype=torch.int32)
    natural = pack_int4(q, awq=True)
    for bk in (64, 128):
        h_count = bk // 32
        repacked = repack_prefill_reg_a(natural, bk)
        for blk in range(256 // bk):
            for c in range(4):
                for h in range(h_count):
                    for j in range(4):
                        rep = repacked[:, blk * bk // 8 + c * h_count + h].to(torch.int64) >> (4 * j)
                        nat = natural[:, blk * bk // 8 + 4 * h + j].to(torch.int64) >> (4 * c)
                        assert torch.equal(rep & 0x000F000F, nat & 0x000F000F)


@pytest.mark.parametrize("config", [
    dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, RING=3, num_warps=8, REG_A=1),
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=128, BLOCK_SIZE_K=128, GROUP_SIZE_M=8, RING=4, num_warps=8, REG_A=1),
    dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=64, BLOCK_SIZE_K=64, GROUP_SIZE_M=4, RING=3, num_warps=4, REG_A=1,
         WORDS_TMA=1),
    dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=4, RING=3, num_warps=8, REG_A=1,
         WORDS_TMA=1),  # two warp groups: serialized (C7515) before the shift came from %laneid
])
def test_gluon_prefill_reg_a_compiles_to_register_operand_wgmmas(tmp_path, config):
    """REG_A prefill: every wgmma takes the weights from registers (no shared-memory store or shuffle in the loop:
    the fragment is a renaming of the dequantized pairs), activations (WORDS_TMA: and words) by TMA, two waits a pair
    of steps."""
    out = _prefill_build(tmp_path, config)
    sass = out["sass"]
    bm, reps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"] // (16 * config["num_warps"])
    wgmmas = re.findall(rf"HGMMA\.64x{bm}x16\.F32\.BF16 R\d+, R\d+, gdesc", sass)
    assert len(wgmmas) == 2 * reps * config["BLOCK_SIZE_K"] // 16  # a pair of steps, each BK/16 k-steps a rep
    loop = sass[sass.index("HGMMA"):sass.rindex("HGMMA")]
    assert not re.search(r"\sSTS[\s.]", loop) and "SHFL" not in loop and "UTMALDG" in loop
    if config.get("WORDS_TMA"):  # a TMA copy for the words besides the activations', read back whole
        assert len(re.findall(r"UTMALDG", sass)) >= 2 * 2 and re.search(r"\sLDS\.128\s", loop)
    else:
        assert not re.search(r"\sLDS[\s.]", loop)
    assert sass.count("WARPGROUP.DEPBAR") <= 3  # one wait a step in the loop, one after it: nothing serialized
