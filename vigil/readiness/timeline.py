"""The probe stream folded into per-second counts, for the report's deploy timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from vigil.observe.probes import ProbeSample


class ProbeSecond(BaseModel):
    """Probes sent within one wall-clock second."""

    second: datetime
    sent: int
    good: int
    failed: int
    max_latency_ms: float | None = None


def per_second(samples: Sequence[ProbeSample], max_points: int) -> list[ProbeSecond]:
    """Count probes per second; keep at most `max_points` seconds (the newest are dropped).

    Args:
        samples: The probe stream's samples.
        max_points: Bound on the number of seconds returned.
    """
    seconds: dict[datetime, ProbeSecond] = {}
    for sample in samples:
        key = sample.sent_at.replace(microsecond=0)
        point = seconds.get(key)
        if point is None:
            if len(seconds) >= max_points:
                continue
            point = seconds[key] = ProbeSecond(second=key, sent=0, good=0, failed=0)
        point.sent += 1
        if sample.ok:
            point.good += 1
        else:
            point.failed += 1
        if sample.latency_ms is not None:
            point.max_latency_ms = max(point.max_latency_ms or 0.0, sample.latency_ms)
    return sorted(seconds.values(), key=lambda p: p.second)
