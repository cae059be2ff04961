"""The bases every configuration model builds on (kept apart so that any package may use them)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteSettings(StrictModel):
    """Base of a suite's settings (``suites.<name>`` in vigil.yaml); any suite can be off."""

    enabled: bool = Field(default=True, description="Run this suite.")


class Capability(StrEnum):
    """What a target can do; a step needing a capability the target lacks is not applicable."""

    HEALTH = "health"
    METRICS = "metrics"
    PREDICT = "predict"
    FEEDBACK = "feedback"
    EVALUATION = "evaluation"
    INCIDENTS = "incidents"
    PATTERNS = "patterns"
    ADMIN = "admin"
    PROCESS_CONTROL = "process_control"
    """kill, terminate, stop/continue and restart of the target's processes."""
    CONTAINER_CONTROL = "container_control"
    """kill, stop, pause and restart of the target's container, and image deploys."""


HTTP_CAPABILITIES = frozenset(
    {
        Capability.HEALTH,
        Capability.METRICS,
        Capability.PREDICT,
        Capability.FEEDBACK,
        Capability.EVALUATION,
        Capability.INCIDENTS,
        Capability.PATTERNS,
        Capability.ADMIN,
    }
)
