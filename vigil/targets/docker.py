"""A target run as a container through the Docker engine, on the host network."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from vigil.config import Capability, DockerTargetConfig
from vigil.errors import TargetUnavailableError
from vigil.targets.base import (
    HTTP_CAPABILITIES,
    Target,
    TargetEndpoint,
    free_port,
    wait_until_healthy,
)

LABEL = "dev.vigil.target"


class DockerTarget(Target):
    """A container vigil creates, health-checks, and always removes."""

    kind = "docker"
    default_capabilities = HTTP_CAPABILITIES | {Capability.CONTAINER_CONTROL}

    def __init__(self, config: DockerTargetConfig, workdir: Path) -> None:
        super().__init__(config)
        self.config: DockerTargetConfig = config
        self.workdir = Path(workdir).resolve()
        self._client: Any = None
        self._container: Any = None
        self._port: int | None = None
        self._image: str = config.image
        self._command: list[str] | None = list(config.command) if config.command else None
        self._extra_env: dict[str, str] = {}

    def _docker(self) -> Any:
        if self._client is None:
            import docker
            from docker.errors import DockerException

            try:
                client = docker.from_env(timeout=int(max(5, self.config.request_timeout_s)))
                client.ping()
            except DockerException as exc:
                raise TargetUnavailableError(
                    "target kind 'docker' needs a running Docker engine, and none answered "
                    f"({exc}). Start dockerd (or set DOCKER_HOST), or use target kind "
                    "'process' or 'http'."
                ) from exc
            self._client = client
        return self._client

    def start(self, timeout_s: float | None = None) -> TargetEndpoint:
        """Create and start the container, then wait until it is healthy.

        Args:
            timeout_s: How long to wait for health; default ``startup_timeout_s``.
        """
        from docker.errors import DockerException, ImageNotFound
        from docker.types import LogConfig

        client = self._docker()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._port = self._port or self.config.port or free_port()
        values = {"port": self._port, "workdir": str(self.workdir)}
        command = [part.format(**values) for part in self._command or []] or None
        env = {**self.config.env, **self._extra_env}
        token_source = self._hand_over_token(env, self.config.token_env)
        volumes = {
            str(m.source): {"bind": m.target, "mode": "ro" if m.read_only else "rw"}
            for m in self.config.mounts
        }
        volumes[str(self.workdir)] = {"bind": str(self.workdir), "mode": "rw"}
        try:
            # Never pull: `containers.run` would reach for a registry when the image is absent.
            client.images.get(self._image)
            self._container = client.containers.create(
                self._image,
                command=command,
                network_mode="host",
                environment=env,
                volumes=volumes,
                name=f"vigil-{self.config.name}-{secrets.token_hex(4)}",
                labels={LABEL: self.config.name},
                working_dir=str(self.workdir),
                # Docker's own rotation, the same bounds as a process target's log.
                log_config=LogConfig(
                    type=LogConfig.types.JSON,
                    config={
                        "max-size": str(self.config.log_max_bytes),
                        "max-file": str(self.config.log_backups + 1),
                    },
                ),
            )
            self._container.start()
        except ImageNotFound as exc:
            raise TargetUnavailableError(
                f"image {self._image!r} is not present locally; build or load it first "
                "(vigil never pulls images)"
            ) from exc
        except DockerException as exc:
            raise TargetUnavailableError(f"cannot start container: {exc}") from exc
        self._endpoint = self._make_endpoint(self.config.base_url.format(**values), token_source)
        wait_until_healthy(
            self._endpoint,
            timeout_s or self.config.startup_timeout_s,
            still_running=self._running,
            describe_exit=self._describe_exit,
        )
        self._endpoint = self._endpoint.model_copy(update={"container_id": self._container.id})
        return self._endpoint

    def stop(self) -> None:
        """Stop the container (SIGTERM, then SIGKILL after the grace period) and remove it."""
        container, self._container = self._container, None
        if container is None:
            return
        from docker.errors import DockerException, NotFound

        try:
            container.stop(timeout=int(self.config.stop_timeout_s))
        except NotFound:
            return
        except DockerException:
            pass
        with contextlib.suppress(NotFound):
            container.remove(force=True)

    def restart(self) -> TargetEndpoint:
        """Stop and start a fresh container on the same port with the same token."""
        self.stop()
        return self.start()

    @property
    def version(self) -> tuple[str, list[str] | None, dict[str, str]]:
        """The image, command template and extra environment that run (or ran last)."""
        return self._image, self._command, dict(self._extra_env)

    def deploy(
        self,
        image: str,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> TargetEndpoint:
        """Replace the running container with one of `image`, same port, token and workdir.

        A recreate deploy, like :meth:`ProcessTarget.deploy`: the old container is stopped
        and removed before the new one starts (requests in between fail and are counted
        by the deploy drill). A new container that exits or is not healthy within
        `timeout_s` is removed again, leaving nothing running; the caller rolls back by
        deploying the previous image.

        Args:
            image: A locally present image reference (vigil never pulls).
            command: Its command (may use {port} and {workdir}); None keeps the current one.
            env: Extra environment of the new version (no secrets).
            timeout_s: How long the new container has to become healthy.

        Raises:
            TargetUnavailableError: the new container did not become healthy.
        """
        self.stop()
        self._image = image
        if command is not None:
            self._command = list(command)
        self._extra_env = dict(env or {})
        try:
            return self.start(timeout_s=timeout_s)
        except TargetUnavailableError:
            self.stop()
            raise

    @property
    def container(self) -> Any:
        """The running container (a docker SDK object), for container faults."""
        if self._container is None:
            raise TargetUnavailableError(f"target {self.config.name!r} has no container")
        return self._container

    def _running(self) -> bool:
        if self._container is None:
            return False
        from docker.errors import NotFound

        try:
            self._container.reload()
        except NotFound:
            return False
        return self._container.status in ("created", "running", "restarting")

    def _describe_exit(self) -> str:
        try:
            logs = self._container.logs(tail=15).decode("utf-8", "replace")
            state = self._container.attrs.get("State", {})
        except Exception as exc:  # the container may be gone altogether
            return f"(its logs could not be read: {exc})"
        return f"Container state {state.get('Status')}, exit code {state.get('ExitCode')}:\n{logs}"
