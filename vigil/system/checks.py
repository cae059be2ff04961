"""Checks of the system part: each component's output reaches the next, and one full cycle.

Every check sends real requests through a :class:`TargetClient` and hands what it saw
to a pure judgement (``judge_*``), so the verdicts are unit-tested on plain numbers.
None raises to report a misbehaving target; a missing capability is *not applicable*.
Every fault a check injects is rolled back in ``finally``.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vigil.checks import NotApplicable, Outcome, check
from vigil.config_base import Capability
from vigil.contract import LabelledRow
from vigil.errors import (
    FaultRollbackError,
    RunError,
    TargetProtocolError,
    TargetUnavailableError,
)
from vigil.results import CheckResult, Measurement, Status, utc_now
from vigil.system.settings import CycleConfig, LeakTolerance
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

ACCURACY_METRIC = "reference_model_accuracy"
"""Gauge of the model's recent accuracy in the target's /metrics."""
FEEDBACK_METRIC = "reference_feedback_total"
"""Counter of accepted labels in the target's /metrics."""
INCIDENTS_METRIC = "reference_incidents_total"
"""Counter of detected incidents in the target's /metrics."""
_POLL_S = 0.1
_FAULT_REQUEST_TIMEOUT_S = 1.0
_ANALYSIS_TIMEOUT_S = 30.0
_TARGET_ERRORS = (TargetUnavailableError, TargetProtocolError)


# -- rows ---------------------------------------------------------------------


def concept_rows(seed: int, count: int, *, drifted: bool = False) -> list[LabelledRow]:
    """`count` rows of river's SEA concept, or of the drifted concept.

    The drifted concept is SEA variant 3 (threshold 9.5 instead of 8) with ``x1`` and
    ``x2`` exchanged, so the label depends on a feature the original concept ignores: a
    model trained on the original is visibly wrong on it until it learns again.

    Args:
        seed: Seed of the stream (the same seed gives the same rows).
        count: How many rows.
        drifted: Rows of the drifted concept rather than the original one.
    """
    from river.datasets import synth

    stream = synth.SEA(variant=3 if drifted else 0, seed=seed)
    rows = []
    for x, y in stream.take(count):
        features = {f"x{i}": float(v) for i, v in x.items()}
        if drifted:
            features["x1"], features["x2"] = features["x2"], features["x1"]
        rows.append(LabelledRow(features=features, label=int(y)))
    return rows


@dataclass
class Traffic:
    """Labelled rows vigil sent and scored itself (its own instrument, not the target's)."""

    served: int = 0
    correct: int = 0
    accepted: int = 0
    errors: list[str] = field(default_factory=list)
    outcomes: list[bool] = field(default_factory=list)
    """Whether each served prediction was right, in order."""
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        """Share of served predictions that matched the true label."""
        return self.correct / self.served if self.served else None


def send_labelled(
    client: TargetClient,
    rows: Sequence[LabelledRow],
    traffic: Traffic | None = None,
    *,
    feedback: bool = True,
    deadline: float | None = None,
) -> Traffic:
    """Predict each row, score the answer against the true label, then send the label.

    Args:
        client: A client of the target.
        rows: The rows, in order.
        traffic: Where to add the counts (a new one by default).
        feedback: Send the true label after each prediction.
        deadline: ``time.monotonic()`` after which no more rows are sent.
    """
    seen = traffic if traffic is not None else Traffic()
    for row in rows:
        if deadline is not None and time.monotonic() >= deadline:
            break
        began = time.perf_counter()
        try:
            answer = client.predict(row.features)
        except _TARGET_ERRORS as exc:
            seen.errors.append(f"predict: {exc}")
            continue
        seen.latencies_ms.append((time.perf_counter() - began) * 1000)
        right = int(bool(answer.prediction)) == row.label
        seen.served += 1
        seen.correct += right
        seen.outcomes.append(right)
        if feedback:
            try:
                client.feedback(answer.request_id, row.label)
                seen.accepted += 1
            except _TARGET_ERRORS as exc:
                seen.errors.append(f"feedback: {exc}")
    return seen


# -- metrics ------------------------------------------------------------------


