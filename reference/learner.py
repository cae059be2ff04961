"""The online model: a river pipeline that learns from each labelled prediction."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from numbers import Number

from river import compose, drift, linear_model, optim, preprocessing

FeatureValue = float | int | str


def build_pipeline(learning_rate: float) -> compose.Pipeline:
    """A fresh pipeline: scaled numbers and one-hot strings into a logistic regression."""
    numeric = compose.SelectType(Number) | preprocessing.StandardScaler()
    categorical = compose.SelectType(str) | preprocessing.OneHotEncoder()
    classifier = linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate))
    return (numeric + categorical) | classifier


@dataclass
class OnlineLearner:
    """One model version's state: pipeline, drift detector and how far it has learned.

    ``applied_feedback_id`` is the id of the last feedback row learned, so a
    restored checkpoint knows which feedback it still has to replay.
    """

    version: str
    learning_rate: float
    corrupt: bool = False
    applied_feedback_id: int = 0
    pipeline: compose.Pipeline | None = None
    detector: drift.ADWIN = field(default_factory=drift.ADWIN)

    def __post_init__(self) -> None:
        if self.pipeline is None:
            self.pipeline = build_pipeline(self.learning_rate)

    def score(self, features: dict[str, FeatureValue]) -> float:
        """Probability of the positive class in [0, 1]; a corrupt model inverts it."""
        p = self.pipeline.predict_proba_one(features).get(True, 0.5)
        if not math.isfinite(p):
            # An overflowing scaler must not leak NaN into a response.
            p = 0.5
        p = min(max(p, 0.0), 1.0)
        return 1.0 - p if self.corrupt else p

    def learn(self, features: dict[str, FeatureValue], label: int, feedback_id: int) -> bool:
        """Learn one labelled example; returns True when the error rate drifted upwards."""
        error = int((self.score(features) >= 0.5) != bool(label))
        before = self.detector.estimation
        self.detector.update(error)
        self.pipeline.learn_one(features, bool(label))
        self.applied_feedback_id = max(self.applied_feedback_id, feedback_id)
        # ADWIN flags any change of the mean, including the error falling while
        # the model learns; only a rise means the concept moved away from us.
        return self.detector.drift_detected and self.detector.estimation > before

    def skip(self, feedback_id: int) -> None:
        """Mark one feedback row as seen without learning from it (learning switched off).

        The row still counts as applied, so checkpoints and replays move past it
        instead of learning it later.
        """
        self.applied_feedback_id = max(self.applied_feedback_id, feedback_id)

    def set_learning_rate(self, learning_rate: float) -> None:
        """Change the SGD step size; plain SGD keeps no state, so swapping it is safe."""
        self.learning_rate = learning_rate
        self.pipeline["LogisticRegression"].optimizer = optim.SGD(learning_rate)

    def reset(self, version: str) -> None:
        """Forget everything learned (after concept drift) and carry on as `version`."""
        self.version = version
        self.pipeline = build_pipeline(self.learning_rate)
        self.detector = drift.ADWIN()

    def derive(self, version: str, learning_rate: float | None, corrupt: bool) -> OnlineLearner:
        """A copy of this state as a new version, optionally with new settings."""
        clone = pickle.loads(pickle.dumps(self))
        clone.version = version
        clone.corrupt = corrupt
        # A new version starts its own error stream: drift is judged against it alone.
        clone.detector = drift.ADWIN()
        if learning_rate is not None:
            clone.set_learning_rate(learning_rate)
        return clone

    def dumps(self) -> bytes:
        """Serialise the whole state for a checkpoint."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(state: bytes) -> OnlineLearner:
        """Restore a state written by :meth:`dumps` (only ever our own checkpoints)."""
        learner = pickle.loads(state)
        if not isinstance(learner, OnlineLearner):
            raise TypeError(f"checkpoint holds {type(learner).__name__}, not OnlineLearner")
        return learner
