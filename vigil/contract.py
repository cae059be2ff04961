"""Checks of a target's HTTP contract: the integration suite's logic.

Each function sends real requests through a :class:`TargetClient`, compares
what came back with what it sent, and returns a
:class:`~vigil.results.CheckResult`. None raises to report a misbehaving
target; a missing capability yields *not applicable*.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.config import Capability
from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.results import CheckResult, Status, utc_now
from vigil.targets.client import Prediction, TargetClient


@dataclass(frozen=True)
class LabelledRow:
    """Features the target will see, and the label vigil knows to be true."""

    features: dict[str, float]
    label: int


def labelled_rows(seed: int, count: int) -> list[LabelledRow]:
    """`count` rows of river's SEA concept (three numbers in [0, 10]), deterministic by seed."""
    from river.datasets import synth

    stream = synth.SEA(variant=0, seed=seed)
    return [
        LabelledRow(features={f"x{i}": float(v) for i, v in x.items()}, label=int(y))
        for x, y in stream.take(count)
    ]


@dataclass
class RoundTrip:
    """What a predict-then-feedback round trip observed, shared by several checks."""

    rows: list[LabelledRow]
    started_at: datetime = field(default_factory=utc_now)
    finished_at: datetime = field(default_factory=utc_now)
    predictions: list[Prediction] = field(default_factory=list)
    predict_errors: list[str] = field(default_factory=list)
    feedback_errors: list[str] = field(default_factory=list)
    count_before: int | None = None
    count_after: int | None = None
    evaluation_version: str | None = None
    evaluation_error: str | None = None


