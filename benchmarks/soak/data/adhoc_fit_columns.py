"""Fit a line to every numeric column of a benchmark CSV after a warm-up (ordinary and HAC CI).

Usage: python adhoc_fit_columns.py WARMUP_S file.csv ...  (time column: elapsed_s or t_s)
"""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_soak_memory import _fit  # the benchmark's own fit


def fit(t: list[float], y: list[float]) -> str:
    f = _fit(t, y)
    return (
        f"{f['slope_mb_per_h']:+.2f}/h OLS({f['ci_low']:+.2f}..{f['ci_high']:+.2f}) "
        f"HAC({f['hac_ci_low']:+.2f}..{f['hac_ci_high']:+.2f})"
    )


def main() -> None:
    warmup = float(sys.argv[1])
    for path in sys.argv[2:]:
        with Path(path).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        clock = "elapsed_s" if "elapsed_s" in rows[0] else "t_s"
        kept = [r for r in rows if float(r[clock]) >= warmup]
        t = [float(r[clock]) / 3600 for r in kept]
        print(f"{path}: {len(kept)} rows to {float(kept[-1][clock]) / 60:.1f} min")
        for column in rows[0]:
            if column == clock:
                continue
            try:
                y = [float(r[column]) for r in kept]
            except ValueError:
                continue
            print(f"  {column:22s} {y[0]:12.2f} -> {y[-1]:12.2f}  {fit(t, y)}")


if __name__ == "__main__":
    main()
