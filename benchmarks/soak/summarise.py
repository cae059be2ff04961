"""Print the RSS regression and a downsampled series of one or more benchmark runs (Markdown).

Usage::

    .venv/bin/python benchmarks/soak/summarise.py --warmup 300 NAME=/tmp/soakbench/samples.csv ...
"""

from __future__ import annotations

import argparse
import csv

from scipy import stats


def _fit(times_h: list[float], values: list[float]) -> str:
    fit = stats.linregress(times_h, values)
    half = float(stats.t.ppf(0.975, len(values) - 2)) * float(fit.stderr)
    return f"{fit.slope:+.2f} MB/h (95 % CI {fit.slope - half:+.2f} .. {fit.slope + half:+.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=300.0)
    parser.add_argument("--every", type=float, default=180.0, help="seconds between rows shown")
    parser.add_argument("runs", nargs="+", help="NAME=path/to/samples.csv")
    args = parser.parse_args()
    for spec in args.runs:
        name, path = spec.split("=", 1)
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = [r for r in rows if float(r["elapsed_s"]) >= args.warmup]
        times = [float(r["elapsed_s"]) / 3600 for r in kept]
        rss = [float(r["vigil_rss_mb"]) for r in kept]
        files = [float(r["vigil_open_files"]) for r in kept]
        span = (float(kept[-1]["elapsed_s"]) - float(kept[0]["elapsed_s"])) / 60
        print(f"### {name}\n")
        print(f"* samples after the {args.warmup:g} s warm-up: {len(kept)} over {span:.1f} min")
        print(f"* RSS slope: {_fit(times, rss)}; from {rss[0]:.1f} to {rss[-1]:.1f} MB")
        print(f"* open files: {min(files):.0f}..{max(files):.0f}\n")
        print("| elapsed s | vigil RSS MB | open files | threads |")
        print("| ---: | ---: | ---: | ---: |")
        shown = -args.every
        for row in rows:
            if float(row["elapsed_s"]) - shown >= args.every:
                shown = float(row["elapsed_s"])
                print(
                    f"| {float(row['elapsed_s']):.0f} | {float(row['vigil_rss_mb']):.1f} | "
                    f"{row['vigil_open_files']} | {row['vigil_threads']} |"
                )
        print()


if __name__ == "__main__":
    main()
