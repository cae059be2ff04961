"""Targets: how vigil starts, reaches, controls and stops a system under test.

:data:`TARGET_KINDS` maps a configuration's ``kind`` to its adapter. Third
parties add kinds through the ``vigil.targets`` entry-point group; nothing
registers itself by being imported.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from vigil.config import TargetBaseConfig
from vigil.errors import ConfigError
from vigil.targets.base import Target, TargetEndpoint, running_target
from vigil.targets.docker import DockerTarget
from vigil.targets.http import HttpTarget
from vigil.targets.process import ProcessTarget

TARGET_KINDS: dict[str, type[Target]] = {
    "process": ProcessTarget,
    "http": HttpTarget,
    "docker": DockerTarget,
}


def target_kinds() -> dict[str, type[Target]]:
    """The built-in adapters plus those installed under the ``vigil.targets`` entry points."""
    kinds = dict(TARGET_KINDS)
    for entry in entry_points(group="vigil.targets"):
        kinds.setdefault(entry.name, entry.load())
    return kinds


def open_target(config: TargetBaseConfig, workdir: Path) -> Target:
    """The adapter for `config`'s kind, not yet started."""
    kind = getattr(config, "kind", None)
    adapter = TARGET_KINDS.get(kind) or target_kinds().get(kind)
    if adapter is None:
        raise ConfigError(
            f"target.kind: no adapter for {kind!r}; known kinds: {', '.join(target_kinds())}"
        )
    return adapter(config, workdir)


__all__ = [
    "TARGET_KINDS",
    "Target",
    "TargetEndpoint",
    "open_target",
    "running_target",
    "target_kinds",
]
