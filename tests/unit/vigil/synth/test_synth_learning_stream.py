"""Properties of the labelled learning stream: determinism, drift where labelled, noise, delays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.synth.config import LearningStreamConfig
from vigil.synth.learning import AGRAWAL_FEATURES, LearningStream, generate_learning_stream

SEED = 41
ROWS_PER_DAY = 300


@pytest.fixture(scope="module")
def config() -> LearningStreamConfig:
    return LearningStreamConfig(rows_per_day=ROWS_PER_DAY)


@pytest.fixture(scope="module")
def stream(config: LearningStreamConfig) -> LearningStream:
    return generate_learning_stream(config, SEED)


def _accuracy_of_tree(train: pd.DataFrame, test: pd.DataFrame, features: tuple[str, ...]) -> float:
    """Train river's Hoeffding tree on `train` (noise-free labels) and score it on `test`."""
    from river import tree

    model = tree.HoeffdingTreeClassifier(grace_period=50)
    for row in train.itertuples(index=False):
        x = {name: float(getattr(row, name)) for name in features}
        model.learn_one(x, _clean_label(row))
    hits = [
        model.predict_one({name: float(getattr(row, name)) for name in features})
        == _clean_label(row)
        for row in test.itertuples(index=False)
    ]
    return float(np.mean(hits))


def _clean_label(row) -> int:
    return int(row.label) ^ int(row.label_flipped)


def test_same_seed_same_stream(config: LearningStreamConfig, stream: LearningStream) -> None:
    again = generate_learning_stream(config, SEED)
    pd.testing.assert_frame_equal(stream.frame, again.frame)
    assert stream.drifts == again.drifts


def test_different_seed_different_stream(
    config: LearningStreamConfig, stream: LearningStream
) -> None:
    other = generate_learning_stream(config, SEED + 1)
    assert not np.allclose(stream.frame["salary"], other.frame["salary"])
    assert not stream.frame["label"].equals(other.frame["label"])


def test_shape_days_and_numeric_features(
    config: LearningStreamConfig, stream: LearningStream
) -> None:
    frame = stream.frame
    assert len(frame) == config.days * ROWS_PER_DAY
    assert frame.groupby("day").size().eq(ROWS_PER_DAY).all()
    assert sorted(frame["day"].unique()) == list(range(config.days))
    assert frame["timestamp"].is_monotonic_increasing
    assert str(frame["timestamp"].dt.tz) == "UTC"
    elapsed = (frame["timestamp"] - pd.Timestamp(config.start)).dt.total_seconds() / 86400
    assert (np.floor(elapsed).astype(int) == frame["day"]).all()
    assert stream.feature_names == AGRAWAL_FEATURES
    for name in stream.feature_names:
        assert pd.api.types.is_numeric_dtype(frame[name]), name
    assert set(frame["label"].unique()) <= {0, 1}
    features = stream.features_of(0)
    assert set(features) == set(AGRAWAL_FEATURES)
    assert all(isinstance(value, float) for value in features.values())


def test_sudden_drift_switches_concept_exactly_at_the_labelled_day(stream: LearningStream) -> None:
    sudden = stream.drifts[0]
    assert (sudden.kind, sudden.day) == ("sudden", 10)
    frame = stream.frame
    before = frame["timestamp"] < pd.Timestamp(sudden.start)
    assert frame.loc[before, "concept"].eq(sudden.from_concept).all()
    second = pd.Timestamp(stream.drifts[1].start)
    between = (frame["timestamp"] >= pd.Timestamp(sudden.start)) & (frame["timestamp"] < second)
    assert frame.loc[between, "concept"].eq(sudden.to_concept).all()


def test_the_concept_really_changes_at_the_drift(stream: LearningStream) -> None:
    """A model trained before the sudden drift does much worse after it than before it."""
    frame = stream.frame
    train = frame[frame["day"].between(5, 8)]
    held_out_before = frame[frame["day"] == 9]
    after = frame[frame["day"] == 10]
    accuracy_before = _accuracy_of_tree(train, held_out_before, stream.feature_names)
    accuracy_after = _accuracy_of_tree(train, after, stream.feature_names)
    assert accuracy_before > 0.85
    assert accuracy_after < accuracy_before - 0.15


def test_gradual_drift_mixes_concepts_inside_its_window_only(stream: LearningStream) -> None:
    gradual = stream.drifts[1]
    assert (gradual.kind, gradual.width_days) == ("gradual", 2)
    frame = stream.frame
    share_new = frame.groupby("day")["concept"].apply(lambda c: (c == gradual.to_concept).mean())
    first_day = int(gradual.day - gradual.width_days / 2)
    assert share_new[first_day - 1] == 0
    assert 0.1 < share_new[first_day] < 0.4
    assert 0.6 < share_new[first_day + 1] < 0.9
    assert share_new[first_day + 2] == 1
    assert (share_new.loc[first_day + 2 :] == 1).all()


def test_label_noise_rate_is_as_configured() -> None:
    for noise in (0.0, 0.2):
        config = LearningStreamConfig(days=15, rows_per_day=ROWS_PER_DAY, label_noise=noise)
        noisy = generate_learning_stream(config, SEED)
        clean = generate_learning_stream(config.model_copy(update={"label_noise": 0.0}), SEED)
        flipped = noisy.frame["label"] != clean.frame["label"]
        assert flipped.equals(noisy.frame["label_flipped"])
        rows = len(flipped)
        tolerance = 4 * np.sqrt(noise * (1 - noise) / rows)
        assert flipped.mean() == pytest.approx(noise, abs=tolerance)


def test_fixed_label_delay_is_respected() -> None:
    config = LearningStreamConfig(
        rows_per_day=ROWS_PER_DAY, label_delay_seconds=900, label_delay_distribution="fixed"
    )
    frame = generate_learning_stream(config, SEED).frame
    delay = (frame["label_available_at"] - frame["timestamp"]).dt.total_seconds()
    assert np.allclose(delay, 900)


def test_random_label_delay_has_the_configured_mean(stream: LearningStream) -> None:
    frame = stream.frame
    delay = (frame["label_available_at"] - frame["timestamp"]).dt.total_seconds()
    assert (delay >= 0).all()
    assert delay.mean() == pytest.approx(300, rel=0.05)
    assert delay.std() > 100  # random, not fixed


def test_sea_generator_and_custom_concepts() -> None:
    config = LearningStreamConfig(
        days=6,
        rows_per_day=100,
        generator="sea",
        concepts=[0, 3],
        drifts=[{"day": 3, "kind": "sudden"}],
        label_noise=0.0,
    )
    stream = generate_learning_stream(config, SEED)
    assert stream.feature_names == ("x0", "x1", "x2")
    assert stream.frame.loc[stream.frame["day"] < 3, "concept"].eq(0).all()
    assert stream.frame.loc[stream.frame["day"] >= 3, "concept"].eq(3).all()
    # SEA labels a row positive when x0 + x1 exceeds the variant's threshold: 8 for variant 0,
    # 9.5 for variant 3.
    frame = stream.frame
    total = frame["x0"] + frame["x1"]
    early = frame["day"] < 3
    assert ((total > 8) == (frame["label"] == 1))[early].all()
    assert ((total > 9.5) == (frame["label"] == 1))[~early].all()
