"""The CI gate, as docs/ci.md writes it, against a real server and a real process worker.

The gate commands are taken from the page itself (every line of its GitHub Actions and
Jenkins examples that starts with ``vigil validate`` or ``prefect deployment run``) and run
in a folder holding a small ``vigil.yaml``: a run that passes, one whose criterion no target
meets, one whose criterion is not evaluated, and one whose target cannot start. All runs go
at once, so that the module costs about one run's time.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.configs import HEAVY_CRITERIA, HEAVY_SUITES, merge_overrides
from tests.integration.deployments.conftest import REPO, PrefectServer
from tests.integration.vigil.report.report_schema import validate_report_json

pytestmark = pytest.mark.integration

DOC = REPO / "docs" / "ci.md"
RUN_TIMEOUT_S = 900
GATE = re.compile(r"^\s*(vigil validate|prefect deployment run)\b.*$", re.MULTILINE)

BASE = {
    "suites": {
        "data": {"enabled": False},
        "integration": {"feedback_rounds": 5},
        **{name: {"enabled": False} for name in HEAVY_SUITES},
    },
}
CONFIGS = {
    "passed": {},
    "failed": {
        "criteria": {
            "impossible_pass_rate": {
                "description": "More than every check: no target meets it.",
                "suite": "integration",
                "measure": "pass_rate",
                "operator": ">",
                "threshold": 1.0,
            }
        }
    },
    "incomplete": {
        "criteria": {
            "expectations_pass": {
                "description": "Measured by the data suite, which this run switches off.",
                "suite": "data",
                "measure": "expectations_pass_rate",
                "operator": ">=",
                "threshold": 1.0,
            }
        }
    },
    "error": {
        "target": {"command": ["{python}", "-c", "raise SystemExit('cannot bind: port in use')"]}
    },
}


def doc_blocks(language: str) -> list[str]:
    """The fenced code blocks of docs/ci.md in `language`."""
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def gate_commands() -> dict[str, str]:
    """The page's gate commands by their first words; every example must hold both."""
    found: dict[str, set[str]] = {}
    for language in ("yaml", "groovy"):
        block = doc_blocks(language)[0]
        commands = {m.group(0).strip() for m in GATE.finditer(block)}
        kinds = {c.split(" ")[0] for c in commands}
        assert kinds == {"vigil", "prefect"}, (language, commands)
        for command in commands:
            found.setdefault(command.split(" ")[0], set()).add(command)
    # The two examples run the very same commands.
    assert all(len(variants) == 1 for variants in found.values()), found
    return {kind: variants.pop() for kind, variants in found.items()}


@dataclass
class Gate:
    """One gate command run in its own folder, and what came of it."""

    kind: str
    case: str
    folder: Path
    returncode: int
    output: str

    def report(self) -> dict:
        [path] = (self.folder / "reports").glob("*/report.json")
        return validate_report_json(path)

    def junit(self) -> ET.Element:
        [path] = (self.folder / "reports").glob("*/junit.xml")
        return ET.parse(path).getroot()

    def flow_run_id(self) -> str:
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", self.output)
        assert match, self.output
        return str(uuid.UUID(match.group(1)))


