"""Fit a line to every numeric column of a benchmark CSV after a warm-up (ordinary and HAC CI).

Usage: python adhoc_fit_columns.py WARMUP_S file.csv ...  (time column: elapsed_s or t_s)
"""

import csv
import sys
from pathlib import Path

import numpy as np
import statsmodels.api as sm


def fit(t: np.ndarray, y: np.ndarray) -> str:
    lags = int(4 * (len(y) / 100) ** (2 / 9))
    x = sm.add_constant(t)
    (olo, ohi) = sm.OLS(y, x).fit().conf_int()[1]
    hac = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    (hlo, hhi) = hac.conf_int()[1]
    return f"{hac.params[1]:+.2f}/h OLS({olo:+.2f}..{ohi:+.2f}) HAC({hlo:+.2f}..{hhi:+.2f})"


def main() -> None:
    warmup = float(sys.argv[1])
    for path in sys.argv[2:]:
        with Path(path).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        clock = "elapsed_s" if "elapsed_s" in rows[0] else "t_s"
        kept = [r for r in rows if float(r[clock]) >= warmup]
        t = np.array([float(r[clock]) / 3600 for r in kept])
        print(f"{path}: {len(kept)} rows to {float(kept[-1][clock]) / 60:.1f} min")
        for column in rows[0]:
            if column == clock:
                continue
            try:
                y = np.array([float(r[column]) for r in kept])
            except ValueError:
                continue
            print(f"  {column:22s} {y[0]:12.2f} -> {y[-1]:12.2f}  {fit(t, y)}")


if __name__ == "__main__":
    main()
