"""The target's own Prometheus histograms: parsed, differenced, their quantiles."""

from __future__ import annotations

import math
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

PREDICT_HISTOGRAM = "reference_request_duration_seconds"
"""The target's request-duration histogram (the reference service's name)."""
PREDICT_LABELS = {"endpoint": "/predict"}
MODEL_UPDATE_HISTOGRAM = "reference_model_update_seconds"
"""The target's model-update histogram: feedback accepted until the model learned it."""

Buckets = dict[float, float]
"""Cumulative counts of a Prometheus histogram by upper bound (``inf`` included)."""


def histogram_buckets(
    metrics_text: str, name: str, labels: Mapping[str, str] | None = None
) -> Buckets:
    """The cumulative buckets of histogram `name`, summed over series matching `labels`.

    Args:
        metrics_text: A Prometheus text page (``GET /metrics``).
        name: The histogram's name without ``_bucket``, e.g. ``reference_model_update_seconds``.
        labels: Only series carrying these label values count (e.g. ``{"endpoint": "/predict"}``).

    Raises:
        ValueError: the text is not Prometheus text format.
    """
    wanted = dict(labels or {})
    buckets: Buckets = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            if any(sample.labels.get(k) != v for k, v in wanted.items()):
                continue
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return dict(sorted(buckets.items()))


def bucket_delta(before: Buckets, after: Buckets) -> Buckets:
    """What a histogram counted between two scrapes (a restart's reset reads as nothing)."""
    return {bound: max(0.0, count - before.get(bound, 0.0)) for bound, count in after.items()}


def bucket_count(buckets: Buckets) -> int:
    """Observations in a bucket set."""
    return round(buckets.get(math.inf, 0.0))


def bucket_quantile(buckets: Buckets, quantile: float) -> float | None:
    """The `quantile` (0..1) interpolated linearly within its bucket, as Prometheus does.

    None when nothing was observed; the highest finite bound when the quantile falls in the
    ``+Inf`` bucket (the figure is then a lower bound).
    """
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    rank = quantile * total
    lower, below = 0.0, 0.0
    finite = [b for b in buckets if b != math.inf]
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return max(finite) if finite else None
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return None