def _check(
    name: str, *, needs: tuple[Capability, ...], capabilities: frozenset[Capability]
) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Decorate a check: not applicable without `needs`, timed, transport errors as failures."""

    def decorate(body: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            started = utc_now()
            missing = [c.value for c in needs if c not in capabilities]
            if missing:
                result = CheckResult(
                    name=name,
                    status=Status.NOT_APPLICABLE,
                    message=f"the target does not offer {', '.join(missing)}",
                )
            else:
                try:
                    result = body(*args, **kwargs)
                except (TargetUnavailableError, TargetProtocolError) as exc:
                    result = CheckResult(name=name, status=Status.FAILED, message=str(exc))
            return result.model_copy(update={"started_at": started, "finished_at": utc_now()})

        return run

    return decorate


def health_reports_ok(client: TargetClient) -> CheckResult:
    """`GET /health` answers status ok with a model version."""

    @_check(
        "health_reports_ok",
        needs=(Capability.HEALTH,),
        capabilities=client.endpoint.capabilities,
    )
    def check() -> CheckResult:
        began = time.perf_counter()
        health = client.health()
        elapsed_ms = (time.perf_counter() - began) * 1000
        problems = []
        if health.status != "ok":
            problems.append(f"status is {health.status!r}")
        if not health.model_version:
            problems.append("no model_version")
        return CheckResult(
            name="health_reports_ok",
            status=Status.FAILED if problems else Status.PASSED,
            message="; ".join(problems) or f"status ok, model {health.model_version}",
            measured={"response_ms": round(elapsed_ms, 3), "components": len(health.components)},
        )

    return check()


def metrics_exposed(client: TargetClient) -> CheckResult:
    """`GET /metrics` is valid Prometheus text with at least one sample."""

    @_check(
        "metrics_exposed_in_prometheus_format",
        needs=(Capability.METRICS,),
        capabilities=client.endpoint.capabilities,
    )
    def check() -> CheckResult:
        from prometheus_client.parser import text_string_to_metric_families

        text = client.metrics_text()
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError as exc:
            return CheckResult(
                name="metrics_exposed_in_prometheus_format",
                status=Status.FAILED,
                message=f"/metrics is not Prometheus text: {exc}",
            )
        samples = sum(len(f.samples) for f in families)
        return CheckResult(
            name="metrics_exposed_in_prometheus_format",
            status=Status.PASSED if samples else Status.FAILED,
            message=f"{len(families)} metric families, {samples} samples",
            measured={"families": len(families), "samples": samples},
        )

    return check()


def run_round_trip(client: TargetClient, rows: list[LabelledRow]) -> RoundTrip:
    """Predict every row, then send every true label; note the evaluation count around it.

    Never raises for a target error: what went wrong is recorded in the result,
    for the checks to judge.
    """
    trip = RoundTrip(rows=rows)
    caps = client.endpoint.capabilities
    if Capability.EVALUATION in caps:
        try:
            trip.count_before = client.evaluation().total.count
        except (TargetUnavailableError, TargetProtocolError) as exc:
            trip.evaluation_error = str(exc)
    for row in rows:
        try:
            trip.predictions.append(client.predict(row.features))
        except (TargetUnavailableError, TargetProtocolError) as exc:
            trip.predict_errors.append(str(exc))
    if Capability.FEEDBACK in caps:
        for prediction, row in zip(trip.predictions, rows, strict=False):
            try:
                client.feedback(prediction.request_id, row.label)
            except (TargetUnavailableError, TargetProtocolError) as exc:
                trip.feedback_errors.append(str(exc))
    if Capability.EVALUATION in caps and trip.evaluation_error is None:
        try:
            evaluation = client.evaluation()
            trip.count_after = evaluation.total.count
            trip.evaluation_version = evaluation.model_version
        except (TargetUnavailableError, TargetProtocolError) as exc:
            trip.evaluation_error = str(exc)
    trip.finished_at = utc_now()
    return trip


def predictions_served(trip: RoundTrip, capabilities: frozenset[Capability]) -> CheckResult:
    """Every prediction was served with a unique request id, a score in [0, 1] and a version."""

    @_check("predictions_served", needs=(Capability.PREDICT,), capabilities=capabilities)
    def check() -> CheckResult:
        problems = list(trip.predict_errors[:3])
        ids = [p.request_id for p in trip.predictions]
        if len(set(ids)) != len(ids):
            problems.append(f"{len(ids) - len(set(ids))} duplicated request ids")
        bad_scores = [
            p.score
            for p in trip.predictions
            if p.score is None or not math.isfinite(p.score) or not 0 <= p.score <= 1
        ]
        if bad_scores:
            problems.append(
                f"{len(bad_scores)} scores missing or outside [0, 1], e.g. {bad_scores[0]}"
            )
        served = len(trip.predictions)
        return CheckResult(
            name="predictions_served",
            status=Status.PASSED if not problems and served == len(trip.rows) else Status.FAILED,
            message="; ".join(problems) or f"{served} of {len(trip.rows)} predictions served",
            measured={"sent": len(trip.rows), "served": served, "errors": len(trip.predict_errors)},
        )

    return check()


def feedback_accepted(trip: RoundTrip, capabilities: frozenset[Capability]) -> CheckResult:
    """Every label sent for a served prediction was accepted (2xx)."""

    @_check("feedback_accepted", needs=(Capability.FEEDBACK,), capabilities=capabilities)
    def check() -> CheckResult:
        sent = len(trip.predictions)
        accepted = sent - len(trip.feedback_errors)
        return CheckResult(
            name="feedback_accepted",
            status=Status.PASSED if sent and accepted == sent else Status.FAILED,
            message="; ".join(trip.feedback_errors[:3]) or f"{accepted} of {sent} labels accepted",
            measured={"sent": sent, "accepted": accepted},
        )

    return check()


def evaluation_counts_feedback(trip: RoundTrip, capabilities: frozenset[Capability]) -> CheckResult:
    """The evaluation's labelled count rose by exactly the number of labels accepted."""

    @_check(
        "evaluation_count_matches_feedback",
        needs=(Capability.FEEDBACK, Capability.EVALUATION),
        capabilities=capabilities,
    )
    def check() -> CheckResult:
        if trip.evaluation_error is not None or trip.count_before is None:
            return CheckResult(
                name="evaluation_count_matches_feedback",
                status=Status.FAILED,
                message=trip.evaluation_error or "evaluation was not read",
            )
        expected = len(trip.predictions) - len(trip.feedback_errors)
        rise = (trip.count_after or 0) - trip.count_before
        return CheckResult(
            name="evaluation_count_matches_feedback",
            status=Status.PASSED if rise == expected else Status.FAILED,
            message=f"count rose by {rise}, {expected} labels were accepted",
            measured={"count_rise": rise, "labels_accepted": expected},
        )

    return check()


