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


# The W4A16 families: for each (family, problem, config) the keys of compile_only() and of launch() on real CPU
# inputs (a MoE 'layer' launches three kernels), and the problem's compile_variant.
W4_KEYS_SCRIPT = r"""
import json, sys
from triton import knobs
from kernels import compile_only
from kernels.family import family_module
keys = []
knobs.runtime.jit_cache_hook = lambda key, fn, **_: keys.append(f"{fn.name} {key}") or True  # skip the compile
out = []
with compile_only.active(compile_only.make_driver(compile_only.parse_target("cuda:90"))):
    for family, raw, config in json.loads(sys.argv[1]):
        mod = family_module(family)
        problem = mod.normalize_problem(family, raw)
        assert mod.invalid_reason(family, problem, config) is None, (problem, config)
        keys.clear()
        mod.compile_only(family, problem, config)
        warm = list(keys)
        keys.clear()
        mod.launch(family, mod.make_inputs(family, problem, "cpu"), config)
        out.append({"compile": warm, "launch": list(keys), "variant": mod.compile_variant(family, problem)})
print(json.dumps(out))
"""

W4_DECODE = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 1, "num_warps": 4,
             "num_stages": 2, "SPLIT_K": 2, "K_UNROLL": 1}
W4_PREFILL = {**W4_DECODE, "BLOCK_SIZE_M": 32, "GROUP_SIZE_M": 8, "SPLIT_K": 1, "K_UNROLL": 2}
MOE = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}


