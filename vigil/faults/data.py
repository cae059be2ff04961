"""Data faults: poisoned feedback and input drift in the experiment's own traffic.

They change what vigil sends, not the target: the background traffic of an
experiment (:class:`vigil.faults.experiment.FeedbackTraffic`) inverts a share of its
labels or shifts its features while the fault is active. They end with the traffic.
"""

from __future__ import annotations

import time
from typing import Any

from vigil.errors import TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import InputDriftConfig, PoisonedFeedbackConfig

_SEEN_WITHIN_S = 5.0


class _TrafficFault(ActiveFault):
    counter = ""

    def __init__(self, config: Any, context: FaultContext) -> None:
        super().__init__(config, context)
        self.traffic: Any = None
        self.before = 0

    def prepare(self) -> None:
        if self.context.traffic is None:
            raise TargetUnavailableError(
                f"{self.name}: data faults change the experiment's background traffic, and "
                "none runs (give the scenario a traffic rate)"
            )
        self.traffic = self.context.traffic
        self.before = getattr(self.traffic, self.counter)

    def effect(self) -> FaultEvidence:
        deadline = time.monotonic() + _SEEN_WITHIN_S
        while time.monotonic() < deadline:
            sent = getattr(self.traffic, self.counter) - self.before
            if sent > 0:
                return FaultEvidence(True, f"{sent} {self.counter} requests sent")
            time.sleep(0.05)
        return FaultEvidence(False, f"no {self.counter} request within {_SEEN_WITHIN_S:g} s")


class PoisonedFeedbackFault(_TrafficFault):
    """Invert a share of the labels the experiment sends."""

    kind = "poisoned_feedback"
    counter = "poisoned"

    def __init__(self, config: PoisonedFeedbackConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: PoisonedFeedbackConfig = config

    def apply(self) -> None:
        self.traffic.label_flip_rate = self.config.rate

    def revert(self) -> bool:
        acted = self.traffic.label_flip_rate > 0
        self.traffic.label_flip_rate = 0.0
        return acted

    def rollback_held(self) -> FaultEvidence:
        return FaultEvidence(self.traffic.label_flip_rate == 0, "labels are sent true again")


class InputDriftFault(_TrafficFault):
    """Shift the features the experiment sends."""

    kind = "input_drift"
    counter = "drifted"

    def __init__(self, config: InputDriftConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: InputDriftConfig = config

    def apply(self) -> None:
        self.traffic.feature_shift = self.config.shift

    def revert(self) -> bool:
        acted = self.traffic.feature_shift != 0
        self.traffic.feature_shift = 0.0
        return acted

    def rollback_held(self) -> FaultEvidence:
        return FaultEvidence(self.traffic.feature_shift == 0, "features are sent unshifted")
