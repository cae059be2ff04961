"""Image versions of the reference as a docker target: deploy, a broken image rolled back."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.readiness import drill_version_deploys, judge_readiness
from tests.services import require_service
from vigil.config import DockerTargetConfig, Mount
from vigil.readiness.config import (
    AlertDrillConfig,
    DeployDrillConfig,
    ReadinessSuiteConfig,
    RestoreDrillConfig,
    SecurityDrillConfig,
    TargetVersionConfig,
)
from vigil.results import Status
from vigil.targets import open_target

pytestmark = [pytest.mark.integration, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[4]
RECIPE = REPO / "deployments" / "docker" / "build_reference_image.py"


@pytest.fixture(scope="module")
def images() -> Iterator[tuple[str, str]]:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException as exc:
        require_service("Docker", f"no engine answered: {exc}")
    spec = importlib.util.spec_from_file_location("build_reference_image", RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    yield recipe.build_image(client, "readiness-v1"), recipe.build_image(client, "readiness-v2")
    client.close()


def host_mounts() -> list[Mount]:
    paths = {Path("/usr"), Path("/lib"), Path("/lib64"), Path("/bin"), Path("/etc"), REPO}
    paths.add(Path(sys.base_prefix))
    return [Mount(source=p, target=str(p)) for p in sorted(paths) if p.exists()]


def test_an_image_version_deploys_and_a_broken_one_is_rolled_back(images, tmp_path, make_run):
    v1, v2 = images
    config = DockerTargetConfig(
        name="reference-docker",
        image=v1,
        command=[sys.executable, "-m", "reference", "--host", "127.0.0.1", "--port", "{port}",
                 "--data-dir", "{workdir}"],
        mounts=host_mounts(),
        token_env="REFERENCE_ADMIN_TOKEN",
        admin_token={"generate": True},
        startup_timeout_s=120,
        stop_timeout_s=10,
    )  # fmt: skip
    versions = {
        "v2": TargetVersionConfig(image=v2),
        "v2-exits": TargetVersionConfig(image=v2, command=["/bin/false"]),
    }
    settings = ReadinessSuiteConfig(
        deploy=DeployDrillConfig(
            warmup_labels=0, gate_timeout_s=60, versions=versions, broken_version="v2-exits"
        ),
        restore=RestoreDrillConfig(enabled=False),
        security=SecurityDrillConfig(enabled=False),
        alerts=AlertDrillConfig(enabled=False),
    )
    with open_target(config, tmp_path / "docker") as target:
        run = make_run(target)
        attempts = drill_version_deploys.fn(run, settings)
        checks, _ = judge_readiness.fn(run.endpoint, [], attempts, None, None, None, settings)
        serving_image = target.version[0]

    by_name = {c.name: c for c in checks}
    assert by_name["version_deploy_passes_health_gate"].status is Status.PASSED
    rolled = by_name["version_broken_deploy_rolled_back"]
    assert rolled.status is Status.PASSED, rolled.message
    assert "'v2-exits' never became healthy" in rolled.message
    assert serving_image == v2
