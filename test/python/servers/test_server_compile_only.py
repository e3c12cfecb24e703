"""Compile workers build the servers' kernels without a GPU (kernels/servers/compiling.py), under the keys a launch
looks up. Real subprocesses without TRITON_INTERPRET (the interpreter replaces @triton.jit, so these need the
compiler), each asking the platform questions as a compile worker for an H100/H200 does (TRITUNE_COMPILE_TARGET).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MOE = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}
VLLM_MOE = {**MOE, "SPLIT_K": 1}  # vLLM's key set (its wna16 kernel takes SPLIT_K)
BLOCK = {**MOE, "BLOCK_SIZE_K": 128}


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    return {**env, "TRITUNE_COMPILE_TARGET": "cuda:90", "CUDA_VISIBLE_DEVICES": "", **extra}


# With Triton's cache hook skipping every compile, record (kernel, specialization key) of compile_only() (placeholder
# weights) and of launch() on real CPU inputs, the stand-ins taking their Triton kernels as on a GPU: a bench worker
# finds what a compile worker built only if they are equal, M by M.
KEYS_SCRIPT = r"""
import json, sys
from triton import knobs
from kernels import compile_only
from kernels.family import family_module
from kernels.servers import fast_ops
family, config, problems = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
mod = family_module(family)
keys = []
def hook(key, fn, **_):
    keys.append([fn.name, str(key)])
    return True  # skip the compile
knobs.runtime.jit_cache_hook = hook
out = {"compile_only": [], "launch": []}
with compile_only.active(compile_only.make_driver(compile_only.parse_target("cuda:90"))):
    for problem in problems:
        keys.clear()
        mod.compile_only(family, problem, config)
        out["compile_only"].append(list(keys))
        keys.clear()
        with fast_ops.anywhere():
            mod.launch(family, mod.make_inputs(family, problem, "cpu"), config)
        out["launch"].append(list(keys))
print(json.dumps(out))
"""

CASES = [
    ("vllm-moe", "bf16", VLLM_MOE),
    ("vllm-moe", "fp8_w8a8_block", VLLM_MOE),
    ("vllm-moe", "int4_w4a16", VLLM_MOE),
    ("sglang-moe", "bf16", MOE),
    ("sglang-moe", "fp8_w8a8_block", MOE),
    ("sglang-moe", "int4_w4a16", MOE),
    ("vllm-w8a8-block", "fp8", BLOCK),
    ("sglang-w8a8-block", "fp8", BLOCK),
    ("sglang-w8a8-block", "int8", BLOCK),
]


def _problems(family, quant):
    if family.endswith("-moe"):
        base = {"E": 8, "N": 128, "K": 256, "top_k": 2, "quant": quant}
    else:
        base = {"N": 256, "K": 384, "quant": quant}
    return [{"M": m, **base} for m in (1, 5, 64)]


@pytest.mark.parametrize("family,quant,config", CASES)
def test_compile_only_keys_match_launch(family, quant, config):
    proc = subprocess.run([sys.executable, "-c", KEYS_SCRIPT, family, json.dumps(config),
                           json.dumps(_problems(family, quant))],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    kernels = {name for per_m in got["compile_only"] for name, _ in per_m}
    assert kernels, "compile_only launched no Triton kernel"
    assert got["compile_only"] == got["launch"]


def test_compile_worker_builds_a_server_layer_without_a_gpu(tmp_path):
    """A compile worker answers ok for a vLLM fused-MoE layer and leaves the server's kernel in the cache; M=1 and
    M=64 specialize differently (two binaries of the kernel per GEMM signature), M=64 and M=128 do not."""
    problems = [{"M": m, "E": 8, "N": 128, "K": 256, "top_k": 2} for m in (1, 64, 128)]
    req = {"type": "compile", "id": "c", "family": "vllm-moe", "config": VLLM_MOE, "problems": problems}
    bad = {**req, "id": "b", "config": MOE}
    text = json.dumps(req) + "\n" + json.dumps(bad) + "\n"
    proc = subprocess.run([sys.executable, "kernels/worker.py", "--backend", "cuda"], input=text, cwd=ROOT,
                          env=_env(TRITON_CACHE_DIR=str(tmp_path / "cache")), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hello, ok, invalid = (json.loads(line) for line in proc.stdout.splitlines())
    assert hello["device"]["name"] == "compile-only (cuda:90)"
    assert ok["status"] == "ok", ok
    assert invalid["status"] == "invalid" and "SPLIT_K" in invalid["message"]
    cubins = list((tmp_path / "cache").rglob("fused_moe_kernel.cubin"))
    assert 2 <= len(cubins) <= 4, cubins


def test_a_binary_over_the_gpus_shared_memory_is_refused_for_every_m(tmp_path):
    """With the GPUs' limit (TRITUNE_COMPILE_SMEM, from the bench workers' hello) below what the config's binary
    takes, the compile worker answers invalid for every M (the server's kernel takes as much at every M); above it, ok."""
    problems = [{"M": m, "E": 8, "N": 128, "K": 256, "top_k": 2} for m in (1, 64)]
    req = {"type": "compile", "id": "c", "family": "vllm-moe", "config": VLLM_MOE, "problems": problems}
    answers = {}
    for limit in ("4096", "232448"):
        proc = subprocess.run([sys.executable, "kernels/worker.py", "--backend", "cuda"], input=json.dumps(req) + "\n",
                              cwd=ROOT, env=_env(TRITON_CACHE_DIR=str(tmp_path / "cache"), TRITUNE_COMPILE_SMEM=limit),
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        answers[limit] = json.loads(proc.stdout.splitlines()[1])
    small, h200 = answers["4096"], answers["232448"]
    assert small["status"] == "invalid" and small["every_m"] is True, small
    assert "shared memory" in small["message"] and "Hardware limit: 4096" in small["message"]
    assert h200["status"] == "ok" and h200["every_m"] is False, h200
