"""Files tritune exports for vllm-moe are the files vLLM 0.33.0 loads: its own lookup finds them, picks the entry
tritune wrote for the nearest M, and that entry launches vLLM's kernel (interpreter) and matches the reference.

The files come from the real CLI (`node bin/tune`, built by `npm run build`) on the sim backend: the proof is about
names, folders and keys, which do not depend on where the numbers came from. The simulated device is named as an
H200 variant, and vLLM's platform stand-in is told the same name, so vLLM's own device-name rule is exercised.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import json  # noqa: E402
import pathlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from kernels.servers import vllm_moe, vllm_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEVICE = "NVIDIA H200 NVL"  # vLLM names every H200 variant NVIDIA_H200
MS = [1, 8, 64, 512]
# (layer, --shapes): Qwen3-30B-A3B (E=128, I=768, hidden 2048, top_k 8) and Mixtral-8x7B (E=8, I=14336, hidden 4096, top_k 2)
LAYERS = {"qwen3-30b-a3b": (128, 768, 2048, 8), "mixtral-8x7b": (8, 14336, 4096, 2)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """tritune's vllm-moe files for both layers in bf16 and fp8 block [128, 128], in one output folder."""
    if shutil.which("node") is None or not (ROOT / "dist" / "src").is_dir():
        pytest.fail("needs node and the built CLI: run `npm run build` (npm test does) before the Python tests")
    out = tmp_path_factory.mktemp("export")
    shapes = ",".join(f"{E}x{N}x{K}:{k}" for E, N, K, k in LAYERS.values())
    env = {**os.environ, "TRITUNE_SIM_DEVICE": DEVICE, "SOURCE_DATE_EPOCH": "1700000000"}
    for quant in ("bf16", "fp8_w8a8_block"):
        cmd = ["node", "bin/tune", "--shapes", shapes, "--kernel", "vllm-moe", "--quant", quant, "--backend", "sim",
               "--batch-sizes", ",".join(map(str, MS)), "--out", str(out / "out"), "--state", str(out / "state")]
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    return out / "out" / "vllm"


@pytest.fixture
def on_h200(monkeypatch):
    """vLLM's platform naming itself as the files' GPU (vLLM caches the file-name form of the device name)."""
    platform = vllm_source.modules().fused_moe.current_platform
    cached = sys.modules["vllm.utils.platform_utils"].get_device_name_as_file_name
    monkeypatch.setattr(type(platform), "get_device_name", lambda self, device_id=0: DEVICE)
    cached.cache_clear()
    yield
    cached.cache_clear()


@pytest.fixture
def vllm_on_h200(exported, on_h200, monkeypatch):
    """vLLM reading tritune's folder as VLLM_TUNED_CONFIG_FOLDER, on a platform that names itself as the files' GPU."""
    monkeypatch.setenv("VLLM_TUNED_CONFIG_FOLDER", str(exported))
    return exported


def layer(name, quant, M):
    E, N, K, top_k = LAYERS[name]
    return {"M": M, "E": E, "hidden": K, "inter": N, "top_k": top_k, "quant": quant}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("quant", ["bf16", "fp8_w8a8_block"])
def test_vllm_finds_the_exported_file_and_picks_its_entries(vllm_on_h200, name, quant):
    p = layer(name, quant, 1)
    file = vllm_on_h200 / vllm_moe.config_file_name(p)  # vLLM's own get_config_file_name
    assert file.is_file(), f"vLLM looks for {file.name}; tritune wrote {sorted(f.name for f in vllm_on_h200.iterdir())}"
    body = json.loads(file.read_text())
    assert vllm_moe.file_configs(p) == {int(m): c for m, c in body.items()}  # vLLM's get_moe_configs reads it
    for M in (1, 3, 40, 300, 5000):
        nearest = min(MS, key=lambda m: (abs(m - M), m))
        assert vllm_moe.lookup_config(layer(name, quant, M)) == body[str(nearest)]  # try_get_optimal_moe_config


@pytest.mark.parametrize("quant", ["bf16", "fp8_w8a8_block"])
def test_the_entry_vllm_picks_launches_its_kernel_and_matches_the_reference(vllm_on_h200, quant):
    config = vllm_moe.lookup_config(layer("qwen3-30b-a3b", quant, 8))
    small = {"M": 8, "E": 4, "hidden": 256, "inter": 128, "top_k": 2, "quant": quant}  # a small layer, same config
    inputs = vllm_moe.make_inputs(small, "cpu")
    out = vllm_moe.launch(inputs, config)
    ok, err = vllm_moe.check(out, vllm_moe.reference(inputs), quant)
    assert ok, f"{quant} {config}: max relative error {err}"


def test_tritune_names_what_vllm_names_for_every_quantization(on_h200):
    """The TypeScript grammar (src/families/server-moe.ts) against vLLM's get_config_file_name, per quantization."""
    script = ("import { configFileName } from './dist/src/store/naming.js';"
              "const [q, g] = process.argv.slice(1);"
              "console.log(configFileName('vllm-moe', { N: 768, K: 2048, E: 128, top_k: 8, quant: q, "
              "...(q === 'int4_w4a16' ? { group_size: Number(g) } : {}) }, 'NVIDIA H200 NVL'));")
    for quant in vllm_moe.QUANTS:
        ts = subprocess.run(["node", "--input-type=module", "-e", script, quant, "128"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
        assert ts == vllm_moe.config_file_name(layer("qwen3-30b-a3b", quant, 1) | {"group_size": 128}), quant
