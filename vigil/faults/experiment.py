"""Experiments in the Chaos Toolkit shape: steady state, inject, observe, roll back, steady state.

An :class:`ExperimentSession` holds what runs for the whole experiment: the probe
stream (open model, 100 ms or finer), background traffic of predictions each followed
by its label (so acknowledged feedback can be counted afterwards), and the fault
context. Each phase is one function, so each can be one Prefect task:

* :func:`check_steady_state` -- the hypothesis: the share of good probes over a window;
* :func:`inject_fault` -- apply the fault and prove it took effect;
* :func:`observe_fault` -- wait until the steady state is back and held for the settle
  time, or the fault's maximum duration passes;
* :func:`roll_back_fault` -- always; a no-op when the target healed already;
* :func:`verify_recovery` -- read the target's incidents and build the timeline.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import httpx
import yaml
from pydantic import ValidationError

from vigil.config import Capability
from vigil.contract import LabelledRow, labelled_rows
from vigil.errors import ConfigError, FaultRollbackError, TargetUnavailableError, VigilError
from vigil.faults.base import ActiveFault, FaultContext
from vigil.faults.config import (
    FaultConfig,
    RecoveryPartConfig,
    ScenarioConfig,
    SteadyStateConfig,
    TrafficConfig,
)
from vigil.faults.timeline import InjectionTimeline, build_timeline, judged_samples
from vigil.observe.probes import ProbeConfig, ProbeStream
from vigil.store import IncidentRecord, Store
from vigil.targets.base import TargetEndpoint
from vigil.targets.client import TargetClient

logger = logging.getLogger("vigil.faults")

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BUILT_IN_SCENARIOS = ("normal_operations", "high_load", "error_injection", "component_failure")
_POLL_S = 0.05


def load_scenario(name_or_path: str) -> ScenarioConfig:
    """A built-in scenario by name, or a scenario YAML file by path.

    Raises:
        ConfigError: no such scenario, or the file is invalid (the message names the key).
    """
    path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if name_or_path not in BUILT_IN_SCENARIOS:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(
                f"suites.workflow.recovery.scenario: {name_or_path!r} is neither a built-in "
                f"scenario ({', '.join(BUILT_IN_SCENARIOS)}) nor a file"
            )
    try:
        data = yaml.safe_load(path.read_text())
        return ScenarioConfig.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"scenario {path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"scenario {path}: {where}: {first['msg']}") from exc


def capability_needed(config: FaultConfig) -> Capability | None:
    """The target capability a fault kind needs (None: only its HTTP contract)."""
    if config.kind.startswith("process_"):
        return Capability.PROCESS_CONTROL
    if config.kind.startswith("container_"):
        return Capability.CONTAINER_CONTROL
    if config.kind in ("error_spike", "bad_model_deploy"):
        return Capability.ADMIN
    return None


class FeedbackTraffic:
    """Predictions each followed by its label at a steady rate, from a background thread.

    Counts what the target acknowledged (202), so that data loss can be measured
    after the faults. Bounded by ``max_pairs`` and stopped by :meth:`stop`.
    """

    def __init__(self, endpoint: TargetEndpoint, config: TrafficConfig, seed: int) -> None:
        self.endpoint = endpoint
        self.config = config
        self.seed = seed
        self.acknowledged = 0
        self.refused = 0
        self.failed = 0
        self.label_flip_rate = 0.0
        """Share of labels sent inverted (the poisoned_feedback fault sets it)."""
        self.feature_shift = 0.0
        """Added to every numeric feature (the input_drift fault sets it)."""
        self.poisoned = 0
        self.drifted = 0
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sending (once); nothing is sent when the rate or the bound is zero."""
        if self._thread is None and self.config.rate_per_s > 0 and self.config.max_pairs > 0:
            self._thread = threading.Thread(target=self._run, name="vigil-traffic", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the request in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.config.timeout_s + 5)

    def _run(self) -> None:
        rows = labelled_rows(self.seed, self.config.max_pairs)
        interval = 1.0 / self.config.rate_per_s
        start = time.monotonic()
        with httpx.Client(
            base_url=self.endpoint.base_url, timeout=httpx.Timeout(self.config.timeout_s)
        ) as http:
            for index, row in enumerate(rows):
                if self._stop.is_set():
                    return
                self._pair(http, row)
                self._stop.wait(max(0.0, start + (index + 1) * interval - time.monotonic()))

    def _pair(self, http: httpx.Client, row: LabelledRow) -> None:
        features, label = row.features, row.label
        if self.feature_shift:
            features = {k: v + self.feature_shift for k, v in features.items()}
            self.drifted += 1
        if self.label_flip_rate and self._random.random() < self.label_flip_rate:
            label = 1 - int(label)
            self.poisoned += 1
        try:
            answer = http.post("/predict", json={"features": features})
            if answer.status_code != 200:
                self.failed += 1
                return
            request_id = answer.json()["request_id"]
            ack = http.post("/feedback", json={"request_id": request_id, "label": label})
        except (httpx.HTTPError, ValueError, KeyError):
            # A reset connection or a timeout: the label was never acknowledged, so it
            # is not owed; a retry would muddle the count.
            self.failed += 1
            return
        if ack.status_code == 202:
            self.acknowledged += 1
        else:
            self.refused += 1


