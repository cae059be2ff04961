"""The target protocol: how vigil starts, reaches and stops a system under test.

Every kind of target (a process vigil launches, a service already running, a
container) hides behind :class:`Target`. Steps never see the adapter: they get
a :class:`TargetEndpoint` -- a plain, serialisable description of where the
target listens and what it can do -- and talk to it through
:class:`vigil.targets.client.TargetClient`.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from pydantic import BaseModel, ConfigDict, Field

from vigil.config import HTTP_CAPABILITIES, Capability, SecretSource, TargetBaseConfig
from vigil.errors import TargetUnavailableError


class TargetEndpoint(BaseModel):
    """Where a started target listens and what it offers; safe to pass as a flow parameter.

    The admin token is never held here, only the name of the environment
    variable in vigil's own process that holds it.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    base_url: str
    health_path: str = "/health"
    request_timeout_s: float = 10.0
    capabilities: frozenset[Capability] = Field(default_factory=frozenset)
    admin_token: SecretSource | None = None
    pid: int | None = Field(
        default=None,
        description="The service's top process on this machine (its workers are its "
        "descendants), when vigil knows it: process targets, http targets with a process "
        "selector.",
    )
    container_id: str | None = Field(
        default=None, description="The target's container, for docker targets."
    )


class Target(ABC):
    """A system under test that vigil can start, reach and stop.

    Use it as a context manager: ``with open_target(config, workdir) as target:``
    starts it and always stops it, even when the body raises.
    """

    kind: str
    default_capabilities: frozenset[Capability] = HTTP_CAPABILITIES

    def __init__(self, config: TargetBaseConfig) -> None:
        self.config = config
        self._endpoint: TargetEndpoint | None = None
        self._minted_token_env: str | None = None

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the configuration allows, or by default everything this kind can do."""
        if self.config.capabilities is not None:
            return frozenset(self.config.capabilities)
        return self.default_capabilities

    @property
    def endpoint(self) -> TargetEndpoint:
        """The started target's endpoint."""
        if self._endpoint is None:
            raise TargetUnavailableError(f"target {self.config.name!r} has not been started")
        return self._endpoint

    @abstractmethod
    def start(self) -> TargetEndpoint:
        """Start the target if vigil owns it, wait until it is healthy, return its endpoint."""

    @abstractmethod
    def stop(self) -> None:
        """Stop what :meth:`start` started; safe to call twice and after a failed start."""

    def __enter__(self) -> Target:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _hand_over_token(self, env: dict[str, str], token_env: str | None) -> SecretSource | None:
        """Resolve the admin token of a target vigil launches and put it in its `env`.

        A generated token is minted once per adapter, so a restart keeps it.
        Returns where vigil itself finds the token, for the endpoint.
        """
        source = self.config.admin_token
        if source is None:
            return None
        if source.generate:
            if self._minted_token_env is None:
                _, minted = mint_token()
                self._minted_token_env = minted.env
            source = SecretSource(env=self._minted_token_env)
        if token_env:
            env[token_env] = source.resolve().get_secret_value()
        return source

    def _make_endpoint(self, base_url: str, token: SecretSource | None) -> TargetEndpoint:
        endpoint = TargetEndpoint(
            name=self.config.name,
            kind=self.kind,
            base_url=base_url.rstrip("/"),
            health_path=self.config.health_path,
            request_timeout_s=self.config.request_timeout_s,
            capabilities=self.capabilities,
            admin_token=token,
        )
        _STARTED[endpoint.base_url] = self
        return endpoint


_STARTED: dict[str, Target] = {}
"""Targets started in this process, by base URL (the endpoint is what flows pass around)."""


def running_target(endpoint: TargetEndpoint) -> Target:
    """The adapter that started `endpoint` in this process, for steps that control it.

    Steps receive only the serialisable endpoint; faults and drills that must kill,
    pause or redeploy the target get its adapter here.

    Raises:
        TargetUnavailableError: no target with that endpoint was started in this process.
    """
    try:
        return _STARTED[endpoint.base_url]
    except KeyError:
        raise TargetUnavailableError(
            f"target {endpoint.name!r} at {endpoint.base_url} was not started by this vigil "
            "process, so it cannot be controlled from here"
        ) from None


def mint_token(prefix: str = "VIGIL_TARGET_TOKEN") -> tuple[str, SecretSource]:
    """Create a random token, keep it in this process's environment, return (value, source)."""
    value = secrets.token_urlsafe(32)
    variable = f"{prefix}_{secrets.token_hex(4).upper()}"
    os.environ[variable] = value
    return value, SecretSource(env=variable)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    endpoint: TargetEndpoint,
    timeout_s: float,
    *,
    still_running: Callable[[], bool] | None = None,
    describe_exit: Callable[[], str] | None = None,
) -> None:
    """Poll the target's health endpoint until it answers ok or degraded.

    Args:
        endpoint: The target to poll.
        timeout_s: How long to keep trying.
        still_running: Returns False once the target's process is gone, to fail fast.
        describe_exit: Returns a description of why the process ended (e.g. its log tail).

    Raises:
        TargetUnavailableError: the deadline passed or the process ended.
    """
    from vigil.targets.client import TargetClient

    deadline = time.monotonic() + timeout_s
    last_problem = "no answer yet"
    with TargetClient(endpoint, timeout_s=min(2.0, endpoint.request_timeout_s)) as client:
        while True:
            if still_running is not None and not still_running():
                detail = describe_exit() if describe_exit else ""
                raise TargetUnavailableError(
                    f"target {endpoint.name!r} exited before it became healthy. {detail}".strip()
                )
            try:
                health = client.health()
                if health.status in ("ok", "degraded"):
                    return
                last_problem = f"health status {health.status!r}"
            except TargetUnavailableError as exc:
                last_problem = str(exc)
            if time.monotonic() >= deadline:
                raise TargetUnavailableError(
                    f"target {endpoint.name!r} was not healthy at {endpoint.base_url}"
                    f"{endpoint.health_path} within {timeout_s:g} s (last: {last_problem}); "
                    "raise target.startup_timeout_s or check the target's log"
                )
            time.sleep(0.2)
