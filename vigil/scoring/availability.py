"""Judgements over a probe stream: availability, first failure, recovery instant.

Pure functions of :class:`vigil.observe.probes.ProbeSample` lists, so that MTTR,
availability and drill results can be checked by hand-computed cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from vigil.observe.probes import ProbeSample

Window = tuple[datetime, datetime]


class Availability(BaseModel):
    """Share of probes answered correctly, outside the excluded windows."""

    probes: int
    good: int
    excluded: int
    share: float | None
    """None when no probe counted."""


def _inside(moment: datetime, windows: Sequence[Window]) -> bool:
    return any(start <= moment <= end for start, end in windows)


def availability(samples: Sequence[ProbeSample], excluded: Sequence[Window] = ()) -> Availability:
    """Share of good probes among those not sent inside an excluded window.

    Args:
        samples: The probe stream's samples.
        excluded: Windows (start, end) of deliberately injected faults, judged by MTTR instead.
    """
    counted = [s for s in samples if not _inside(s.sent_at, excluded)]
    good = sum(s.ok for s in counted)
    return Availability(
        probes=len(counted),
        good=good,
        excluded=len(samples) - len(counted),
        share=good / len(counted) if counted else None,
    )


def first_failure(samples: Sequence[ProbeSample], after: datetime) -> datetime | None:
    """When the first failed probe sent at or after `after` was sent, if any."""
    for sample in samples:
        if sample.sent_at >= after and not sample.ok:
            return sample.sent_at
    return None


def recovered_at(
    samples: Sequence[ProbeSample], after: datetime, settle_s: float
) -> datetime | None:
    """The start of the first run of good probes from `after` that held for `settle_s`.

    The run must be covered by the stream: a good run cut short by the end of the
    samples does not count as a recovery held for `settle_s`.

    Args:
        samples: The probe stream's samples, in send order.
        after: Look only at probes sent at or after this instant (e.g. the injection).
        settle_s: How long every probe must stay good.
    """
    settle = timedelta(seconds=settle_s)
    run_start: datetime | None = None
    for sample in samples:
        if sample.sent_at < after:
            continue
        if not sample.ok:
            run_start = None
            continue
        if run_start is None:
            run_start = sample.sent_at
        if sample.sent_at - run_start >= settle:
            return run_start
    return None
