"""A target vigil launches as a local process tree.

The command runs under :mod:`vigil.targets.guard`, so the tree is stopped even
when vigil is killed outright. vigil keeps the guard's pid and finds the
service and its workers below it with psutil.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from vigil.config import Capability, ProcessTargetConfig
from vigil.errors import TargetUnavailableError
from vigil.targets.base import (
    HTTP_CAPABILITIES,
    Target,
    TargetEndpoint,
    free_port,
    wait_until_healthy,
)

_LOG_TAIL_BYTES = 4000


class ProcessTarget(Target):
    """A service started from a command line, with process-level control."""

    kind = "process"
    default_capabilities = HTTP_CAPABILITIES | {Capability.PROCESS_CONTROL}

    def __init__(self, config: ProcessTargetConfig, workdir: Path) -> None:
        super().__init__(config)
        self.config: ProcessTargetConfig = config
        self.workdir = Path(workdir).resolve()
        self.log_path = self.workdir / "target.log"
        self.guard_log_path = self.workdir / "guard.log"
        self._guard: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._command: list[str] = list(config.command)
        self._extra_env: dict[str, str] = {}

    # --- life cycle ---------------------------------------------------------------------------

    def start(self, timeout_s: float | None = None) -> TargetEndpoint:
        """Launch the command under the guard and wait until its health endpoint answers.

        Args:
            timeout_s: How long to wait for health; default ``startup_timeout_s``.
        """
        if self._guard is not None and self._guard.poll() is None:
            return self.endpoint
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._port = self._port or self.config.port or free_port()
        values = {"python": sys.executable, "port": self._port, "workdir": str(self.workdir)}
        command = [part.format(**values) for part in self._command]
        base_url = self.config.base_url.format(**values)

        env = {**os.environ, **self.config.env, **self._extra_env}
        token_source = self._hand_over_token(env, self.config.token_env)

        guard = [
            sys.executable,
            "-m",
            "vigil.targets.guard",
            "--parent",
            str(os.getpid()),
            "--grace",
            str(self.config.stop_timeout_s),
            "--log",
            str(self.log_path),
            "--log-max-bytes",
            str(self.config.log_max_bytes),
            "--log-backups",
            str(self.config.log_backups),
            "--",
            *command,
        ]
        # The guard keeps the command's output in the bounded target.log; its own few
        # lines (a failure to start the command, say) go to guard.log.
        with self.guard_log_path.open("ab") as log:
            try:
                self._guard = subprocess.Popen(
                    guard,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.config.cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise TargetUnavailableError(
                    f"target {self.config.name!r}: cannot launch {command[0]!r}: {exc}"
                ) from exc
        self._endpoint = self._make_endpoint(base_url, token_source)
        wait_until_healthy(
            self._endpoint,
            timeout_s or self.config.startup_timeout_s,
            still_running=lambda: self._guard is not None and self._guard.poll() is None,
            describe_exit=self._describe_exit,
        )
        self._endpoint = self._endpoint.model_copy(update={"pid": self.main_process().pid})
        return self._endpoint

    def stop(self) -> None:
        """Stop the tree gracefully (SIGTERM through the guard), then forcibly."""
        guard, self._guard = self._guard, None
        if guard is None:
            return
        tree = _tree(guard.pid)
        if guard.poll() is None:
            guard.send_signal(signal.SIGTERM)
            try:
                guard.wait(timeout=self.config.stop_timeout_s + 5)
            except subprocess.TimeoutExpired:
                guard.kill()
                guard.wait(timeout=5)
        # Whatever the guard could not stop (it was itself killed, say) is killed here.
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(tree, timeout=5)

    def restart(self) -> TargetEndpoint:
        """Stop and start again on the same port with the same token."""
        self.stop()
        return self.start()

    @property
    def command(self) -> list[str]:
        """The command template of the version that runs (or ran last)."""
        return list(self._command)

    @property
    def extra_env(self) -> dict[str, str]:
        """The environment the running version got on top of the configuration's."""
        return dict(self._extra_env)

    def deploy(
        self, command: list[str], env: dict[str, str] | None = None, timeout_s: float | None = None
    ) -> TargetEndpoint:
        """Replace the running version with `command` on the same port, token and workdir.

        This is a recreate deploy: the old tree is stopped before the new one starts,
        because a service that binds its own port cannot share it with its successor.
        Requests sent in between fail, and the deploy drill counts them. A new version
        that exits or is not healthy within `timeout_s` is stopped again, leaving nothing
        running; the caller rolls back by deploying the previous command.

        Args:
            command: The new version's command; may use {python}, {port} and {workdir}.
            env: Extra environment of the new version (no secrets).
            timeout_s: How long the new version has to become healthy.

        Raises:
            TargetUnavailableError: the new version did not become healthy.
        """
        self.stop()
        self._command, self._extra_env = list(command), dict(env or {})
        try:
            return self.start(timeout_s=timeout_s)
        except TargetUnavailableError:
            self.stop()
            raise

    # --- process control ----------------------------------------------------------------------

    def main_process(self) -> psutil.Process:
        """The service's own top process (the guard's child)."""
        if self._guard is None or self._guard.poll() is not None:
            raise TargetUnavailableError(f"target {self.config.name!r} is not running")
        children = psutil.Process(self._guard.pid).children()
        if not children:
            raise TargetUnavailableError(f"target {self.config.name!r} has no running process")
        return children[0]

    def processes(self) -> list[psutil.Process]:
        """Every process of the service: its top process and all descendants."""
        main = self.main_process()
        return [main, *main.children(recursive=True)]

    @property
    def guard_pid(self) -> int | None:
        """Pid of the guard process, while one runs."""
        return self._guard.pid if self._guard is not None else None

    def _describe_exit(self) -> str:
        code = self._guard.poll() if self._guard is not None else None
        text = f"Exit status {code}. Last lines of {self.log_path}:\n{_tail(self.log_path)}"
        guard_said = _tail(self.guard_log_path)
        if guard_said:
            text += f"\nThe guard ({self.guard_log_path}) said:\n{guard_said}"
        return text


def _tail(path: Path, lines: int = 15) -> str:
    """The last `lines` lines of a log file, or "" if it cannot be read."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - _LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
