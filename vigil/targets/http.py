"""A target that is already running somewhere vigil may reach."""

from __future__ import annotations

import re
from pathlib import Path

import psutil

from vigil.config import Capability, HttpTargetConfig
from vigil.errors import ConfigError, TargetUnavailableError
from vigil.targets.base import HTTP_CAPABILITIES, Target, TargetEndpoint, wait_until_healthy


class HttpTarget(Target):
    """A running service; vigil neither starts nor stops it.

    If the configuration names its process (pid file or command-line pattern),
    process faults can reach it too.
    """

    kind = "http"

    def __init__(self, config: HttpTargetConfig, workdir: Path | None = None) -> None:
        super().__init__(config)
        self.config: HttpTargetConfig = config

    @property
    def default_capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        if self.config.process is not None:
            return HTTP_CAPABILITIES | {Capability.PROCESS_CONTROL}
        return HTTP_CAPABILITIES

    def start(self) -> TargetEndpoint:
        """Check the token is available and wait until the service is healthy."""
        if self.config.admin_token is not None:
            try:
                self.config.admin_token.check_available()
            except ConfigError as exc:
                raise ConfigError(f"target.admin_token: {exc}") from None
        self._endpoint = self._make_endpoint(self.config.base_url, self.config.admin_token)
        wait_until_healthy(self._endpoint, self.config.startup_timeout_s)
        if self.config.process is not None:
            try:
                pid = self.main_process().pid
            except TargetUnavailableError:
                pid = None  # process faults will say why; watching resources just goes without
            self._endpoint = self._endpoint.model_copy(update={"pid": pid})
        return self._endpoint

    def stop(self) -> None:
        """Nothing to stop: vigil did not start this service."""

    def main_process(self) -> psutil.Process:
        """The service's process, found by pid file or command-line pattern."""
        selector = self.config.process
        if selector is None:
            raise TargetUnavailableError(
                f"target {self.config.name!r} names no process; add target.process.pid_file or "
                "target.process.cmdline_pattern to use process faults"
            )
        if selector.pid_file is not None:
            try:
                pid = int(Path(selector.pid_file).read_text().strip())
                return psutil.Process(pid)
            except (OSError, ValueError, psutil.Error) as exc:
                raise TargetUnavailableError(
                    f"pid file {selector.pid_file} does not name a running process: {exc}"
                ) from exc
        pattern = re.compile(selector.cmdline_pattern or "")
        matches = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if cmdline and pattern.search(cmdline) and process.pid != psutil.Process().pid:
                matches.append(process)
        # The oldest match is the service's top process; its workers started later.
        matches.sort(key=lambda p: p.create_time())
        if not matches:
            raise TargetUnavailableError(f"no running process matches {selector.cmdline_pattern!r}")
        return matches[0]

    def processes(self) -> list[psutil.Process]:
        """The service's process and its descendants."""
        main = self.main_process()
        return [main, *main.children(recursive=True)]
