"""What the store keeps of each step, for the report's charts."""

from __future__ import annotations

import math

from vigil.load import LatencySloConfig
from vigil.performance.judgements import judge_stress_step
from vigil.performance.outcome import StepOutcome
from vigil.performance.plan import SUITE
from vigil.performance.target_metrics import Buckets
from vigil.results import utc_now
from vigil.store import LoadEvidence


def _json_buckets(buckets: Buckets) -> dict[str, float]:
    return {("+Inf" if math.isinf(b) else repr(b)): c for b, c in buckets.items()}


def evidence_of(outcome: StepOutcome, slo: LatencySloConfig) -> LoadEvidence:
    """What the store keeps of one step: summaries, encoded histograms, series, resources."""
    merged = outcome.merged
    within = judge_stress_step(outcome, slo)[0] if merged is not None else None
    summary: dict[str, object] = {"shards": outcome.shards, "problem": outcome.problem}
    histograms: dict[str, object] = {
        "target": {
            "predict_seconds": _json_buckets(outcome.predict_server_buckets),
            "model_update_seconds": _json_buckets(outcome.model_update_buckets),
        }
    }
    series: list[dict[str, object]] = []
    if merged is not None:
        summary.update(
            measured_seconds=merged.measured_seconds,
            cancelled=merged.cancelled,
            requests={
                name: stats.model_dump(mode="json", exclude={"histogram"})
                for name, stats in {"overall": merged.overall, **merged.requests}.items()
            },
            groups={
                name: result.overall.model_dump(mode="json", exclude={"histogram"})
                for name, result in outcome.parts.items()
            },
        )
        histograms.update(
            {"overall": merged.overall.histogram}
            | {name: stats.histogram for name, stats in merged.requests.items()}
        )
        series = [bucket.model_dump(mode="json") for bucket in merged.series]
    started = merged.started_at if merged is not None else utc_now()
    finished = merged.finished_at if merged is not None else started
    return LoadEvidence(
        suite=SUITE,
        step=outcome.plan.name,
        phase=outcome.plan.phase,
        users=outcome.plan.users,
        within_slo=within,
        started_at=started,
        finished_at=finished,
        summary=summary,
        histograms=histograms,
        series=series,
        resources=[sample.model_dump(mode="json") for sample in outcome.resources],
    )
