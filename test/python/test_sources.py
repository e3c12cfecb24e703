"""kernels/sources.py: the files a family's trials depend on, as the journal fingerprint hashes them."""

import hashlib
import pathlib

from kernels import sources as S
from kernels.protocol import FAMILIES

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_cuda_sources_follow_the_family_module_and_its_imports():
    files = S.family_sources("w4a16", "cuda")["files"]
    # kernels/w4a16_gluon_prefill.py is imported inside a function (on first use): the closure still follows it
    for path in ("kernels/w4a16.py", "kernels/w4a16_mma.py", "kernels/tiles.py", "kernels/w4a16_pack.py",
                 "kernels/w4a16_dequant.py", "kernels/w4a16_gluon_prefill.py", "kernels/w4a16_gluon.py",
                 "kernels/timing.py", "kernels/worker.py", "kernels/triton_backend.py", "schemas/families.json"):
        assert path in files, path
    assert "kernels/sim.py" not in files and "kernels/w8a8.py" not in files and "kernels/moe_w4a16.py" not in files
    for path, digest in files.items():
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest


def test_sim_sources_are_the_simulator_not_the_kernels():
    files = S.family_sources("moe-w4a16", "sim")["files"]
    assert "kernels/sim.py" in files and "kernels/protocol.py" in files
    assert not any(p in files for p in ("kernels/triton_backend.py", "kernels/moe_w4a16.py", "kernels/timing.py"))


def test_digest_changes_with_any_file_and_differs_per_family():
    a = S.family_sources("w8a8-int8", "cuda")
    b = S.family_sources("w4a16", "cuda")
    assert a["digest"] != b["digest"]
    assert S.family_sources("w8a8-int8", "cuda") == a  # deterministic
    assert set(S.all_family_sources("sim")) == set(FAMILIES)
    server = S.family_sources("vllm-moe", "cuda")
    assert server["server"]["name"] == "vllm" and any(p.startswith("vllm ") for p in server["files"])


def test_every_loaded_server_source_is_hashed_and_a_change_in_one_changes_the_digest(tmp_path, monkeypatch):
    """Not only the timed fused_moe.py: vLLM's config.py (the quant configs) and the alignment wrapper decide what a
    trial runs too. A copy of the pinned release with config.py changed gives another digest."""
    import importlib.util
    import shutil

    import pytest

    from kernels.servers import fetch
    from kernels.servers.releases import VLLM

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("an installed vLLM is hashed from its install, not from the pinned release")

    files = S.family_sources("vllm-moe", "cuda")["files"]
    for member in ("vllm/model_executor/layers/fused_moe/fused_moe.py", "vllm/model_executor/layers/fused_moe/config.py",
                   "vllm/model_executor/layers/fused_moe/moe_align_block_size.py", "vllm/envs.py"):
        assert f"vllm {VLLM.version}:{member}" in files, member
    before = S.family_sources("vllm-moe", "cuda")["digest"]
    copy = tmp_path / "release"
    shutil.copytree(fetch.release_dir(VLLM), copy)
    original = fetch.release_dir
    monkeypatch.setattr(fetch, "release_dir", lambda release: copy if release is VLLM else original(release))
    assert S.family_sources("vllm-moe", "cuda")["digest"] == before  # an identical copy: the same digest
    config = copy / "vllm/model_executor/layers/fused_moe/config.py"
    config.write_text(config.read_text() + "\n# changed\n")
    assert S.family_sources("vllm-moe", "cuda")["digest"] != before
