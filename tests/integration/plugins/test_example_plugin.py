"""A plugin's target kind and check, installed through entry points and named from YAML."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.configs import contract_only
from tests.integration.vigil.report.report_schema import validate_report_json
from vigil.checks import load_plugin_check
from vigil.config import load_config
from vigil.errors import ConfigError
from vigil.results import Status
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

pytestmark = pytest.mark.integration

VIGIL = str(Path(sys.executable).with_name("vigil"))


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_plugin_kind_is_named_in_yaml_and_typed_by_the_plugins_model(
    example_plugin: str, tmp_path: Path
) -> None:
    path = write(tmp_path, {"target": {"kind": "reference_local", "learning_enabled": False}})
    config = load_config(path, "development")
    assert type(config.target).__name__ == "ReferenceLocalConfig"
    assert config.target.learning_enabled is False

    misspelt = write(tmp_path, {"target": {"kind": "reference_local", "learning_enable": False}})
    with pytest.raises(ConfigError, match=r"target.learning_enable: unknown key; did you mean"):
        load_config(misspelt, "development")
    unknown = write(tmp_path, {"target": {"kind": "mykind"}})
    with pytest.raises(ConfigError, match=r"unknown kind 'mykind'.*reference_local"):
        load_config(unknown, "development")


def test_an_unknown_plugin_check_is_a_configuration_error(
    example_plugin: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path, {"suites": {"integration": {"extra_checks": ["health_list_components"]}}}
    )
    with pytest.raises(ConfigError, match=r"did you mean 'health_lists_components'"):
        load_config(path, "development")


class _NoComponents(BaseHTTPRequestHandler):
    """A target whose health names no component: the plugin check must fail on it."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "model_version": "v1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def broken_target() -> Iterator[TargetEndpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoComponents)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TargetEndpoint(
            name="broken",
            kind="http",
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            capabilities=frozenset({"health"}),
        )
    finally:
        server.shutdown()
        server.server_close()


def test_the_plugin_check_fails_a_target_whose_health_lists_no_component(
    example_plugin: str, broken_target: TargetEndpoint
) -> None:
    declared = load_plugin_check("health_lists_components")
    with TargetClient(broken_target) as client:
        result = declared(broken_target.capabilities, client)
    assert result.status is Status.FAILED
    assert result.message == "health lists no component, so a degraded part cannot show"


def test_vigil_validate_runs_the_plugin_target_and_check_end_to_end(
    example_plugin: str, tmp_path: Path
) -> None:
    config = write(
        tmp_path,
        contract_only(
            tmp_path,
            target={"kind": "reference_local", "name": "plugged"},
            suites={
                "data": {"enabled": False},
                "integration": {
                    "feedback_rounds": 5,
                    "extra_checks": ["health_lists_components"],
                },
            },
        ),
    )
    done = subprocess.run(
        [VIGIL, "validate", "--config", str(config), "--report-dir", str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [junit] = (tmp_path / "reports").glob("*/junit.xml")
    case = (
        ET.parse(junit)
        .getroot()
        .find("testsuite[@name='integration']/testcase[@name='health_lists_components']")
    )
    assert case is not None and list(case) == []  # present and passed
    [report] = (tmp_path / "reports").glob("*/report.json")
    assert validate_report_json(report)["target"] == "plugged"
