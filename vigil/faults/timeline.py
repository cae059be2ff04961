"""Timelines of injected faults and the recovery figures computed from them (pure functions).

The rule for a fault the target did not heal by itself
------------------------------------------------------
An injection is *self-healed* when the probe stream shows the steady state
restored -- every probe good (answered correctly, within the steady state's
latency bound) for ``settle_s`` -- before vigil's rollback touched anything. Its
time to recover is from the injection to the answer of the first probe of that
good run (the instant service was seen back; see :func:`answered_at`).

If any injection was not self-healed (vigil's rollback had to restore the
target, or nothing restored it), the run's ``mttr_s`` is not a mean at all: it
is ``not_self_healed_mttr_s``, a cap set above the MTTR budget, so such a run
always fails ``mttr_within_budget``. That is the simpler and stricter of the
two rules the issue allows; a mean that blends one unhealed fault into many
quick ones could still pass.

Detection is the target's own incident when it reported one after the
injection, else the first failed probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from vigil.observe.probes import ProbeSample
from vigil.scoring.availability import first_failure, recovered_at
from vigil.targets.client import Incident

INCIDENT_SLACK = timedelta(milliseconds=100)
"""An incident detected this little before the injection instant still counts (clock skew
between vigil's timestamp and the target's millisecond-rounded one)."""


class InjectionTimeline(BaseModel):
    """Everything that happened to one injected fault, in wall-clock UTC."""

    fault: str
    kind: str
    expected_kind: str | None = None
    injected_at: datetime
    effect_proven: bool = False
    effect_detail: str = ""
    detected_at: datetime | None = None
    detected_by: Literal["target", "probe"] | None = None
    diagnosed_kind: str | None = None
    action: str | None = None
    target_recovered_at: datetime | None = Field(
        default=None, description="The recovery instant the target itself reported."
    )
    recovered_at: datetime | None = Field(
        default=None, description="Steady state restored (and held) before any rollback."
    )
    self_healed: bool = False
    rollback_at: datetime | None = None
    rollback_acted: bool = False
    rollback_held: bool = False
    rollback_detail: str = ""
    recovered_after_rollback_at: datetime | None = None
    probes: int = 0
    failed_probes: int = 0

    @property
    def time_to_detect_s(self) -> float | None:
        """Injection to detection."""
        if self.detected_at is None:
            return None
        return max(0.0, (self.detected_at - self.injected_at).total_seconds())

    @property
    def time_to_recover_s(self) -> float | None:
        """Injection to the self-healed recovery (None when not self-healed)."""
        if not self.self_healed or self.recovered_at is None:
            return None
        return max(0.0, (self.recovered_at - self.injected_at).total_seconds())


def judged_samples(samples: Sequence[ProbeSample], max_latency_ms: float) -> list[ProbeSample]:
    """The samples with every good-but-slow probe marked failed.

    A request the target's kernel queued while no worker served, answered only once a
    new worker started, was not service: it counts from the moment it was answered
    quickly again.
    """
    judged = []
    for sample in samples:
        if sample.ok and sample.latency_ms is not None and sample.latency_ms > max_latency_ms:
            sample = sample.model_copy(
                update={"ok": False, "error": f"slow: {sample.latency_ms:.0f} ms"}
            )
        judged.append(sample)
    return judged


def answered_at(samples: Sequence[ProbeSample], sent_at: datetime | None) -> datetime | None:
    """When the probe sent at `sent_at` was answered: the instant service was seen back.

    ``recovered_at`` finds the *send* instant of the first probe of the good run; a
    probe sent just before the service came back but answered within the latency
    bound would date the recovery up to that bound too early.
    """
    if sent_at is None:
        return None
    for sample in samples:
        if sample.sent_at == sent_at and sample.latency_ms is not None:
            return sent_at + timedelta(milliseconds=sample.latency_ms)
    return sent_at


def first_incident(
    incidents: Sequence[Incident], injected_at: datetime, before: datetime | None = None
) -> Incident | None:
    """The target's first incident detected after the injection (and before `before`)."""
    candidates = [
        i
        for i in incidents
        if i.detected_at >= injected_at - INCIDENT_SLACK
        and (before is None or i.detected_at <= before)
    ]
    return min(candidates, key=lambda i: i.detected_at, default=None)


def self_healed_recovery(
    samples: Sequence[ProbeSample],
    injected_at: datetime,
    settle_s: float,
    rollback_at: datetime | None,
) -> datetime | None:
    """When the steady state came back (and held `settle_s`) before vigil's rollback.

    The search starts at the first failed probe after the injection (a fault nobody
    noticed recovers at once), and only probes sent before the rollback count.
    """
    window = [s for s in samples if rollback_at is None or s.sent_at < rollback_at]
    start = first_failure(window, injected_at) or injected_at
    return recovered_at(window, start, settle_s)


