"""Files tritune exports for vllm-moe and sglang-moe are the files vLLM 0.33.0 and SGLang 0.5.23 load: each server's
own lookup finds them in the folder it is pointed at, picks the entry tritune wrote for the nearest M, and that
entry launches the server's kernel (interpreter) and matches the reference.

The files come from the real CLI (`node bin/tune`, built by `npm run build`) on the sim backend: the proof is about
names, folders and keys, which do not depend on where the numbers came from. The simulated device is named as an
H200 variant, and the servers' device-name functions are told the same name, so their own naming rules are exercised
(vLLM maps every H200 to NVIDIA_H200, SGLang does not).
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import json  # noqa: E402
import pathlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from kernels.servers import sglang_moe, sglang_source, vllm_moe, vllm_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEVICE = "NVIDIA H200 NVL"
MS = [1, 8, 64, 512]
# (layer, --shapes): Qwen3-30B-A3B (E=128, I=768, hidden 2048, top_k 8) and Mixtral-8x7B (E=8, I=14336, hidden 4096, top_k 2)
LAYERS = {"qwen3-30b-a3b": (128, 768, 2048, 8), "mixtral-8x7b": (8, 14336, 4096, 2)}
QUANTS = ("bf16", "fp8_w8a8_block", "int4_w4a16")
SERVERS = {"vllm": vllm_moe, "sglang": sglang_moe}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """tritune's vllm-moe and sglang-moe files for both layers in bf16, fp8 block [128, 128] and int4 (group 128)."""
    if shutil.which("node") is None or not (ROOT / "dist" / "src").is_dir():
        pytest.fail("needs node and the built CLI: run `npm run build` (npm test does) before the Python tests")
    out = tmp_path_factory.mktemp("export")
    shapes = ",".join(f"{E}x{N}x{K}:{k}" for E, N, K, k in LAYERS.values())
    env = {**os.environ, "TRITUNE_SIM_DEVICE": DEVICE, "SOURCE_DATE_EPOCH": "1700000000"}
    for quant in QUANTS:
        cmd = ["node", "bin/tune", "--shapes", shapes, "--kernel", "vllm-moe", "sglang-moe", "--quant", quant,
               "--backend", "sim", "--batch-sizes", ",".join(map(str, MS)), "--out", str(out / "out"),
               "--state", str(out / "state")]
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    return out / "out"


@pytest.fixture
def on_h200(monkeypatch):
    """Both servers' device-name functions answering as the files' GPU (vLLM caches the file-name form)."""
    platform = vllm_source.modules().fused_moe.current_platform
    vllm_source.modules()  # loads vLLM's modules (this test may run first)
    cached = sys.modules["vllm.utils.platform_utils"].get_device_name_as_file_name
    monkeypatch.setattr(type(platform), "get_device_name", lambda self, device_id=0: DEVICE)
    monkeypatch.setattr(sglang_source.modules().config, "get_device_name", lambda device_id=0: DEVICE)
    cached.cache_clear()
    yield
    cached.cache_clear()


@pytest.fixture
def servers_reading(exported, on_h200, monkeypatch):
    """vLLM pointed at tritune's vllm/ folder (VLLM_TUNED_CONFIG_FOLDER), SGLang at its sglang/ folder
    (SGLANG_MOE_CONFIG_DIR, under which it reads configs/triton_<x_y_z>/)."""
    monkeypatch.setenv("VLLM_TUNED_CONFIG_FOLDER", str(exported / "vllm"))
    monkeypatch.setenv("SGLANG_MOE_CONFIG_DIR", str(exported / "sglang"))
    return {"vllm": exported / "vllm", "sglang": exported / "sglang" / "configs" / sglang_moe.config_dir_name()}


def layer(name, quant, M):
    E, N, K, top_k = LAYERS[name]
    return {"M": M, "E": E, "hidden": K, "inter": N, "top_k": top_k, "quant": quant, "group_size": 128}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("quant", QUANTS)
