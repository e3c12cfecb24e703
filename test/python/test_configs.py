"""kernels/configs.py: the runtime loader servers call (nearest-M lookup as vLLM does it, cache, default fallback).

Files written here are synthetic fixtures in temporary folders; the last tests load every committed file
under tuned-configs/ through the loader.
"""

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kernels import configs
from kernels.family import family_module

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "NVIDIA H100 80GB HBM3"
# Raise to 1 once the first measured files are committed under tuned-configs/ (see docs/REVIEW.md).
MIN_COMMITTED_FILES = 1


def entry(bm, **extra):
    return {"BLOCK_SIZE_M": bm, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 8, "num_warps": 4,
            "num_stages": 3, "SPLIT_K": 1, **extra}


def write(tmp_path, body, family="w8a8-int8", N=6144, K=2560, text=None):
    folder = tmp_path / family
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / configs.config_file_name(family, DEVICE, N, K)
    path.write_text(text if text is not None else json.dumps(body, indent=4) + "\n")
    return path


@pytest.fixture(autouse=True)
def fresh_cache():
    configs.clear_cache()
    yield
    configs.clear_cache()


def vllm_lookup(path, M):
    """vLLM's code, verbatim in substance: keys to int in file order, then min by |key - M|."""
    with open(path) as f:
        table = {int(key): val for key, val in json.load(f).items()}
    return table[min(table.keys(), key=lambda x: abs(x - M))]


def test_file_names_match_the_typescript_writer():
    # the same names src/store/naming.ts writes (and docs/FORMATS.md lists)
    assert configs.config_file_name("w8a8-int8", DEVICE, 6144, 2560) == \
        "N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.json"
    assert configs.config_file_name("w8a8-fp8", "NVIDIA H200", 4096, 4096) == \
        "N=4096,K=4096,device_name=NVIDIA_H200,dtype=fp8_w8a8.json"
    assert configs.config_file_name("w4a16", DEVICE, 4096, 4096, group_size=128) == \
        "N=4096,K=4096,device_name=NVIDIA_H100_80GB_HBM3,dtype=int4_w4a16,group_size=128.json"
    assert configs.config_file_name("moe-w4a16", DEVICE, 1536, E=128) == \
        "E=128,N=1536,device_name=NVIDIA_H100_80GB_HBM3,dtype=int4_w4a16.json"
    for fam, kw in [("w8a8-int8", {"K": 2560}), ("w4a16", {"K": 4096, "group_size": -1}), ("moe-w4a16", {"E": 8})]:
        name = configs.config_file_name(fam, DEVICE, 1024, **kw)
        assert configs.parse_config_file_name(name) == {"family": fam, "N": 1024, "device": "NVIDIA_H100_80GB_HBM3", **kw}
    assert configs.parse_config_file_name("N=1,K=2,device_name=X,dtype=int4_w4a16.json") is None  # w4a16 needs g
    with pytest.raises(ValueError, match="unknown kernel family"):
        configs.config_file_name("w2a2", DEVICE, 1, 1)


def test_nearest_m_matches_vllm_including_ties(tmp_path):
    body = {str(m): entry(16 if m < 16 else 64, num_stages=1 + i % 4) for i, m in enumerate([1, 2, 4, 16, 32, 64, 256])}
    path = write(tmp_path, body)
    for M in range(1, 600):
        got = configs.get_config("w8a8-int8", M, N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))
        assert got == vllm_lookup(path, M), M
    pick = lambda M: configs.nearest_m(configs.load_configs("w8a8-int8", 6144, 2560, device_name=DEVICE,  # noqa: E731
                                                             config_dir=str(tmp_path)), M)
    assert [pick(M) for M in (3, 10, 24, 48, 160, 5000)] == [2, 4, 16, 32, 64, 256]  # ties -> the smaller M


def test_ties_follow_file_order_like_vllm(tmp_path):
    # an unsorted file (tune validate rejects it, but a server would still load it): the first key in the file wins
    text = json.dumps({"64": entry(64), "32": entry(32)})
    path = write(tmp_path, None, text=text)
    got = configs.get_config("w8a8-int8", 48, N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))
    assert got == vllm_lookup(path, 48) == entry(64)


def test_file_is_read_once_and_copies_are_returned(tmp_path):
    path = write(tmp_path, {"16": entry(16)})
    kw = dict(N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))
    first = configs.get_config("w8a8-int8", 16, **kw)
    first["BLOCK_SIZE_M"] = 999  # callers may change their copy
    path.write_text(json.dumps({"16": entry(32)}))
    assert configs.get_config("w8a8-int8", 16, **kw) == entry(16)  # cached, and not mutated
    configs.clear_cache()
    assert configs.get_config("w8a8-int8", 16, **kw) == entry(32)


