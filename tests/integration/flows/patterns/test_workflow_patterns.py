"""The patterns part against the real reference service: healthy passes, broken analyzers fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.reference.conftest import (
    ADMIN_TOKEN,
    ReferenceService,
    start_service,
    stop_service,
)
from vigil.config import HTTP_CAPABILITIES, SecretSource, StoreConfig
from vigil.results import Status, SuiteResult
from vigil.run import SuiteRun
from vigil.scoring.patterns import OptimizationConfig, OptimizationRule, PatternsPartConfig
from vigil.store import open_store
from vigil.targets.base import TargetEndpoint

pytestmark = pytest.mark.integration

SEED = 11  # not a seed the analyzer was tuned on (see benchmarks/patterns/RESULTS.md)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ReferenceService]]:
    """One reference service per patterns mode."""
    started: dict[str, ReferenceService] = {}
    try:
        for mode in ("analyze", "none", "random"):
            folder = tmp_path_factory.mktemp(f"patterns-{mode}")
            started[mode] = start_service(folder, "--patterns-mode", mode, "--workers", "1")
        yield started
    finally:
        for service in started.values():
            stop_service(service)


def run_part(
    service: ReferenceService,
    folder: Path,
    run_id: str,
    settings: PatternsPartConfig | None = None,
    admin_token: SecretSource | None = None,
) -> SuiteResult:
    from flows.patterns import patterns

    store = StoreConfig(url=f"sqlite:///{folder / 'vigil.db'}")
    open_store(store).begin_run(run_id, profile="development", seed=SEED, config={})
    run = SuiteRun(
        run_id=run_id,
        profile="development",
        seed=SEED,
        store=store,
        report_dir=folder,
        endpoint=TargetEndpoint(
            name="reference",
            kind="http",
            base_url=service.base_url,
            capabilities=HTTP_CAPABILITIES,
            admin_token=admin_token,
        ),
    )
    return patterns(run, settings or PatternsPartConfig())


def check(result: SuiteResult, name: str):
    return next(c for c in result.checks if c.name == name)


def measure(result: SuiteResult, name: str) -> float:
    return next(m.value for m in result.measurements if m.name == name)


def test_healthy_analyzer_passes(
    prefect_harness: None, services: dict[str, ReferenceService], tmp_path: Path
) -> None:
    result = run_part(services["analyze"], tmp_path, "patterns-healthy")
    accuracy = check(result, "pattern_accuracy_above_threshold")
    assert accuracy.status is Status.PASSED, accuracy.message
    assert result.suite == "workflow"
    assert measure(result, "pattern_accuracy") > 0.8
    assert measure(result, "pattern_f1") >= 0.6
    windows = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}")).pattern_windows(
        "patterns-healthy"
    )
    assert {w.side for w in windows} == {"truth", "report"}
    assert any(w.outcome == "detected" for w in windows)


def test_analyzer_that_finds_nothing_fails(
    prefect_harness: None, services: dict[str, ReferenceService], tmp_path: Path
) -> None:
    result = run_part(services["none"], tmp_path, "patterns-none")
    accuracy = check(result, "pattern_accuracy_above_threshold")
    assert accuracy.status is Status.FAILED
    assert accuracy.message.startswith("pattern accuracy 0.")
    assert "<= 0.80" in accuracy.message
    assert "precision n/a, recall 0.00" in accuracy.message
    assert check(result, "recommendations_supported_by_truth").message == (
        "the target made no recommendation"
    )
    assert result.status is Status.FAILED


def test_random_analyzer_fails(
    prefect_harness: None, services: dict[str, ReferenceService], tmp_path: Path
) -> None:
    result = run_part(services["random"], tmp_path, "patterns-random")
    accuracy = check(result, "pattern_accuracy_above_threshold")
    assert accuracy.status is Status.FAILED, accuracy.message
    assert "<= 0.80" in accuracy.message
    assert measure(result, "pattern_accuracy") < 0.5
    assert check(result, "pattern_analysis_answered").status is Status.PASSED
    assert result.status is Status.FAILED


def test_target_without_the_capability_is_not_applicable(
    prefect_harness: None, services: dict[str, ReferenceService], tmp_path: Path
) -> None:
    from flows.patterns import patterns

    run = SuiteRun(
        run_id="patterns-na",
        profile="development",
        seed=SEED,
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'vigil.db'}"),
        report_dir=tmp_path,
        endpoint=TargetEndpoint(name="reference", kind="http", base_url=services["none"].base_url),
    )
    result = patterns(run, PatternsPartConfig())
    assert result.status is Status.NOT_APPLICABLE
    assert "does not offer patterns" in result.checks[0].message


def test_optimization_whose_promised_effect_never_shows_fails_and_is_undone(
    prefect_harness: None,
    services: dict[str, ReferenceService],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIL_TEST_PATTERNS_ADMIN_TOKEN", ADMIN_TOKEN)
    service = services["analyze"]
    before = service.client.post("/admin/config", json={}, headers=service.admin()).json()
    # The cache holds recent predictions; one more entry cannot cut the latency of rows never
    # sent before by 90 %.
    useless = OptimizationRule(action="scale_up", change={"cache_size": 1}, min_improvement=0.9)
    settings = PatternsPartConfig(
        optimization=OptimizationConfig(
            enabled=True, rules=[useless], rounds=3, requests_per_round=30, settle_s=0.5
        )
    )
    result = run_part(
        service,
        tmp_path,
        "patterns-optimize",
        settings,
        SecretSource(env="VIGIL_TEST_PATTERNS_ADMIN_TOKEN"),
    )
    optimized = check(result, "recommended_optimization_effect_measured")
    assert optimized.status is Status.FAILED, optimized.message
    assert "scale_up on " in optimized.message
    assert f"cache_size {before['cache_size'] + 1:g}" in optimized.message
    assert "(90% better) does not show" in optimized.message
    after = service.client.post("/admin/config", json={}, headers=service.admin()).json()
    assert after == before


def test_optimization_without_an_admin_token_is_not_applicable(
    prefect_harness: None, services: dict[str, ReferenceService], tmp_path: Path
) -> None:
    settings = PatternsPartConfig(optimization=OptimizationConfig(enabled=True))
    result = run_part(services["analyze"], tmp_path, "patterns-no-admin", settings)
    optimized = check(result, "recommended_optimization_effect_measured")
    assert optimized.status is Status.NOT_APPLICABLE
    assert "no admin endpoint" in optimized.message
