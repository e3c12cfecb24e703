"""The sim's compile-latency model (TRITUNE_SIM_COMPILE_MS): off by default, shared cache between workers."""

import time

from kernels.sim import SimBackend

CONFIG = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 256, "GROUP_SIZE_M": 8,
          "num_warps": 4, "num_stages": 4, "SPLIT_K": 1}
PROBLEMS = [{"M": 1, "N": 6144, "K": 2560}, {"M": 64, "N": 6144, "K": 2560}]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def test_off_by_default_no_sleep():
    sim = SimBackend(env={})
    _, s = timed(lambda: sim.compile({"id": "c", "family": "w8a8-int8", "config": CONFIG, "problems": PROBLEMS}))
    assert s < 0.05


def test_compile_worker_warms_the_bench_worker_through_the_shared_cache(tmp_path):
    env = {"TRITUNE_SIM_COMPILE_MS": "200", "TRITUNE_SIM_COMPILE_CACHE": str(tmp_path)}
    compiler, bench = SimBackend(env=env), SimBackend(env=env)
    got, s = timed(lambda: compiler.compile({"id": "c", "family": "w8a8-int8", "config": CONFIG, "problems": PROBLEMS}))
    assert got["status"] == "ok" and 0.1 <= s < 0.5  # one binary for both Ms (M is not specialized)
    req = {"id": "t", "family": "w8a8-int8", "config": CONFIG, "problems": PROBLEMS, "check": True, "effort": "quick"}
    res, s = timed(lambda: bench.trial(req))
    assert res["compile_ms"] < 50 and s < 0.1  # loaded from the cache
    other = {**CONFIG, "num_warps": 8}
    res, s = timed(lambda: bench.trial({**req, "config": other}))
    assert res["compile_ms"] >= 100 and s >= 0.1  # not compiled ahead: the bench worker pays for it
    res, s = timed(lambda: bench.trial({**req, "config": other}))
    assert s < 0.05  # in this process now


def test_a_server_family_compiles_every_m(tmp_path):
    """The servers' kernels specialize on M-derived integers (kernels/server_moe.py compile_variant): two Ms are two
    binaries, so a compile of both sleeps twice, where W8A8's one binary sleeps once."""
    env = {"TRITUNE_SIM_COMPILE_MS": "200", "TRITUNE_SIM_COMPILE_CACHE": str(tmp_path)}
    layer = [{"M": m, "N": 768, "K": 2048, "E": 128, "top_k": 8} for m in (1, 64)]
    got, s = timed(lambda: SimBackend(env=env).compile({"id": "c", "family": "vllm-moe", "config": {**CONFIG},
                                                        "problems": layer}))
    assert s >= 0.2  # two binaries of 100-200 ms each


def test_w4a16_shapes_that_triton_classes_alike_share_a_binary(tmp_path):
    """As the family's compile key (src/families/w4a16.ts compileKey): N, N/8, K and K/8 as Triton classes them, the
    quantization and EVEN_K; two Qwen3-4B shapes (all multiples of 16) share one binary, another group size does
    not."""
    env = {"TRITUNE_SIM_COMPILE_MS": "200", "TRITUNE_SIM_COMPILE_CACHE": str(tmp_path)}
    config = {**CONFIG, "BLOCK_SIZE_K": 128, "K_UNROLL": 1}
    g128 = [{"M": 1, "N": 6144, "K": 2560, "group_size": 128, "zero_points": True},
            {"M": 16, "N": 2560, "K": 9728, "group_size": 128, "zero_points": True}]
    sim = SimBackend(env=env)
    assert len(sim._binaries("w4a16", config, g128)) == 1
    assert len(sim._binaries("w4a16", config, g128 + [{**g128[0], "group_size": 32}])) == 2
    assert len(sim._binaries("w4a16", config, g128 + [{**g128[0], "K": 2600}])) == 2  # K not a multiple of 16
