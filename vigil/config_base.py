"""The bases every configuration model builds on (kept apart so that any package may use them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteSettings(StrictModel):
    """Base of a suite's settings (``suites.<name>`` in vigil.yaml); any suite can be off."""

    enabled: bool = Field(default=True, description="Run this suite.")