def test_missing_file_falls_back_to_the_family_default_with_one_warning(tmp_path):
    kw = dict(N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = configs.get_config("w8a8-int8", 8, **kw)
        b = configs.get_config("w8a8-int8", 3000, **kw)
    assert [w.category for w in caught] == [configs.TunedConfigMissing]
    assert "N=6144,K=2560" in str(caught[0].message)
    mod = family_module("w8a8-int8")
    assert a == mod.default_config("w8a8-int8", {"M": 8, "N": 6144, "K": 2560})
    assert b == mod.default_config("w8a8-int8", {"M": 3000, "N": 6144, "K": 2560})
    with pytest.warns(configs.TunedConfigMissing):
        moe = configs.get_config("moe-w4a16", 64, N=768, K=2048, E=128, top_k=8, device_name=DEVICE,
                                 config_dir=str(tmp_path))
    assert moe == family_module("moe-w4a16").default_config(  # the file is per layer: the layer's default
        "moe-w4a16", {"M": 64, "N": 768, "K": 2048, "E": 128, "top_k": 8, "gemm": "layer"})


def test_bad_input_is_a_one_line_error(tmp_path):
    write(tmp_path, None, text="{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        configs.get_config("w8a8-int8", 1, N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))
    with pytest.raises(ValueError, match="M must be a positive integer"):
        configs.get_config("w8a8-int8", 0, N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))


@pytest.mark.parametrize("key", ["__proto__", "1.5", "-8", "016", "0", " 1"])
def test_a_key_that_is_not_an_m_names_the_file(tmp_path, key):
    text = '{"%s": %s, "1": %s}' % (key, json.dumps(entry(16)), json.dumps(entry(16)))
    path = write(tmp_path, None, text=text)
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: M key {key!r} is not a positive decimal integer")):
        configs.get_config("w8a8-int8", 1, N=6144, K=2560, device_name=DEVICE, config_dir=str(tmp_path))


def test_import_does_not_load_torch_or_triton():
    code = "import sys, kernels.configs; sys.exit(int('torch' in sys.modules or 'triton' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def committed_files():
    # the folders of tritune's own families (the servers' files under tuned-configs/vllm, sglang are read by the
    # servers: test/python/servers/test_server_export.py proves those names with the servers' own lookup)
    root = ROOT / "tuned-configs"
    return sorted(p for family in configs.OWN_FAMILIES for p in (root / family).glob("*.json")
                  if not p.name.endswith(".meta.json"))


def test_every_committed_file_loads_through_the_loader():
    files = committed_files()
    assert len(files) >= MIN_COMMITTED_FILES, "expected measured files under tuned-configs/"
    for path in files:
        named = configs.parse_config_file_name(path.name)
        assert named is not None, f"{path}: not a tritune file name"
        assert path.parent.name == named["family"], f"{path}: lies outside its family folder"
        shape = {k: named[k] for k in ("K", "E", "group_size") if k in named}
        table = configs.load_configs(named["family"], named["N"], device_name=named["device"],
                                     config_dir=str(ROOT / "tuned-configs"), **shape)
        assert table, f"{path}: did not load"
        keys = list(table)
        assert keys == sorted(keys), f"{path}: M keys not ascending"
        mod = family_module(named["family"])
        want, optional = set(mod.CONFIG_KEYS), set(getattr(mod, "OPTIONAL_CONFIG_KEYS", ()))
        for M, cfg in table.items():
            assert want <= set(cfg) <= want | optional, f"{path} M={M}: keys {sorted(cfg)}, not {sorted(want)}"
            got = configs.get_config(named["family"], M, N=named["N"], device_name=named["device"],
                                     config_dir=str(ROOT / "tuned-configs"), **shape)
            assert got == cfg == vllm_lookup(path, M)


def test_moe_files_are_per_layer_and_looked_up_like_vllm(tmp_path):
    """vLLM: get_config_file_name(E, N=w2.shape[2]) -> E=128,N=768 for Qwen3-30B-A3B at tp 1; one config for both GEMMs."""
    name = configs.config_file_name("moe-w4a16", DEVICE, 768, E=128)
    assert name == "E=128,N=768,device_name=NVIDIA_H100_80GB_HBM3,dtype=int4_w4a16.json"
    folder = tmp_path / "moe-w4a16"
    folder.mkdir()
    body = {"1": {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 1, "num_warps": 4,
                  "num_stages": 4},
            "256": {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 16, "num_warps": 8,
                    "num_stages": 3}}
    (folder / name).write_text(json.dumps(body, indent=4) + "\n")
    kw = dict(E=128, top_k=8, device_name=DEVICE, config_dir=str(tmp_path))
    assert configs.get_config("moe-w4a16", 200, N=768, **kw) == vllm_lookup(folder / name, 200) == body["256"]
    assert configs.get_config("moe-w4a16", 3, N=768, K=2048, **kw) == body["1"]  # K (hidden) is not in the name
    with pytest.warns(configs.TunedConfigMissing):  # the up GEMM's N (2 x 768) is not a file name any more
        configs.get_config("moe-w4a16", 3, N=1536, K=2048, **kw)
