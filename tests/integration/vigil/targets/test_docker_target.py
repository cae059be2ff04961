"""The docker target on a real engine: a locally built image, host networking, cleanup."""

from __future__ import annotations

import io
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require_service
from vigil.config import DockerTargetConfig, Mount
from vigil.errors import TargetUnavailableError
from vigil.targets import open_target
from vigil.targets.client import TargetClient
from vigil.targets.docker import LABEL

from .chatty_target import LINES

CHATTY = Path(__file__).with_name("chatty_target.py")

pytestmark = pytest.mark.integration

IMAGE = "vigil-test/host-python:local"
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def docker_client() -> Iterator[object]:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException as exc:
        require_service("Docker", f"no engine answered: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def host_python_image(docker_client: object) -> str:
    """An image that is only an empty root file system; the host's Python is mounted in.

    Built with `docker import` from a tar made here: no registry is contacted.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder in ("tmp", "proc", "sys", "dev", "etc", "usr", "lib", "lib64", "bin", "root"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            archive.addfile(info)
    docker_client.api.import_image_from_data(
        buffer.getvalue(), repository=IMAGE.split(":")[0], tag="local"
    )
    return IMAGE


def host_mounts() -> list[Mount]:
    interpreter = Path(sys.base_prefix)
    paths = {
        Path("/usr"),
        Path("/lib"),
        Path("/lib64"),
        Path("/bin"),
        Path("/etc"),
        REPO,
        interpreter,
    }
    return [Mount(source=p, target=str(p)) for p in sorted(paths) if p.exists()]


def test_reference_runs_in_a_container_on_the_host_network(
    host_python_image: str, docker_client: object, tmp_path: Path
) -> None:
    config = DockerTargetConfig(
        name="reference-in-docker",
        image=host_python_image,
        command=[
            sys.executable,
            "-m",
            "reference",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--data-dir",
            "{workdir}",
        ],
        mounts=host_mounts(),
        token_env="REFERENCE_ADMIN_TOKEN",
        admin_token={"generate": True},
        startup_timeout_s=120,
        stop_timeout_s=10,
    )
    target = open_target(config, tmp_path)
    with target:
        assert target.endpoint.base_url.startswith("http://127.0.0.1:")
        with TargetClient(target.endpoint) as client:
            assert client.health().status == "ok"
            prediction = client.predict({"x0": 1.0, "x1": 2.0, "x2": 3.0})
            client.feedback(prediction.request_id, 1)
            assert client.evaluation().total.count == 1
            assert client.admin("GET", "/admin/models").status_code == 200
        container_id = target.container.id
        assert "container_control" in target.endpoint.capabilities
    assert docker_client.containers.list(all=True, filters={"id": container_id}) == []
    assert docker_client.containers.list(all=True, filters={"label": LABEL}) == []
    assert (tmp_path / "reference.db").exists() or any(tmp_path.iterdir())


def test_missing_image_is_named(docker_client: object, tmp_path: Path) -> None:
    config = DockerTargetConfig(image="vigil-test/absent:none", command=["true"])
    with pytest.raises(TargetUnavailableError, match="'vigil-test/absent:none' is not present"):
        open_target(config, tmp_path).start()


def test_no_engine_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    config = DockerTargetConfig(image="anything:latest")
    with pytest.raises(TargetUnavailableError, match="needs a running Docker engine"):
        open_target(config, tmp_path).start()


def test_a_chatty_container_keeps_its_log_within_the_bounds(
    host_python_image: str, docker_client: object, tmp_path: Path
) -> None:
    config = DockerTargetConfig(
        name="chatty",
        image=host_python_image,
        command=[sys.executable, str(CHATTY), "{port}"],
        mounts=host_mounts(),
        log_max_bytes=65_536,
        log_backups=2,
        stop_timeout_s=2,
    )
    target = open_target(config, tmp_path)
    with target:
        container = target.container
        # Docker copies stdout and stderr separately, so the stderr line may land in a file
        # that later stdout lines rotate away: wait for the last stdout line only.
        newest = f"line {LINES - 1:06d}".encode()
        deadline = time.monotonic() + 30
        while newest not in container.logs() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert newest in container.logs()
        container.reload()
        log_path = Path(container.attrs["LogPath"])
        assert container.attrs["HostConfig"]["LogConfig"] == {
            "Type": "json-file",
            "Config": {"max-size": "65536", "max-file": "3"},
        }
        # Docker's json-file driver rotated it: three files at most, each within the bound.
        kept = sorted(log_path.parent.glob(log_path.name + "*"))
        assert 2 <= len(kept) <= 3, kept
        assert all(p.stat().st_size <= 65_536 + 1024 for p in kept), [p.stat() for p in kept]
        # What is kept starts later than the first line: the oldest file was dropped.
        assert not container.logs().startswith(b"line 000000 ")