def test_the_server_finds_the_exported_file_and_picks_its_entries(servers_reading, server, name, quant):
    mod, folder = SERVERS[server], servers_reading[server]
    file = folder / mod.config_file_name(layer(name, quant, 1))  # the server's own get_config_file_name
    assert file.is_file(), f"{server} looks for {file.name}; tritune wrote {sorted(f.name for f in folder.iterdir())}"
    body = json.loads(file.read_text())
    assert mod.file_configs(layer(name, quant, 1)) == {int(m): c for m, c in body.items()}  # its get_moe_configs
    for M in (1, 3, 40, 300, 5000):
        nearest = min(MS, key=lambda m: (abs(m - M), m))
        assert mod.lookup_config(layer(name, quant, M)) == body[str(nearest)]  # its try_get_optimal_moe_config


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("quant", QUANTS)
def test_the_entry_the_server_picks_launches_its_kernel_and_matches_the_reference(servers_reading, server, quant):
    mod = SERVERS[server]
    config = mod.lookup_config(layer("qwen3-30b-a3b", quant, 8))
    small = {"M": 8, "E": 4, "hidden": 256, "inter": 128, "top_k": 2, "quant": quant}  # a small layer, same config
    inputs = mod.make_inputs(small, "cpu")
    out = mod.launch(inputs, config)
    ok, err = mod.check(out, mod.reference(inputs), quant)
    assert ok, f"{server} {quant} {config}: max relative error {err}"


@pytest.mark.parametrize("server", SERVERS)
def test_tritune_names_what_the_server_names_for_every_quantization(on_h200, server):
    """The TypeScript grammar (src/families/server-moe.ts) against the server's get_config_file_name."""
    script = ("import { configFileName } from './dist/src/store/naming.js';"
              "const [family, q] = process.argv.slice(1);"
              "console.log(configFileName(family, { N: 768, K: 2048, E: 128, top_k: 8, quant: q, group_size: 128 },"
              " 'NVIDIA H200 NVL'));")
    for quant in SERVERS[server].QUANTS:
        ts = subprocess.run(["node", "--input-type=module", "-e", script, f"{server}-moe", quant], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
        assert ts == SERVERS[server].config_file_name(layer("qwen3-30b-a3b", quant, 1)), quant


def committed(server):
    """The server's fused-MoE files committed under tuned-configs/ (measured on a GPU), with their sidecars."""
    root = ROOT / "tuned-configs" / server
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        if not path.name.endswith(".meta.json"):
            meta = json.loads(path.with_name(path.name[: -len(".json")] + ".meta.json").read_text())
            if meta["family"] == f"{server}-moe":  # the block-GEMM files: test_server_block_export.py
                yield path, meta


@pytest.mark.parametrize("server", SERVERS)
def test_the_committed_files_are_the_ones_the_server_loads(server, monkeypatch):
    """Each server, pointed at tuned-configs/<server>, finds every committed file under the name it computes for the
    sidecar's layer and device, and reads the entries written there."""
    mod = SERVERS[server]
    monkeypatch.setenv("VLLM_TUNED_CONFIG_FOLDER", str(ROOT / "tuned-configs" / "vllm"))
    monkeypatch.setenv("SGLANG_MOE_CONFIG_DIR", str(ROOT / "tuned-configs" / "sglang"))
    vllm_source.modules()  # loads vLLM's modules (this test may run first)
    cached = sys.modules["vllm.utils.platform_utils"].get_device_name_as_file_name
    files = list(committed(server))
    assert files, f"no {server} files committed under tuned-configs/{server}"
    for path, meta in files:
        device = meta["device"]["name"]
        monkeypatch.setattr(type(vllm_source.modules().fused_moe.current_platform), "get_device_name",
                            lambda self, device_id=0, d=device: d)
        monkeypatch.setattr(sglang_source.modules().config, "get_device_name", lambda device_id=0, d=device: d)
        cached.cache_clear()
        s = meta["shape"]
        p = {"M": 1, "E": s["E"], "hidden": s["K"], "inter": s["N"], "top_k": s["top_k"], "quant": s["quant"],
             "group_size": s.get("group_size", 128)}
        assert mod.config_file_name(p) == path.name, path
        body = json.loads(path.read_text())
        assert mod.file_configs(p) == {int(m): c for m, c in body.items()}, path
    cached.cache_clear()
