"""How long `vigil validate` (what `make validate` runs) takes, whole and per suite.

The product's promise is that the development profile measures all six criteria within
3 minutes on a 2-core machine. Each repeat runs ``vigil validate`` in a fresh folder with
its own Prefect home, timed with ``time.perf_counter`` from launch to exit (Prefect's
temporary server, the target's start and stop included), and reads the suites' own start
and end from the run's ``report.json``. Two arms alternate: the healthy reference, and the
reference with learning, self-healing and pattern analysis off (the acceptance test's
broken service). Medians go to stdout as Markdown; every run's figures to ``--out``.

Usage::

    .venv/bin/python benchmarks/validate/bench_validate_time.py --repeats 3 --out /tmp/vt
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml

from vigil.config import load_config

BROKEN = ["--learning-enabled", "false", "--self-healing-enabled", "false"]
BROKEN += ["--patterns-mode", "none"]
SUITES = ("data", "integration", "performance", "workflow", "readiness")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_once(folder: Path, broken: bool) -> dict[str, object]:
    """One `vigil validate` in `folder`: wall seconds, exit code, verdict, seconds per suite."""
    folder.mkdir(parents=True)
    config: dict[str, object] = {
        "work_dir": str(folder / "work"),
        "store": {"url": f"sqlite:///{folder / 'vigil.db'}"},
    }
    if broken:
        config["target"] = {"command": [*load_config(None).target.command, *BROKEN]}
    (folder / "vigil.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIGIL_"))}
    env["PREFECT_HOME"] = str(folder / "prefect-home")
    began = time.perf_counter()
    with (folder / "output.txt").open("w") as output:
        code = subprocess.run(
            [sys.executable, "-m", "vigil.cli", "validate", "--config", "vigil.yaml"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=1800,
        ).returncode
    wall = time.perf_counter() - began
    [run_dir] = [p for p in (folder / "reports").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    suites = {
        name: (_instant(s["finished_at"]) - _instant(s["started_at"])).total_seconds()
        for name, s in report["suites"].items()
    }
    failed = sorted(c["name"] for c in report["criteria"] if c["status"] == "failed")
    return {
        "arm": "broken" if broken else "healthy",
        "wall_s": round(wall, 1),
        "exit_code": code,
        "verdict": report["verdict"],
        "failed_criteria": failed,
        "suite_s": {k: round(v, 1) for k, v in suites.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/vigil-validate-time"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for repeat in range(args.repeats):
        for broken in (False, True):
            arm = "broken" if broken else "healthy"
            result = run_once(args.out / f"{arm}-{repeat}", broken)
            runs.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    (args.out / "runs.json").write_text(json.dumps(runs, indent=2))
    print("| arm | runs | wall s (median, min..max) | " + " | ".join(SUITES) + " | verdict |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in SUITES) + " | --- |")
    for arm in ("healthy", "broken"):
        mine = [r for r in runs if r["arm"] == arm]
        walls = [float(r["wall_s"]) for r in mine]
        cells = [
            f"{statistics.median(float(r['suite_s'].get(s, 0.0)) for r in mine):.0f}"
            for s in SUITES
        ]
        verdicts = sorted({f"{r['verdict']} (exit {r['exit_code']})" for r in mine})
        print(
            f"| {arm} | {len(mine)} | {statistics.median(walls):.0f} "
            f"({min(walls):.0f}..{max(walls):.0f}) | " + " | ".join(cells) + f" | "
            f"{', '.join(verdicts)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