def model_version_reported(trip: RoundTrip, capabilities: frozenset[Capability]) -> CheckResult:
    """Predictions and the evaluation name a model version, and the names agree."""

    @_check(
        "model_version_reported",
        needs=(Capability.PREDICT, Capability.EVALUATION),
        capabilities=capabilities,
    )
    def check() -> CheckResult:
        versions = sorted({p.model_version for p in trip.predictions})
        if not versions:
            message, ok = "no prediction was served", False
        elif trip.evaluation_version is None:
            message, ok = "the evaluation names no model version", False
        else:
            ok = trip.evaluation_version in versions or len(versions) > 1
            message = (
                f"predictions served by {', '.join(versions)}; evaluation reports "
                f"{trip.evaluation_version}"
            )
        return CheckResult(
            name="model_version_reported",
            status=Status.PASSED if ok else Status.FAILED,
            message=message,
            measured={"distinct_versions": len(versions)},
        )

    return check()


@dataclass(frozen=True)
class BadRequest:
    """A request the contract says must be refused with a 4xx."""

    name: str
    method: str
    path: str
    body: bytes | None
    content_type: str = "application/json"
    expected: tuple[int, ...] = ()
    """Exact statuses required, when the contract names them; else any 4xx."""


def bad_requests(known_request_id: str | None) -> Iterator[BadRequest]:
    """The corpus of bad requests; those about feedback need a labelled request id."""
    predict = "/predict"
    yield BadRequest("malformed_json", "POST", predict, b'{"features": {"x0": 1.0,')
    yield BadRequest("missing_features", "POST", predict, b"{}")
    yield BadRequest("features_not_a_mapping", "POST", predict, b'{"features": [1, 2, 3]}')
    yield BadRequest("feature_wrong_type", "POST", predict, b'{"features": {"x0": [1]}}')
    yield BadRequest("nan_feature", "POST", predict, b'{"features": {"x0": NaN}}')
    yield BadRequest("unknown_top_level_field", "POST", predict, b'{"features": {}, "x": 1}')
    yield BadRequest(
        "wrong_content_type",
        "POST",
        predict,
        b"x0=1",
        content_type="application/x-www-form-urlencoded",
    )
    yield BadRequest(
        "feedback_for_unknown_request",
        "POST",
        "/feedback",
        json.dumps({"request_id": "vigil-no-such-request", "label": 1}).encode(),
        expected=(404,),
    )
    yield BadRequest("feedback_without_label", "POST", "/feedback", b'{"request_id": "x"}')
    if known_request_id is not None:
        yield BadRequest(
            "feedback_twice",
            "POST",
            "/feedback",
            json.dumps({"request_id": known_request_id, "label": 1}).encode(),
            expected=(409,),
        )


def bad_requests_rejected(client: TargetClient, known_request_id: str | None) -> CheckResult:
    """Every bad request gets a 4xx, and the exact one where the contract names it."""

    @_check(
        "bad_requests_rejected_with_4xx",
        needs=(Capability.PREDICT, Capability.FEEDBACK),
        capabilities=client.endpoint.capabilities,
    )
    def check() -> CheckResult:
        wrong = []
        corpus = list(bad_requests(known_request_id))
        for bad in corpus:
            wanted = " or ".join(map(str, bad.expected)) or "4xx"
            # A fresh connection each: a server that drops one after a bad request must
            # not have its next answer blamed on a different request.
            headers = {"Content-Type": bad.content_type, "Connection": "close"}
            try:
                response = client.request(bad.method, bad.path, content=bad.body, headers=headers)
            except TargetUnavailableError as exc:
                wrong.append(f"{bad.name}: no answer ({exc}) (wanted {wanted})")
                continue
            code = response.status_code
            ok = code in bad.expected if bad.expected else 400 <= code < 500
            if not ok:
                wrong.append(f"{bad.name}: {code} (wanted {wanted})")
        return CheckResult(
            name="bad_requests_rejected_with_4xx",
            status=Status.FAILED if wrong else Status.PASSED,
            message="; ".join(wrong) or f"all {len(corpus)} bad requests refused with a 4xx",
            measured={"sent": len(corpus), "wrongly_answered": len(wrong)},
        )

    return check()