def _w4_keys(cases: list) -> list:
    proc = subprocess.run([sys.executable, "-c", W4_KEYS_SCRIPT, json.dumps(cases)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _same_variant_same_keys(cases: list, results: list) -> None:
    """Problems compile_variant puts together launch the same binaries (so one compile serves them)."""
    by_variant: dict = {}
    for (family, _, config), r in zip(cases, results):
        variant = json.dumps([family, config, r["variant"]], sort_keys=True)
        by_variant.setdefault(variant, set()).add(tuple(sorted(r["launch"])))
    assert all(len(keys) == 1 for keys in by_variant.values()), by_variant


def test_w4a16_compile_only_keys_match_launch():
    cases = [("w4a16", {"M": M, "N": 96, "K": 256, "group_size": g, "zero_points": zp}, config)
             for M in (1, 3, 64) for g, zp in ((32, True), (128, False)) for config in (W4_DECODE, W4_PREFILL)]
    cases += [("w4a16", {"M": 3, "N": 100, "K": 256, "group_size": -1, "act_dtype": "fp16"}, W4_PREFILL),
              ("w4a16", {"M": 3, "N": 100, "K": 200, "group_size": -1}, W4_DECODE)]  # ragged K, N not % 16
    cases += [("w4a16", {"M": M, "N": 96, "K": 256}, W4_DECODE) for M in (2, 4, 5, 8, 9, 15, 16, 17, 33)]
    # shapes that agree on N, ceil(N/8), K and K/8 modulo 16 share a binary (compileKey in src/families/w4a16.ts)
    cases += [("w4a16", {"M": 3, "N": N, "K": K, "group_size": 32}, W4_DECODE) for N, K in ((128, 256), (384, 512))]
    cases.append(("w4a16", {"M": 3, "N": 128, "K": 288, "group_size": 32}, W4_DECODE))  # K % 16 == 0, K/8 % 16 != 0
    over = {**W4_DECODE, "BLOCK_SIZE_K": 64}  # a block over two groups of 32 (SCALE_W)
    cases += [("w4a16", {"M": M, "N": 96, "K": 256, "group_size": 32}, over) for M in (1, 17)]
    results = _w4_keys(cases)
    for case, r in zip(cases, results):
        assert len(r["compile"]) == 1 and r["compile"] == r["launch"], (case, r)
    _same_variant_same_keys(cases, results)
    every_m = {r["launch"][0] for case, r in zip(cases, results) if case[1].keys() == {"M", "N", "K"}}
    assert len(every_m) == 1  # M never enters the binary
    assert results[-4]["launch"] == results[-5]["launch"]
    assert results[-3]["launch"] != results[-4]["launch"]  # K/8 is its own argument


def test_w4a16_tma_compile_only_keys_match_launch():
    """TMA takes the words through a descriptor built in _run for both: compile_only meets the launch's binary, one per
    quantization and never per M; N not a multiple of the tile and N, K that differ modulo 16 share it where
    compileKey (src/families/w4a16.ts) says they do."""
    tma = {**W4_DECODE, "TMA": 1}
    cases = [("w4a16", {"M": M, "N": 96, "K": 256, "group_size": g, "zero_points": zp}, tma)
             for M in (1, 3, 64) for g, zp in ((32, True), (128, False))]
    cases += [("w4a16", {"M": 3, "N": N, "K": K, "group_size": 32}, tma) for N, K in ((128, 256), (384, 512))]
    cases.append(("w4a16", {"M": 3, "N": 100, "K": 288, "group_size": 32}, {**tma, "BLOCK_SIZE_K": 64}))
    results = _w4_keys(cases)
    for case, r in zip(cases, results):
        assert len(r["compile"]) == 1 and r["compile"] == r["launch"], (case, r)
    _same_variant_same_keys(cases, results)
    assert len({r["launch"][0] for r in results[:6]}) == 2  # per quantization, never per M
    assert results[6]["launch"] == results[7]["launch"]
    plain = _w4_keys([("w4a16", {"M": 3, "N": 96, "K": 256, "group_size": 32}, W4_DECODE)])
    assert plain[0]["launch"] != results[0]["launch"]  # TMA is its own binary


def test_w4a16_dequant_gemm_compile_only_keys_match_launch():
    """The prefill path compiles its dequantization kernel ahead, one binary for every M as the fused kernel."""
    dequant = {**W4_DECODE, "SPLIT_K": 1, "GROUP_SIZE_M": 8, "BLOCK_SIZE_K": 32, "DEQUANT_GEMM": 1}
    cases = [("w4a16", {"M": M, "N": 96, "K": 256, "group_size": g, "zero_points": zp}, dequant)
             for M in (256, 300, 1024) for g, zp in ((32, True), (128, False), (-1, True))]
    results = _w4_keys(cases)
    for case, r in zip(cases, results):
        assert len(r["compile"]) == 1 and r["compile"] == r["launch"] and r["launch"][0].startswith("dequant_kernel"), (case, r)
    _same_variant_same_keys(cases, results)
    assert len({r["launch"][0] for r in results}) == 3  # per quantization, never per M


def test_w4a16_reg_a_compile_only_keys_match_launch():
    """The Gluon prefill path (REG_A) builds its two TMA descriptors in one place for both: compile_only meets the
    launch's binary, one per quantization and never per M (M is not specialized, nor the descriptors' shapes)."""
    reg_a = {**W4_DECODE, "BLOCK_SIZE_M": 64, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 8, "num_stages": 3, "SPLIT_K": 1,
             "REG_A": 1}
    cases = [("w4a16", {"M": M, "N": 96, "K": 256, "group_size": g, "zero_points": zp}, reg_a)
             for M in (256, 300, 1024) for g, zp in ((128, True), (-1, False))]
    results = _w4_keys(cases)
    for case, r in zip(cases, results):
        assert len(r["compile"]) == 1 and r["compile"] == r["launch"], (case, r)
        assert r["launch"][0].startswith("w4a16_gluon_prefill_rega_kernel"), r
    _same_variant_same_keys(cases, results)
    assert len({r["launch"][0] for r in results}) == 2  # per quantization, never per M


def test_moe_w4a16_compile_only_keys_match_launch():
    base = {"E": 8, "top_k": 2, "N": 128, "K": 256}
    cases = [("moe-w4a16", {**base, "M": M, "gemm": gemm, "group_size": g, "zero_points": zp}, MOE)
             for M in (1, 3, 64) for gemm in ("up", "down", "layer") for g, zp in ((32, True), (128, False))]
    cases.append(("moe-w4a16", {**base, "M": 5, "gemm": "layer", "group_size": -1, "act_dtype": "fp16"}, MOE))
    cases += [("moe-w4a16", {**base, "M": M, "top_k": 3}, MOE) for M in range(1, 25)]
    cases += [("moe-w4a16", {**base, "M": M, "top_k": 1, "gemm": "layer"}, MOE) for M in (1, 2)]  # 1 pair: not a constant either
    results = _w4_keys(cases)
    for case, r in zip(cases, results):
        assert len(r["compile"]) == (3 if case[1].get("gemm") == "layer" else 1), (case, r)
        assert sorted(r["compile"]) == sorted(r["launch"]), (case, r)
    _same_variant_same_keys(cases, results)
    sweep = {r["launch"][0] for case, r in zip(cases, results) if case[1]["top_k"] == 3}
    assert len(sweep) == 1  # M never enters the MoE binary (the pair count and the grid bound are not specialized)
    # nor GROUP_SIZE_M (an int argument, not specialized): the configs that differ in it only share their binary, as
    # the conductor's compile key for the family assumes (src/families/moe-w4a16.ts)
    grouped = [("moe-w4a16", {**base, "M": 3, "gemm": "up", "group_size": 128}, {**MOE, "GROUP_SIZE_M": g})
               for g in (1, 8, 16)]
    assert len({r["launch"][0] for r in _w4_keys(grouped)}) == 1
    other = [("moe-w4a16", {**base, "M": 3, "gemm": "up", "group_size": 128}, {**MOE, "num_stages": s}) for s in (2, 3)]
    assert len({r["launch"][0] for r in _w4_keys(other)}) == 2
    # the TMA path: the same keys compiled and launched (its descriptor is an argument of its own type), a binary of
    # its own, and again one for every M
    tma = [("moe-w4a16", {**base, "M": M, "gemm": gemm, "group_size": 128}, {**MOE, "TMA": t})
           for M in (1, 3, 64) for gemm in ("up", "layer") for t in (0, 1)]
    results = _w4_keys(tma)
    for case, r in zip(tma, results):
        assert sorted(r["compile"]) == sorted(r["launch"]), (case, r)
    _same_variant_same_keys(tma, results)
    assert len({r["launch"][0] for case, r in zip(tma, results) if case[1]["gemm"] == "up"}) == 2  # TMA 0 and 1


def test_w4a16_compile_workers_compile_without_a_gpu(tmp_path):
    w4 = {"type": "compile", "id": "w4", "family": "w4a16", "config": W4_DECODE,
          "problems": [{"M": M, "N": 96, "K": 256, "group_size": 32} for M in (1, 3, 4)]}
    moe = {"type": "compile", "id": "moe", "family": "moe-w4a16", "config": MOE,
           "problems": [{"M": 1, "E": 8, "top_k": 2, "N": 128, "K": 256, "gemm": "layer", "group_size": 32}]}
    env = _env(TRITUNE_COMPILE_TARGET="cuda:90", TRITON_CACHE_DIR=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "kernels/worker.py", "--backend", "cuda"], cwd=ROOT, env=env, text=True,
                          input=json.dumps(w4) + "\n" + json.dumps(moe) + "\n", capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    _, w4_done, moe_done = (json.loads(line) for line in proc.stdout.splitlines())
    assert w4_done["status"] == "ok" and moe_done["status"] == "ok", (w4_done, moe_done)
    cubins = sorted(p.name for p in (tmp_path / "cache").rglob("*.cubin"))
    # W4A16: one binary for M = 1, 3 and 4; the layer: up and down GEMMs and the SiLU-and-mul kernel
    assert cubins == ["_moe_w4a16_kernel.cubin"] * 2 + ["_silu_and_mul_kernel.cubin"] + ["w4a16_kernel.cubin"]


SMEM_SCRIPT = r"""
import json, sys
from kernels import compile_only, moe_w4a16 as moe
out = []
problem = {"M": 4096, "N": 768, "K": 2048, "E": 128, "top_k": 8, "gemm": "layer", "group_size": 128}
with compile_only.active(compile_only.make_driver(compile_only.parse_target("cuda:90"))):
    for config in json.loads(sys.argv[1]):
        with compile_only.compiled_kernels() as kernels:
            moe.compile_only("moe-w4a16", problem, config)
        out.append([k.metadata.shared for k in kernels if k.name == "_moe_w4a16_kernel"])
print(json.dumps(out))
"""


def test_moe_w4a16_shared_memory_estimate_bounds_the_compiled_kernels(tmp_path):
    """kernels/moe_w4a16.py smem_bytes against what Triton allocates for sm_90 (both GEMMs of a Qwen3-30B-A3B layer),
    with and without TMA: never under (a config it lets through fits), at most 512 B over (it refuses nothing that fits)."""
    keys = tuple(MOE) + ("TMA",)
    configs = [dict(zip(keys, c)) for c in ((16, 64, 128, 1, 4, 4, 0), (16, 128, 64, 1, 4, 3, 0), (32, 256, 32, 16, 4, 2, 0),
                                            (64, 128, 128, 1, 8, 3, 0), (128, 256, 64, 16, 8, 4, 0),
                                            (16, 128, 128, 1, 4, 4, 1), (16, 256, 64, 1, 4, 5, 1), (64, 128, 64, 16, 8, 3, 1))]
    proc = subprocess.run([sys.executable, "-c", SMEM_SCRIPT, json.dumps(configs)], cwd=ROOT,
                          env=_env(TRITON_CACHE_DIR=str(tmp_path / "cache")), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    sys.path.insert(0, str(ROOT))
    from kernels.moe_w4a16 import smem_bytes

    for config, shared in zip(configs, json.loads(proc.stdout)):
        assert len(shared) == 2, shared  # the up and the down GEMM
        assert all(0 <= smem_bytes(config) - s <= 512 for s in shared), (config, shared, smem_bytes(config))
