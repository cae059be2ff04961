"""deployments/prefect.yaml: every deployment names a real flow with parameters it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint

from vigil.suites import SUITES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DEPLOYMENTS = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_deployment_runs_a_real_flow_with_valid_parameters(deployment: dict) -> None:
    path, name = deployment["entrypoint"].split(":")
    flow = load_flow_from_entrypoint(f"{REPO / path}:{name}")
    validated = flow.validate_parameters(deployment.get("parameters", {}))
    assert validated["profile"] in ("development", "staging", "production")
    for suite in validated.get("suites") or []:
        assert suite in SUITES
    for schedule in deployment.get("schedules", []):
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    assert deployment["work_pool"]["name"] == "vigil-local"


def test_flow_parameters_are_documented_for_the_ui() -> None:
    flow = load_flow_from_entrypoint(f"{REPO / 'flows/validate.py'}:validate")
    schema = flow.parameters.model_dump()
    for name in ("profile", "config_path", "report_dir", "suites"):
        assert schema["properties"][name].get("description"), name
