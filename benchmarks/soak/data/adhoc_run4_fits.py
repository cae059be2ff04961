"""Run 4's fits without the samples after the last cycle (the soak's final judgement and exit).

The benchmark sampled until the process ended, so its own summaries include the last 10-15 s,
when the soak judges and reports (the Prefect arm's RSS jumps by 11 MB there). This fits the
RSS from the 300 s warm-up to 15 s before the end, whole and in halves, with ordinary and
Newey-West 95 % intervals. Usage: python adhoc_run4_fits.py (from this folder).
"""

import csv
from pathlib import Path

import numpy as np
import statsmodels.api as sm

HERE = Path(__file__).parent


def fit(t: np.ndarray, y: np.ndarray) -> str:
    lags = int(4 * (len(y) / 100) ** (2 / 9))
    x = sm.add_constant(t)
    ols = sm.OLS(y, x).fit()
    hac = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    (olo, ohi), (hlo, hhi) = ols.conf_int()[1], hac.conf_int()[1]
    return f"{ols.params[1]:+6.2f} MB/h  OLS {olo:+6.2f}..{ohi:+6.2f}  HAC {hlo:+6.2f}..{hhi:+6.2f}"


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
