"""deployments/prefect.yaml: valid for Prefect's own loader, and deployed for real."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel
from prefect.flows import load_flow_from_entrypoint

from tests.integration.deployments.conftest import REPO, PrefectServer
from vigil.suites import SUITES

pytestmark = pytest.mark.integration

PREFECT_YAML = REPO / "deployments" / "prefect.yaml"
RAW = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
NAMES = [d["name"] for d in RAW["deployments"]]


def test_prefect_yaml_validates_against_prefects_own_model_without_ignored_keys() -> None:
    model = PrefectYamlModel.model_validate(RAW)

    assert model.prefect_version == "3.8.8"
    assert len(model.deployments) == len(RAW["deployments"])
    # Prefect's model ignores unknown keys, so a misspelt one would silently vanish.
    known = set(DeploymentConfig.model_fields)
    for deployment in RAW["deployments"]:
        assert set(deployment) <= known, (deployment["name"], set(deployment) - known)
    assert model.pull == [
        {
            "prefect.deployments.steps.set_working_directory": {
                "directory": "{{ project-dir.stdout }}"
            }
        }
    ]
    assert "VIGIL_PROJECT_DIR" not in PREFECT_YAML.read_text(encoding="utf-8").split("pull:")[1]


def test_every_registered_suite_has_its_own_deployment() -> None:
    by_name = {d["name"]: d for d in RAW["deployments"]}
    # The soak is off in validate: its own resumable entry flow is deployed weekly instead.
    validated = [s for s in SUITES if s != "soak"]
    missing = [f"suite-{s}" for s in validated if f"suite-{s}" not in by_name]
    assert missing == [], f"add these to deployments/prefect.yaml: {missing}"
    for suite in validated:
        assert by_name[f"suite-{suite}"]["parameters"]["suites"] == [suite]
    assert by_name["weekly-soak"]["entrypoint"] == "flows/soak_run.py:soak_run"
    assert {"ci", "development", "staging", "production-nightly"} <= set(by_name)


@pytest.mark.parametrize(
    "deployment", RAW["deployments"], ids=[d["name"] for d in RAW["deployments"]]
)
def test_each_deployment_names_a_real_flow_with_parameters_it_accepts(deployment: dict) -> None:
    path, name = deployment["entrypoint"].split(":")
    assert (REPO / path).is_file(), deployment["entrypoint"]
    flow = load_flow_from_entrypoint(f"{REPO / path}:{name}")
    flow.validate_parameters(deployment.get("parameters", {}))
    assert deployment["work_pool"]["name"] == "vigil-local"
    assert deployment["enforce_parameter_schema"] is True


def test_prefect_deploy_records_the_checkout_for_the_workers_pull_step(
    prefect_server: PrefectServer,
) -> None:
    for deployment in RAW["deployments"]:
        flow_name = (
            "soak-run" if deployment["entrypoint"].startswith("flows/soak_run.py") else "validate"
        )
        stored = prefect_server.deployment(f"{flow_name}/{deployment['name']}")
        assert stored["work_pool_name"] == "vigil-local"
        assert stored["enforce_parameter_schema"] is True
        assert stored["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]
        assert stored["parameters"] == deployment.get("parameters", {})
        described = stored["parameter_openapi_schema"]["properties"]
        assert described["config_path"]["description"].startswith("Path of vigil.yaml")
    nightly = prefect_server.deployment("validate/production-nightly")
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "0 2 * * *"
    assert Path(
        stored["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    ).is_dir()
