"""The figures the suite reports, with their units, from the steps' outcomes."""

from __future__ import annotations

from collections.abc import Sequence

from vigil.performance.judgements import StressVerdict, predict_window, quantile
from vigil.performance.outcome import ModelUpdateProbeResult, StepOutcome, load_window
from vigil.performance.settings import PerformanceSuiteConfig
from vigil.performance.target_metrics import Buckets, bucket_count, bucket_quantile
from vigil.results import Measurement


def measurements(
    *,
    settings: PerformanceSuiteConfig,
    baseline: StepOutcome | None,
    loads: Sequence[StepOutcome],
    verdict: StressVerdict | None,
    probe: ModelUpdateProbeResult | None,
) -> list[Measurement]:
    """Every figure the suite reports, in seconds, shares, users and requests per second."""
    out: list[Measurement] = []
    window = load_window(loads)
    users = settings.load_users
    context: dict[str, float | str] = {"users": users, "steps": len(loads)}
    if window is not None and window.overall.count:
        latency = window.overall.latency
        for label, value in (
            ("p50", latency.p50_ms),
            ("p95", latency.p95_ms),
            ("p99", latency.p99_ms),
        ):
            if value is not None:
                out.append(
                    Measurement(
                        name=f"{label}_latency_s_at_1000_users",
                        value=value / 1000.0,
                        unit="s",
                        context=context,
                    )
                )
        out += [
            Measurement(
                name="availability_under_load",
                value=1.0 - window.overall.error_rate,
                unit="share",
                context={**context, "requests": window.overall.count},
            ),
            Measurement(
                name="error_rate", value=window.overall.error_rate, unit="share", context=context
            ),
            Measurement(
                name="throughput_rps",
                value=sum(o.merged.overall.throughput_rps for o in loads if o.merged)
                / max(1, len(loads)),
                unit="req/s",
                context=context,
            ),
        ]
    predict = predict_window(loads)
    if predict is not None and predict.latency.p95_ms is not None:
        out.append(
            Measurement(
                name="inference_p95_s",
                value=predict.latency.p95_ms / 1000.0,
                unit="s",
                context={"source": "vigil", "users": users},
            )
        )
    for profile in settings.profiles:
        stats = predict_window(loads, profile)
        if stats is not None and stats.latency.p95_ms is not None:
            out.append(
                Measurement(
                    name=f"inference_p95_s_{profile}",
                    value=stats.latency.p95_ms / 1000.0,
                    unit="s",
                    context={"source": "vigil", "profile": profile},
                )
            )
    server_predict: Buckets = {}
    server_update: Buckets = {}
    for outcome in loads:
        for bound, count in outcome.predict_server_buckets.items():
            server_predict[bound] = server_predict.get(bound, 0.0) + count
        for bound, count in outcome.model_update_buckets.items():
            server_update[bound] = server_update.get(bound, 0.0) + count
    value = bucket_quantile(server_predict, 0.95)
    if value is not None:
        out.append(
            Measurement(
                name="target_inference_p95_s",
                value=value,
                unit="s",
                context={"source": "target /metrics", "requests": bucket_count(server_predict)},
            )
        )
    for outcome in loads:
        alone = outcome.plan.profile
        if alone is None:
            continue
        for measure, buckets, counted in (
            ("target_inference_p95_s", outcome.predict_server_buckets, "requests"),
            ("target_model_update_p95_s", outcome.model_update_buckets, "labels"),
        ):
            value = bucket_quantile(buckets, 0.95)
            if value is not None:
                out.append(
                    Measurement(
                        name=f"{measure}_{alone}",
                        value=value,
                        unit="s",
                        context={
                            "source": "target /metrics",
                            "profile": alone,
                            counted: bucket_count(buckets),
                        },
                    )
                )
    value = bucket_quantile(server_update, 0.95)
    if value is not None:
        out.append(
            Measurement(
                name="target_model_update_p95_s_under_load",
                value=value,
                unit="s",
                context={"source": "target /metrics", "labels": bucket_count(server_update)},
            )
        )
    if probe is not None:
        p95 = quantile(probe.latencies_seconds, 0.95)
        if p95 is not None:
            out.append(
                Measurement(
                    name="model_update_p95_s",
                    value=p95,
                    unit="s",
                    context={"source": "vigil probe", "labels": len(probe.latencies_seconds)},
                )
            )
    if (
        baseline is not None
        and baseline.merged is not None
        and baseline.merged.overall.latency.p95_ms
    ):
        out.append(
            Measurement(
                name="baseline_p95_s",
                value=baseline.merged.overall.latency.p95_ms / 1000.0,
                unit="s",
                context={"users": baseline.plan.users},
            )
        )
    if verdict is not None and verdict.steps and verdict.saturation_users is not None:
        stress_context: dict[str, float | str] = {
            "breaking_users": verdict.breaking_users
            if verdict.breaking_users is not None
            else "none",
            "saturated_resource": verdict.saturated.resource if verdict.saturated else "none",
        }
        if verdict.breaking_users is not None:
            out.append(
                Measurement(
                    name="breaking_users",
                    value=verdict.breaking_users,
                    unit="users",
                    context=stress_context,
                )
            )
        out.append(
            Measurement(
                name="saturation_users",
                value=verdict.saturation_users,
                unit="users",
                context=stress_context,
            )
        )
    samples = [s for o in [*([baseline] if baseline else []), *loads] for s in o.resources]
    targets = [s.target for s in samples if s.target is not None]
    if targets:
        out.append(
            Measurement(
                name="target_cpu_percent_peak",
                value=max(t.cpu_percent for t in targets),
                unit="%",
                context={"note": "100 = one core"},
            )
        )
        out.append(
            Measurement(
                name="target_rss_mb_peak",
                value=round(max(t.rss_bytes for t in targets) / 2**20, 1),
                unit="MB",
            )
        )
    if samples:
        out.append(
            Measurement(
                name="vigil_cpu_percent_peak",
                value=max(s.vigil.cpu_percent for s in samples),
                unit="%",
                context={"note": "100 = one core"},
            )
        )
    return out