@dataclass
class SteadyState:
    """The steady-state hypothesis as checked over one window."""

    ok: bool
    probes: int
    good: int
    detail: str
    started_at: datetime
    finished_at: datetime


@dataclass
class EvaluationLevel:
    """The target's accuracy over labelled rows sent just before."""

    accuracy: float | None
    count: int
    error: str | None = None


@dataclass
class ExperimentSession:
    """What lives for a whole experiment; use as a context manager."""

    context: FaultContext
    settings: RecoveryPartConfig
    traffic_config: TrafficConfig
    seed: int = 0
    probes: ProbeStream = field(init=False)
    traffic: FeedbackTraffic = field(init=False)
    feedback_count_before: int | None = None
    faults: list[ActiveFault] = field(default_factory=list)
    """Every fault injected in this experiment, for :meth:`roll_back_remaining`."""

    def __post_init__(self) -> None:
        self.probes = ProbeStream(
            self.context.endpoint,
            ProbeConfig(
                interval_s=self.settings.probe_interval_s,
                timeout_s=self.settings.probe_timeout_s,
                max_duration_s=3600,
            ),
        )
        self.traffic = FeedbackTraffic(self.context.endpoint, self.traffic_config, self.seed)
        self.context.traffic = self.traffic

    @property
    def endpoint(self) -> TargetEndpoint:
        """The target."""
        return self.context.endpoint

    def __enter__(self) -> ExperimentSession:
        self.probes.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the traffic and the probes."""
        self.traffic.stop()
        self.probes.stop()

    def roll_back_remaining(self) -> list[str]:
        """Roll back this experiment's faults still active; return what could not be undone.

        Only this experiment's: other faults of the process (another flow's) are not
        its business.
        """
        problems = []
        for fault in reversed(self.faults):
            try:
                fault.rollback()
            except FaultRollbackError as exc:
                problems.append(str(exc))
        return problems

    def start_traffic(self) -> None:
        """Note the feedback count, then start the background traffic."""
        self.feedback_count_before = _feedback_count(self.endpoint)
        self.traffic.start()


def _feedback_count(endpoint: TargetEndpoint) -> int | None:
    try:
        with TargetClient(endpoint, timeout_s=5.0) as client:
            return client.evaluation().total.count
    except VigilError:
        return None


def check_steady_state(session: ExperimentSession, config: SteadyStateConfig) -> SteadyState:
    """Watch the probes for `config.duration_s`; the hypothesis holds if enough were good.

    Args:
        session: The running experiment.
        config: The window and its tolerances.
    """
    started = datetime.now(UTC)
    time.sleep(config.duration_s)
    # A probe is recorded once answered (or failed), so the window holds no unanswered one.
    window = judged_samples(session.probes.samples(since=started), config.max_latency_ms)
    good = sum(s.ok for s in window)
    share = good / len(window) if window else 0.0
    ok = bool(window) and share >= config.min_ok_share
    errors = sorted({s.error or "" for s in window if not s.ok})
    detail = (
        f"{good} of {len(window)} probes good over {config.duration_s:g} s "
        f"(need {config.min_ok_share:.0%})"
        + (f"; failures: {', '.join(errors)[:200]}" if errors else "")
    )
    return SteadyState(ok, len(window), good, detail, started, datetime.now(UTC))


def wait_for_steady_state(
    session: ExperimentSession, config: SteadyStateConfig, within_s: float
) -> SteadyState:
    """Check the steady state repeatedly until it holds or `within_s` passes."""
    deadline = time.monotonic() + within_s
    state = check_steady_state(session, config)
    while not state.ok and time.monotonic() < deadline:
        state = check_steady_state(session, config)
    return state


def effective_fault(config: FaultConfig, settings: RecoveryPartConfig) -> FaultConfig:
    """The fault with its maximum duration capped by the part's settings."""
    cap = settings.max_fault_duration_s
    if cap is not None and config.max_duration_s > cap:
        return config.model_copy(update={"max_duration_s": cap})
    return config


