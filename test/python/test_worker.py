"""The worker protocol over real subprocesses, with the sim backend (every fault included)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INT8_CONFIG = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 256, "GROUP_SIZE_M": 8,
               "num_warps": 4, "num_stages": 4, "SPLIT_K": 1}
PROBLEMS = [{"M": 1, "N": 6144, "K": 2560}, {"M": 1024, "N": 6144, "K": 2560, "bias": True}]


def trial(rid="t1", config=INT8_CONFIG, problems=PROBLEMS, **extra):
    return {"type": "trial", "id": rid, "family": "w8a8-int8", "config": config, "problems": problems, **extra}


def run_worker(lines, env=None, args=("kernels/worker.py",), timeout=20):
    """Run a sim worker on the given request lines; returns (exit code, response objects, stderr)."""
    full_env = {**os.environ, **(env or {})}
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    proc = subprocess.run([sys.executable, *args, "--backend", "sim"], input=text, capture_output=True,
                          text=True, cwd=ROOT, env=full_env, timeout=timeout)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def test_hello_then_one_answer_per_line_and_exit_on_eof():
    rc, out, _ = run_worker([trial("a"), "not json", {"type": "bogus"}, trial("b")])
    assert rc == 0
    hello = out[0]
    assert hello["type"] == "hello" and hello["protocol"] == 2 and hello["simulated"] is True
    assert all(len(s["digest"]) == 64 and "kernels/sim.py" in s["files"] for s in hello["sources"].values())
    assert hello["backend"] == "sim" and hello["device"]["name"] == "NVIDIA SIM-H200"
    assert [o["type"] for o in out[1:]] == ["result", "error", "error", "result"]
    result = out[1]
    assert result["id"] == "a" and result["simulated"] is True and len(result["results"]) == 2
    assert all(r["status"] == "ok" and r["us"] > 0 and r["spread"] >= 0 for r in result["results"])
    assert result["results"][1]["us"] > result["results"][0]["us"]  # M=1024 costs more than M=1


def test_module_launch_device_name_and_shutdown():
    env = {"TRITUNE_SIM_DEVICE": "NVIDIA H100 80GB HBM3"}
    rc, out, _ = run_worker([{"type": "shutdown"}, trial("never")], env=env, args=("-m", "kernels.worker"))
    assert rc == 0 and len(out) == 1 and out[0]["device"]["name"] == "NVIDIA H100 80GB HBM3"


def test_same_trial_same_time_across_processes():
    _, first, _ = run_worker([trial("a")])
    _, second, _ = run_worker([trial("a", effort="quick")])
    assert [r["us"] for r in first[1]["results"]] == [r["us"] for r in second[1]["results"]]


def test_invalid_config_and_bad_problem_are_results():
    huge = {**INT8_CONFIG, "BLOCK_SIZE_M": 256, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 512, "num_stages": 5}
    too_split = {**INT8_CONFIG, "SPLIT_K": 64}
    _, out, _ = run_worker([trial("a", config=huge), trial("b", config=too_split),
                            trial("c", problems=[{"M": 0, "N": 8, "K": 8}])])
    assert out[1]["results"][0]["status"] == "invalid" and "shared memory" in out[1]["results"][0]["message"]
    assert out[2]["results"][0]["status"] == "invalid" and "SPLIT_K" in out[2]["results"][0]["message"]
    assert out[3]["results"][0]["status"] == "invalid" and "M" in out[3]["results"][0]["message"]


def test_compile_request_and_all_families():
    moe = {"type": "trial", "id": "m", "family": "moe-w4a16",
           "config": {k: v for k, v in INT8_CONFIG.items() if k != "SPLIT_K"},
           "problems": [{"M": 16, "N": 1536, "K": 2048, "E": 128, "top_k": 8}]}
    w4 = {"type": "trial", "id": "w", "family": "w4a16", "config": {**INT8_CONFIG, "BLOCK_SIZE_K": 128, "K_UNROLL": 1},
          "problems": [{"M": 16, "N": 2560, "K": 9728}]}
    fp8 = {**trial("f"), "family": "w8a8-fp8"}
    comp = {"type": "compile", "id": "c", "family": "w8a8-int8", "config": INT8_CONFIG, "problems": PROBLEMS}
    _, out, _ = run_worker([moe, w4, fp8, comp])
    assert [o["results"][0]["status"] for o in out[1:4]] == ["ok", "ok", "ok"]
    assert out[4] == {**out[4], "type": "compiled", "id": "c", "status": "ok"}


@pytest.mark.parametrize("fault", ["compile_error", "wrong_answer"])
def test_fault_as_result(fault):
    _, out, _ = run_worker([trial("a", fault=fault), trial("b")])
    assert {r["status"] for r in out[1]["results"]} == {fault}
    assert {r["status"] for r in out[2]["results"]} == {"ok"}  # the next request is unaffected


def test_crash_and_illegal_address_exit_distinctly():
    rc, out, err = run_worker([trial("a"), trial("b", fault="crash"), trial("c")])
    assert rc == 1 and [o["id"] for o in out[1:]] == ["a"]
    rc, out, err = run_worker([trial("a", fault="illegal_address")])
    assert rc == 4 and len(out) == 1 and "illegal memory access" in err


def test_faults_from_environment_match_config():
    rules = [{"fault": "wrong_answer", "match": {"BLOCK_SIZE_N": 128}},
             {"fault": "crash", "match": {"BLOCK_SIZE_N": 32, "num_warps": 8}}]
    env = {"TRITUNE_SIM_FAULTS": json.dumps(rules)}
    n128 = {**INT8_CONFIG, "BLOCK_SIZE_N": 128}
    n32w4 = {**INT8_CONFIG, "BLOCK_SIZE_N": 32}
    n32w8 = {**INT8_CONFIG, "BLOCK_SIZE_N": 32, "num_warps": 8}
    rc, out, _ = run_worker([trial("a", config=n128), trial("b", config=n32w4), trial("c", config=n32w8)], env=env)
    assert out[1]["results"][0]["status"] == "wrong_answer"
    assert out[2]["results"][0]["status"] == "ok"
    assert rc == 1 and len(out) == 3


def test_bad_fault_environment_exits_2():
    rc, out, err = run_worker([], env={"TRITUNE_SIM_FAULTS": "[{\"fault\": \"melt\"}]"})
    assert rc == 2 and out == [] and "TRITUNE_SIM_FAULTS" in err


def test_hang_never_answers_and_delay_slows_each_problem():
    proc = subprocess.Popen([sys.executable, "kernels/worker.py", "--backend", "sim"], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TRITUNE_SIM_DELAY_MS": "150"})
    try:
        assert json.loads(proc.stdout.readline())["type"] == "hello"
        start = time.monotonic()
        proc.stdin.write(json.dumps(trial("slow")) + "\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] == "slow"
        assert time.monotonic() - start >= 0.3  # two problems x 150 ms
        proc.stdin.write(json.dumps(trial("h", fault="hang")) + "\n")
        proc.stdin.flush()
        time.sleep(1.0)
        assert proc.poll() is None  # still alive, still silent
    finally:
        proc.kill()
        proc.wait()


def test_preload_loads_what_compile_only_finds_and_never_raises(monkeypatch):
    """The bench worker's preload (kernels/triton_backend.py _preload): the kernels a family's compile_only finds are
    loaded (_init_handles); a compile_only that fails is counted and left to the launch under the lock."""
    from triton.runtime.jit import JITFunction

    from kernels.triton_backend import TritonBackend

    backend = TritonBackend("interpret")
    assert not backend.preload  # only with a GPU lock (several bench workers on one GPU)
    loaded = []

    class Kernel:
        def _init_handles(self):
            loaded.append(self)

    class Family:
        @staticmethod
        def compile_only(family, problem, config):  # as a warmup would: JITFunction.run with warmup=True
            JITFunction.run(None, warmup=True)

    class Broken:
        @staticmethod
        def compile_only(family, problem, config):
            raise RuntimeError("no such binary")

    kernel = Kernel()
    monkeypatch.setattr(JITFunction, "run", lambda self, *args, **kwargs: kernel)
    backend._preload(Family, "w4a16", {}, {})
    assert loaded == [kernel]
    backend._preload(Broken, "w4a16", {}, {})
    assert backend.profile.counts.get("preload_failed") == 1
    assert "preload" in backend.profile.seconds
