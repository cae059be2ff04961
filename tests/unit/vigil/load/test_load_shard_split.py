"""Unit tests of how a load profile is divided between shard processes."""

from __future__ import annotations

import pytest

from vigil.errors import ConfigError
from vigil.load.config import LoadProfileConfig
from vigil.load.scenario import Scenario, Step
from vigil.load.shards import run_load_sharded, shard_profile


def test_users_budget_and_rates_are_divided_without_loss() -> None:
    profile = LoadProfileConfig(
        users=10,
        arrival_rate=90,
        duration_seconds=30,
        max_requests=1001,
        seed=5,
        connection_limit=9,
    )
    parts = [shard_profile(profile, 3, i) for i in range(3)]
    assert [p.users for p in parts] == [4, 3, 3]
    assert sum(p.max_requests for p in parts) == 1001
    assert [p.arrival_rate for p in parts] == [30, 30, 30]
    assert [p.connection_limit for p in parts] == [3, 3, 3]
    assert [p.seed for p in parts] == [5, 6, 7]
    assert all(p.duration_seconds == 30 for p in parts)


def test_spawn_rate_is_divided_so_the_ramp_keeps_its_length() -> None:
    profile = LoadProfileConfig(users=100, spawn_rate=10, duration_seconds=60)
    parts = [shard_profile(profile, 4, i) for i in range(4)]
    assert all(p.spawn_rate == 2.5 for p in parts)
    assert max(p.ramp_time_seconds for p in parts) <= profile.ramp_time_seconds


@pytest.mark.parametrize("shards", [0, 4, 65])
def test_out_of_range_shard_counts_are_rejected_before_anything_starts(shards: int) -> None:
    profile = LoadProfileConfig(users=3, duration_seconds=1)
    scenario = Scenario(name="s", steps=(Step(name="s", path="/"),))
    with pytest.raises(ConfigError, match=rf"shards \({shards}\) must be between 1 and 3"):
        run_load_sharded("http://127.0.0.1:9", profile, lambda _: scenario, shards=shards)
