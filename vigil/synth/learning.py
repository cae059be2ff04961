"""The labelled learning stream: feature rows over simulated days with known concept drift.

Each concept is one of river's synthetic generators (``Agrawal`` or ``SEA``) with
its own seed, and the rows of each concept are drawn from it in order. Which
concept produces a row is decided here rather than by nesting river's
``ConceptDriftStream``: that class overflows ``math.exp`` when a drift's width
is small and its position large (a sudden drift late in a 30-day stream), and
its sigmoid leaks the transition far outside any window one could label. Here a
sudden drift switches at its instant and a gradual one mixes the concepts with
a share of the new one rising linearly across its window, so the labelled
window contains the whole transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from vigil.synth.config import SECONDS_PER_DAY, LearningStreamConfig

AGRAWAL_FEATURES = (
    "salary",
    "commission",
    "age",
    "elevel",
    "car",
    "zipcode",
    "hvalue",
    "hyears",
    "loan",
)
SEA_FEATURES = ("x0", "x1", "x2")
# Agrawal draws these as whole numbers (years, levels, codes); they stay integer-typed.
INTEGER_FEATURES = frozenset({"age", "elevel", "car", "zipcode", "hyears"})


class DriftTruth(BaseModel):
    """Ground truth of one concept drift in the learning stream."""

    model_config = ConfigDict(frozen=True)

    day: float = Field(description="Day (after the stream's start) the drift is centred on.")
    kind: Literal["sudden", "gradual"]
    width_days: float = Field(description="Length of the transition in days (0 when sudden).")
    start: datetime = Field(description="When the transition begins (UTC).")
    end: datetime = Field(description="When the transition is complete (UTC).")
    from_concept: int = Field(description="Concept before the drift.")
    to_concept: int = Field(description="Concept after the drift.")


@dataclass(frozen=True)
class LearningStream:
    """A generated learning stream: the rows, the drifts that happen in it and its parameters."""

    frame: pd.DataFrame
    """One row per labelled example: `row_id`, `timestamp`, `day`, `concept`, the features,
    `label` (with noise), `label_flipped`, `label_available_at`."""
    drifts: list[DriftTruth]
    feature_names: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)

    def features_of(self, row: int) -> dict[str, float]:
        """The features of one row in the shape the target's ``/predict`` takes."""
        values = self.frame.iloc[row]
        return {name: float(values[name]) for name in self.feature_names}

    def drifts_frame(self) -> pd.DataFrame:
        """The drifts as a DataFrame, one row each."""
        columns = list(DriftTruth.model_fields)
        return pd.DataFrame([drift.model_dump() for drift in self.drifts], columns=columns)


def _concept_source(generator: str, concept: int, seed: int):
    """An endless river stream for one concept (imported lazily: river is slow to import)."""
    from river.datasets import synth

    if generator == "agrawal":
        return synth.Agrawal(classification_function=concept, seed=seed)
    return synth.SEA(variant=concept, seed=seed)


def generate_learning_stream(config: LearningStreamConfig, seed: int) -> LearningStream:
    """Generate the labelled stream described by `config`, deterministically from `seed`.

    Args:
        config: Days, rows per day, concepts, drift points, label noise and delay.
        seed: Master seed; each concept's river generator and the noise get their own
            seeds derived from it with numpy's ``SeedSequence``.

    Returns:
        The rows, the drift ground truth and the parameters used.
    """
    planned = config.resolved_drifts()
    sequence = np.random.SeedSequence(seed)
    stream_seed, *concept_seeds = sequence.generate_state(1 + len(planned) + 1)
    rng = np.random.default_rng(int(stream_seed))
    concepts = config.resolved_concepts()

    rows = config.days * config.rows_per_day
    position = np.arange(rows)
    # Rows are spread evenly over each day, each jittered within its own slot.
    elapsed_days = (position + rng.random(rows)) / config.rows_per_day
    day = position // config.rows_per_day

    passed = np.zeros(rows, dtype=np.int64)
    chance = rng.random(rows)
    for drift in planned:
        if drift.kind == "sudden":
            probability = (elapsed_days >= drift.day).astype(float)
        else:
            first, _ = drift.window
            probability = np.clip((elapsed_days - first) / drift.width_days, 0.0, 1.0)
        passed += chance < probability
    segment = passed

    feature_names = AGRAWAL_FEATURES if config.generator == "agrawal" else SEA_FEATURES
    features = np.empty((rows, len(feature_names)), dtype=float)
    clean_label = np.empty(rows, dtype=np.int64)
    for index, concept in enumerate(concepts):
        members = np.flatnonzero(segment == index)
        if members.size == 0:
            continue
        source = _concept_source(config.generator, concept, int(concept_seeds[index]))
        drawn = list(islice(source, members.size))
        features[members] = [list(x.values()) for x, _ in drawn]
        clean_label[members] = [int(y) for _, y in drawn]

    flipped = rng.random(rows) < config.label_noise
    label = np.where(flipped, 1 - clean_label, clean_label)
    if config.label_delay_distribution == "fixed":
        delay = np.full(rows, config.label_delay_seconds)
    else:
        delay = rng.exponential(config.label_delay_seconds, rows)

    start = pd.Timestamp(config.start)
    timestamp = start + pd.to_timedelta(np.rint(elapsed_days * SECONDS_PER_DAY * 1e6), unit="us")
    frame = pd.DataFrame(
        {
            "row_id": position,
            "timestamp": pd.DatetimeIndex(timestamp).as_unit("ns"),
            "day": day,
            "concept": np.asarray(concepts)[segment],
        }
    )
    for column, name in enumerate(feature_names):
        values = features[:, column]
        frame[name] = values.astype(np.int64) if name in INTEGER_FEATURES else values
    frame["label"] = label
    frame["label_flipped"] = flipped
    frame["label_available_at"] = frame["timestamp"] + pd.to_timedelta(
        np.rint(delay * 1e6), unit="us"
    )

    drifts = [
        DriftTruth(
            day=drift.day,
            kind=drift.kind,
            width_days=drift.width_days,
            start=(start + pd.Timedelta(days=drift.window[0]).round("us")).to_pydatetime(),
            end=(start + pd.Timedelta(days=drift.window[1]).round("us")).to_pydatetime(),
            from_concept=concepts[index],
            to_concept=concepts[index + 1],
        )
        for index, drift in enumerate(planned)
    ]
    parameters = {
        "seed": seed,
        "config": config.model_dump(mode="json"),
        "resolved_concepts": concepts,
        "resolved_drifts": [drift.model_dump(mode="json") for drift in planned],
        "rows": rows,
    }
    return LearningStream(
        frame=frame, drifts=drifts, feature_names=feature_names, parameters=parameters
    )
