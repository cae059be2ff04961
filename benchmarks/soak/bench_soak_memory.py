"""Compressed soak against the reference service: is vigil's own memory flat over time?

Runs ``vigil soak --duration D`` (development profile: 15 s cycles, a worker hang every
second cycle, learning and pattern checks every cycle) as a child process in a fresh folder,
samples the vigil process's RSS and open files (psutil) and its anonymous memory
(``/proc/PID/smaps_rollup``: heap and other private memory, against file-backed pages such as
code) every few seconds, and fits a regression line to each after a warm-up, with the slope's
95 % confidence interval twice: the ordinary one (``scipy.stats.linregress``), which assumes
independent samples, and a Newey-West one (``statsmodels``, HAC), which allows for samples 5 s
apart being correlated, as memory samples are. The soak stops by itself; this script kills
it if it overruns by more than 60 % plus ten minutes. Samples go to ``samples.csv`` next to
``--out``.

Usage::

    .venv/bin/python benchmarks/soak/bench_soak_memory.py --duration 32m --out /tmp/soakbench
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import statsmodels.api as sm
from scipy import stats

REPO = Path(__file__).resolve().parents[2]


def _duration_s(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def _tree_rss_mb(process: psutil.Process) -> float:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def _anonymous_mb(pid: int) -> float | None:
    """The process's anonymous memory in MB (smaps_rollup), None where unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Anonymous:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _fit(times_h: list[float], values: list[float]) -> dict[str, float]:
    fit = stats.linregress(times_h, values)
    half = float(stats.t.ppf(0.975, len(values) - 2)) * float(fit.stderr)
    # Newey-West lags by the usual rule of thumb, 4 (n/100)^(2/9).
    lags = int(4 * (len(values) / 100) ** (2 / 9))
    hac = sm.OLS(np.asarray(values), sm.add_constant(np.asarray(times_h))).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags}
    )
    hac_low, hac_high = (float(v) for v in hac.conf_int()[1])
    return {
        "slope_mb_per_h": float(fit.slope),
        "ci_low": float(fit.slope) - half,
        "ci_high": float(fit.slope) + half,
        "hac_ci_low": hac_low,
        "hac_ci_high": hac_high,
        "hac_lags": lags,
        "intercept_mb": float(fit.intercept),
        "points": len(values),
        "p_value": float(fit.pvalue),
    }


def _command(args: argparse.Namespace, duration: float) -> list[str]:
    """The soak's command line for the chosen mode."""
    here = REPO / "benchmarks" / "soak"
    accounts = ["--accounting", str((args.out / "accounts.csv").resolve())]
    if args.mode == "direct":
        return [
            sys.executable,
            str(here / "direct_soak.py"),
            "--duration-s",
            str(duration),
            *(accounts if args.accounting else []),
        ]
    soak = ["soak", "--duration", args.duration]
    if not args.accounting:
        return [str(Path(sys.executable).with_name("vigil")), *soak]
    window = ["--window", args.window] if args.window else []
    return [
        sys.executable,
        str(here / "accounted_soak.py"),
        *accounts,
        "--out",
        str(args.out.resolve()),
        *window,
        "--",
        *soak,
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="32m", help="soak length (e.g. 32m)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/soakbench"))
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=300.0, help="seconds left out of the fit")
    parser.add_argument(
        "--mode",
        choices=("prefect", "direct"),
        default="prefect",
        help="prefect: `vigil soak` (the flow under Prefect); direct: the same steps without "
        "Prefect (benchmarks/soak/direct_soak.py)",
    )
    parser.add_argument(
        "--fine-span-s",
        type=float,
        default=None,
        help="compress the soak's per-second series detail to this span too (default: the "
        "profile's hour); written to vigil.yaml in --out, which vigil reads from there",
    )
    parser.add_argument(
        "--cycle-s",
        type=float,
        default=None,
        help="cycle length (default: the profile's 15 s); written to vigil.yaml in --out",
    )
    parser.add_argument(
        "--accounting",
        action="store_true",
        help="also account the process's memory from inside (accounts.csv in --out): per cycle "
        "in the direct mode, every 15 s in the prefect mode (accounted_soak.py)",
    )
    parser.add_argument(
        "--window",
        help="A:B (prefect mode, with --accounting): trace Python allocations and count objects "
        "by type from A to B seconds (tracemalloc.txt, census.txt in --out)",
    )
    args = parser.parse_args()
    if args.window and not (args.accounting and args.mode == "prefect"):
        parser.error("--window needs --accounting and the prefect mode")
    args.out.mkdir(parents=True, exist_ok=True)
    soak_settings = {"series_fine_span_s": args.fine_span_s, "cycle_s": args.cycle_s}
    lines = [f"    {key}: {value:g}" for key, value in soak_settings.items() if value is not None]
    if lines:
        if args.mode == "direct":
            parser.error("--fine-span-s and --cycle-s apply to the prefect mode")
        (args.out / "vigil.yaml").write_text("suites:\n  soak:\n" + "\n".join(lines) + "\n")
    duration = _duration_s(args.duration)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (args.out / "soak.log").open("wb") as log:
        child = subprocess.Popen(
            _command(args, duration),
            cwd=args.out,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    me = psutil.Process(child.pid)
    began = time.monotonic()
    # Each cycle's checks and checkpoint come on top of its load time (about 30 % here).
    deadline = began + duration * 1.6 + 600
    rows = []
    with (args.out / "samples.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "elapsed_s",
                "vigil_rss_mb",
                "vigil_open_files",
                "vigil_threads",
                "children_rss_mb",
                "vigil_anon_mb",
            ]
        )
        while child.poll() is None and time.monotonic() < deadline:
            try:
                with me.oneshot():
                    rss = me.memory_info().rss / 2**20
                    fds = me.num_fds()
                    threads = me.num_threads()
                children = sum(_tree_rss_mb(c) for c in me.children())
            except psutil.Error:
                break
            anonymous = _anonymous_mb(child.pid)
            row = [
                round(time.monotonic() - began, 1),
                round(rss, 2),
                fds,
                threads,
                round(children, 1),
                round(anonymous, 2) if anonymous is not None else "",
            ]
            rows.append(row)
            writer.writerow(row)
            handle.flush()
            time.sleep(args.interval)
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    kept = [r for r in rows if r[0] >= args.warmup]
    times_h = [r[0] / 3600 for r in kept]
    summary = {
        "mode": args.mode,
        "series_fine_span_s": args.fine_span_s,
        "cycle_s": args.cycle_s,
        "exit_code": child.returncode,
        "duration_s": round(time.monotonic() - began, 1),
        "samples": len(rows),
        "warmup_s": args.warmup,
        "rss_fit_after_warmup": _fit(times_h, [r[1] for r in kept]) if len(kept) > 3 else None,
        "anonymous_fit_after_warmup": _fit(times_h, [float(r[5]) for r in kept])
        if len(kept) > 3 and all(r[5] != "" for r in kept)
        else None,
        "open_files_fit_after_warmup": _fit(times_h, [float(r[2]) for r in kept])
        if len(kept) > 3
        else None,
        "rss_first_mb": rows[0][1] if rows else None,
        "rss_after_warmup_mb": kept[0][1] if kept else None,
        "rss_last_mb": rows[-1][1] if rows else None,
        "rss_max_mb": max(r[1] for r in rows) if rows else None,
        "open_files_min_max": [min(r[2] for r in rows), max(r[2] for r in rows)] if rows else None,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