def inject_fault(session: ExperimentSession, config: FaultConfig) -> ActiveFault:
    """Inject the fault (journalled, with its timer) and check it took effect.

    Raises:
        TargetUnavailableError: the target lacks what the fault needs.
    """
    from vigil.faults import inject

    fault = inject(effective_fault(config, session.settings), session.context)
    session.faults.append(fault)
    return fault


@dataclass
class Observation:
    """What the observation phase saw before any rollback."""

    effect_proven: bool
    effect_detail: str
    healed_before_rollback: bool
    observed_s: float
    cleared_at: datetime | None = None
    """When the fault was seen undone, for faults probes cannot see (Active.persists)."""


def observe_fault(session: ExperimentSession, fault: ActiveFault) -> Observation:
    """Prove the fault's effect, then wait until the target heals or the fault's time is up.

    Args:
        session: The running experiment.
        fault: The injected fault.
    """
    from vigil.faults.timeline import self_healed_recovery

    assert fault.injected_at is not None
    evidence = fault.effect()
    settle = session.settings.settle_s
    deadline = fault.injected_at + timedelta(seconds=fault.config.max_duration_s)
    healed = False
    cleared_at: datetime | None = None
    persists_checked = 0.0
    while datetime.now(UTC) < deadline and fault.rolled_back_at is None:
        if cleared_at is None and time.monotonic() - persists_checked >= 0.2:
            persists_checked = time.monotonic()
            now = datetime.now(UTC)
            if fault.persists() is False:
                cleared_at = now
        samples = judged_samples(
            session.probes.samples(since=fault.injected_at),
            session.settings.steady_state.max_latency_ms,
        )
        back = self_healed_recovery(samples, fault.injected_at, settle, None)
        if back is not None and (cleared_at is not None or fault.persists() is None):
            healed = True
            break
        time.sleep(_POLL_S)
    observed = (datetime.now(UTC) - fault.injected_at).total_seconds()
    return Observation(evidence.ok, evidence.detail, healed, observed, cleared_at)


def roll_back_fault(fault: ActiveFault) -> bool:
    """Roll the fault back (a no-op if the target healed); return whether it acted.

    Raises:
        FaultRollbackError: the rollback failed; the message says what is left broken.
    """
    return fault.rollback()


def verify_recovery(
    session: ExperimentSession, fault: ActiveFault, observation: Observation
) -> InjectionTimeline:
    """Wait for the steady state after the rollback, read the incidents, build the timeline.

    Args:
        session: The running experiment.
        fault: The rolled-back fault.
        observation: What observe_fault saw.
    """
    settings = session.settings
    held = fault.rollback_held() if fault.rollback_error is None else None
    # The steady state must hold after the rollback too (a second run of good probes).
    wait_for_steady_state(
        session,
        SteadyStateConfig(
            duration_s=settings.settle_s,
            min_ok_share=settings.steady_state.min_ok_share,
            max_latency_ms=settings.steady_state.max_latency_ms,
        ),
        within_s=session.context.recovery_timeout_s,
    )
    assert fault.injected_at is not None
    incidents = _incidents(session, fault.injected_at)
    rollback_at = fault.rolled_back_at if fault.rollback_acted else None
    if not observation.healed_before_rollback and rollback_at is None:
        # Nothing was left to undo, yet the service had not healed when time was up.
        rollback_at = fault.rolled_back_at
    timeline = build_timeline(
        fault=fault.name,
        kind=fault.kind,
        expected_kind=fault.config.expect,
        injected_at=fault.injected_at,
        samples=session.probes.samples(since=fault.injected_at),
        incidents=incidents,
        settle_s=settings.settle_s,
        max_latency_ms=settings.steady_state.max_latency_ms,
        rollback_at=rollback_at,
        cleared_at=observation.cleared_at,
        healed_before_rollback=observation.healed_before_rollback,
    )
    return timeline.model_copy(
        update={
            "effect_proven": observation.effect_proven,
            "effect_detail": observation.effect_detail,
            "rollback_acted": fault.rollback_acted,
            "rollback_held": held is not None and held.ok,
            "rollback_detail": (
                str(fault.rollback_error) if fault.rollback_error else (held.detail if held else "")
            ),
        }
    )


