"""Checks of a target's HTTP contract: the integration suite's logic.

Each check (declared with :func:`vigil.checks.check`) sends real requests through
a :class:`TargetClient`, or judges what a round trip observed, and returns an
:class:`~vigil.checks.Outcome`; called with the target's capabilities it gives a
:class:`~vigil.results.CheckResult`. None raises to report a misbehaving target; a
missing capability yields *not applicable*.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from vigil.checks import Outcome, check
from vigil.config_base import Capability
from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.results import utc_now
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


@check("health_reports_ok", needs=[Capability.HEALTH])
def health_reports_ok(client: TargetClient) -> Outcome:
    """`GET /health` answers status ok with a model version."""
    began = time.perf_counter()
    health = client.health()
    elapsed_ms = (time.perf_counter() - began) * 1000
    problems = []
    if health.status != "ok":
        problems.append(f"status is {health.status!r}")
    if not health.model_version:
        problems.append("no model_version")
    return Outcome(
        passed=not problems,
        message="; ".join(problems) or f"status ok, model {health.model_version}",
        measured={"response_ms": round(elapsed_ms, 3), "components": len(health.components)},
    )


@check("metrics_exposed_in_prometheus_format", needs=[Capability.METRICS])
def metrics_exposed(client: TargetClient) -> Outcome:
    """`GET /metrics` is valid Prometheus text with at least one sample."""
    from prometheus_client.parser import text_string_to_metric_families

    text = client.metrics_text()
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        return Outcome(passed=False, message=f"/metrics is not Prometheus text: {exc}")
    samples = sum(len(f.samples) for f in families)
    return Outcome(
        passed=samples > 0,
        message=f"{len(families)} metric families, {samples} samples",
        measured={"families": len(families), "samples": samples},
    )


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


@check("predictions_served", needs=[Capability.PREDICT])
def predictions_served(trip: RoundTrip) -> Outcome:
    """Every prediction was served with a unique request id, a score in [0, 1] and a version."""
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
        problems.append(f"{len(bad_scores)} scores missing or outside [0, 1], e.g. {bad_scores[0]}")
    served = len(trip.predictions)
    return Outcome(
        passed=not problems and served == len(trip.rows),
        message="; ".join(problems) or f"{served} of {len(trip.rows)} predictions served",
        measured={"sent": len(trip.rows), "served": served, "errors": len(trip.predict_errors)},
    )


@check("feedback_accepted", needs=[Capability.FEEDBACK])
def feedback_accepted(trip: RoundTrip) -> Outcome:
    """Every label sent for a served prediction was accepted (2xx)."""
    sent = len(trip.predictions)
    accepted = sent - len(trip.feedback_errors)
    return Outcome(
        passed=sent > 0 and accepted == sent,
        message="; ".join(trip.feedback_errors[:3]) or f"{accepted} of {sent} labels accepted",
        measured={"sent": sent, "accepted": accepted},
    )


@check("evaluation_count_matches_feedback", needs=[Capability.FEEDBACK, Capability.EVALUATION])
def evaluation_counts_feedback(trip: RoundTrip) -> Outcome:
    """The evaluation's labelled count rose by exactly the number of labels accepted."""
    if trip.evaluation_error is not None or trip.count_before is None:
        return Outcome(passed=False, message=trip.evaluation_error or "evaluation was not read")
    expected = len(trip.predictions) - len(trip.feedback_errors)
    rise = (trip.count_after or 0) - trip.count_before
    return Outcome(
        passed=rise == expected,
        message=f"count rose by {rise}, {expected} labels were accepted",
        measured={"count_rise": rise, "labels_accepted": expected},
    )


@check("model_version_reported", needs=[Capability.PREDICT, Capability.EVALUATION])
def model_version_reported(trip: RoundTrip) -> Outcome:
    """Predictions and the evaluation name a model version, and the names agree."""
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
    return Outcome(passed=ok, message=message, measured={"distinct_versions": len(versions)})


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


@check("bad_requests_rejected_with_4xx", needs=[Capability.PREDICT, Capability.FEEDBACK])
def bad_requests_rejected(client: TargetClient, known_request_id: str | None) -> Outcome:
    """Every bad request gets a 4xx, and the exact one where the contract names it."""
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
    return Outcome(
        passed=not wrong,
        message="; ".join(wrong) or f"all {len(corpus)} bad requests refused with a 4xx",
        measured={"sent": len(corpus), "wrongly_answered": len(wrong)},
    )
