"""How long a label takes to change the model's answers, timed from vigil's side.

The HTTP contract has no "learned" signal, so the probe watches the model itself: it predicts a
row, sends as its label the opposite of the served prediction (the most informative feedback,
so the learned update visibly moves the score), and asks for a prediction on the same features
every ``poll_seconds`` until the score differs. The time runs from the moment the feedback was
sent, which is just before the target can stamp it as accepted.

Other traffic moves the model too, so the probe is meaningful only while nothing else sends
feedback (the suite runs it at baseline, with the load stopped). Probes run one after another,
and stop early once several labels in a row did not move the model: every timeout already
fails the check, and a model that ignores feedback would otherwise cost a full timeout per
label.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from vigil.errors import RunError
from vigil.load.scenario import LabelledRow
from vigil.targets.client import TargetClient


@dataclass
class ModelUpdateTimings:
    """What the probe saw."""

    latencies_seconds: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)


def _flipped(prediction: object) -> int:
    return 0 if bool(prediction) else 1


def probe_model_update(
    client: TargetClient,
    rows: Iterable[LabelledRow],
    *,
    probes: int,
    timeout_seconds: float,
    poll_seconds: float = 0.01,
    stop_after_timeouts: int | None = None,
) -> ModelUpdateTimings:
    """Time `probes` labels until the model's score for their features changes.

    Args:
        client: A client of the target (its own request timeout bounds every call).
        rows: Where the probe's features come from (labels are not used, see the module).
        probes: How many labels to time, one after another.
        timeout_seconds: How long to wait for one label to show before counting a timeout.
        poll_seconds: Pause between two predictions on the probe's features.
        stop_after_timeouts: Stop after this many timeouts in a row (None: time every label).
    """
    timings = ModelUpdateTimings()
    source = iter(rows)
    in_a_row = 0
    for _ in range(probes):
        if stop_after_timeouts is not None and in_a_row >= stop_after_timeouts:
            break
        try:
            features, _label = next(source)
        except StopIteration:
            break
        features = dict(features)
        try:
            first = client.predict(features)
            sent = time.monotonic()
            client.feedback(first.request_id, _flipped(first.prediction))
            deadline = sent + timeout_seconds
            while True:
                again = client.predict(features)
                if again.score != first.score or again.model_version != first.model_version:
                    timings.latencies_seconds.append(round(time.monotonic() - sent, 6))
                    in_a_row = 0
                    break
                if time.monotonic() >= deadline:
                    timings.timeouts += 1
                    in_a_row += 1
                    break
                time.sleep(poll_seconds)
        except RunError as exc:
            timings.errors.append(str(exc))
    return timings
