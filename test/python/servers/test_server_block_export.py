"""Files tritune exports for vllm-w8a8-block and sglang-w8a8-block are the files vLLM 0.33.0 and SGLang 0.5.23 load:
each server's own lookup (get_w8a8_block_fp8_configs, SGLang's int8 twin) finds them once they are in its package's
configs/ folder, the launcher picks the entry tritune wrote for the nearest M, and that entry launches the server's
kernel (interpreter) and matches the dequantize-then-matmul reference.

The files come from the real CLI (`node bin/tune`, built by `npm run build`) on the sim backend: the proof is about
names, folders and keys. Neither server has an environment variable for these files: they read the `configs/` folder
beside their module's own file, so the test points the module's `__file__` into the exported tree (`reading_from`), as
copying the folder into the installed package does. The simulated device is an H200 NVL: vLLM's block-GEMM names do
not map it to NVIDIA_H200 (its fused-MoE names do), SGLang's neither. SGLang's fp8 lookup rewrites some BLOCK_SIZE_K
values differently on CUDA and elsewhere; it is asked as on the GPU the files are for (CUDA).
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: these tests run on the CPU

import inspect  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

import pytest  # noqa: E402

from kernels.servers import sglang_block, sglang_source, vllm_block, vllm_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEVICE = "NVIDIA H200 NVL"
MS = [1, 8, 64, 512]
# (name, --shapes or --model, --quant, the shapes): Qwen3-8B-FP8's four, two of DeepSeek-V3 at tp 8, SGLang's int8
RUNS = {
    "fp8": (["--model", "qwen3-8b-fp8"], [(6144, 4096), (4096, 4096), (24576, 4096), (4096, 12288)]),
    "fp8-mla": (["--shapes", "2112x7168,4096x512", "--quant", "fp8_w8a8_block"], [(2112, 7168), (4096, 512)]),
    "int8": (["--shapes", "4096x4096,576x7168", "--quant", "int8_w8a8"], [(4096, 4096), (576, 7168)]),
}
SERVERS = {"vllm": vllm_block, "sglang": sglang_block}
FOLDERS = {"vllm": "vllm/model_executor/layers/quantization/utils", "sglang": "sglang/kernels/ops/gemm"}


def cases():
    for run, (_args, shapes) in RUNS.items():
        quant = "int8" if run == "int8" else "fp8"
        for server, mod in SERVERS.items():
            if quant in mod.QUANTS:
                yield from ((server, quant, N, K) for N, K in shapes)


CASES = list(cases())
IDS = [f"{s}-{q}-{n}x{k}" for s, q, n, k in CASES]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """tritune's files for every shape above, from `tune --kernel vllm-w8a8-block sglang-w8a8-block`."""
    if shutil.which("node") is None or not (ROOT / "dist" / "src").is_dir():
        pytest.fail("needs node and the built CLI: run `npm run build` (npm test does) before the Python tests")
    out = tmp_path_factory.mktemp("export")
    env = {**os.environ, "TRITUNE_SIM_DEVICE": DEVICE, "SOURCE_DATE_EPOCH": "1700000000"}
    for run, (args, _shapes) in RUNS.items():
        kernels = ["sglang-w8a8-block"] if run == "int8" else ["vllm-w8a8-block", "sglang-w8a8-block"]
        cmd = ["node", "bin/tune", *args, "--kernel", *kernels, "--backend", "sim", "--batch-sizes",
               ",".join(map(str, MS)), "--out", str(out / "out"), "--state", str(out / "state")]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return out / "out"


