"""Which readiness drills a target can take, decided from its capabilities alone."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.config import Capability
from vigil.readiness.config import ReadinessSuiteConfig
from vigil.results import CheckResult, Status

DRILL_NEEDS: dict[str, tuple[frozenset[Capability], ...]] = {
    "deploy": (frozenset({Capability.ADMIN, Capability.PREDICT, Capability.HEALTH}),),
    "restore": (
        frozenset({Capability.ADMIN, Capability.PREDICT, Capability.EVALUATION,
                   Capability.PROCESS_CONTROL}),
        frozenset({Capability.ADMIN, Capability.PREDICT, Capability.EVALUATION,
                   Capability.CONTAINER_CONTROL}),
    ),
    "alerts": (frozenset({Capability.METRICS, Capability.ADMIN}),),
    "security": (frozenset({Capability.HEALTH}),),
}  # fmt: skip
"""Per drill, sets of capabilities of which any one suffices (restore needs to stop the
target and reach its data, as a process or as a container)."""

DRILL_CHECKS = {
    "deploy": ("deploy_without_failed_requests", "broken_deploy_rolled_back"),
    "restore": ("restore_is_identical", "corrupt_backup_refused"),
    "alerts": ("alert_fires_within_bound", "alert_resolves_after_recovery"),
    "security": ("admin_refuses_bad_tokens", "no_5xx_on_bad_input", "no_secret_leaked"),
}


def missing(drill: str, capabilities: Iterable[Capability]) -> list[str]:
    """What the target lacks for `drill` (empty when it can run)."""
    have = frozenset(capabilities)
    options = DRILL_NEEDS[drill]
    gaps = [sorted(c.value for c in need - have) for need in options]
    return [] if any(not gap for gap in gaps) else min(gaps, key=len)


def runnable(
    drill: str, capabilities: Iterable[Capability], settings: ReadinessSuiteConfig
) -> bool:
    """Whether `drill` is enabled and the target can take it."""
    return getattr(settings, drill).enabled and not missing(drill, capabilities)


def not_applicable(
    capabilities: Iterable[Capability], settings: ReadinessSuiteConfig
) -> list[CheckResult]:
    """A not-applicable check for each enabled drill the target cannot take."""
    have = frozenset(capabilities)
    found = []
    for drill, names in DRILL_CHECKS.items():
        gap = missing(drill, have)
        if getattr(settings, drill).enabled and gap:
            found += [
                CheckResult(
                    name=name,
                    status=Status.NOT_APPLICABLE,
                    message=f"the target lacks {', '.join(gap)}, so the {drill} drill cannot run",
                )
                for name in names
            ]
    return found


def versions_runnable(capabilities: Iterable[Capability], settings: ReadinessSuiteConfig) -> bool:
    """Whether target versions are configured and the target can be recreated on them."""
    return (
        runnable("deploy", capabilities, settings)
        and bool(settings.deploy.versions)
        and bool(
            {Capability.PROCESS_CONTROL, Capability.CONTAINER_CONTROL} & frozenset(capabilities)
        )
    )