def build_timeline(
    *,
    fault: str,
    kind: str,
    expected_kind: str | None,
    injected_at: datetime,
    samples: Sequence[ProbeSample],
    incidents: Sequence[Incident],
    settle_s: float,
    max_latency_ms: float,
    rollback_at: datetime | None,
    cleared_at: datetime | None = None,
    healed_before_rollback: bool | None = None,
) -> InjectionTimeline:
    """The timeline of one injection from the probe stream and the target's incidents.

    Args:
        fault: The fault's label.
        kind: The fault's kind.
        expected_kind: The incident kind the target should diagnose, if judged.
        injected_at: When vigil applied the fault.
        samples: The probe stream's samples (at least from the injection on).
        incidents: The target's incidents since the injection.
        settle_s: How long the steady state must hold to count as recovered.
        max_latency_ms: A slower good probe counts as failed.
        rollback_at: When vigil's rollback started, if it ran.
        cleared_at: When the target undid a fault that probes cannot see (a corrupt
            model); recovery is then no earlier than this.
        healed_before_rollback: What the observation concluded, when it can see more than
            the probes (False: not self-healed, whatever the probes say).
    """
    judged = [s for s in judged_samples(samples, max_latency_ms) if s.sent_at >= injected_at]
    incident = first_incident(incidents, injected_at, rollback_at)
    healed_at = answered_at(
        judged, self_healed_recovery(judged, injected_at, settle_s, rollback_at)
    )
    if healed_at is not None and cleared_at is not None:
        healed_at = max(healed_at, cleared_at)
    if healed_before_rollback is False and cleared_at is None and rollback_at is not None:
        healed_at = None
    probe_failure = first_failure(judged, injected_at)
    if incident is not None:
        detected_at, detected_by = incident.detected_at, "target"
    elif probe_failure is not None:
        detected_at, detected_by = probe_failure, "probe"
    else:
        detected_at, detected_by = None, None
    after_rollback = None
    if healed_at is None and rollback_at is not None:
        after_rollback = answered_at(judged, recovered_at(judged, rollback_at, settle_s))
    return InjectionTimeline(
        fault=fault,
        kind=kind,
        expected_kind=expected_kind,
        injected_at=injected_at,
        detected_at=detected_at,
        detected_by=detected_by,
        diagnosed_kind=incident.kind if incident else None,
        action=incident.action if incident else None,
        target_recovered_at=incident.recovered_at if incident else None,
        recovered_at=healed_at,
        self_healed=healed_at is not None,
        rollback_at=rollback_at,
        recovered_after_rollback_at=after_rollback,
        probes=len(judged),
        failed_probes=sum(not s.ok for s in judged),
    )


class RecoveryScores(BaseModel):
    """The figures of a set of injections."""

    injections: int
    mttr_s: float | None
    """Mean time to recover when every injection healed itself, else the cap."""
    mean_time_to_detect_s: float | None
    diagnosis_accuracy: float | None
    """Share of injections with an expected kind whose diagnosed kind matched; None: none judged."""
    self_healed_share: float | None
    confusion: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="expected kind -> diagnosed kind (or 'none') -> count"
    )
    not_self_healed: list[str] = Field(default_factory=list)


def score(timelines: Sequence[InjectionTimeline], not_self_healed_mttr_s: float) -> RecoveryScores:
    """MTTR, time to detect, diagnosis accuracy and self-healed share (module docstring's rule).

    Args:
        timelines: One per injection.
        not_self_healed_mttr_s: mttr_s when any injection was not self-healed.
    """
    if not timelines:
        return RecoveryScores(
            injections=0,
            mttr_s=None,
            mean_time_to_detect_s=None,
            diagnosis_accuracy=None,
            self_healed_share=None,
        )
    unhealed = [t.fault for t in timelines if not t.self_healed]
    recover = [t.time_to_recover_s for t in timelines if t.time_to_recover_s is not None]
    mttr = not_self_healed_mttr_s if unhealed else sum(recover) / len(recover)
    detect = [t.time_to_detect_s for t in timelines if t.time_to_detect_s is not None]
    judged = [t for t in timelines if t.expected_kind]
    confusion: dict[str, dict[str, int]] = {}
    for t in judged:
        row = confusion.setdefault(str(t.expected_kind), {})
        got = t.diagnosed_kind or "none"
        row[got] = row.get(got, 0) + 1
    return RecoveryScores(
        injections=len(timelines),
        mttr_s=mttr,
        mean_time_to_detect_s=sum(detect) / len(detect) if detect else None,
        diagnosis_accuracy=(
            sum(t.diagnosed_kind == t.expected_kind for t in judged) / len(judged)
            if judged
            else None
        ),
        self_healed_share=(len(timelines) - len(unhealed)) / len(timelines),
        confusion=confusion,
        not_self_healed=unhealed,
    )