def _incidents(session: ExperimentSession, since: datetime) -> list:
    if Capability.INCIDENTS not in session.endpoint.capabilities:
        return []
    # The target closes its incident a check interval after it recovered: give it a moment.
    deadline = time.monotonic() + 3.0
    found: list = []
    while True:
        try:
            with TargetClient(session.endpoint, timeout_s=5.0) as client:
                found = client.incidents(since - timedelta(seconds=1))
        except VigilError as exc:
            logger.warning("could not read the target's incidents: %s", exc)
        first = [i for i in found if i.detected_at >= since - timedelta(milliseconds=100)]
        if (first and first[0].recovered_at is not None) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def record_injection(store: Store, run_id: str, timeline: InjectionTimeline) -> None:
    """Write one injection and what the target reported to vigil's store."""
    store.record_incident(
        IncidentRecord(
            run_id=run_id,
            suite="workflow",
            fault=timeline.fault,
            expected_kind=timeline.expected_kind or "",
            reported_kind=timeline.diagnosed_kind,
            action=timeline.action,
            injected_at=timeline.injected_at,
            detected_at=timeline.detected_at,
            recovered_at=timeline.recovered_at or timeline.recovered_after_rollback_at,
            evidence=timeline.model_dump(mode="json"),
        )
    )


def measure_evaluation(endpoint: TargetEndpoint, seed: int, rows: int) -> EvaluationLevel:
    """Send `rows` labelled rows, then read the target's accuracy over exactly those labels.

    Args:
        endpoint: The target.
        seed: Seed of the rows (use a different one before and after).
        rows: How many.
    """
    sent = 0
    try:
        with TargetClient(endpoint, timeout_s=5.0) as client:
            for row in labelled_rows(seed, rows):
                prediction = client.predict(row.features)
                client.feedback(prediction.request_id, row.label)
                sent += 1
            evaluation = client.evaluation(window=rows)
    except VigilError as exc:
        return EvaluationLevel(None, sent, f"{type(exc).__name__}: {exc}")
    return EvaluationLevel(evaluation.window.accuracy, evaluation.total.count)


def count_lost_feedback(session: ExperimentSession) -> tuple[int | None, str]:
    """Acknowledged labels the target no longer counts, after waiting for it to catch up.

    Returns:
        (lost, detail); lost is None when it could not be measured.
    """
    session.traffic.stop()
    before = session.feedback_count_before
    acked = session.traffic.acknowledged
    if before is None:
        return None, "the feedback count before the faults could not be read"
    expected = before + acked
    deadline = time.monotonic() + session.settings.feedback_settle_s
    counted = _feedback_count(session.endpoint)
    while (counted is None or counted < expected) and time.monotonic() < deadline:
        time.sleep(0.25)
        counted = _feedback_count(session.endpoint)
    if counted is None:
        return None, "the feedback count after recovery could not be read"
    lost = max(0, expected - counted)
    return lost, (
        f"{acked} labels acknowledged during the experiment; evaluation count {before} -> "
        f"{counted} (expected at least {expected})"
    )


def run_scenario(
    session: ExperimentSession, scenario: ScenarioConfig
) -> tuple[list[InjectionTimeline], list[str]]:
    """Run every fault of `scenario` in the experiment shape; used by benchmarks and tests.

    Returns:
        The timelines, and problems (steady state missing, rollback errors) met on the way.
    """
    timelines: list[InjectionTimeline] = []
    problems: list[str] = []
    for scheduled in scenario.faults:
        time.sleep(scheduled.wait_before_s)
        steady = wait_for_steady_state(
            session, session.settings.steady_state, session.context.recovery_timeout_s
        )
        if not steady.ok:
            problems.append(f"steady state missing before {scheduled.fault.name}: {steady.detail}")
            break
        fault = inject_fault(session, scheduled.fault)
        try:
            observation = observe_fault(session, fault)
        finally:
            try:
                roll_back_fault(fault)
            except FaultRollbackError as exc:
                problems.append(str(exc))
        timelines.append(verify_recovery(session, fault, observation))
    return timelines, problems


__all__ = [
    "ExperimentSession",
    "FeedbackTraffic",
    "Observation",
    "SteadyState",
    "TargetUnavailableError",
    "check_steady_state",
    "count_lost_feedback",
    "inject_fault",
    "load_scenario",
    "measure_evaluation",
    "observe_fault",
    "record_injection",
    "roll_back_fault",
    "run_scenario",
    "verify_recovery",
]
