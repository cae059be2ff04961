"""Run 4's fits without the samples after the last cycle (the soak's final judgement and exit).

The benchmark sampled until the process ended, so its own summaries include the last 10-15 s,
when the soak judges and reports (the Prefect arm's RSS jumps by 11 MB there). This fits the
RSS from the 300 s warm-up to 15 s before the end, whole and in halves, with ordinary and
Newey-West 95 % intervals. Usage: python adhoc_run4_fits.py (from this folder).
"""

import csv
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from bench_soak_memory import _fit  # noqa: E402  (the benchmark's own fit)


def fit(t: np.ndarray, y: np.ndarray) -> str:
    f = _fit(list(t), list(y))
    return (
        f"{f['slope_mb_per_h']:+6.2f} MB/h  OLS {f['ci_low']:+6.2f}..{f['ci_high']:+6.2f}  "
        f"HAC {f['hac_ci_low']:+6.2f}..{f['hac_ci_high']:+6.2f}"
    )


for arm in ("p15", "p60", "d15"):
    rows = list(csv.DictReader((HERE / f"run4_{arm}.csv").open()))
    end = float(rows[-1]["elapsed_s"]) - 15
    kept = [r for r in rows if 300 <= float(r["elapsed_s"]) <= end]
    t = np.array([float(r["elapsed_s"]) / 3600 for r in kept])
    y = np.array([float(r["vigil_rss_mb"]) for r in kept])
    half = len(t) // 2
    print(
        f"{arm}: {len(y)} samples, {t[0] * 60:.0f}-{t[-1] * 60:.0f} min, "
        f"RSS {y[0]:.1f} -> {y[-1]:.1f} MB (min {y.min():.1f}, max {y.max():.1f})"
    )
    print(f"  whole        {fit(t, y)}")
    print(f"  first half   {fit(t[:half], y[:half])}")
    print(f"  second half  {fit(t[half:], y[half:])}")
