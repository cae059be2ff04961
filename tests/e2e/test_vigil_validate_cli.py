"""`vigil validate` as a user runs it: a subprocess, Prefect's temporary server, real reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.configs import contract_only, merge_overrides
from tests.configs import write_config as write_yaml

VIGIL = [sys.executable, "-m", "vigil.cli"]
UNMEASURED = {
    "expectations_pass": {
        "suite": "data",
        "measure": "expectations_pass_rate",
        "operator": ">=",
        "threshold": 1.0,
    }
}
"""A criterion of the data suite, which the first test's run switches off."""


def user_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with no Prefect server configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIGIL_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return env


def write_config(tmp_path: Path, **overrides: object) -> Path:
    """A vigil.yaml of the data and integration suites only, their criteria alone judged."""
    base = contract_only(tmp_path, suites={"integration": {"feedback_rounds": 30}})
    return write_yaml(tmp_path, merge_overrides(base, overrides))


def vigil(tmp_path: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VIGIL, *args],
        cwd=tmp_path,
        env=user_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def only_run_dir(reports: Path) -> Path:
    [run_dir] = [p for p in reports.iterdir() if p.is_dir()]
    return run_dir


def test_validate_development_profile_writes_the_report_and_exits_1(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        suites={"data": {"enabled": False}, "integration": {"feedback_rounds": 30}},
        criteria=UNMEASURED,
    )
    done = vigil(
        tmp_path,
        "validate",
        "--profile",
        "development",
        "--config",
        str(config),
        "--report-dir",
        "out",
    )

    assert done.returncode == 1, done.stderr[-3000:]
    assert "verdict INCOMPLETE" in done.stdout
    run_dir = only_run_dir(tmp_path / "out")
    report = json.loads((run_dir / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["run_id"] == run_dir.name
    assert report["profile"] == "development"
    assert isinstance(report["seed"], int)
    assert report["started_at"] < report["finished_at"]
    assert report["verdict"] == "incomplete"
    criteria = {c["name"]: c for c in report["criteria"]}
    assert set(criteria["integration_pass_rate"]) >= {
        "name",
        "status",
        "measured",
        "threshold",
        "operator",
        "suite",
    }
    assert criteria["integration_pass_rate"]["status"] == "passed"
    assert criteria["integration_pass_rate"]["measured"] == 1.0
    assert criteria["expectations_pass"]["status"] == "not_evaluated"
    assert "data" not in report["suites"]
    suite = report["suites"]["integration"]
    assert suite["status"] == "passed"
    round_trip = next(
        c for c in suite["checks"] if c["name"] == "evaluation_count_matches_feedback"
    )
    assert round_trip["status"] == "passed"
    assert round_trip["measured"]["count_rise"] == 30
    junit = (run_dir / "junit.xml").read_text()
    assert 'name="evaluation_count_matches_feedback"' in junit
    html = (run_dir / "report.html").read_text()
    assert "plotly" in html and "<script src=" not in html  # self-contained, offline

    listed = vigil(tmp_path, "runs", "list", "--config", str(config))
    assert listed.returncode == 0 and run_dir.name in listed.stdout
    shown = vigil(tmp_path, "runs", "show", run_dir.name[:17], "--config", str(config))
    assert shown.returncode == 0 and "bad_requests_rejected_with_4xx" in shown.stdout


def test_validate_exits_0_when_every_enabled_criterion_passes(tmp_path: Path) -> None:
    done = vigil(tmp_path, "validate", "--config", str(write_config(tmp_path)))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "verdict PASSED" in done.stdout
    run_dir = only_run_dir(tmp_path / "reports")
    report = json.loads((run_dir / "report.json").read_text())
    assert report["suites"]["data"]["status"] == "passed"
    assert (run_dir / "data_docs" / "index.html").exists()
    assert (run_dir / "data" / "metrics_history.parquet").exists()


def test_invalid_configuration_exits_2_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text("suites:\n  integration:\n    feedback_round: 3\n")
    done = vigil(tmp_path, "validate", "--config", str(path), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"vigil: configuration error: {path}:3: suites.integration.feedback_round: "
        "unknown key; did you mean 'feedback_rounds'?"
    )
    assert not (tmp_path / "reports").exists()


def test_target_that_will_not_start_exits_3(tmp_path: Path) -> None:
    target = {"kind": "process", "command": ["{python}", "-c", "raise SystemExit(4)"]}
    done = vigil(tmp_path, "validate", "--config", str(write_config(tmp_path, target=target)))
    assert done.returncode == 3, done.stderr[-3000:]
    assert "verdict ERROR" in done.stdout
    report = json.loads((only_run_dir(tmp_path / "reports") / "report.json").read_text())
    assert report["verdict"] == "error"
    assert "exited before it became healthy" in report["error"]


def test_sigterm_stops_the_target_and_marks_the_run_incomplete(tmp_path: Path) -> None:
    config = write_config(tmp_path, suites={"integration": {"feedback_rounds": 100_000}})
    process = subprocess.Popen(
        [*VIGIL, "validate", "--config", str(config)],
        cwd=tmp_path,
        env=user_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        service = wait_for_service(tmp_path / "work", timeout_s=300)
        tree = [service, *service.children(recursive=True)]
        time.sleep(2)  # let the round trip get under way
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output[-3000:]
    assert "interrupted" in output
    assert psutil.wait_procs(tree, timeout=30)[1] == []
    listed = vigil(tmp_path, "runs", "list", "--config", str(config))
    assert "incomplete" in listed.stdout


def wait_for_service(folder: Path, timeout_s: float) -> psutil.Process:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline"]):
            cmdline = process.info["cmdline"] or []
            if "reference" in cmdline and str(folder) in " ".join(cmdline):
                return process
        time.sleep(0.5)
    pytest.fail(f"the reference service did not start under {folder}")
