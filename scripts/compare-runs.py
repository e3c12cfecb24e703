"""Tuned times of two runs side by side: python3 scripts/compare-runs.py <out A> <out B> (docs/BENCHMARKS.md).

For every tuned file both `--out` folders hold (matched by family folder and name), each entry (M) both have: B's
winner time over A's (`us` in the `.meta.json` sidecars), the same over each run's own default config
(`us / default_us`, which takes out what the two runs' GPUs or hosts differ by), and whether both picked the same
config. One line per file, then all entries together: geometric mean, min and max of each ratio."""

import json
import math
import pathlib
import sys


def entries(meta: pathlib.Path) -> dict:
    sidecar = json.loads(meta.read_text())["entries"]
    configs = json.loads(meta.with_name(meta.name.replace(".meta.json", ".json")).read_text())
    return {m: (e["us"], e.get("default_us"), configs.get(m)) for m, e in sidecar.items() if e.get("us")}


def stats(ratios: list) -> str:
    if not ratios:
        return "-"
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    return f"{geo:.3f} ({min(ratios):.3f}-{max(ratios):.3f})"


def main(argv: list) -> int:
    if len(argv) != 2:
        print("usage: python3 scripts/compare-runs.py <out A> <out B>", file=sys.stderr)
        return 2
    a_root, b_root = (pathlib.Path(p) for p in argv)
    for root in (a_root, b_root):
        if not root.is_dir():
            print(f"compare-runs: {root} is not a folder", file=sys.stderr)
            return 2
    rows, all_us, all_def, same_all, n_all = [], [], [], 0, 0
    for meta in sorted(a_root.glob("*/*.meta.json")):
        other = b_root / meta.relative_to(a_root)
        if not other.exists():
            continue
        a, b = entries(meta), entries(other)
        ms = [m for m in a if m in b]
        us = [b[m][0] / a[m][0] for m in ms]
        over = [(b[m][0] / b[m][1]) / (a[m][0] / a[m][1]) for m in ms if a[m][1] and b[m][1]]
        same = sum(1 for m in ms if a[m][2] == b[m][2])
        rows.append(f"{meta.relative_to(a_root)}: {len(ms)} M, B/A {stats(us)}, over each default {stats(over)}, "
                    f"same config {same}")
        all_us += us
        all_def += over
        same_all += same
        n_all += len(ms)
    if not rows:
        print(f"compare-runs: no tuned file is in both {a_root} and {b_root}", file=sys.stderr)
        return 2
    print("\n".join(rows))
    print(f"all: {n_all} entries, B/A {stats(all_us)}, over each default {stats(all_def)}, same config {same_all}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
