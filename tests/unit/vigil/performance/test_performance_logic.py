"""The performance suite's pure logic: settings, population plan, histograms, judgements."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from vigil.config import HTTP_CAPABILITIES, Capability
from vigil.load import LatencySloConfig
from vigil.load.config import LoadModel
from vigil.load.statistics import (
    OVERALL,
    LoadResult,
    RequestRecorder,
    StopReason,
)
from vigil.observe.resources import ProcessGroupSample, ResourceSample
from vigil.performance import (
    LoadStepPlan,
    ModelUpdateProbeResult,
    PerformanceSuiteConfig,
    PopulationPart,
    RequestKind,
    RequestMixConfig,
    SaturationLimitsConfig,
    StepOutcome,
    UserProfileConfig,
    bucket_count,
    bucket_delta,
    bucket_quantile,
    effective_mix,
    first_saturated_resource,
    histogram_buckets,
    judge_error_rate,
    judge_model_update,
    judge_p95_within_budget,
    judge_stress,
    load_window,
    measurements,
    plan_population,
    plan_steps,
    quantile,
    stress_verdict,
)
from vigil.results import Status

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def result_with(latencies_ms: list[float], errors: int = 0, name: str = "predict") -> LoadResult:
    """A load result whose histogram holds exactly these latencies (the first `errors` failed)."""
    from vigil.load.statistics import ErrorKind

    overall, step = RequestRecorder(OVERALL), RequestRecorder(name)
    for index, ms in enumerate(latencies_ms):
        error = ErrorKind.STATUS_5XX if index < errors else None
        for recorder in (overall, step):
            recorder.record(ms * 1000, 500 if error else 200, error)
    return LoadResult(
        scenario="performance",
        model=LoadModel.CLOSED,
        users=len(latencies_ms),
        started_at=NOW,
        finished_at=NOW,
        measured_seconds=10,
        stop_reason=StopReason.DURATION,
        overall=overall.stats(10),
        requests={name: step.stats(10)},
        bucket_seconds=1,
    )


def outcome_of(phase: str, users: int, result: LoadResult, **fields: object) -> StepOutcome:
    part = PopulationPart(
        profile="light",
        kind=RequestKind.PREDICT,
        users=users,
        think_min_seconds=0,
        think_max_seconds=0,
    )
    plan = LoadStepPlan(
        name=f"{phase}_{users}",
        phase=phase,  # type: ignore[arg-type]
        users=users,
        parts=(part,),
        warmup_seconds=0,
        measured_seconds=10,
        seed=1,
    )
    return StepOutcome(plan=plan, parts={part.name: result}, merged=result, **fields)  # type: ignore[arg-type]


# --- settings ------------------------------------------------------------------------------------


def test_default_profiles_are_light_moderate_heavy_at_1000_users() -> None:
    settings = PerformanceSuiteConfig()
    assert list(settings.profiles) == ["light", "moderate", "heavy"]
    assert {p.users for p in settings.profiles.values()} == {1000}
    assert settings.load_users == 1000
    assert settings.slo == LatencySloConfig(p95_ms=2000, max_error_rate=0.01)


def test_think_times_out_of_order_are_rejected_with_the_fix() -> None:
    with pytest.raises(
        ValidationError, match=r"think_min_seconds \(5\) is above think_max_seconds \(1\); swap"
    ):
        UserProfileConfig(share=1, think_min_seconds=5, think_max_seconds=1)


def test_profile_names_must_fit_measure_names() -> None:
    with pytest.raises(
        ValidationError, match=r"profile names \['Heavy-Users'\] must be lower-case"
    ):
        PerformanceSuiteConfig(
            profiles={
                "Heavy-Users": UserProfileConfig(share=1, think_min_seconds=0, think_max_seconds=1)
            }
        )


def test_an_all_zero_mix_is_rejected() -> None:
    with pytest.raises(ValidationError, match="the request mix is all zero"):
        RequestMixConfig(predict=0, predict_feedback=0, evaluation=0)


def test_stress_start_above_ceiling_is_rejected() -> None:
    with pytest.raises(
        ValidationError, match=r"stress.start_users \(3000\) is above stress.max_users"
    ):
        PerformanceSuiteConfig(stress={"start_users": 3000, "max_users": 2000})


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        PerformanceSuiteConfig.model_validate({"userz": 10})


# --- population ----------------------------------------------------------------------------------


def test_population_splits_users_exactly_by_share_and_mix() -> None:
    settings = PerformanceSuiteConfig()
    parts = plan_population(settings.profiles, 1000, HTTP_CAPABILITIES)
    assert sum(p.users for p in parts) == 1000
    by_name = {p.name: p.users for p in parts}
    assert by_name["light/predict"] == 350 and by_name["heavy/predict_feedback"] == 90
    # Odd totals still add up (largest remainder).
    assert sum(p.users for p in plan_population(settings.profiles, 7, HTTP_CAPABILITIES)) == 7


def test_kinds_a_target_cannot_serve_become_predict_users() -> None:
    mix = RequestMixConfig(predict=0.5, predict_feedback=0.3, evaluation=0.2)
    assert effective_mix(mix, {Capability.PREDICT}) == {RequestKind.PREDICT: pytest.approx(1.0)}
    served = effective_mix(mix, {Capability.PREDICT, Capability.FEEDBACK})
    assert served == {
        RequestKind.PREDICT: pytest.approx(0.7),
        RequestKind.PREDICT_FEEDBACK: pytest.approx(0.3),
    }


def test_development_plan_fits_about_seventy_seconds() -> None:
    settings = PerformanceSuiteConfig()
    baseline, loads, stress = plan_steps(settings, HTTP_CAPABILITIES, seed=1)
    assert [p.name for p in loads] == ["load_1000"]
    assert [p.users for p in stress] == [1250, 1500, 1750, 2000]
    planned = baseline.measured_seconds + sum(p.warmup_seconds + p.measured_seconds for p in loads)
    # The stress ramp starts no step after its cap, and a step lasts 6 s.
    assert planned + settings.stress.time_cap_seconds + 6 <= 95
    staging = PerformanceSuiteConfig(each_profile_alone=True)
    assert [p.name for p in plan_steps(staging, HTTP_CAPABILITIES, 1)[1]] == [
        "load_1000",
        "light_1000",
        "moderate_1000",
        "heavy_1000",
    ]


# --- the target's histograms ---------------------------------------------------------------------

_REQUEST = (
    'reference_request_duration_seconds_bucket{{endpoint="{}",method="{}",status="{}",le="{}"}} {}'
)
METRICS = (
    "\n".join(
        [
            "# HELP reference_model_update_seconds Update.",
            "# TYPE reference_model_update_seconds histogram",
            'reference_model_update_seconds_bucket{le="0.05"} 2.0',
            'reference_model_update_seconds_bucket{le="0.1"} 6.0',
            'reference_model_update_seconds_bucket{le="0.2"} 10.0',
            'reference_model_update_seconds_bucket{le="+Inf"} 10.0',
            "reference_model_update_seconds_count 10.0",
            "reference_model_update_seconds_sum 0.9",
            "# HELP reference_request_duration_seconds Latency.",
            "# TYPE reference_request_duration_seconds histogram",
            _REQUEST.format("/predict", "POST", "200", "0.01", "5.0"),
            _REQUEST.format("/predict", "POST", "200", "+Inf", "5.0"),
            _REQUEST.format("/predict", "POST", "500", "0.01", "1.0"),
            _REQUEST.format("/predict", "POST", "500", "+Inf", "2.0"),
            _REQUEST.format("/health", "GET", "200", "0.01", "9.0"),
            _REQUEST.format("/health", "GET", "200", "+Inf", "9.0"),
        ]
    )
    + "\n"
)


def test_histogram_buckets_sum_matching_series() -> None:
    predict = histogram_buckets(
        METRICS, "reference_request_duration_seconds", {"endpoint": "/predict"}
    )
    assert predict == {0.01: 6.0, math.inf: 7.0}
    assert bucket_count(predict) == 7


def test_bucket_quantile_interpolates_within_the_bucket() -> None:
    update = histogram_buckets(METRICS, "reference_model_update_seconds")
    assert bucket_quantile(update, 0.5) == pytest.approx(0.05 + 0.05 * (5 - 2) / 4)
    assert bucket_quantile(update, 1.0) == pytest.approx(0.2)
    assert bucket_quantile({}, 0.5) is None
    # A quantile in the +Inf bucket reads as the highest finite bound (a lower bound).
    assert bucket_quantile({1.0: 1, math.inf: 10}, 0.95) == 1.0


def test_bucket_delta_is_what_happened_between_two_scrapes() -> None:
    before = {0.1: 3.0, math.inf: 4.0}
    after = {0.1: 5.0, 0.2: 1.0, math.inf: 9.0}
    assert bucket_delta(before, after) == {0.1: 2.0, 0.2: 1.0, math.inf: 5.0}


def test_garbage_metrics_raise_value_error() -> None:
    with pytest.raises(ValueError):
        histogram_buckets("this is { not prometheus", "x")


# --- saturated resource --------------------------------------------------------------------------


def sample(
    t: float, *, target_cpu: float = 10, vigil_cpu: float = 10, host: float = 50, fds: int = 10
) -> ResourceSample:
    group = dict(processes=2, rss_bytes=1, threads=1, sockets=0, open_files_limit=100)
    return ResourceSample(
        at=NOW,
        elapsed_seconds=t,
        host_cpu_percent=host,
        host_cpus=2,
        host_memory_percent=10,
        target=ProcessGroupSample(
            cpu_percent=target_cpu, max_process_cpu_percent=target_cpu, open_files=fds, **group
        ),
        vigil=ProcessGroupSample(
            cpu_percent=vigil_cpu, max_process_cpu_percent=vigil_cpu, open_files=1, **group
        ),
    )


def test_the_first_resource_to_cross_its_limit_is_named() -> None:
    limits = SaturationLimitsConfig()
    samples = [sample(1), sample(2, vigil_cpu=95), sample(3, target_cpu=99, vigil_cpu=95)]
    found = first_saturated_resource(samples, limits)
    assert found is not None and found.resource == "vigil_cpu" and found.elapsed_seconds == 2
    assert "load generator" in found.detail


def test_within_one_sample_the_targets_resource_comes_first() -> None:
    found = first_saturated_resource([sample(1, target_cpu=97, host=199)], SaturationLimitsConfig())
    assert found is not None and found.resource == "target_process_cpu"
    assert found.detail.startswith("the target's busiest process used 97 % of a core")


def test_descriptors_near_their_limit_saturate() -> None:
    found = first_saturated_resource([sample(1, fds=95)], SaturationLimitsConfig())
    assert found is not None and found.resource == "target_open_files"


def test_nothing_saturated_and_samples_before_the_window_are_ignored() -> None:
    limits = SaturationLimitsConfig()
    assert first_saturated_resource([sample(1), sample(2)], limits) is None
    assert (
        first_saturated_resource([sample(1, host=199), sample(5)], limits, since_seconds=2) is None
    )


# --- judgements ----------------------------------------------------------------------------------


def test_p95_over_budget_fails_with_the_figures() -> None:
    window = result_with([2500.0] * 20)
    check = judge_p95_within_budget(window, 2.0, 1000)
    assert check.status is Status.FAILED
    assert check.message.startswith("p95 latency 2.50")
    assert "s at 1000 users is over the 2 s budget (20 requests in 10 s)" in check.message
    ok = judge_p95_within_budget(result_with([100.0] * 20), 2.0, 1000)
    assert ok.status is Status.PASSED and "within" in ok.message


def test_nothing_measured_fails_instead_of_passing() -> None:
    assert judge_p95_within_budget(None, 2.0, 1000).status is Status.FAILED
    assert (
        judge_error_rate(None, 0.01, 1000).message
        == "no request completed in the steady window at 1000 users"
    )


def test_error_rate_over_budget_names_the_error_kinds() -> None:
    check = judge_error_rate(result_with([10.0] * 10, errors=2), 0.01, 1000)
    assert check.status is Status.FAILED
    assert (
        "error rate 0.2000 at 1000 users is over the 0.01 budget (2 of 10 failed: status_5xx 2)"
        in check.message
    )


def test_load_window_merges_only_load_steps() -> None:
    outcomes = [
        outcome_of("baseline", 1, result_with([1.0] * 5)),
        outcome_of("load", 10, result_with([100.0] * 10)),
        outcome_of("load", 20, result_with([300.0] * 10)),
    ]
    window = load_window(outcomes)
    assert window is not None and window.overall.count == 20
    assert window.overall.latency.p95_ms == pytest.approx(300, rel=0.01)


def test_stress_breaking_step_names_the_saturated_resource() -> None:
    slo = LatencySloConfig()
    stress = [
        outcome_of("stress", 1250, result_with([100.0] * 10)),
        outcome_of(
            "stress",
            1500,
            result_with([3000.0] * 10),
            resources=[sample(1), sample(2, target_cpu=99)],
        ),
        outcome_of("stress", 1750, result_with([100.0] * 10)),
    ]
    verdict = stress_verdict(
        stress, slo, SaturationLimitsConfig(), load_users=1000, load_held=True, capped=False
    )
    assert verdict.breaking_users == 1500 and verdict.saturation_users == 1250
    assert verdict.saturated is not None and verdict.saturated.resource == "target_process_cpu"
    assert [s[0] for s in verdict.steps] == [1250, 1500]  # stopped at the first break
    check = judge_stress(verdict, 1000)
    assert check.status is Status.PASSED
    assert "broke the SLO at 1500 users (p95 over the limit" in check.message
    assert "last good step 1250; first saturated: target_process_cpu" in check.message


def test_breaking_right_above_the_load_fails_the_warn_check() -> None:
    stress = [outcome_of("stress", 1250, result_with([10.0] * 10, errors=5))]
    verdict = stress_verdict(
        stress,
        LatencySloConfig(),
        SaturationLimitsConfig(),
        load_users=1000,
        load_held=True,
        capped=False,
    )
    check = judge_stress(verdict, 1000)
    assert check.status is Status.FAILED and check.severity.value == "warn"
    assert "error rate over the limit" in check.message and "no sampled resource" in check.message


def test_a_model_that_never_moves_fails_the_model_update_check() -> None:
    check = judge_model_update(ModelUpdateProbeResult(timeouts=3), 5.0)
    assert check.status is Status.FAILED
    assert "the model is not learning from feedback" in check.message
    fast = judge_model_update(ModelUpdateProbeResult(latencies_seconds=[0.1, 0.12, 0.2]), 5.0)
    assert fast.status is Status.PASSED
    slow = judge_model_update(ModelUpdateProbeResult(latencies_seconds=[6.0, 7.0]), 5.0)
    assert slow.status is Status.FAILED and "over the 5 s budget" in slow.message
    assert judge_model_update(None, 5.0).status is Status.NOT_APPLICABLE


def test_quantile_is_nearest_rank() -> None:
    assert quantile([5, 1, 3, 2, 4], 0.5) == 3
    assert quantile([1.0] * 19 + [9.0], 0.95) == 1.0
    assert quantile([], 0.5) is None


def test_headline_measures_are_in_seconds_and_shares() -> None:
    settings = PerformanceSuiteConfig()
    loads = [outcome_of("load", 1000, result_with([100.0] * 18 + [900.0, 1000.0], errors=1))]
    out = {
        m.name: m
        for m in measurements(
            settings=settings, baseline=None, loads=loads, verdict=None, probe=None
        )
    }
    assert out["p95_latency_s_at_1000_users"].value == pytest.approx(0.9, rel=0.01)
    assert out["p95_latency_s_at_1000_users"].unit == "s"
    assert out["availability_under_load"].value == pytest.approx(0.95)
    assert out["error_rate"].value == pytest.approx(0.05)
    assert out["inference_p95_s_light"].value == pytest.approx(0.9, rel=0.01)


def test_a_profile_run_alone_reports_the_targets_model_update_latency_under_its_load() -> None:
    settings = PerformanceSuiteConfig()
    alone = outcome_of("load", 1000, result_with([50.0] * 10))
    alone = alone.model_copy(
        update={
            "plan": alone.plan.model_copy(update={"profile": "heavy"}),
            "model_update_buckets": {0.1: 8.0, 0.2: 10.0, math.inf: 10.0},
        }
    )
    out = {
        m.name: m
        for m in measurements(
            settings=settings, baseline=None, loads=[alone], verdict=None, probe=None
        )
    }
    heavy = out["target_model_update_p95_s_heavy"]
    assert heavy.value == pytest.approx(0.1 + 0.1 * (9.5 - 8) / 2)
    assert heavy.context["labels"] == 10 and heavy.unit == "s"
    assert out["target_model_update_p95_s_under_load"].value == pytest.approx(heavy.value)
    assert "target_inference_p95_s_heavy" not in out  # the target's /metrics was not read


def test_a_broken_ramp_reports_its_breaking_point_and_last_good_step() -> None:
    stress = [
        outcome_of("stress", 1250, result_with([100.0] * 10)),
        outcome_of("stress", 1500, result_with([3000.0] * 10)),
    ]
    verdict = stress_verdict(
        stress,
        LatencySloConfig(),
        SaturationLimitsConfig(),
        load_users=1000,
        load_held=True,
        capped=False,
    )
    out = {
        m.name: m
        for m in measurements(
            settings=PerformanceSuiteConfig(), baseline=None, loads=[], verdict=verdict, probe=None
        )
    }
    assert out["breaking_users"].value == 1500 and out["saturation_users"].value == 1250
    assert out["saturation_users"].context["saturated_resource"] == "none"
