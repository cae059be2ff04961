"""Print the RSS regression and a downsampled series of one or more benchmark runs (Markdown).

Usage::

    .venv/bin/python benchmarks/soak/summarise.py --warmup 300 NAME=/tmp/soakbench/samples.csv ...
"""

from __future__ import annotations

import argparse
import csv

from bench_soak_memory import _fit as fit_line


def _fit(times_h: list[float], values: list[float]) -> str:
    fit = fit_line(times_h, values)
    return (
        f"{fit['slope_mb_per_h']:+.2f} MB/h (95 % CI {fit['ci_low']:+.2f} .. "
        f"{fit['ci_high']:+.2f}; Newey-West {fit['hac_ci_low']:+.2f} .. {fit['hac_ci_high']:+.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=300.0)
    parser.add_argument("--every", type=float, default=180.0, help="seconds between rows shown")
    parser.add_argument(
        "--drop-last-s",
        type=float,
        default=0.0,
        help="leave the last seconds out of the fit (the soak's final judgement and exit)",
    )
    parser.add_argument("runs", nargs="+", help="NAME=path/to/samples.csv")
    args = parser.parse_args()
    for spec in args.runs:
        name, path = spec.split("=", 1)
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        end = float(rows[-1]["elapsed_s"]) - args.drop_last_s
        kept = [r for r in rows if args.warmup <= float(r["elapsed_s"]) <= end]
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
