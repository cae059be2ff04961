"""Admin-hook, data and dependency faults against the real reference service.

The reference runs with tight detection bounds (the reference tests' ``HEALING_ARGS``),
started by vigil's process target so that faults get the live adapter.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.integration.reference.conftest import HEALING_ARGS
from tests.integration.vigil.faults.targets import launched_reference
from vigil.faults import inject
from vigil.faults.base import FaultContext
from vigil.faults.config import (
    BadModelDeployConfig,
    ErrorSpikeConfig,
    RecoveryPartConfig,
    ScenarioConfig,
    ScheduledFault,
    SqliteLockConfig,
    TrafficConfig,
)
from vigil.faults.experiment import ExperimentSession, count_lost_feedback, run_scenario
from vigil.faults.timeline import score
from vigil.targets.client import TargetClient
from vigil.targets.process import ProcessTarget

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def healing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessTarget]:
    with launched_reference(tmp_path_factory.mktemp("healing"), *HEALING_ARGS) as target:
        yield target


def test_an_error_spike_and_a_corrupt_deploy_are_diagnosed_and_healed(
    healing: ProcessTarget,
) -> None:
    scenario = ScenarioConfig(
        name="data_faults",
        traffic=TrafficConfig(rate_per_s=20, max_pairs=2000),
        faults=[
            ScheduledFault(
                fault=ErrorSpikeConfig(expect="error_rate_spike", seconds=30, max_duration_s=15)
            ),
            ScheduledFault(
                wait_before_s=0.5,
                fault=BadModelDeployConfig(expect="model_regression", max_duration_s=20),
            ),
        ],
    )
    settings = RecoveryPartConfig()
    context = FaultContext(endpoint=healing.endpoint, target=healing)
    with ExperimentSession(context, settings, scenario.traffic, seed=5) as session:
        session.start_traffic()
        timelines, problems = run_scenario(session, scenario)
    assert problems == []
    spike, deploy = timelines
    assert spike.effect_proven and deploy.effect_proven, (spike.effect_detail, deploy.effect_detail)
    assert (spike.diagnosed_kind, deploy.diagnosed_kind) == ("error_rate_spike", "model_regression")
    assert spike.self_healed and deploy.self_healed
    # The corrupt model answered probes fine: its recovery is when the target rolled it back.
    assert deploy.recovered_at is not None and deploy.target_recovered_at is not None
    assert abs((deploy.recovered_at - deploy.target_recovered_at).total_seconds()) < 0.5
    assert deploy.time_to_recover_s is not None and deploy.time_to_recover_s > 1.0
    scores = score(timelines, 600)
    assert scores.diagnosis_accuracy == 1.0 and scores.mttr_s < 20


def test_a_locked_sqlite_database_is_diagnosed_and_the_lock_released(
    healing: ProcessTarget,
) -> None:
    since = datetime.now(UTC)
    fault = inject(
        SqliteLockConfig(database=healing.workdir / "reference.db", max_duration_s=30),
        FaultContext(endpoint=healing.endpoint, target=healing),
    )
    try:
        effect = fault.effect()
        assert effect.ok and "locked" in effect.detail, effect.detail
        with TargetClient(healing.endpoint, timeout_s=5) as client:
            deadline = time.monotonic() + 20
            kinds: list[str] = []
            while "database_unavailable" not in kinds and time.monotonic() < deadline:
                prediction = client.predict({"x0": 1.0, "x1": 2.0, "x2": 3.0})
                client.feedback(prediction.request_id, 1)  # buffered while the lock holds
                kinds = [i.kind for i in client.incidents(since)]
                time.sleep(0.3)
        assert "database_unavailable" in kinds
    finally:
        assert fault.rollback() is True
    held = fault.rollback_held()
    assert held.ok, held.detail
    with TargetClient(healing.endpoint, timeout_s=5) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            outage = [i for i in client.incidents(since) if i.kind == "database_unavailable"]
            if outage and outage[0].recovered_at is not None:
                break
            time.sleep(0.3)
        assert outage[0].recovered_at is not None


def test_the_registry_covers_every_configured_kind() -> None:
    from typing import get_args

    from vigil.faults import FAULT_KINDS
    from vigil.faults.config import FaultConfig

    union = get_args(get_args(FaultConfig)[0])
    kinds = {model.model_fields["kind"].default for model in union}
    assert kinds == set(FAULT_KINDS)
    assert all(FAULT_KINDS[k].kind == k for k in kinds)


def test_poisoned_feedback_and_input_drift_reach_the_target_and_stop_on_rollback(
    healing: ProcessTarget,
) -> None:
    from vigil.faults.config import InputDriftConfig, PoisonedFeedbackConfig

    settings = RecoveryPartConfig()
    context = FaultContext(endpoint=healing.endpoint, target=healing)
    traffic = TrafficConfig(rate_per_s=40, max_pairs=2000)
    with ExperimentSession(context, settings, traffic, seed=11) as session:
        session.start_traffic()
        time.sleep(2)  # some true labels first
        poison = inject(PoisonedFeedbackConfig(rate=1.0, max_duration_s=30), context)
        effect = poison.effect()
        assert effect.ok, effect.detail
        time.sleep(1.5)
        assert poison.rollback() is True and poison.rollback_held().ok
        flipped = session.traffic.poisoned
        drift = inject(InputDriftConfig(shift=50.0, max_duration_s=30), context)
        assert drift.effect().ok
        assert drift.rollback() is True and drift.rollback_held().ok
        time.sleep(0.5)
        assert session.traffic.poisoned == flipped  # no label inverted after the rollback
        assert flipped >= 10
        lost, detail = count_lost_feedback(session)
    # The target took every label, poisoned or not.
    assert lost == 0, detail
