"""The acceptance test of the whole product, as a user runs it.

`vigil validate` on the development profile measures all six default criteria and
passes against the healthy reference service; the same service started with learning,
self-healing and pattern analysis switched off -- it still speaks the whole HTTP
contract -- is judged failed on exactly those three criteria and passes the other three.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SIX_CRITERIA = {
    "p95_latency_within_budget",
    "learning_improves_over_30_days",
    "mttr_within_budget",
    "pattern_accuracy",
    "availability",
    "integration_pass_rate",
}
BROKEN_ON_PURPOSE = {"learning_improves_over_30_days", "mttr_within_budget", "pattern_accuracy"}
SWITCHES = ["--learning-enabled", "false", "--self-healing-enabled", "false"]
SWITCHES += ["--patterns-mode", "none"]


def validate(tmp_path: Path, config: dict[str, object]) -> tuple[int, dict, str]:
    """`vigil validate` in a subprocess with its own Prefect home: exit code, report, output."""
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIGIL_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    done = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "validate", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    [run_dir] = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    return done.returncode, report, done.stdout + done.stderr[-4000:]


def base_config(tmp_path: Path) -> dict[str, object]:
    return {
        "work_dir": str(tmp_path / "work"),
        "store": {"url": f"sqlite:///{tmp_path / 'vigil.db'}"},
    }


def test_the_healthy_reference_passes_all_six_criteria(tmp_path: Path) -> None:
    code, report, output = validate(tmp_path, base_config(tmp_path))

    statuses = {c["name"]: c["status"] for c in report["criteria"]}
    assert set(statuses) == SIX_CRITERIA, output
    assert statuses == dict.fromkeys(SIX_CRITERIA, "passed"), output
    assert (code, report["verdict"]) == (0, "passed"), output
    assert set(report["suites"]) == {"data", "integration", "performance", "workflow", "readiness"}


def test_a_service_that_never_learns_heals_or_finds_patterns_fails_exactly_those(
    tmp_path: Path,
) -> None:
    command = [*load_config(None).target.command, *SWITCHES]
    config = {**base_config(tmp_path), "target": {"command": command}}
    code, report, output = validate(tmp_path, config)

    statuses = {c["name"]: c["status"] for c in report["criteria"]}
    failed = {name for name, status in statuses.items() if status == "failed"}
    assert failed == BROKEN_ON_PURPOSE, output
    assert all(statuses[name] == "passed" for name in SIX_CRITERIA - BROKEN_ON_PURPOSE), output
    assert (code, report["verdict"]) == (1, "failed"), output
    messages = {c["name"]: c["message"] for c in report["criteria"]}
    assert "misses" in messages["mttr_within_budget"]
    assert "misses" in messages["learning_improves_over_30_days"]