@pytest.fixture
def on_h200_nvl(monkeypatch):
    """Both servers' device-name functions answering as the files' GPU (an SM90 one), and SGLang's lookup as on CUDA."""
    platform = vllm_source.modules().fp8_utils.current_platform
    cached = sys.modules["vllm.utils.platform_utils"].get_device_name_as_file_name
    monkeypatch.setattr(type(platform), "get_device_name", lambda self, device_id=0: DEVICE)
    fp8, int8 = sglang_source.gemm("fp8_kernel"), sglang_source.gemm("int8_kernel")
    for module in (fp8, int8):
        monkeypatch.setattr(module, "get_device_name", lambda device_id=0: DEVICE)
    monkeypatch.setattr(fp8, "_is_cuda", True)
    monkeypatch.setattr(fp8, "get_platform", lambda: types.SimpleNamespace(is_sm90=True))
    cached.cache_clear()
    yield
    cached.cache_clear()


def problem(quant, N, K, M=1):
    return {"M": M, "N": N, "K": K, "quant": quant}


@pytest.mark.parametrize("server,quant,N,K", CASES, ids=IDS)
def test_the_server_finds_the_exported_file_and_launches_its_entries(exported, on_h200_nvl, server, quant, N, K):
    mod, root = SERVERS[server], exported / FOLDERS[server]
    name = mod.config_file_name(problem(quant, N, K))  # the name the server's own lookup looks for
    file = root / "configs" / name
    assert file.is_file(), f"{server} looks for {name}; tritune wrote {sorted(f.name for f in (root / 'configs').iterdir())}"
    body = json.loads(file.read_text())
    with mod.reading_from(problem(quant, N, K), root):
        assert mod.file_configs(problem(quant, N, K)) == {int(m): c for m, c in body.items()}
        for M in (1, 3, 40, 300, 5000):
            nearest = min(MS, key=lambda m: (abs(m - M), m))
            assert mod.lookup_config(problem(quant, N, K, M)) == body[str(nearest)], M  # what the launcher passes


@pytest.mark.parametrize("server,quant", [("vllm", "fp8"), ("sglang", "fp8"), ("sglang", "int8")])
def test_the_entry_the_server_picks_launches_its_kernel_and_matches_the_reference(exported, on_h200_nvl, server, quant):
    mod = SERVERS[server]
    N, K = (4096, 4096)
    with mod.reading_from(problem(quant, N, K), exported / FOLDERS[server]):
        for M in (8, 64):
            config = mod.lookup_config(problem(quant, N, K, M))
            small = {"M": M, "N": 256, "K": 512, "quant": quant}  # a small GEMM, the same config
            inputs = mod.make_inputs(small, "cpu")
            ok, err = mod.check(mod.launch(inputs, config), mod.reference(inputs))
            assert ok, f"{server} {quant} {config}: max relative error {err}"


@pytest.mark.parametrize("server,quant", [("vllm", "fp8"), ("sglang", "fp8"), ("sglang", "int8")])
def test_tritune_names_what_the_server_names(on_h200_nvl, server, quant):
    """The TypeScript grammar (src/families/server-block.ts, src/schema/formats.ts) against the server's lookup."""
    script = ("import { configFileName } from './dist/src/store/naming.js';"
              "const [family, q, bn, bk] = process.argv.slice(1);"
              "console.log(configFileName(family, { N: 576, K: 7168, quant: q, block_n: +bn, block_k: +bk },"
              " 'NVIDIA H200 NVL'));")
    for bn, bk in ((128, 128), (64, 32)):
        ts = subprocess.run(["node", "--input-type=module", "-e", script, f"{server}-w8a8-block", quant, str(bn), str(bk)],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        p = {**problem(quant, 576, 7168), "block_n": bn, "block_k": bk}
        assert ts == SERVERS[server].config_file_name(p)


def test_off_cuda_sglang_rewrites_a_narrower_block_k(on_h200_nvl, monkeypatch, tmp_path):
    """Why the proof asks SGLang as on CUDA: elsewhere its fp8 lookup lifts every BLOCK_SIZE_K below block_k to it."""
    fp8 = sglang_source.gemm("fp8_kernel")
    p = problem("fp8", 256, 512)
    (tmp_path / "configs").mkdir()
    entry = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 3}
    (tmp_path / "configs" / sglang_block.config_file_name(p)).write_text(json.dumps({"1": entry}))
    with sglang_block.reading_from(p, tmp_path):
        assert sglang_block.lookup_config(p) == entry
        monkeypatch.setattr(fp8, "_is_cuda", False)
        fp8.get_w8a8_block_fp8_configs.cache_clear()
        assert sglang_block.lookup_config(p) == {**entry, "BLOCK_SIZE_K": 128}


