"""The soak's judgement from hand-made cycles: measures, trends, availability, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from vigil.load.statistics import encode_histogram, new_histogram, record_latency
from vigil.results import Status
from vigil.soak.config import SoakSuiteConfig, soak_settings_for
from vigil.soak.judge import CycleFigures, FaultEntry, judge_soak, progress_line

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _cycles(count: int, *, rss_step: float = 0.0, good: int = 100, probes: int = 100):
    cycles = []
    for index in range(1, count + 1):
        end = START + timedelta(seconds=15 * index)
        cycles.append(
            CycleFigures(
                cycle=index,
                started_at=end - timedelta(seconds=15),
                finished_at=end,
                elapsed_h=15 * index / 3600,
                requests=1000,
                errors=0,
                p50_s=0.01,
                p95_s=0.05 + (0.001 if index % 2 else -0.001),
                p99_s=0.1,
                probes=probes,
                probes_good=good,
                availability=good / probes,
                fault_kind="worker_hang" if index % 2 else None,
                mttr_s=4.0 if index % 2 else None,
                fault_reverted=True if index % 2 else None,
                target_rss_mb=400.0 + rss_step * index,
                target_open_files=70,
            )
        )
    return cycles


def _histograms(count: int, latency_us: float = 50_000) -> list[str]:
    histogram = new_histogram()
    for _ in range(100):
        record_latency(histogram, latency_us)
    return [encode_histogram(histogram)] * count


def _by_name(checks):
    return {c.name: c for c in checks}


def test_a_healthy_soak_passes_with_every_measure():
    settings = soak_settings_for("development", duration_s=120.0)
    faults = [FaultEntry(cycle=c, kind="worker_hang", reverted=True) for c in (1, 3, 5, 7)]
    checks, measures = judge_soak(settings, START, _cycles(8), _histograms(8), faults)
    statuses = {c.name: c.status for c in checks}
    assert all(s is Status.PASSED for s in statuses.values()), checks
    values = {m.name: m.value for m in measures}
    assert values["soak_cycles_completed"] == 8
    assert values["soak_availability"] == 1.0
    assert values["soak_p95_latency_s"] == pytest.approx(0.05, rel=0.01)
    assert values["soak_mttr_s"] == 4.0
    assert abs(values["soak_rss_slope_mb_per_h"]) < 1e-6
    assert "soak_p95_slope_s_per_h" in values


def test_a_memory_leak_fails_the_soak_with_the_projected_time():
    settings = soak_settings_for("development", duration_s=3600.0)
    # 10 MB per 15 s cycle = 2400 MB/h from 400 MB: the 2048 MB bound is reached ~0.7 h in.
    checks, measures = judge_soak(settings, START, _cycles(8, rss_step=10.0), _histograms(8), [])
    memory = _by_name(checks)["memory_trend_within_bound"]
    assert memory.status is Status.FAILED
    assert "target RSS would reach its bound of 2048 MB 0.68" in memory.message
    assert {m.name: m.value for m in measures}["soak_rss_slope_mb_per_h"] == pytest.approx(2400)


def test_availability_below_its_bound_fails_naming_the_worst_cycle():
    settings = soak_settings_for("development")
    cycles = _cycles(4)
    cycles[2] = cycles[2].model_copy(update={"probes_good": 50, "availability": 0.5})
    checks, _ = judge_soak(settings, START, cycles, _histograms(4), [])
    check = _by_name(checks)["availability_over_soak"]
    assert check.status is Status.FAILED
    assert "worst cycle 3 at 50.00%" in check.message


def test_a_fault_left_unreverted_or_a_process_left_stopped_fails():
    settings = soak_settings_for("development")
    faults = [
        FaultEntry(cycle=1, kind="worker_hang", reverted=True),
        FaultEntry(cycle=3, kind="worker_hang", reverted=False, still_stopped=[4242]),
    ]
    checks, _ = judge_soak(settings, START, _cycles(4), _histograms(4), faults)
    check = _by_name(checks)["every_fault_reverted"]
    assert check.status is Status.FAILED
    assert "cycle(s) [3] were never reverted" in check.message and "4242" in check.message


def test_a_fault_never_recovered_from_fails():
    settings = soak_settings_for("development")
    cycles = _cycles(2)
    cycles[0] = cycles[0].model_copy(update={"mttr_s": None})
    checks, _ = judge_soak(settings, START, cycles, _histograms(2), [])
    check = _by_name(checks)["every_fault_recovered"]
    assert check.status is Status.FAILED and "cycle(s) [1]" in check.message


def test_a_learning_problem_is_reported_with_its_cycle():
    settings = soak_settings_for("development")
    cycles = _cycles(3)
    cycles[1] = cycles[1].model_copy(update={"learning_problem": "/evaluation counted 0 of 20"})
    checks, _ = judge_soak(settings, START, cycles, _histograms(3), [])
    check = _by_name(checks)["learning_held_every_cycle"]
    assert check.status is Status.FAILED
    assert "first in cycle 2: /evaluation counted 0 of 20" in check.message


def test_progress_line_states_elapsed_remaining_and_figures():
    settings = soak_settings_for("development", duration_s=60.0)
    latest = _cycles(2)[1]
    line = progress_line(settings, START, START + timedelta(seconds=30), latest)
    assert line.startswith("soak cycle 2/4: elapsed 0:00:30, remaining ~0:00:30")
    assert "target RSS 400 MB" in line


def test_profiles_and_bad_settings():
    assert soak_settings_for("production").duration_s == 72 * 3600
    assert soak_settings_for("production").planned_cycles == 432
    assert soak_settings_for("staging").planned_cycles == 48
    assert soak_settings_for("development").enabled is False
    with pytest.raises(ValidationError, match="beyond the cycle of 5 s"):
        SoakSuiteConfig(cycle_s=5, fault={"delay_s": 2, "max_duration_s": 5})
    with pytest.raises(ValidationError, match="extra"):
        SoakSuiteConfig(cycles=3)


def test_a_filling_disk_fails_with_its_projected_time():
    settings = soak_settings_for("development", duration_s=72 * 3600.0)
    cycles = [c.model_copy(update={"target_disk_mb": 1000.0 + 50.0 * c.cycle}) for c in _cycles(6)]
    checks, _ = judge_soak(settings, START, cycles, _histograms(6), [])
    disk = _by_name(checks)["disk_trend_within_bound"]
    assert disk.status is Status.FAILED
    assert "target data on disk would reach its bound of 2.048e+04 MB" in disk.message


def test_folder_size_counts_every_file_below(tmp_path):
    from vigil.soak.cycle import folder_size_bytes

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.bin").write_bytes(b"0" * 1000)
    (tmp_path / "y.log").write_bytes(b"0" * 24)
    assert folder_size_bytes(tmp_path) == 1024
    assert folder_size_bytes(tmp_path / "missing") == 0


def test_a_fault_that_could_not_be_injected_is_an_error_naming_the_cycle():
    settings = soak_settings_for("development")
    cycles = _cycles(2)
    cycles[1] = cycles[1].model_copy(
        update={"fault_problem": "worker_hang could not be injected: no process"}
    )
    checks, _ = judge_soak(settings, START, cycles, _histograms(2), [])
    check = _by_name(checks)["every_due_fault_injected"]
    assert check.status is Status.ERROR
    assert "first in cycle 2: worker_hang could not be injected: no process" in check.message


def test_memory_of_a_target_vigil_cannot_sample_is_not_applicable_and_otherwise_an_error():
    settings = soak_settings_for("development", duration_s=120.0)
    unsampled = [c.model_copy(update={"target_rss_mb": None}) for c in _cycles(4)]
    why = "target 'remote' at http://127.0.0.1:9 was not started by this vigil process"

    checks, _ = judge_soak(settings, START, unsampled, _histograms(4), [], resources_unseen=why)
    memory = _by_name(checks)["memory_trend_within_bound"]
    assert memory.status is Status.NOT_APPLICABLE
    assert memory.message == f"the target's memory is not judged: {why}"

    # A target vigil started but whose memory went unmeasured is an error, not a pass.
    checks, _ = judge_soak(settings, START, unsampled, _histograms(4), [])
    memory = _by_name(checks)["memory_trend_within_bound"]
    assert memory.status is Status.ERROR
    assert "no target RSS was measured in any cycle" in memory.message

    # Samples, when there are any, are judged even if the target is otherwise out of reach.
    checks, _ = judge_soak(settings, START, _cycles(4), _histograms(4), [], resources_unseen=why)
    assert _by_name(checks)["memory_trend_within_bound"].status is Status.PASSED
