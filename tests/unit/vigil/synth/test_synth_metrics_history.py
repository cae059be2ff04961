"""Properties of the synthetic metrics history that a wrong generator would break."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.synth.config import (
    ANOMALY_KINDS,
    EVENT_KINDS,
    LABEL_KINDS,
    METRIC_NAMES,
    MetricsHistoryConfig,
    ScenarioConfig,
)
from vigil.synth.metrics import (
    INTEGER_METRICS,
    MetricsHistory,
    generate_metrics_history,
)

SEED = 20260105


@pytest.fixture(scope="module")
def history() -> MetricsHistory:
    """The default 90-day, 1-minute history (all standard scenarios and holidays)."""
    return generate_metrics_history(MetricsHistoryConfig(), SEED)


def _quiet_config(**overrides) -> MetricsHistoryConfig:
    """A 28-day history without scenarios or holidays, plus the given overrides."""
    settings = {"days": 28, "scenarios": [], "holidays": []}
    settings.update(overrides)
    return MetricsHistoryConfig(**settings)


def _window(frame: pd.DataFrame, start, end) -> pd.Series:
    return (frame["timestamp"] >= start) & (frame["timestamp"] <= end)


def test_same_seed_gives_the_same_history(history: MetricsHistory) -> None:
    again = generate_metrics_history(MetricsHistoryConfig(), SEED)
    pd.testing.assert_frame_equal(history.frame, again.frame)
    assert history.labels == again.labels
    assert history.parameters["seed"] == SEED


def test_different_seed_gives_a_different_history(history: MetricsHistory) -> None:
    other = generate_metrics_history(MetricsHistoryConfig(), SEED + 1)
    for metric in ("request_rate", "latency_p50_ms", "model_accuracy"):
        assert not np.allclose(history.frame[metric], other.frame[metric])
    # The ground truth depends on the configuration only, not on the seed.
    assert history.labels == other.labels


def test_schema_spacing_and_types(history: MetricsHistory) -> None:
    frame = history.frame
    assert list(frame.columns) == ["timestamp", *METRIC_NAMES]
    assert len(frame) == 90 * 1440
    assert str(frame["timestamp"].dt.tz) == "UTC"
    steps = frame["timestamp"].diff().dropna().dt.total_seconds()
    assert steps.eq(60).all()
    assert frame["timestamp"].iloc[0] == pd.Timestamp(MetricsHistoryConfig().start)
    for metric in METRIC_NAMES:
        expected = np.int64 if metric in INTEGER_METRICS else np.float64
        assert frame[metric].dtype == expected, metric
    assert not frame.isna().any().any()


def test_ranges_are_physical(history: MetricsHistory) -> None:
    frame = history.frame
    for metric in ("error_rate", "cpu_utilization", "model_accuracy"):
        assert frame[metric].between(0, 1).all(), metric
    for metric in METRIC_NAMES:
        assert (frame[metric] >= 0).all(), metric
    assert (frame["latency_p95_ms"] >= frame["latency_p50_ms"]).all()
    assert frame["request_rate"].min() > 0


def test_daily_cycle_dominates_the_spectrum() -> None:
    frame = generate_metrics_history(_quiet_config(), SEED).frame
    rate = frame["request_rate"].to_numpy()
    power = np.abs(np.fft.rfft(rate - rate.mean())) ** 2
    frequency_per_day = np.fft.rfftfreq(rate.size, d=1 / 1440)
    strongest = frequency_per_day[np.argmax(power[1:]) + 1]
    assert strongest == pytest.approx(1.0, abs=0.05)
    series = pd.Series(rate)
    assert series.autocorr(1440) > 0.7
    # Half a day apart the curve is in the opposite phase.
    assert series.autocorr(720) < 0


def test_weekly_cycle_lowers_weekends_by_the_configured_factor() -> None:
    for factor in (0.6, 1.0):
        frame = generate_metrics_history(
            _quiet_config(weekend_factor=factor, growth_per_30_days=0.0), SEED
        ).frame
        weekend = frame["timestamp"].dt.day_of_week >= 5
        ratio = (
            frame.loc[weekend, "request_rate"].mean() / frame.loc[~weekend, "request_rate"].mean()
        )
        assert ratio == pytest.approx(factor, rel=0.05)


def test_growth_raises_traffic_over_time() -> None:
    frame = generate_metrics_history(_quiet_config(days=56, growth_per_30_days=0.3), SEED).frame
    first, last = frame["request_rate"].iloc[: 7 * 1440], frame["request_rate"].iloc[-7 * 1440 :]
    # Seven weeks of 30 % a month: (1.3) ** (49 / 30) ~ 1.53 between the first and last weeks.
    assert last.mean() / first.mean() == pytest.approx(1.3 ** (49 / 30), rel=0.05)


def test_holidays_lower_traffic() -> None:
    config = _quiet_config(holidays=[9, 16], growth_per_30_days=0.0)
    history = generate_metrics_history(config, SEED)
    rate = history.frame["request_rate"].to_numpy().reshape(config.days, 1440).mean(axis=1)
    # Each holiday against the same weekday a week away, an ordinary day.
    assert rate[9] / rate[2] == pytest.approx(config.holiday_factor, rel=0.1)
    assert rate[16] / rate[23] == pytest.approx(config.holiday_factor, rel=0.1)
    # Less traffic means less CPU and fewer requests in flight: both are labelled too.
    for metric in ("cpu_utilization", "queue_depth"):
        daily = history.frame[metric].to_numpy().reshape(config.days, 1440).mean(axis=1)
        assert daily[9] < 0.85 * daily[2], metric
    labelled = {
        (label.metric, pd.Timestamp(label.start).day)
        for label in history.labels
        if label.kind == "holiday"
    }
    assert ("request_rate", 14) in labelled  # 2026-01-05 + 9 days
    assert ("active_users_light", 21) in labelled
    assert ("queue_depth", 14) in labelled


def test_every_kind_is_labelled_inside_the_span(history: MetricsHistory) -> None:
    frame = history.frame
    kinds = {label.kind for label in history.labels}
    assert kinds == set(LABEL_KINDS) == set(EVENT_KINDS) | set(ANOMALY_KINDS)
    for label in history.labels:
        assert label.metric in frame.columns
        assert frame["timestamp"].iloc[0] <= pd.Timestamp(label.start) <= pd.Timestamp(label.end)
        assert pd.Timestamp(label.end) <= frame["timestamp"].iloc[-1]
        # Both ends fall on samples.
        for end in (label.start, label.end):
            assert (pd.Timestamp(end) - frame["timestamp"].iloc[0]).total_seconds() % 60 == 0
    labels = history.labels_frame()
    assert list(labels.columns) == ["metric", "start", "end", "kind"]
    assert len(labels) == len(history.labels)


def test_spike_windows_really_contain_the_spike(history: MetricsHistory) -> None:
    frame = history.frame
    spikes = [label for label in history.labels if label.kind == "spike"]
    assert len(spikes) == 3
    for label in spikes:
        inside = frame.loc[_window(frame, label.start, label.end), label.metric]
        span = pd.Timestamp(label.end) - pd.Timestamp(label.start) + pd.Timedelta(minutes=1)
        around = frame.loc[
            _window(
                frame,
                pd.Timestamp(label.start) - 4 * span,
                pd.Timestamp(label.start) - pd.Timedelta(minutes=1),
            )
            | _window(
                frame,
                pd.Timestamp(label.end) + pd.Timedelta(minutes=1),
                pd.Timestamp(label.end) + 4 * span,
            ),
            label.metric,
        ]
        assert inside.min() > around.max(), label
        assert inside.median() > 2.5 * around.median(), label


def test_single_metric_anomalies_change_only_their_window_and_metric() -> None:
    """Against the same seed without the scenario, only the labelled window of that metric moves."""
    baseline = generate_metrics_history(_quiet_config(), SEED)
    cases = [
        ("level_shift", "request_rate", -0.3),
        ("spike", "queue_depth", 4.0),
        ("gradual_degradation", "model_accuracy", 0.2),
        ("config_change", "cpu_utilization", -0.1),
        ("intermittent", "error_rate", 3.0),
    ]
    for kind, metric, magnitude in cases:
        scenario = ScenarioConfig(
            kind=kind, metric=metric, start_day=10.25, duration_hours=48, magnitude=magnitude
        )
        changed = generate_metrics_history(_quiet_config(scenarios=[scenario]), SEED)
        (label,) = changed.labels
        assert (label.metric, label.kind) == (metric, kind)
        inside = _window(changed.frame, label.start, label.end)
        assert inside.sum() == 48 * 60
        for other in METRIC_NAMES:
            if other != metric:
                pd.testing.assert_series_equal(changed.frame[other], baseline.frame[other])
        assert changed.frame.loc[~inside, metric].equals(baseline.frame.loc[~inside, metric])
        assert not changed.frame.loc[inside, metric].equals(baseline.frame.loc[inside, metric])


def test_level_shift_really_shifts() -> None:
    baseline = generate_metrics_history(_quiet_config(), SEED).frame
    scenario = ScenarioConfig(
        kind="level_shift",
        metric="request_rate",
        start_day=7,
        duration_hours=7 * 24,
        magnitude=-0.3,
    )
    shifted = generate_metrics_history(_quiet_config(scenarios=[scenario]), SEED).frame
    week_before = shifted["request_rate"].iloc[0 : 7 * 1440].mean()
    week_of_shift = shifted["request_rate"].iloc[7 * 1440 : 14 * 1440].mean()
    week_after = shifted["request_rate"].iloc[14 * 1440 : 21 * 1440].mean()
    assert week_of_shift / week_before == pytest.approx(0.7, rel=0.05)
    assert week_after / week_before == pytest.approx(1.0, rel=0.05)
    ratio = (
        shifted["request_rate"].iloc[7 * 1440 : 14 * 1440]
        / baseline["request_rate"].iloc[7 * 1440 : 14 * 1440]
    )
    assert np.allclose(ratio, 0.7)


def test_gradual_degradation_really_trends(history: MetricsHistory) -> None:
    frame = history.frame
    (label,) = [
        label
        for label in history.labels
        if label.kind == "gradual_degradation" and label.metric == "latency_p50_ms"
    ]
    values = frame.loc[_window(frame, label.start, label.end), label.metric].to_numpy()
    tenth = values.size // 10
    assert values[-tenth:].mean() > 1.5 * values[:tenth].mean()
    slope = np.polyfit(np.arange(values.size), values, 1)[0]
    assert slope > 0
    (accuracy_label,) = [
        label
        for label in history.labels
        if label.kind == "gradual_degradation" and label.metric == "model_accuracy"
    ]
    accuracy = frame.loc[
        _window(frame, accuracy_label.start, accuracy_label.end), "model_accuracy"
    ].to_numpy()
    # Accuracy degrades downwards.
    assert np.polyfit(np.arange(accuracy.size), accuracy, 1)[0] < 0
    assert accuracy[-tenth:].mean() < accuracy[:tenth].mean() - 0.08


def test_intermittent_failures_come_in_bursts(history: MetricsHistory) -> None:
    frame = history.frame
    (label,) = [label for label in history.labels if label.kind == "intermittent"]
    inside = frame.loc[_window(frame, label.start, label.end), label.metric].to_numpy()
    typical = frame.loc[
        _window(
            frame,
            pd.Timestamp(label.start) - pd.Timedelta(days=1),
            pd.Timestamp(label.start) - pd.Timedelta(minutes=1),
        ),
        label.metric,
    ].median()
    failing = inside > 3 * typical
    assert 0.1 < failing.mean() < 0.6
    # Bursts start and stop: many separate runs, not one block.
    assert np.count_nonzero(np.diff(failing.astype(int)) == 1) > 10


def test_bad_deploy_labels_the_metrics_it_hurts(history: MetricsHistory) -> None:
    frame = history.frame
    bad = [label for label in history.labels if label.kind == "bad_deploy"]
    assert {label.metric for label in bad} == {
        "error_rate",
        "latency_p50_ms",
        "latency_p95_ms",
        "model_accuracy",
        "queue_depth",
    }
    for label in bad:
        inside = frame.loc[_window(frame, label.start, label.end), label.metric].mean()
        before = frame.loc[
            _window(
                frame,
                pd.Timestamp(label.start) - pd.Timedelta(hours=4),
                pd.Timestamp(label.start) - pd.Timedelta(minutes=1),
            ),
            label.metric,
        ].mean()
        if label.metric == "model_accuracy":
            assert inside < before - 0.1
        else:
            assert inside > 1.5 * before
    # The restart that comes with it resets memory.
    start = pd.Timestamp(bad[0].start)
    memory = frame.set_index("timestamp")["memory_bytes"]
    assert memory[start] < memory[start - pd.Timedelta(minutes=1)] * 0.8


def test_traffic_surge_raises_traffic_and_load(history: MetricsHistory) -> None:
    frame = history.frame
    surges = [
        label
        for label in history.labels
        if label.kind == "traffic_surge" and label.metric == "request_rate"
    ]
    assert len(surges) == 2
    for label in surges:
        inside = frame.loc[_window(frame, label.start, label.end)]
        week = pd.Timedelta(days=7)
        week_before = frame.loc[
            _window(frame, pd.Timestamp(label.start) - week, pd.Timestamp(label.end) - week)
        ]
        for metric in ("request_rate", "cpu_utilization", "queue_depth", "active_users_heavy"):
            assert inside[metric].mean() > 1.3 * week_before[metric].mean(), metric


def test_short_and_coarse_histories_generate() -> None:
    for days, resolution in ((2, 3600), (7, 300), (30, 60)):
        config = MetricsHistoryConfig(days=days, resolution_seconds=resolution)
        history = generate_metrics_history(config, SEED)
        assert len(history.frame) == days * 86400 // resolution
        assert history.frame["timestamp"].diff().dropna().dt.total_seconds().eq(resolution).all()
        for label in history.labels:
            assert history.frame["timestamp"].iloc[0] <= pd.Timestamp(label.start)
            assert pd.Timestamp(label.end) <= history.frame["timestamp"].iloc[-1]