@pytest.mark.parametrize("server", SERVERS)
def test_the_committed_files_are_the_ones_the_server_loads(server, monkeypatch):
    """Each server's lookup, reading tuned-configs/<its package folder>/configs/ as its own, finds every committed
    block-GEMM file under the name it computes for the sidecar's shape and device, and reads its entries."""
    mod, root = SERVERS[server], ROOT / "tuned-configs" / FOLDERS[server]
    files = sorted(p for p in (root / "configs").glob("*.json") if not p.name.endswith(".meta.json"))
    assert files, f"no {server} block-GEMM files committed under {root}"
    platform = vllm_source.modules().fp8_utils.current_platform
    cached = sys.modules["vllm.utils.platform_utils"].get_device_name_as_file_name
    monkeypatch.setattr(sglang_source.gemm("fp8_kernel"), "_is_cuda", True)
    for path in files:
        meta = json.loads(path.with_name(path.name[: -len(".json")] + ".meta.json").read_text())
        device = meta["device"]["name"]
        monkeypatch.setattr(type(platform), "get_device_name", lambda self, device_id=0, d=device: d)
        for module in (sglang_source.gemm("fp8_kernel"), sglang_source.gemm("int8_kernel")):
            monkeypatch.setattr(module, "get_device_name", lambda device_id=0, d=device: d)
        cached.cache_clear()
        p = problem(meta["shape"]["quant"], meta["shape"]["N"], meta["shape"]["K"])
        assert mod.config_file_name(p) == path.name, path
        with mod.reading_from(p, root):
            assert mod.file_configs(p) == {int(m): c for m, c in json.loads(path.read_text()).items()}, path
    cached.cache_clear()


def _sglang_sm90(monkeypatch, is_sm90: bool):
    """SGLang's platform question for its block fp8 GEMM, answered as an H200 (SM90) or as another GPU."""
    fp8 = sglang_source.gemm("fp8_kernel")
    monkeypatch.setattr(fp8, "get_platform", lambda: types.SimpleNamespace(is_sm90=is_sm90))


def _tritune_file(entries: dict) -> str:
    """The bytes tritune writes for these sglang-w8a8-block configs (src/store/format.ts, the built CLI's)."""
    script = ("import { formatTunedConfig } from './dist/src/store/format.js';"
              "process.stdout.write(formatTunedConfig('sglang-w8a8-block', JSON.parse(process.argv[1])));")
    return subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(entries)], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


SIX = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 3}


