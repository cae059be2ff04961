"""Splitting a population into shards, and the combined progress of its groups."""

from __future__ import annotations

import pytest

from vigil.load import LoadProfileConfig, LoadProgress
from vigil.load.population import _CombinedProgress, shard_population


def test_shards_divide_every_group_and_leave_out_empty_ones() -> None:
    profiles = {
        "big": LoadProfileConfig(users=7, duration_seconds=5, max_requests=70),
        "one": LoadProfileConfig(users=1, duration_seconds=5),
    }
    shards = [shard_population(profiles, 3, i) for i in range(3)]
    assert [sorted(s) for s in shards] == [["big"], ["big", "one"], ["big"]]
    assert [s["big"].users for s in shards] == [3, 2, 2]
    assert [sum(p.users for p in s.values()) for s in shards] == [3, 3, 2]
    assert sum(s["big"].max_requests for s in shards) == 70
    # Many one-user groups spread over the shards instead of piling onto the first.
    singles = {f"g{i}": LoadProfileConfig(users=1, duration_seconds=5) for i in range(5)}
    assert [len(shard_population(singles, 2, i)) for i in range(2)] == [3, 2]
    with pytest.raises(ValueError, match=r"shard index 3 is outside 0..2"):
        shard_population(profiles, 3, 3)


def progress(requests: int, users: int, rps: float, p95: float | None) -> LoadProgress:
    return LoadProgress(
        elapsed_seconds=5,
        requests=requests,
        errors=1,
        interval_rps=rps,
        interval_p95_ms=p95,
        active_users=users,
    )


def test_combined_progress_waits_for_every_group_and_adds_them_up() -> None:
    seen: list[LoadProgress] = []
    combined = _CombinedProgress(["a", "b"], seen.append)
    combined.for_group("a")(progress(10, 3, 2.0, 40.0))
    assert seen == []
    combined.for_group("b")(progress(5, 2, 1.0, None))
    [report] = seen
    assert (report.requests, report.errors, report.active_users) == (15, 2, 5)
    assert report.interval_rps == 3.0 and report.interval_p95_ms == 40.0
