"""scripts/compare-runs.py: two runs' tuned times side by side; bad folders are one line and exit 2."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "N=64,K=64,device_name=NVIDIA_H200,dtype=int8_w8a8"


def _out(root: pathlib.Path, us: dict, default_us: dict, configs: dict) -> pathlib.Path:
    folder = root / "w8a8-int8"
    folder.mkdir(parents=True)
    (folder / f"{NAME}.json").write_text(json.dumps(configs))
    (folder / f"{NAME}.meta.json").write_text(json.dumps(
        {"entries": {m: {"us": us[m], "default_us": default_us[m]} for m in us}}))
    return root


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "compare-runs.py"), *map(str, args)],
                          capture_output=True, text=True)


def test_ratios_over_the_entries_both_runs_have(tmp_path):
    a = _out(tmp_path / "a", {"1": 10.0, "16": 20.0}, {"1": 20.0, "16": 40.0}, {"1": {"X": 1}, "16": {"X": 2}})
    b = _out(tmp_path / "b", {"1": 11.0, "16": 20.0, "64": 5.0}, {"1": 22.0, "16": 40.0, "64": 5.0},
             {"1": {"X": 1}, "16": {"X": 3}, "64": {"X": 1}})
    r = _run(a, b)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    # B/A: 1.1 and 1.0 (geomean 1.049); over each default both 1.0; one of the two Ms picked the same config
    assert last == "all: 2 entries, B/A 1.049 (1.000-1.100), over each default 1.000 (1.000-1.000), same config 1"


def test_a_missing_folder_or_nothing_in_common_is_one_line_and_exit_2(tmp_path):
    r = _run(tmp_path / "nope", tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == f"compare-runs: {tmp_path / 'nope'} is not a folder"
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    r = _run(tmp_path / "x", tmp_path / "y")
    assert r.returncode == 2 and "no tuned file is in both" in r.stderr