def metric_value(text: str, name: str) -> float | None:
    """Sum of the samples called `name` in Prometheus text, None when there is none.

    Raises:
        TargetProtocolError: the text is not Prometheus exposition format.
    """
    from prometheus_client.parser import text_string_to_metric_families

    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise TargetProtocolError(f"/metrics is not Prometheus text: {exc}") from exc
    values = [s.value for f in families for s in f.samples if s.name == name]
    return float(sum(values)) if values else None


def _wait(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def wait_healthy(client: TargetClient, timeout_s: float) -> tuple[bool, str]:
    """Poll /health until it says ok; return whether it did and the last status seen."""
    last = ["no answer"]

    def healthy() -> bool:
        try:
            last[0] = client.health().status
        except _TARGET_ERRORS as exc:
            last[0] = str(exc)
            return False
        return last[0] == "ok"

    return _wait(healthy, timeout_s), last[0]


# -- feedback_reaches_the_model -----------------------------------------------


def judge_model_moved(probes: int, moved: int, timeouts: int, errors: Sequence[str]) -> Outcome:
    """Every label sent must move the model's score on its own features.

    Args:
        probes: Labels sent.
        moved: Labels after which the score (or version) changed.
        timeouts: Labels after which nothing changed within the wait.
        errors: Requests that failed.
    """
    measured = {"probes": probes, "moved": moved, "timeouts": timeouts, "errors": len(errors)}
    if errors:
        return Outcome(False, f"{len(errors)} probe requests failed: {errors[0]}", measured)
    if moved == 0:
        return Outcome(
            False,
            f"none of {probes} labels moved the model's score on its probe row: the target "
            "accepts feedback but its model does not learn from it",
            measured,
        )
    return Outcome(
        moved == probes,
        f"{moved} of {probes} labels moved the model's score on their probe row",
        measured,
    )


@check("feedback_reaches_the_model", needs=[Capability.PREDICT, Capability.FEEDBACK])
def feedback_reaches_the_model(
    client: TargetClient, rows: Sequence[LabelledRow], *, probes: int, timeout_s: float
) -> Outcome:
    """Labels sent through /feedback change the model's answer on the same features."""
    from vigil.load.model_update import probe_model_update

    timings = probe_model_update(
        client, [(r.features, r.label) for r in rows], probes=probes, timeout_seconds=timeout_s
    )
    outcome = judge_model_moved(
        probes, len(timings.latencies_seconds), timings.timeouts, timings.errors
    )
    if timings.latencies_seconds:
        median = statistics.median(timings.latencies_seconds)
        measured = {**outcome.measured, "median_update_s": round(median, 4)}
        return Outcome(outcome.passed, f"{outcome.message} (median {median:.3f} s)", measured)
    return outcome


# -- quality_reaches_evaluation_and_metrics -----------------------------------


@dataclass(frozen=True)
class QualityView:
    """The model's quality as /evaluation and /metrics show it, and what vigil sent."""

    evaluation_accuracy: float | None
    metrics_accuracy: float | None
    evaluation_rise: int
    metrics_rise: float | None
    accepted: int
    window: int = 1000
    """The /evaluation window whose accuracy is compared."""


def judge_quality_agreement(view: QualityView, tolerance: float) -> Outcome:
    """/evaluation and /metrics must show the same accuracy and count the same new labels.

    Args:
        view: What both endpoints showed once the labels were sent.
        tolerance: Largest accepted difference between the two accuracies.
    """
    problems = []
    measured: dict[str, float] = {"labels_accepted": view.accepted}
    if view.evaluation_accuracy is None:
        problems.append("/evaluation reports no accuracy")
    if view.metrics_accuracy is None:
        problems.append(f"/metrics has no {ACCURACY_METRIC}")
    if view.evaluation_accuracy is not None and view.metrics_accuracy is not None:
        gap = abs(view.evaluation_accuracy - view.metrics_accuracy)
        measured.update(
            window=view.window,
            evaluation_accuracy=round(view.evaluation_accuracy, 4),
            metrics_accuracy=round(view.metrics_accuracy, 4),
            accuracy_gap=round(gap, 4),
        )
        if gap > tolerance:
            problems.append(
                f"/evaluation accuracy {view.evaluation_accuracy:.3f} (newest {view.window}) "
                f"and /metrics "
                f"{ACCURACY_METRIC} {view.metrics_accuracy:.3f} differ by {gap:.3f} "
                f"(tolerance {tolerance:g})"
            )
    measured["evaluation_count_rise"] = view.evaluation_rise
    if view.evaluation_rise != view.accepted:
        problems.append(
            f"/evaluation counted {view.evaluation_rise} new labels, {view.accepted} were accepted"
        )
    if view.metrics_rise is None:
        problems.append(f"/metrics has no {FEEDBACK_METRIC}")
    else:
        measured["metrics_count_rise"] = view.metrics_rise
        if view.metrics_rise != view.accepted:
            problems.append(
                f"/metrics {FEEDBACK_METRIC} rose by {view.metrics_rise:g}, "
                f"{view.accepted} labels were accepted"
            )
    if problems:
        return Outcome(False, "; ".join(problems), measured)
    return Outcome(
        True,
        f"both show accuracy {view.evaluation_accuracy:.3f} (newest {view.window} labels, gap "
        f"{measured['accuracy_gap']:.3f}) and {view.accepted} new labels",
        measured,
    )


@check(
    "quality_reaches_evaluation_and_metrics",
    needs=[Capability.PREDICT, Capability.FEEDBACK, Capability.EVALUATION, Capability.METRICS],
)
def quality_reaches_evaluation_and_metrics(
    client: TargetClient, rows: Sequence[LabelledRow], *, tolerance: float, timeout_s: float
) -> Outcome:
    """The quality the target computes shows the same in /evaluation and in /metrics."""
    count_before = client.evaluation().total.count
    metric_before = metric_value(client.metrics_text(), FEEDBACK_METRIC) or 0.0
    sent = send_labelled(client, rows)
    if sent.accepted == 0:
        return Outcome(False, f"no label was accepted: {'; '.join(sent.errors[:2])}")
    views: list[QualityView] = []

    # The gauge covers the newest labels its worker learned, at most 1000: after a worker
    # restart that is fewer (it replays only what followed its checkpoint). So it is
    # compared with /evaluation over windows from the labels just sent up to 1000.
    windows = sorted({len(rows), 250, 500, 1000})

    def agree() -> bool:
        text = client.metrics_text()
        gauge = metric_value(text, ACCURACY_METRIC)
        metric_after = metric_value(text, FEEDBACK_METRIC)
        evaluations = {w: client.evaluation(window=w) for w in windows}
        accuracies = {w: e.window.accuracy for w, e in evaluations.items()}
        window = min(
            windows,
            key=lambda w: (
                math.inf if accuracies[w] is None or gauge is None else abs(accuracies[w] - gauge)
            ),
        )
        views.append(
            QualityView(
                evaluation_accuracy=accuracies[window],
                metrics_accuracy=gauge,
                evaluation_rise=evaluations[1000].total.count - count_before,
                metrics_rise=None if metric_after is None else metric_after - metric_before,
                accepted=sent.accepted,
                window=window,
            )
        )
        # The target learns (and updates its gauge) asynchronously: wait until the two
        # agree closely, then judge the closest view with the full tolerance.
        tight = judge_quality_agreement(views[-1], tolerance / 4)
        return tight.passed

    _wait(agree, timeout_s)
    return judge_quality_agreement(min(views, key=_accuracy_gap), tolerance)


def _accuracy_gap(view: QualityView) -> float:
    if view.evaluation_accuracy is None or view.metrics_accuracy is None:
        return math.inf
    return abs(view.evaluation_accuracy - view.metrics_accuracy)


# -- incident_reaches_incidents_and_metrics -----------------------------------


def judge_incident_seen(
    new_kinds: Sequence[str], metric_rise: float | None, waited_s: float, requests: int
) -> Outcome:
    """The injected error spike must open an incident, listed and counted in /metrics.

    Args:
        new_kinds: Kinds of the incidents /incidents listed after the injection.
        metric_rise: Rise of the incidents counter in /metrics (None: no such metric).
        waited_s: How long vigil watched.
        requests: Predictions sent while the spike lasted.
    """
    measured = {
        "new_incidents": len(new_kinds),
        "waited_s": round(waited_s, 3),
        "requests": requests,
    }
    problems = []
    if not new_kinds:
        problems.append(
            f"no incident appeared in /incidents within {waited_s:.1f} s of an error spike "
            f"({requests} predictions sent)"
        )
    if metric_rise is None:
        # A labelled counter has no sample before its first incident: only then is it missing.
        if new_kinds:
            problems.append(f"/metrics has no {INCIDENTS_METRIC}")
    else:
        measured["metrics_rise"] = metric_rise
        if metric_rise < max(1, len(new_kinds)):
            problems.append(
                f"/metrics {INCIDENTS_METRIC} rose by {metric_rise:g} while /incidents listed "
                f"{len(new_kinds)} new"
            )
    if problems:
        return Outcome(False, "; ".join(problems), measured)
    return Outcome(
        True,
        f"incident {', '.join(sorted(set(new_kinds)))} listed and counted after {waited_s:.1f} s",
        measured,
    )


@check(
    "incident_reaches_incidents_and_metrics",
    needs=[Capability.ADMIN, Capability.INCIDENTS, Capability.METRICS, Capability.PREDICT],
)
def incident_reaches_incidents_and_metrics(
    endpoint: TargetEndpoint, client: TargetClient, *, timeout_s: float
) -> Outcome:
    """An error spike injected through the target's test hook shows in /incidents and /metrics."""
    from vigil import faults
    from vigil.faults.config import ErrorSpikeConfig

    known = {i.id for i in client.incidents()}
    counted_before = metric_value(client.metrics_text(), INCIDENTS_METRIC) or 0.0
    config = ErrorSpikeConfig(
        label="system_error_spike",
        rate=1.0,
        seconds=timeout_s,
        max_duration_s=timeout_s + 5,
    )
    probe = {"x0": 1.0, "x1": 2.0, "x2": 3.0}
    began = time.monotonic()
    requests = 0
    new_kinds: list[str] = []
    rise: float | None = None
    fault = faults.inject(config, faults.FaultContext(endpoint=endpoint))
    try:
        while time.monotonic() - began < timeout_s:
            for _ in range(10):
                requests += 1
                # The 500s are the fault; the target must notice them, not vigil.
                with contextlib.suppress(*_TARGET_ERRORS):
                    client.predict(probe)
            new_kinds = [i.kind for i in client.incidents() if i.id not in known]
            after = metric_value(client.metrics_text(), INCIDENTS_METRIC)
            rise = None if after is None else after - counted_before
            if new_kinds and rise:
                break
    finally:
        waited = time.monotonic() - began
        # The target may be replacing the faulty worker: switch the hook off in whichever
        # worker serves once it is back (a replaced worker took its hook with it).
        wait_healthy(client, timeout_s)
        note = ""
        try:
            fault.rollback()
        except FaultRollbackError as exc:
            # The hook ends by itself `seconds` after injection: wait that out, bounded.
            time.sleep(max(0.0, config.seconds - (time.monotonic() - began)))
            note = f" (rollback: {exc}; waited for the hook to expire)"
    outcome = judge_incident_seen(new_kinds, rise, waited, requests)
    return Outcome(outcome.passed, outcome.message + note, outcome.measured)


# -- config_applied_shows_in_health -------------------------------------------


def judge_config_shown(key: str, applied: int, shown: object, restored: bool) -> Outcome:
    """A configured value must show in /health, and the old one must come back.

    Args:
        key: The configuration key changed.
        applied: The value applied through /admin/config.
        shown: What /health showed under ``config.<key>`` afterwards (None: nothing).
        restored: Whether the previous value was restored.
    """
    measured = {"applied": applied}
    if isinstance(shown, int | float):
        measured["shown"] = shown
    problems = []
    if shown is None:
        problems.append(f"/health shows no config.{key} after POST /admin/config")
    elif shown != applied:
        problems.append(f"/health shows config.{key}={shown}, {applied} was applied")
    if not restored:
        problems.append(f"the previous {key} could not be restored")
    if problems:
        return Outcome(False, "; ".join(problems), measured)
    return Outcome(True, f"{key}={applied} applied and shown in /health, then restored", measured)


@check("config_applied_shows_in_health", needs=[Capability.ADMIN, Capability.HEALTH])
def config_applied_shows_in_health(client: TargetClient, *, key: str = "cache_size") -> Outcome:
    """A value applied through POST /admin/config shows in /health; the old one is restored."""
    current = client.admin("POST", "/admin/config", json={})
    if current.status_code != 200 or key not in current.json():
        return Outcome(
            False, f"POST /admin/config answered {current.status_code}: {current.text[:200]}"
        )
    old = int(current.json()[key])
    new = old + 7 if old < 1000 else old - 7
    restored = False
    shown: object = None
    try:
        applied = client.admin("POST", "/admin/config", json={key: new})
        if applied.status_code != 200:
            return Outcome(
                False, f"POST /admin/config {{{key}: {new}}} answered {applied.status_code}"
            )
        shown = (client.health().model_extra or {}).get("config", {}).get(key)
    finally:
        back = client.admin("POST", "/admin/config", json={key: old})
        restored = back.status_code == 200 and int(back.json().get(key, -1)) == old
    return judge_config_shown(key, new, shown, restored)


# -- no_resource_leak_over_sustained_run --------------------------------------


@dataclass(frozen=True)
class ResourcePoint:
    """The target's process tree at one instant of the stream."""

    elapsed_s: float
    open_files: int
    threads: int
    rss_bytes: int


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def judge_resource_leak(
    points: Sequence[ResourcePoint], tolerance: LeakTolerance, requests: int
) -> Outcome:
    """Descriptors and threads must end near their start and memory must not climb.

    Start and end are the medians of the first and last three samples (one sample
    catches a connection mid-accept); memory is judged by its least-squares slope.

    Args:
        points: Samples of the target's tree, oldest first.
        tolerance: The margins and the slope bound.
        requests: Requests the stream sent.
    """
    if len(points) < 4:
        return Outcome(False, f"only {len(points)} resource samples of the target: too few")
    head, tail = points[:3], points[-3:]

    def delta(read: Callable[[ResourcePoint], int]) -> float:
        return statistics.median(map(read, tail)) - statistics.median(map(read, head))

    fds = delta(lambda p: p.open_files)
    threads = delta(lambda p: p.threads)
    slope = _slope([p.elapsed_s for p in points], [p.rss_bytes / 2**20 * 60 for p in points])
    measured = {
        "samples": len(points),
        "requests": requests,
        "fd_growth": fds,
        "thread_growth": threads,
        "rss_slope_mb_per_min": round(slope, 3),
    }
    problems = []
    if fds > tolerance.fd_margin:
        problems.append(f"file descriptors grew by {fds:g} (margin {tolerance.fd_margin})")
    if threads > tolerance.thread_margin:
        problems.append(f"threads grew by {threads:g} (margin {tolerance.thread_margin})")
    if slope > tolerance.rss_slope_mb_per_min:
        problems.append(
            f"resident memory climbs {slope:.1f} MB/min (bound {tolerance.rss_slope_mb_per_min:g})"
        )
    summary = (
        f"over {requests} requests: fds {fds:+g}, threads {threads:+g}, "
        f"RSS slope {slope:.1f} MB/min"
    )
    if problems:
        return Outcome(False, "; ".join(problems) + f" ({summary})", measured)
    return Outcome(True, summary, measured)


@check("no_resource_leak_over_sustained_run", needs=[Capability.PREDICT, Capability.FEEDBACK])
def no_resource_leak_over_sustained_run(
    endpoint: TargetEndpoint,
    client: TargetClient,
    rows: Sequence[LabelledRow],
    *,
    seconds: float,
    max_requests: int,
    interval_s: float,
    tolerance: LeakTolerance,
) -> Outcome:
    """Descriptors, threads and memory of the target stay flat over a bounded request stream."""
    from vigil.observe.resources import ResourceSampler, ResourceSamplerConfig

    if endpoint.pid is None:
        raise NotApplicable("the target's process is not known to vigil: nothing to sample")
    config = ResourceSamplerConfig(
        interval_seconds=interval_s,
        socket_interval_seconds=max(interval_s, 1.0),
        max_samples=int(seconds / interval_s) + 100,
        max_seconds=seconds + 60,
    )
    sampler = ResourceSampler(target_pid=endpoint.pid, config=config).start()
    sent = Traffic()
    try:
        time.sleep(interval_s * 3)  # the start: three samples before any traffic
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline and sent.served + len(sent.errors) < max_requests:
            send_labelled(client, [rows[index % len(rows)]], sent)
            index += 1
        time.sleep(interval_s * 3)  # the end: three samples after the stream
    finally:
        samples = sampler.stop()
    points = [
        ResourcePoint(s.elapsed_seconds, s.target.open_files, s.target.threads, s.target.rss_bytes)
        for s in samples
        if s.target is not None
    ]
    return judge_resource_leak(points, tolerance, sent.served + len(sent.errors))


# -- the full system cycle ----------------------------------------------------


@dataclass
class CycleObservation:
    """What vigil saw across the cycle."""

    started_at: datetime = field(default_factory=utc_now)
    accuracy_before_drift: float | None = None
    accuracy_after_drift: float | None = None
    accuracy_end: float | None = None
    fault: str = "none"
    fault_problem: str | None = None
    recovered_s: float | None = None
    """Seconds from injection until the target served again by itself (None: it did not)."""
    healthy_at_end: bool = False
    health_detail: str = ""
    accepted: int = 0
    counted: int | None = None
    analysis: str = "not run"
    phase_s: dict[str, float] = field(default_factory=dict)
    aborted: str | None = None
    """Why the cycle stopped early: the target stopped answering."""
    """Seconds each phase of the cycle took, in order."""
    anomalies: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def feedback_lost(self) -> int | None:
        """Acknowledged labels the target's evaluation did not count."""
        return None if self.counted is None else max(0, self.accepted - self.counted)

    @property
    def gain(self) -> float | None:
        """Accuracy on the drifted concept at the end minus right after the drift."""
        if self.accuracy_end is None or self.accuracy_after_drift is None:
            return None
        return self.accuracy_end - self.accuracy_after_drift


def judge_cycle(seen: CycleObservation, min_gain: float) -> Outcome:
    """The system must end better than it started after the drift and the fault.

    Args:
        seen: What the cycle observed.
        min_gain: Accuracy gain on the drifted concept that must be exceeded.
    """
    measured: dict[str, float] = {"labels_accepted": seen.accepted}
    for name in ("accuracy_before_drift", "accuracy_after_drift", "accuracy_end", "gain"):
        value = getattr(seen, name)
        if value is not None:
            measured[name] = round(value, 4)
    if seen.recovered_s is not None:
        measured["recovered_s"] = round(seen.recovered_s, 3)
    if seen.feedback_lost is not None:
        measured["feedback_lost"] = seen.feedback_lost
    if seen.anomalies is not None:
        measured["anomalies"] = seen.anomalies
    measured.update({f"{phase}_s": seconds for phase, seconds in seen.phase_s.items()})
    problems = []
    if seen.gain is None:
        problems.append("accuracy on the drifted concept could not be measured")
    elif seen.gain <= min_gain:
        problems.append(
            f"accuracy on the drifted concept went from {seen.accuracy_after_drift:.3f} right "
            f"after the drift to {seen.accuracy_end:.3f} at the end: the target did not adapt "
            f"(gain {seen.gain:+.3f}, needed more than {min_gain:+g})"
        )
    if seen.aborted:
        problems.append(f"the cycle stopped early: {seen.aborted}")
    if seen.fault_problem:
        problems.append(seen.fault_problem)
    if not seen.healthy_at_end:
        problems.append(f"the target is not healthy at the end ({seen.health_detail})")
    if seen.feedback_lost is None:
        problems.append("the target's evaluation count could not be read")
    elif seen.feedback_lost:
        problems.append(f"{seen.feedback_lost} of {seen.accepted} acknowledged labels were lost")
    story = (
        f"drift took accuracy {seen.accuracy_before_drift or 0:.3f} -> "
        f"{seen.accuracy_after_drift or 0:.3f}; fault {seen.fault}"
        + (f" recovered in {seen.recovered_s:.1f} s" if seen.recovered_s is not None else "")
        + f"; end {seen.accuracy_end or 0:.3f}; analysis {seen.analysis}"
    )
    if problems:
        return Outcome(False, "; ".join(problems) + f" ({story})", measured)
    return Outcome(True, story, measured)


def _inject_cycle_fault(endpoint: TargetEndpoint, config: CycleConfig) -> tuple[object | None, str]:
    """A worker kill when vigil controls the target's processes, else the error hook."""
    from vigil import faults
    from vigil.faults.config import ErrorSpikeConfig, ProcessKillConfig
    from vigil.targets import running_target

    caps = endpoint.capabilities
    if Capability.PROCESS_CONTROL in caps:
        try:
            target = running_target(endpoint)
        except TargetUnavailableError:
            target = None
        if target is not None:
            context = faults.FaultContext(
                endpoint=endpoint, target=target, recovery_timeout_s=config.recovery_timeout_s * 3
            )
            kill = ProcessKillConfig(
                label="cycle_worker_kill", max_duration_s=config.recovery_timeout_s + 5
            )
            return faults.inject(kill, context), "worker_kill"
    if Capability.ADMIN in caps:
        spike = ErrorSpikeConfig(
            label="cycle_error_spike",
            rate=1.0,
            seconds=config.fault_s,
            max_duration_s=config.fault_s + 5,
        )
        return faults.inject(spike, faults.FaultContext(endpoint=endpoint)), "error_spike"
    return None, "none"


def _analyse(client: TargetClient, traffic: Traffic, config: CycleConfig, seen: CycleObservation):
    size = config.chunk_rows
    outcomes = traffic.outcomes
    accuracy = [
        sum(outcomes[i : i + size]) / len(outcomes[i : i + size])
        for i in range(0, len(outcomes), size)
    ]
    latency = [
        statistics.median(traffic.latencies_ms[i : i + size])
        for i in range(0, len(traffic.latencies_ms), size)
    ]
    points = min(len(accuracy), len(latency))
    if points < config.min_analysis_points:
        seen.analysis = f"skipped: {points} points, fewer than {config.min_analysis_points}"
        return
    body = {
        "start": seen.started_at.isoformat(),
        "step_seconds": 60,
        "series": {"cycle_accuracy": accuracy[:points], "cycle_latency_ms": latency[:points]},
    }
    # Analysis is heavier than a prediction (a fresh worker may still be importing it).
    response = client.request("POST", "/patterns/analyze", json=body, timeout=_ANALYSIS_TIMEOUT_S)
    if response.status_code != 200:
        seen.errors.append(f"/patterns/analyze answered {response.status_code}")
        seen.analysis = f"answered {response.status_code}"
        return
    seen.anomalies = len(response.json().get("anomalies", []))
    seen.analysis = f"{seen.anomalies} anomalies in {points} points"


def run_cycle(
    endpoint: TargetEndpoint, client: TargetClient, seed: int, config: CycleConfig
) -> CycleObservation:
    """Traffic, a drift, a fault, recovery, analysis of the cycle's metrics, adaptation.

    Never raises for a target error; every fault is rolled back before it returns.

    Args:
        endpoint: The started target.
        client: A client of it.
        seed: Seed of every row stream.
        config: Sizes and time bounds.
    """
    seen = CycleObservation()
    try:
        _run_cycle(endpoint, client, seed, config, seen)
    except _TARGET_ERRORS as exc:
        seen.aborted = str(exc)
        seen.healthy_at_end, seen.health_detail = wait_healthy(client, config.recovery_timeout_s)
    return seen


def _evaluation_count(client: TargetClient, timeout_s: float) -> int:
    """The evaluation's labelled count, retried: a worker may just have been replaced."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.evaluation().total.count
        except _TARGET_ERRORS:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_POLL_S)


def _run_cycle(
    endpoint: TargetEndpoint,
    client: TargetClient,
    seed: int,
    config: CycleConfig,
    seen: CycleObservation,
) -> None:
    clock = [time.monotonic()]

    def lap(phase: str) -> None:
        now = time.monotonic()
        seen.phase_s[phase] = round(now - clock[0], 3)
        clock[0] = now

    wait_healthy(client, config.recovery_timeout_s)
    count_before = _evaluation_count(client, config.recovery_timeout_s)
    warm = send_labelled(client, concept_rows(seed, config.warmup_rows))
    seen.accuracy_before_drift = warm.accuracy
    lap("traffic")
    drifted = concept_rows(seed + 1, config.probe_rows + config.adaptation_rows, drifted=True)
    # Held-out rows of the new concept, scored right after the drift and again at the end,
    # never labelled: the same rows both times, so a model that does not learn gains 0.
    probe = drifted[: config.probe_rows]
    right_after = send_labelled(client, probe, feedback=False)
    seen.accuracy_after_drift = right_after.accuracy
    lap("drift")
    adaptation = drifted[config.probe_rows :]
    adapting = Traffic()
    fault = None
    sent = 0
    try:
        fault, seen.fault = _inject_cycle_fault(endpoint, config)
        began = time.monotonic()
        deadline = began + config.recovery_timeout_s
        if fault is not None:
            # Traffic goes on through the fault; the target must serve again by itself. A
            # short timeout, so a request queued at a dead worker does not eat the window.
            with TargetClient(endpoint, timeout_s=_FAULT_REQUEST_TIMEOUT_S) as quick:
                while time.monotonic() < deadline:
                    send_labelled(quick, adaptation[sent : sent + 5], adapting, deadline=deadline)
                    sent = min(sent + 5, len(adaptation))
                    ok, _ = wait_healthy(quick, 0)
                    if ok and time.monotonic() - began >= min(config.fault_s, 1.0):
                        try:
                            quick.predict(probe[0].features)
                        except _TARGET_ERRORS:
                            continue
                        seen.recovered_s = time.monotonic() - began
                        break
            if seen.recovered_s is None:
                seen.fault_problem = (
                    f"the target did not serve again by itself within "
                    f"{config.recovery_timeout_s:g} s of the {seen.fault} (vigil rolled it back)"
                )
    except (RunError, FaultRollbackError) as exc:
        seen.errors.append(f"fault: {exc}")
    finally:
        if fault is not None:
            try:
                fault.rollback()  # type: ignore[attr-defined]
            except FaultRollbackError as exc:
                seen.errors.append(str(exc))
                seen.fault_problem = f"the {seen.fault} could not be rolled back: {exc}"
    wait_healthy(client, config.recovery_timeout_s)
    lap("fault_and_recovery")
    send_labelled(client, adaptation[sent:], adapting)
    end = send_labelled(client, probe, feedback=False)
    seen.accuracy_end = end.accuracy
    lap("adaptation")
    traffic = Traffic()
    for part in (warm, right_after, adapting, end):
        traffic.outcomes += part.outcomes
        traffic.latencies_ms += part.latencies_ms
    seen.accepted = warm.accepted + adapting.accepted
    seen.errors += warm.errors[:3] + end.errors[:3]

    def counted() -> bool:
        try:
            seen.counted = client.evaluation().total.count - count_before
        except _TARGET_ERRORS:
            return False
        return seen.counted >= seen.accepted

    _wait(counted, config.settle_timeout_s)
    lap("settle")
    if Capability.PATTERNS in endpoint.capabilities:
        try:
            _analyse(client, traffic, config, seen)
        except _TARGET_ERRORS as exc:
            seen.analysis = f"failed: {exc}"
    else:
        seen.analysis = "not applicable: the target offers no pattern analysis"
    lap("analysis")
    ok, status = wait_healthy(client, config.recovery_timeout_s)
    seen.healthy_at_end, seen.health_detail = ok, status


@check(
    "system_ends_better_than_it_started",
    needs=[Capability.PREDICT, Capability.FEEDBACK, Capability.EVALUATION, Capability.HEALTH],
)
def system_ends_better_than_it_started(seen: CycleObservation, min_gain: float) -> Outcome:
    """After traffic, a drift, a fault and recovery the model is better on the new concept."""
    return judge_cycle(seen, min_gain)


# -- measures -----------------------------------------------------------------


def system_measurements(
    cross: Sequence[CheckResult], seen: CycleObservation | None
) -> list[Measurement]:
    """The part's measures: the cross-component pass rate and what the cycle showed.

    Args:
        cross: The cross-component checks' results (not-applicable ones are left out).
        seen: The cycle's observation, None when the cycle did not run.
    """
    applicable = [c for c in cross if c.status is not Status.NOT_APPLICABLE]
    measures = []
    if applicable:
        passed = sum(c.status is Status.PASSED for c in applicable)
        measures.append(
            Measurement(
                name="cross_component_pass_rate",
                value=passed / len(applicable),
                unit="share",
                context={"checks": len(applicable)},
            )
        )
    if seen is not None:
        if seen.gain is not None:
            measures.append(
                Measurement(
                    name="cycle_accuracy_gain",
                    value=round(seen.gain, 6),
                    unit="accuracy",
                    context={
                        "after_drift": round(seen.accuracy_after_drift or 0.0, 6),
                        "end": round(seen.accuracy_end or 0.0, 6),
                        "fault": seen.fault,
                    },
                )
            )
        if seen.feedback_lost is not None:
            measures.append(
                Measurement(name="cycle_feedback_lost", value=seen.feedback_lost, unit="count")
            )
        if seen.recovered_s is not None:
            measures.append(
                Measurement(
                    name="cycle_recovery_s",
                    value=round(seen.recovered_s, 6),
                    unit="s",
                    context={"fault": seen.fault},
                )
            )
    return measures
