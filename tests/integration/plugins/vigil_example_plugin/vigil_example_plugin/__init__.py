"""An example vigil plugin: one target kind and one check.

``reference_local`` launches vigil's reference service with its switches as typed YAML
keys (``learning_enabled: false`` instead of a hand-written command line); it is a process
target underneath, so it keeps process faults. ``health_lists_components`` is a check any
suite that runs plugin checks can name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from vigil.checks import Outcome, check
from vigil.config import Capability, ProcessTargetConfig, TargetBaseConfig
from vigil.targets.client import TargetClient
from vigil.targets.process import ProcessTarget


class ReferenceLocalConfig(TargetBaseConfig):
    """vigil's reference service on this machine, its switches as keys."""

    kind: Literal["reference_local"] = "reference_local"
    learning_enabled: bool = Field(default=True, description="Whether the model learns.")
    self_healing_enabled: bool = Field(default=True, description="Whether it heals itself.")
    stop_timeout_s: float = Field(default=15.0, gt=0, le=600, description="Grace on stop.")


class ReferenceLocalTarget(ProcessTarget):
    """Runs ``python -m reference`` with the configured switches, as a process target."""

    kind = "reference_local"
    config_model = ReferenceLocalConfig

    def __init__(self, config: ReferenceLocalConfig, workdir: Path) -> None:
        def flag(value: bool) -> str:
            return "true" if value else "false"

        process = ProcessTargetConfig(
            name=config.name,
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
                "--learning-enabled",
                flag(config.learning_enabled),
                "--self-healing-enabled",
                flag(config.self_healing_enabled),
            ],
            token_env="REFERENCE_ADMIN_TOKEN",
            health_path=config.health_path,
            startup_timeout_s=config.startup_timeout_s,
            request_timeout_s=config.request_timeout_s,
            stop_timeout_s=config.stop_timeout_s,
            capabilities=config.capabilities,
        )
        super().__init__(process, workdir)


@check("health_lists_components", needs=[Capability.HEALTH])
def health_lists_components(client: TargetClient) -> Outcome:
    """`GET /health` names at least one component, each with a status."""
    health = client.health()
    components = health.components
    without = [name for name, value in components.items() if not _has_status(value)]
    if not components:
        return Outcome(False, "health lists no component, so a degraded part cannot show")
    if without:
        return Outcome(False, f"components without a status: {', '.join(sorted(without))}")
    return Outcome(
        True,
        f"{len(components)} components: {', '.join(sorted(components))}",
        {"components": float(len(components))},
    )


def _has_status(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and "status" in value)
