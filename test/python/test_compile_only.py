"""Compile workers compile for a GPU target without a GPU (kernels/compile_only.py), under the key a launch uses.

Real subprocesses without TRITON_INTERPRET (the interpreter replaces @triton.jit, so these need the compiler).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1,
          "num_warps": 4, "num_stages": 2, "SPLIT_K": 2}


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    return {**env, **extra}


# With Triton's cache hook skipping the compile, record the specialization key of compile_only() (placeholder
# tensors) and of launch() (real, CPU-allocated tensors): a bench worker finds what a compile worker built
# only if they are equal.
KEYS_SCRIPT = r"""
import json, sys, torch
from triton import knobs
from kernels import compile_only, w8a8
keys = []
def hook(key, **_):
    keys.append(str(key))
    return True  # skip the compile
knobs.runtime.jit_cache_hook = hook
config, problem = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with compile_only.active(compile_only.make_driver(compile_only.parse_target("cuda:90"))):
    w8a8.compile_only("w8a8-int8", problem, config)
    inputs = w8a8.make_inputs("w8a8-int8", problem, "cpu")
    w8a8._split_k_buffers = lambda device, dtype, elements, tiles: (torch.zeros(elements, dtype=dtype), torch.zeros(tiles, dtype=torch.int32))
    w8a8.launch("w8a8-int8", inputs, config)
print(json.dumps(keys))
"""


def test_compile_only_key_matches_launch():
    for config, bias in ((CONFIG, False), ({**CONFIG, "SPLIT_K": 1}, True)):
        problem = {"M": 3, "N": 96, "K": 320, "scale_a": "token", "scale_b": "channel", "bias": bias, "out_dtype": "bf16"}
        proc = subprocess.run([sys.executable, "-c", KEYS_SCRIPT, json.dumps(config), json.dumps(problem)], cwd=ROOT,
                              env=_env(), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        keys = json.loads(proc.stdout)
        assert len(keys) == 2 and keys[0] == keys[1], keys


def test_compile_worker_compiles_without_a_gpu(tmp_path):
    req = {"type": "compile", "id": "c", "family": "w8a8-int8", "config": CONFIG,
           "problems": [{"M": 1, "N": 96, "K": 320}, {"M": 64, "N": 96, "K": 320}]}
    bad = {**req, "id": "b", "config": {**CONFIG, "SPLIT_K": 64}}
    text = json.dumps(req) + "\n" + json.dumps(bad) + "\n"
    env = _env(TRITUNE_COMPILE_TARGET="cuda:90", TRITON_CACHE_DIR=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="",
               TRITUNE_PROFILE=str(tmp_path / "prof"))
    proc = subprocess.run([sys.executable, "kernels/worker.py", "--backend", "cuda"], input=text, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    hello, ok, invalid = (json.loads(line) for line in proc.stdout.splitlines())
    assert hello["device"]["name"] == "compile-only (cuda:90)" and hello["device"]["capability"] == [9, 0]
    assert ok["status"] == "ok", ok
    assert invalid["status"] == "invalid" and "SPLIT_K" in invalid["message"]
    cubins = list((tmp_path / "cache").rglob("scaled_mm_kernel.cubin"))
    assert len(cubins) == 1  # both Ms share one binary (M is not specialized)
    profile = json.loads(next(tmp_path.glob("prof.compile.*.json")).read_text())
    assert profile["role"] == "compile" and profile["seconds"]["compile_request"] > 0
