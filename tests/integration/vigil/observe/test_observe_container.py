"""Container statistics through the Docker SDK, on a real engine (skipped without one)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.vigil.targets.test_docker_target import (  # the engine and image fixtures
    docker_client,
    host_mounts,
    host_python_image,
)
from vigil.observe.resources import ResourceSampler, ResourceSamplerConfig

pytestmark = [pytest.mark.integration, pytest.mark.docker]

__all__ = ["docker_client", "host_python_image"]

SPIN = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass"


@pytest.fixture()
def spinning_container(docker_client: object, host_python_image: str) -> Iterator[str]:
    """A container whose one process spins on a CPU for up to a minute; removed afterwards."""
    container = docker_client.containers.run(  # type: ignore[attr-defined]
        host_python_image,
        command=[sys.executable, "-c", SPIN],
        network_mode="none",
        volumes={str(m.source): {"bind": m.target, "mode": "ro"} for m in host_mounts()},
        labels={"vigil.test": "observe"},
        detach=True,
    )
    try:
        yield container.id
    finally:
        container.remove(force=True)


def test_samples_a_containers_cpu_and_memory(spinning_container: str) -> None:
    config = ResourceSamplerConfig(interval_seconds=0.5)
    with ResourceSampler(container_id=spinning_container, config=config) as sampler:
        time.sleep(3.0)
    assert sampler.problem is None
    containers = [s.container for s in sampler.samples if s.container is not None]
    assert len(containers) >= 3
    busy = [c.cpu_percent for c in containers if c.cpu_percent is not None]
    assert busy and max(busy) > 20, containers
    assert all(c.memory_bytes and c.memory_bytes > 0 for c in containers)
    assert any(c.pids and c.pids >= 1 for c in containers)


def test_an_unknown_container_reads_as_absent(docker_client: object) -> None:
    config = ResourceSamplerConfig(interval_seconds=0.2)
    with ResourceSampler(container_id="vigil-no-such-container", config=config) as sampler:
        time.sleep(0.7)
    assert sampler.samples and all(s.container is None for s in sampler.samples)
