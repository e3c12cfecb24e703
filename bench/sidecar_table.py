"""Markdown tables of tuned files from their sidecars: per M the tuned µs, the server's default and the shipped file
(both measured in the same tuning run, on the same GPU), ratios, GB/s, % of the worker's HBM figure and TFLOP/s.

    python3 bench/sidecar_table.py tuned-configs/vllm/E=128,N=384,device_name=NVIDIA_H200.meta.json ... [--out t.md]
"""

import argparse
import json
import math
import sys
from pathlib import Path


def table(path: Path) -> str:
    meta = json.loads(path.read_text())
    hbm = meta["device"].get("hbm_GBps") or float("nan")
    rows = ["| M | tuned µs | default µs | shipped file µs | vs default | vs shipped | GB/s | % HBM | TFLOP/s |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    vs_default, vs_shipped = [], []
    for m, e in sorted(meta["entries"].items(), key=lambda kv: int(kv[0])):
        us, default, shipped = e["us"], e.get("default_us"), e.get("baselines", {}).get("shipped file")
        rd = default / us if default else None
        rs = shipped / us if shipped else None
        vs_default += [rd] if rd else []
        vs_shipped += [rs] if rs else []
        gbs = e["bytes"] / us / 1e3
        cell = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        rows.append(f"| {m} | {us:.1f} | {cell(default, '.1f')} | {cell(shipped, '.1f')} | {cell(rd, '.2f')} | "
                    f"{cell(rs, '.2f')} | {gbs:.0f} | {100 * gbs / hbm:.0f} | {e['flops'] / us / 1e6:.1f} |")
    geo = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))  # noqa: E731
    summary = []
    if vs_default:
        summary.append(f"{geo(vs_default):.3f}x over the default ({len(vs_default)} M, slowest {min(vs_default):.3f}x)")
    if vs_shipped:
        summary.append(f"{geo(vs_shipped):.3f}x over the shipped file ({len(vs_shipped)} M, slowest {min(vs_shipped):.3f}x)")
    name = "/".join(path.parts[-4:]).replace(".meta.json", ".json")
    return f"`{meta['family']}` `{name}`:\n\n" + "\n".join(rows) + "\n\nGeomean: " + ("; ".join(summary) or "-") + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sidecars", nargs="+", type=Path, help="the .meta.json files, one table each")
    ap.add_argument("--out", type=Path, help="write the Markdown here (default: standard output)")
    args = ap.parse_args(argv)
    text = "\n".join(table(p) for p in args.sidecars)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
