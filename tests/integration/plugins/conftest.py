"""The example plugin, installed into the test environment for the session, then removed.

It is installed with ``uv pip install`` into the running interpreter's environment (not a
path dependency of the project), so that the locked environment stays the one users get.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUGIN = Path(__file__).with_name("vigil_example_plugin")
REPO = Path(__file__).resolve().parents[3]


def _uv() -> str:
    for candidate in (REPO / ".tools" / "bin" / "uv", Path("/work/main/.tools/bin/uv")):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to install the example plugin (make sets up .tools/bin/uv)")
    return found


def _uv_pip(*args: str) -> None:
    done = subprocess.run(
        [_uv(), "pip", *args, "--python", sys.executable],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def example_plugin() -> Iterator[str]:
    """Install vigil-example-plugin; yield its distribution name; uninstall it afterwards."""
    _uv_pip("install", "--no-deps", str(PLUGIN))
    try:
        yield "vigil-example-plugin"
    finally:
        _uv_pip("uninstall", "vigil-example-plugin")
