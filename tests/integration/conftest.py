"""Fixtures for the integration tier: one real Prefect API server for the whole session, and
the readiness drills' targets launched by vigil's process adapter with a run to record into."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vigil.config import ProcessTargetConfig, StoreConfig, load_config
from vigil.run import SuiteRun, new_run_id
from vigil.store import Store
from vigil.targets import Target, open_target


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness: a temporary API server and database, started once."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


DRILL_TARGET = Path(__file__).with_name("drill_target.py")


def drill_target_config(*modes: str) -> ProcessTargetConfig:
    """The small drill target, broken in the given ways."""
    command = ["{python}", str(DRILL_TARGET), "{port}", "{workdir}"]
    if modes:
        command += ["--break", ",".join(modes)]
    return ProcessTargetConfig(
        name="drill-target",
        command=command,
        token_env="DRILL_ADMIN_TOKEN",
        startup_timeout_s=30,
        stop_timeout_s=5,
    )


@pytest.fixture()
def make_run(tmp_path: Path) -> Iterator[Callable[[Target], SuiteRun]]:
    """A function that records a new run in a fresh SQLite store for a started target."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"

    def make(target: Target) -> SuiteRun:
        run_id = new_run_id()
        Store.open(url).begin_run(run_id, profile="development", seed=11, config={})
        return SuiteRun(
            run_id=run_id,
            profile="development",
            seed=11,
            store=StoreConfig(url=url),
            report_dir=tmp_path / "reports" / run_id,
            endpoint=target.endpoint,
        )

    yield make


@pytest.fixture()
def start_target(tmp_path: Path) -> Iterator[Callable[..., Target]]:
    """Start a target (the reference by default) in its own workdir; all stopped afterwards."""
    started: list[Target] = []

    def start(config: ProcessTargetConfig | None = None) -> Target:
        target = open_target(config or load_config(None).target, tmp_path / f"t{len(started)}")
        started.append(target)
        target.start()
        return target

    try:
        yield start
    finally:
        for target in started:
            target.stop()