def test_sglang_sm90_entries_select_its_hopper_kernel_and_match_the_reference(on_h200_nvl, monkeypatch, tmp_path, launches):
    """SGLang's SM90 keys as tritune writes them: SWAP_AB a boolean and SPLIT_K beside it where a config selects the
    SM90 kernel, neither where it does not. SGLang's lookup reads the file, its launcher (asked as on an H200) runs
    _w8a8_block_fp8_matmul_hopper for those entries, its split-K reduction after it, and the product matches the
    dequantize-then-matmul reference; the plain entry runs the other kernel."""
    _sglang_sm90(monkeypatch, True)
    configs = {"1": {**SIX, "SWAP_AB": 1, "SPLIT_K": 4}, "8": {**SIX, "SWAP_AB": 0, "SPLIT_K": 2},
               "32": {**SIX, "SWAP_AB": 1, "SPLIT_K": 1}, "64": {**SIX, "SWAP_AB": 0, "SPLIT_K": 1}}
    text = _tritune_file(configs)
    body = json.loads(text)
    assert body["1"] == {**SIX, "SWAP_AB": True, "SPLIT_K": 4} and body["8"] == {**SIX, "SWAP_AB": False, "SPLIT_K": 2}
    assert body["64"] == SIX, "the plain kernel's entry must not carry keys it lacks"
    p = problem("fp8", 256, 512)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / sglang_block.config_file_name(p)).write_text(text)
    fp8 = sglang_source.gemm("fp8_kernel")
    launched = launches(fp8, "_w8a8_block_fp8_matmul", "_w8a8_block_fp8_matmul_hopper", "_reduce_block_fp8_split_k")
    with sglang_block.reading_from(p, tmp_path):
        for M, want in ((1, ["_w8a8_block_fp8_matmul_hopper", "_reduce_block_fp8_split_k"]),
                        (8, ["_w8a8_block_fp8_matmul_hopper", "_reduce_block_fp8_split_k"]),
                        (32, ["_w8a8_block_fp8_matmul_hopper"]), (64, ["_w8a8_block_fp8_matmul"])):
            config = sglang_block.lookup_config({**p, "M": M})
            assert config == body[str(M)]
            launched.clear()
            inputs = sglang_block.make_inputs({**p, "M": M}, "cpu")
            ok, err = sglang_block.check(sglang_block.launch(inputs, config), sglang_block.reference(inputs))
            assert launched == want, (M, launched)
            assert ok, f"M={M} {config}: max relative error {err}"


def test_sglang_reads_what_tritune_reads_in_its_shipped_sm90_files():
    """SGLang's own H200 files with SWAP_AB / SPLIT_K entries: tritune's reader takes every entry to the config whose
    file entry (protocol.file_entry, as the worker hands it to SGLang) is the entry itself."""
    from kernels import protocol

    shipped = sorted((sglang_source.fetch.release_dir(sglang_source.SGLANG) / "sglang/kernels/ops/gemm/configs").glob("*H200*.json"))
    seen = 0
    for path in shipped:
        for entry in json.loads(path.read_text()).values():
            if entry is None or "waves_per_eu" in entry or "GROUP_SIZE_M" not in entry:
                continue
            config = protocol.config_of_file_entry("sglang-w8a8-block", entry)
            assert protocol.file_entry("sglang-w8a8-block", config) == entry, path.name
            seen += "SWAP_AB" in entry
    assert seen >= 30, f"only {seen} SM90 entries in SGLang's shipped H200 files"


def test_sglang_sm90_keys_off_sm90_reach_a_kernel_without_them(on_h200_nvl, monkeypatch, launches):
    """Why tritune prunes SWAP_AB / SPLIT_K off SM90 and leaves them out of the plain kernel's entries: SGLang passes
    an entry on as **config, and elsewhere its launcher picks the kernel that has neither key. On a GPU Triton refuses
    such a launch (JITFunction: "Keyword argument ... specified but unrecognised"); the interpreter drops unknown
    keywords, so the kernel's own parameters are what is checked here."""
    _sglang_sm90(monkeypatch, False)
    fp8 = sglang_source.gemm("fp8_kernel")
    launched = launches(fp8, "_w8a8_block_fp8_matmul", "_w8a8_block_fp8_matmul_hopper")
    inputs = sglang_block.make_inputs(problem("fp8", 256, 512, 8), "cpu")
    sglang_block.launch(inputs, {**SIX, "SWAP_AB": True, "SPLIT_K": 2})
    assert launched == ["_w8a8_block_fp8_matmul"]
    params = inspect.signature(fp8._w8a8_block_fp8_matmul.kernel.fn).parameters
    assert "SWAP_AB" not in params and "SPLIT_K" not in params
    assert {"SWAP_AB", "SPLIT_K"} <= set(inspect.signature(fp8._w8a8_block_fp8_matmul_hopper.kernel.fn).parameters)