@pytest.fixture(scope="module")
def gates(
    prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Gate]:
    commands = gate_commands()
    plan = [("prefect", case) for case in CONFIGS] + [("vigil", "failed")]
    running = []
    for kind, case in plan:
        folder = tmp_path_factory.mktemp(f"gate-{kind}-{case}")
        config = merge_overrides(
            {
                **BASE,
                "criteria": {name: {"enabled": False} for name in HEAVY_CRITERIA},
                "work_dir": str(folder / "work"),
                "store": {"url": f"sqlite:///{folder / 'vigil.db'}"},
            },
            CONFIGS[case],
        )
        (folder / "vigil.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        # As in the examples, both gates talk to the running server (vigil validate's runs
        # then show in the UI too).
        env = dict(prefect_server.env)
        process = subprocess.Popen(
            ["bash", "-c", commands[kind]],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running.append((kind, case, folder, process))
    done = {}
    for kind, case, folder, process in running:
        try:
            output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        (folder / "gate.log").write_text(output, encoding="utf-8")
        done[(kind, case)] = Gate(kind, case, folder, process.returncode, output)
    return done


def failures(root: ET.Element) -> dict[str, str]:
    """Every failed test case's ``classname.name`` with its failure message."""
    return {
        f"{case.get('classname')}.{case.get('name')}": failure.get("message", "")
        for case in root.iter("testcase")
        for failure in case.findall("failure")
    }


def test_a_passing_run_exits_zero_and_the_validate_run_carries_the_verdict(
    gates: dict[tuple[str, str], Gate], prefect_server: PrefectServer
) -> None:
    gate = gates[("prefect", "passed")]
    assert gate.returncode == 0, gate.output + prefect_server.tail()
    assert "Flow run finished successfully in 'Completed'" in gate.output
    # --watch shows the suites as they finish, not only the final state.
    assert "Suite integration (1/1): passed" in gate.output
    assert failures(gate.junit()) == {}
    assert gate.report()["verdict"] == "passed"

    artifacts = {a["key"]: a for a in prefect_server.artifacts(gate.flow_run_id())}
    assert {"vigil-verdict", "vigil-criteria", "vigil-report", "vigil-progress"} <= set(artifacts)
    assert "**PASSED**" in artifacts["vigil-verdict"]["data"]
    assert artifacts["vigil-progress"]["data"] == 100.0
    # Prefect stores a link artifact as a markdown link: [text](url).
    link = re.fullmatch(r"\[.*\]\((.*)\)", artifacts["vigil-report"]["data"]).group(1)
    assert link.startswith("file:///") and link.endswith("/report.html")
    assert Path(link.removeprefix("file://")) == gate.folder.joinpath(
        "reports", Path(link).parent.name, "report.html"
    )
    assert Path(link.removeprefix("file://")).is_file()
    rows = artifacts["vigil-criteria"]["data"]
    assert "integration_pass_rate" in str(rows)


def test_a_failed_criterion_exits_non_zero_and_junit_names_it(
    gates: dict[tuple[str, str], Gate], prefect_server: PrefectServer
) -> None:
    gate = gates[("prefect", "failed")]
    assert gate.returncode == 1, gate.output
    assert "Flow run finished in state 'Failed'" in gate.output
    run = prefect_server.api("GET", f"/flow_runs/{gate.flow_run_id()}")
    assert run["state"]["message"].startswith("verdict failed: impossible_pass_rate failed")
    assert list(failures(gate.junit())) == ["vigil.criteria.impossible_pass_rate"]
    assert gate.report()["verdict"] == "failed"


def test_a_criterion_not_evaluated_exits_non_zero_and_is_a_junit_failure(
    gates: dict[tuple[str, str], Gate], prefect_server: PrefectServer
) -> None:
    gate = gates[("prefect", "incomplete")]
    assert gate.returncode == 1, gate.output
    run = prefect_server.api("GET", f"/flow_runs/{gate.flow_run_id()}")
    assert run["state"]["message"].startswith("verdict incomplete: ")
    found = failures(gate.junit())
    assert "vigil.criteria.expectations_pass" in found
    assert "not evaluated" in found["vigil.criteria.expectations_pass"]
    assert gate.junit().find("testsuite/testcase/skipped") is None
    assert gate.report()["verdict"] == "incomplete"


def test_an_infrastructure_error_exits_non_zero(
    gates: dict[tuple[str, str], Gate], prefect_server: PrefectServer
) -> None:
    gate = gates[("prefect", "error")]
    assert gate.returncode == 1, gate.output
    run = prefect_server.api("GET", f"/flow_runs/{gate.flow_run_id()}")
    assert run["state"]["message"].startswith("verdict error: ")
    assert "cannot bind" in run["state"]["message"]
    assert gate.report()["verdict"] == "error"
    errors = [c for c in gate.junit().iter("testcase") if c.find("error") is not None]
    assert [c.get("name") for c in errors] == ["run_completed_without_infrastructure_error"]


def test_vigil_validate_from_the_doc_gates_the_same_way(
    gates: dict[tuple[str, str], Gate],
) -> None:
    # Its passing run is the e2e tier's; here the doc's command must fail the gate.
    failed = gates[("vigil", "failed")]
    assert failed.returncode == 1, failed.output
    assert "impossible_pass_rate" in failed.output
    assert list(failures(failed.junit())) == ["vigil.criteria.impossible_pass_rate"]
