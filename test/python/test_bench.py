"""The benchmark scripts in bench/: they import as a package and run as scripts; their CPU-only parts."""

import json
import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported: the MoE smoke run is on the CPU

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import torch  # noqa: E402

from bench import moe, read_floor, server_ops, w4a16, w8a8  # noqa: E402
from kernels import w4a16 as W4  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["w8a8.py", "w4a16.py", "moe.py", "server_ops.py", "block.py", "sidecar_table.py",
                                    "read_floor.py"])
def test_runs_as_a_script_from_any_directory(script, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--out" in proc.stdout


def test_w8a8_sweep_configs_have_the_family_keys_in_order():
    for M in w8a8.MS:
        configs = w8a8.sweep_space(M)
        assert configs and all(tuple(c) == w8a8.KEYS for c in configs)


def test_w8a8_row_prints_a_missing_baseline_as_na():
    config = w8a8.sweep_space(1)[0]
    row = {"family": "w8a8-int8", "N": 6144, "K": 2560, "M": 1, "config": config, "us": 9.23, "default_us": 21.11,
           "cublas_bf16": 11.26, "scaled_mm_fp8_rowwise": 11.72, "TFLOPs": 3.4, "GBps": 1708.0, "pct_copy_bw": 40.4}
    line = w8a8.fmt_row(row)
    assert "ours     9.23 (" + "/".join(str(config[k]) for k in w8a8.KEYS) + ")" in line
    assert "int_mm      n/a" in line  # torch._int_mm needs M > 16


def test_w4a16_candidates_lie_in_the_default_space():
    # step 1 checks (and compiles) the default space on g=128 with zero points; the sweep reuses those binaries
    space = w4a16.space()
    for M in w4a16.MS:
        assert all(c in space for c in w4a16.candidates(M)), M


def test_w4a16_cases_cover_the_three_models_and_the_other_quantizations_at_decode():
    rows = w4a16.cases()
    assert {r[0] for r in rows} == {"qwen3-4b", "qwen2.5-7b", "llama-3.1-8b"}
    big = {(n, k) for _, n, k, m, q in rows if q["group_size"] == 32}
    assert big == {(19456, 2560), (37888, 3584), (3584, 18944), (28672, 4096), (4096, 14336)}  # >= 16 MB of int4


def test_w4a16_markdown_has_one_table_line_per_row():
    config = w4a16.candidates(1)[0]
    row = {"model": "qwen3-4b", "N": 6144, "K": 2560, "M": 1, "group_size": 128, "zero_points": True,
           "cublas_bf16_us": 12.0, "dequant_cublas_us": 30.0, "ours_us": 10.0, "vs_cublas_bf16": 1.2, "hbm_pct": 19.0,
           "tflops": 3.1, "config": config, "source": "sweep"}
    md = w4a16.markdown([row, {**row, "M": 4}], 4.27e12, "NVIDIA H200").splitlines()
    body = [line for line in md if line.startswith("| qwen3-4b |")]
    assert len(body) == 2 and body[0].endswith("| 1.20x | 19 | 3 | 16,64,128,4,3,1,1 | sweep |")
    reg_a = next(c for c in w4a16.candidates(1024) if c["REG_A"])  # the Gluon prefill path: its five keys
    md = w4a16.markdown([{**row, "M": 1024, "config": reg_a}], 4.27e12, "NVIDIA H200")
    assert "| reg_a 128,64,64,4,3 | sweep |" in md


def test_w4a16_record_keeps_both_cublas_timings_and_drops_the_working_fields():
    row = {"model": "qwen3-4b", "N": 6144, "K": 2560, "M": 1, "group_size": 128, "zero_points": True, "flops": 1.0,
           "bytes": 2.0, "cublas_bf16_first_us": 12.345, "cublas_bf16_us": 12.0, "dequant_cublas_us": 30.0,
           "ours_us": 10.0, "vs_cublas_bf16": 1.2, "hbm_pct": 19.0, "tflops": 3.1, "err": 0.1, "ok": True,
           "config": w4a16.candidates(1)[0], "source": "tuned-configs"}
    rec = w4a16.record([row], 4.27e12, "NVIDIA H200")
    assert rec["copy_GBps"] == 4270 and rec["command"] == "python3 bench/w4a16.py"
    (kept,) = rec["rows"]
    assert kept["cublas_bf16_first_us"] == 12.35 and kept["cublas_bf16_us"] == 12.0
    assert not {"flops", "bytes", "tflops", "err"} & set(kept)


def test_w4a16_committed_record_is_whole_and_consistent():
    """docs/bench/w4a16-h200.json (issue 15 item 5) as bench/w4a16.py writes it: a row for every case in order, each
    checked against the reference, the issue's fields there, its ratio and % of HBM what its own times give."""
    record = json.loads((ROOT / "docs" / "bench" / "w4a16-h200.json").read_text())
    assert record["command"] == "python3 bench/w4a16.py" and record["copy_GBps"] > 0
    rows = record["rows"]
    assert [(r["model"], r["N"], r["K"], r["M"], r["group_size"], r["zero_points"]) for r in rows] == [
        (model, N, K, M, q.get("group_size", 128), q.get("zero_points", True)) for model, N, K, M, q in w4a16.cases()]
    for r in rows:
        assert r["ok"] is True, r
        assert min(r["ours_us"], r["cublas_bf16_us"], r["cublas_bf16_first_us"], r["dequant_cublas_us"]) > 0, r
        assert abs(r["vs_cublas_bf16"] - r["cublas_bf16_us"] / r["ours_us"]) < 0.01, r
        p = W4.normalize_problem("w4a16", {k: r[k] for k in ("M", "N", "K", "group_size", "zero_points")})
        hbm = 100 * W4.min_bytes(p) / (r["ours_us"] * 1e-6) / (record["copy_GBps"] * 1e9)
        assert abs(r["hbm_pct"] - hbm) < 0.01 * hbm, r  # (the copy bandwidth is rounded to a GB/s)
        assert 0 < r["hbm_pct"] < 100, r


def test_moe_layer_problems_are_the_up_and_down_gemms():
    shape = moe.QWEN3_30B_A3B
    up, down = moe.layer_problems(shape, "up", 16), moe.layer_problems(shape, "down", 16, "skewed")
    assert (up["N"], up["K"]) == (2 * shape["intermediate"], shape["hidden"])
    assert (down["N"], down["K"], down["routing"]) == (shape["hidden"], shape["intermediate"], "skewed")


def test_moe_smoke_run_checks_every_row_and_writes_both_files(tmp_path, monkeypatch, capsys):
    out = tmp_path / "moe.json"
    monkeypatch.setattr(sys, "argv", ["bench/moe.py", "--smoke", "--out", str(out)])
    assert moe.main() == 0
    doc = json.loads(out.read_text())
    rows = doc["rows"]
    assert doc["meta"]["device"] == "cpu (interpreter)"
    assert rows and all(r["status"] == "ok" and "us" not in r for r in rows)  # checks only, nothing timed
    assert {r["variant"] for r in rows} == {"grouped", "padded", "torch-bf16-loop"}
    assert len(out.with_suffix(".jsonl").read_text().splitlines()) == len(rows)
    assert len(capsys.readouterr().out.splitlines()) == len(rows)  # one log line per row


def test_moe_summary_of_timed_rows(capsys):
    """The GPU-only summary: per GEMM and M the default and the best against the torch loop, and the best per BN."""
    def row(gemm, M, name, t, us, variant="grouped"):
        return {"gemm": gemm, "M": M, "routing": "uniform", "variant": variant, "config_name": name,
                "config": moe.as_config(t) if t else None, "us": us, "min_bytes": 4.2e6, "hbm_pct": 100 * 4.2 / us / 4.2}
    rows = [row("up", 1, "default", moe.DECODE_GRID[0], 20.0), row("up", 1, "sweep1", moe.DECODE_GRID[-1], 10.0),
            row("up", 1, None, None, 100.0, "torch-bf16-loop")]
    moe.summary(rows, 4200.0)
    out = capsys.readouterr().out
    assert "| up | 1 | 4.2 | 20.0 | 5 | 10.0 (16-256-128-1-8-5-1) | 10 | 100.0 | 10.0x |" in out
    assert "up M=1: BN 16: 20.0, BN 256: 10.0" in out
    assert len(moe.DECODE_GRID) == 64 + 48 and all(t[4] == 4 or t[1] >= 64 for t in moe.DECODE_GRID)
    assert all(t[1] >= 64 for t in moe.DECODE_GRID if t[6])  # TMA tiles: the space's widths


def test_server_ops_smoke_run_checks_every_op_and_both_layers(tmp_path):
    out = tmp_path / "server_ops.json"
    assert server_ops.main(["--smoke", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {r["M"] for r in rows} == set(server_ops.SMOKE_MS)
    ops = {r["op"] for r in rows}
    assert {"moe_align_block_size", "silu_and_mul", "moe_sum", "fused_experts (bf16)",
            "fused_experts (fp8_w8a8_block)"} <= ops
    assert all(r["agree"] and "triton" not in r for r in rows)  # checked, nothing timed
    layers = [r for r in rows if r["op"].startswith("fused_experts")]
    assert all(r["torch_check"]["passes"] and r["triton_check"]["passes"] for r in layers)


def test_server_ops_agreement_checks_see_a_wrong_answer():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16)
    off_by_one_bit = (x.view(torch.int16) ^ 1).view(torch.bfloat16)
    assert server_ops.same_bits((x,), (x.clone(),)) and not server_ops.same_bits((off_by_one_bit,), (x,))
    assert server_ops.one_step((off_by_one_bit,), (x,)) and not server_ops.one_step((x * 1.02,), (x,))


def test_block_smoke_runs_the_servers_entries_from_a_tuned_folder(tmp_path):
    """bench/block.py --smoke: the tuned folder's entry (as each server's lookup picks it) and the default both launch
    and pass the reference on the interpreter."""
    from bench import block as block_bench

    # BLOCK_SIZE_K = block_k: off CUDA, SGLang's lookup lifts a smaller one to block_k (docs/SERVERS.md)
    entry = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 2}
    for server, mod in block_bench.SERVERS.items():
        folder = tmp_path / block_bench.FOLDERS[server] / "configs"
        folder.mkdir(parents=True)
        (folder / mod.config_file_name({"M": 1, "N": 256, "K": 512})).write_text(json.dumps({"1": entry}))
    out = tmp_path / "rows.json"
    assert block_bench.main(["--smoke", "--tuned", str(tmp_path), "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {r["server"] for r in rows} == {"vllm", "sglang"}
    for r in rows:
        assert r["configs"]["tuned"] == entry and r["runs"]["tuned"]["passes"] and r["runs"]["default"]["passes"]


def test_sidecar_table_has_a_row_per_m_and_the_ratios_of_the_sidecar(tmp_path):
    """bench/sidecar_table.py on a sidecar with a default and a shipped figure at one M and neither at another."""
    from bench import sidecar_table

    meta = {"family": "vllm-moe", "device": {"hbm_GBps": 4000.0}, "entries": {
        "16": {"us": 50.0, "default_us": 100.0, "baselines": {}, "bytes": 100e6, "flops": 1e9},
        "2": {"us": 10.0, "default_us": 20.0, "baselines": {"shipped file": 40.0}, "bytes": 20e6, "flops": 1e9},
    }}
    path = tmp_path / "E=8,N=64,device_name=X.meta.json"
    path.write_text(json.dumps(meta))
    lines = sidecar_table.table(path).splitlines()
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[0] for r in rows] == ["| 2", "| 16"]  # ascending M, as numbers
    assert rows[0] == "| 2 | 10.0 | 20.0 | 40.0 | 2.00 | 4.00 | 2000 | 50 | 100.0 |"
    assert rows[1] == "| 16 | 50.0 | 100.0 | - | 2.00 | - | 2000 | 50 | 20.0 |"
    assert lines[-1] == ("Geomean: 2.000x over the default (2 M, slowest 2.000x); "
                         "4.000x over the shipped file (1 M, slowest 4.000x)")


def test_read_floor_reads_every_int_once_and_times_the_bytes_the_kernels_are_held_to():
    """bench/read_floor.py: each program's sum covers its BLOCK ints, a ragged last block masked (so the GPU run's
    check, the programs' sums against x's, holds); its sizes are the families' own minimum bytes."""
    x = torch.randint(0, 256, (5000,), dtype=torch.int32)
    out = torch.full((8,), -1, dtype=torch.int32)
    read_floor.read(x, out, 1024, 4)
    assert out[:5].tolist() == [int(x[i:i + 1024].sum()) for i in range(0, 5000, 1024)] and out[5] == -1
    sizes = dict(read_floor.sizes())
    p = W4.normalize_problem("w4a16", {"M": 1, "N": 37888, "K": 3584, "group_size": 128, "zero_points": True})
    assert sizes["w4a16 37888x3584 M=1"] == W4.min_bytes(p)
    assert sizes["moe up M=16"] == moe.moe.min_bytes(moe.layer_problems(moe.QWEN3_30B_A3B, "up", 16))
    assert len(sizes) == 11
