"""The Gluon kernels: the decode probe (kernels/w4a16_gluon.py) and the family's REG_A path at prefill
(kernels/w4a16_gluon_prefill.py). Gluon has no interpreter, so on the CPU machine each is compiled for sm_90 without a
GPU (kernels/compile_only.py) and its SASS read: the tensor-core products are there, and ptxas did not serialize them (a
wgmma whose accumulator an instruction reads while it is in flight makes ptxas wait after every wgmma, which the
decode kernel's two-slot loop avoids). Their answers are checked on a GPU: bench/w4a16_gemv_probe.py --kernel gluon
(or gluon-prefill), and for REG_A bench/w4a16.py and the tuner's check of every config it times."""

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
from kernels.compile_only import active, make_driver, parse_target, placeholder
from kernels import w4a16_gluon_prefill as P
c = json.loads(sys.argv[1])
bf, i32 = placeholder(torch.bfloat16), placeholder(torch.int32)
p = dict(M=1024, N=19456, K=2560, group_size=128, zero_points=True)
with active(make_driver(parse_target("cuda:90"))):  # the launch's own arguments (run_reg_a), warmed up
    P.run_reg_a(lambda kernel, grid: lambda *a, **kw: kernel.warmup(*a, grid=grid, **kw), bf, i32, bf, i32, bf, p, c)
(k,) = [k for cache in P.w4a16_gluon_prefill_rega_kernel.device_caches.values() for k in cache[0].values()]
nvdisasm = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "nvdisasm")
with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
    f.write(k.asm["cubin"]); f.flush()
    sass = subprocess.run([nvdisasm, "-c", f.name], capture_output=True, text=True, check=True).stdout
print(json.dumps({"shared": k.metadata.shared, "sass": sass}))
"""


def _prefill_build(tmp_path, config: dict) -> dict:
    """One REG_A config compiled for sm_90 without a GPU: its shared memory and SASS; the rules accept it on the
    problem compiled and count the shared memory Triton allocates."""
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


def test_gluon_prefill_refuses_what_it_cannot_run():
    sys.path.insert(0, str(ROOT))
    from kernels import w4a16_gluon_prefill as P

    ok = dict(M=1024, N=4608, K=7168, group_size=128)
    reg_a = dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, num_stages=3, num_warps=8)
    assert P.invalid_reason(ok, reg_a) is None
    assert "group size" in P.invalid_reason({**ok, "group_size": 32}, reg_a)
    assert "registers" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_K": 128})  # two 128-wide fragments: spills
    assert "even" in P.invalid_reason({**ok, "K": 192}, reg_a)
    assert "multiple of 16 x num_warps" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_N": 64})
    assert "must be 16, 32, 64, 128 or 256" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_M": 48})
    assert "num_stages 1" in P.invalid_reason(ok, {**reg_a, "num_stages": 1})
    assert "shared memory" in P.invalid_reason(ok, {**reg_a, "BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 64,
                                                    "BLOCK_SIZE_K": 128, "num_warps": 4, "num_stages": 8})
    assert P.space() and all(P.invalid_reason(ok, c) is None for c in P.space())
    assert P.space(16) and all(P.invalid_reason({**ok, "M": 1}, c) is None for c in P.space(16))


def test_reg_a_words_give_lane_c_its_fragment_pairs():
    """The words as the checkpoint has them (AWQ order: word 4h + j of a K block holds K = 32h + 8j .. + 7, element e
    at nibble [0, 4, 1, 5, 2, 6, 3, 7][e]), shifted down by 4c by lane c (_natural_words, _lane_pair), hold at nibbles 0
    and 4 the values at K = 32h + 16(j // 2) + 8(j % 2) + 2c and the next one: the pair j that lane c holds in the
    wgmma A fragment of the block's k-step h (the m64nNk16 register layout, two k-steps of 16 a 32-wide h)."""
    import torch

    sys.path.insert(0, str(ROOT))
    from kernels.w4a16_pack import pack_int4

    q = torch.randint(0, 16, (5, 256), generator=torch.Generator().manual_seed(1), dtype=torch.int32)
    words = pack_int4(q, awq=True).to(torch.int64) & 0xFFFFFFFF
    for bk in (64, 128):
        for blk in range(256 // bk):
            for h in range(bk // 32):
                for j in range(4):
                    for c in range(4):
                        u = words[:, blk * bk // 8 + 4 * h + j] >> (4 * c)
                        k = blk * bk + 32 * h + 16 * (j // 2) + 8 * (j % 2) + 2 * c
                        assert torch.equal(u & 0xF, q[:, k].to(torch.int64))
                        assert torch.equal((u >> 16) & 0xF, q[:, k + 1].to(torch.int64))


@pytest.mark.parametrize("config", [
    dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=128, BLOCK_SIZE_K=128, GROUP_SIZE_M=8, num_stages=4, num_warps=8),
    dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=64, BLOCK_SIZE_K=64, GROUP_SIZE_M=4, num_stages=3, num_warps=4),
    dict(BLOCK_SIZE_M=256, BLOCK_SIZE_N=128, BLOCK_SIZE_K=64, GROUP_SIZE_M=4, num_stages=3, num_warps=8),
    # two warp groups: serialized (C7515) before the shift came from %laneid
])
def test_gluon_prefill_reg_a_compiles_to_register_operand_wgmmas(tmp_path, config):
    """REG_A: every wgmma takes the weights from registers (no shared-memory store or shuffle in the loop: the
    fragment is a renaming of the dequantized pairs), activations and words by TMA (the words read back whole from
    shared memory), two waits a pair of steps."""
    out = _prefill_build(tmp_path, config)
    sass = out["sass"]
    bm, reps = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"] // (16 * config["num_warps"])
    wgmmas = re.findall(rf"HGMMA\.64x{bm}x16\.F32\.BF16 R\d+, R\d+, gdesc", sass)
    assert len(wgmmas) == 2 * reps * config["BLOCK_SIZE_K"] // 16  # a pair of steps, each BK/16 k-steps a rep
    loop = sass[sass.index("HGMMA"):sass.rindex("HGMMA")]
    assert not re.search(r"\sSTS[\s.]", loop) and "SHFL" not in loop and "UTMALDG" in loop
    assert len(re.findall(r"UTMALDG", sass)) >= 2 * 2 and re.search(r"\sLDS\.128\s", loop)
    assert sass.count("WARPGROUP.DEPBAR") <= 3  # one wait a step in the loop, one after it: nothing serialized
