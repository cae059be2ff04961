"""Usage and configuration mistakes end with exit 2 and one message, before Prefect is imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROBE = """
import sys
from vigil.cli import main
code = main(sys.argv[1:])
print("prefect imported" if "prefect" in sys.modules else "prefect not imported")
sys.exit(code)
"""


def vigil(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unknown_suite_exits_2_naming_the_known_suites_without_starting_prefect(
    tmp_path: Path,
) -> None:
    done = vigil(tmp_path, "validate", "--suite", "integratoin")
    assert done.returncode == 2, done.stderr
    assert "unknown suite 'integratoin'; did you mean 'integration'?" in done.stderr
    assert "known suites: data, integration" in done.stderr
    assert "prefect not imported" in done.stdout


def test_criterion_with_a_misspelt_measure_is_refused_by_config_check(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(
        "criteria:\n  integration_pass_rate:\n    measure: pass_rat\n", encoding="utf-8"
    )
    for args in (("config", "check", str(config)), ("validate", "--config", str(config))):
        done = vigil(tmp_path, *args)
        assert done.returncode == 2, done.stderr
        assert (
            f"{config}:3: criteria.integration_pass_rate.measure: suite 'integration' produces "
            "no measure 'pass_rat'; did you mean 'pass_rate'?"
        ) in done.stderr
        assert "Traceback" not in done.stderr
        assert "prefect not imported" in done.stdout
