"""Start-up cost of the `vigil` command's light paths, which must not import Prefect or GX.

Runs each command several times in a fresh interpreter and writes the medians,
with the machine and versions, to RESULTS.md beside this file.

    .venv/bin/python benchmarks/cli/bench_cli_startup.py --repeats 15
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

COMMANDS = {
    "vigil --help": ["-m", "vigil.cli", "--help"],
    "vigil config check": ["-m", "vigil.cli", "config", "check"],
    "python -c pass (floor)": ["-c", "pass"],
    "import prefect (for scale)": ["-c", "import prefect"],
}


def time_command(args: list[str], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, capture_output=True)
        samples.append(time.perf_counter() - began)
    return samples


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for name, command in COMMANDS.items():
        samples = time_command(command, args.repeats)
        rows.append((name, statistics.median(samples), min(samples), max(samples)))
        print(f"{name:<30} median {statistics.median(samples) * 1000:8.1f} ms")
    floor = rows[2][1]
    lines = [
        "# vigil command start-up",
        "",
        "`vigil --help` and `vigil config check` import neither Prefect nor Great Expectations;",
        "`vigil validate` imports Prefect only after the configuration has been validated.",
        "",
        f"Command: `.venv/bin/python benchmarks/cli/bench_cli_startup.py --repeats {args.repeats}`",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; shared and noisy, so compare the",
        "ratios to the bare interpreter measured in the same run, not the absolute times.",
        f"Versions: Python {platform.python_version()}, vigil {version('vigil')}, "
        f"prefect {version('prefect')}, pydantic {version('pydantic')}.",
        "",
        "| command | median (ms) | min (ms) | max (ms) | × bare interpreter |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, median, low, high in rows:
        lines.append(
            f"| {name} | {median * 1000:.0f} | {low * 1000:.0f} | {high * 1000:.0f} | "
            f"{median / floor:.1f} |"
        )
    Path(__file__).with_name("RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
