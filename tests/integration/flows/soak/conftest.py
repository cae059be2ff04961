"""The soak tests' target: the reference service as a process, with switches that break it."""

from __future__ import annotations

from vigil.config import ProcessTargetConfig


def reference_config(*switches: str, name: str = "reference") -> ProcessTargetConfig:
    """The reference service on a free port of 127.0.0.1, started with `switches`."""
    return ProcessTargetConfig(
        name=name,
        command=[
            "{python}",
            "-m",
            "reference",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--data-dir",
            "{workdir}",
            *switches,
        ],
        token_env="REFERENCE_ADMIN_TOKEN",
        startup_timeout_s=120,
    )
