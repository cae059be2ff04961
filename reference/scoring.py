"""Prequential scoring: how good a served score was, once its true label arrived."""

from __future__ import annotations

import math

LOG_LOSS_EPSILON = 1e-15
"""Scores are clipped this far from 0 and 1 so one confident miss stays finite."""


def log_loss(score: float, label: int) -> float:
    """Binary cross-entropy of one served score against its true label."""
    p = min(max(score, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON)
    return -math.log(p if label else 1 - p)
