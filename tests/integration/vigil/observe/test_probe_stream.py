"""The probe stream against the real reference service, launched by vigil's process target."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from vigil.config import load_config
from vigil.observe.probes import ProbeConfig, ProbeKind, probing
from vigil.scoring.availability import availability, first_failure, recovered_at
from vigil.targets import open_target

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    target = open_target(load_config(None).target, tmp_path_factory.mktemp("probed"))
    with target:
        yield target


def test_probes_see_a_hang_at_the_right_time_and_the_recovery_after(reference) -> None:
    config = ProbeConfig(interval_s=0.05, timeout_s=0.3, max_duration_s=30)
    tree = reference.processes()
    with probing(reference.endpoint, config) as probes:
        time.sleep(1.0)
        frozen_at = datetime.now(UTC)
        for process in tree:
            os.kill(process.pid, signal.SIGSTOP)
        try:
            time.sleep(1.0)
        finally:
            for process in tree:
                os.kill(process.pid, signal.SIGCONT)
        thawed_at = datetime.now(UTC)
        time.sleep(2.0)
    samples = probes.samples()

    # A probe sent less than one timeout before the freeze may still be waiting when it comes.
    answered_before = frozen_at - timedelta(seconds=config.timeout_s)
    before = [s for s in samples if s.sent_at < answered_before]
    assert before and all(s.ok for s in before), [s for s in before if not s.ok][:3]
    assert {s.kind for s in samples} == {ProbeKind.HEALTH, ProbeKind.PREDICT}
    failed = first_failure(samples, frozen_at)
    assert failed is not None and (failed - frozen_at).total_seconds() < 0.2
    # Probes sent while frozen time out; the first good probe after the thaw starts the
    # recovered run (a probe sent just before the thaw may be answered once it resumes).
    back = recovered_at(samples, failed, settle_s=1.0)
    assert back is not None
    assert -0.4 < (back - thawed_at).total_seconds() < 0.5
    # About 1 s of 3.5+ s was down: availability reflects it, and excluding the window restores it.
    share = availability(samples).share
    assert share is not None and 0.55 < share < 0.9
    assert availability(samples, [(frozen_at, back)]).share == 1.0
    # The stream kept its rate: 20 probes a second for about 4 s.
    assert 60 <= len(samples) <= 90
