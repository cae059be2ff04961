"""Shared plumbing of the pattern benchmarks: machine facts and RESULTS.md sections.

Each benchmark owns one section of ``RESULTS.md`` between HTML comment markers
and rewrites only that section, so the scripts can run in any order.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

RESULTS_PATH = Path(__file__).with_name("RESULTS.md")
PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "ruptures", "pydantic")


def machine_lines() -> list[str]:
    """Markdown bullet lines describing this machine and the library versions."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return [
        f"- Machine: `nproc` = {os.cpu_count()}, CPU {cpu}, {platform.system()} "
        f"{platform.release()} (shared with other jobs while measured)",
        f"- Python {sys.version.split()[0]}; {versions}",
    ]


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section `name` of RESULTS.md with `body`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = RESULTS_PATH.read_text() if RESULTS_PATH.exists() else "# Pattern analyzer benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS_PATH.write_text(text)


def fmt(value: float | None) -> str:
    """A ratio for a table cell (n/a when undefined)."""
    return "n/a" if value is None else f"{value:.2f}"
