"""The recovery part's checks, as pure predicates over the injections' timelines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from vigil.faults.config import RecoveryPartConfig
from vigil.faults.experiment import EvaluationLevel
from vigil.faults.timeline import InjectionTimeline, RecoveryScores, score
from vigil.results import CheckResult, Measurement, Status, SuiteResult


def _none_injected(name: str) -> CheckResult:
    return CheckResult(
        name=name, status=Status.NOT_APPLICABLE, message="no fault was injected, nothing to judge"
    )


def _unhealed_story(t: InjectionTimeline) -> str:
    if t.recovered_after_rollback_at is not None and t.rollback_at is not None:
        after = (t.recovered_after_rollback_at - t.injected_at).total_seconds()
        return (
            f"{t.fault} ({t.kind}) was not healed by the target itself: still failing when its "
            f"time was up, vigil's rollback restored it {after:.1f} s after injection"
        )
    return f"{t.fault} ({t.kind}) was not healed by the target itself and never recovered"


def recovers_within_budget(
    timelines: Sequence[InjectionTimeline], scores: RecoveryScores, budget_s: float
) -> CheckResult:
    """Every injection healed itself, each within `budget_s`."""
    name = "recovers_within_budget"
    if not timelines:
        return _none_injected(name)
    slow = [t for t in timelines if t.time_to_recover_s is None or t.time_to_recover_s > budget_s]
    measured = {"mttr_s": scores.mttr_s or 0.0, "budget_s": budget_s}
    if slow:
        parts = [
            _unhealed_story(t)
            if not t.self_healed
            else f"{t.fault} took {t.time_to_recover_s:.1f} s"
            for t in slow
        ]
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{len(slow)} of {len(timelines)} faults did not recover within "
            f"{budget_s:g} s on their own: {'; '.join(parts)}; mttr_s is counted as "
            f"{scores.mttr_s:g} s",
            measured=measured,
        )
    worst = max(t.time_to_recover_s or 0.0 for t in timelines)
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"all {len(timelines)} faults recovered on their own, the slowest in "
        f"{worst:.2f} s (MTTR {scores.mttr_s:.2f} s, budget {budget_s:g} s)",
        measured={**measured, "slowest_s": worst},
    )


def heals_itself(timelines: Sequence[InjectionTimeline], scores: RecoveryScores) -> CheckResult:
    """The target restored its steady state before vigil's rollback had to."""
    name = "heals_itself"
    if not timelines:
        return _none_injected(name)
    unhealed = [t for t in timelines if not t.self_healed]
    measured = {"self_healed_share": scores.self_healed_share or 0.0}
    if unhealed:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message="not self-healed: " + "; ".join(_unhealed_story(t) for t in unhealed),
            measured=measured,
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"the target healed all {len(timelines)} faults before any rollback",
        measured=measured,
    )


def diagnosis_matches_fault(
    timelines: Sequence[InjectionTimeline], scores: RecoveryScores, incidents_offered: bool
) -> CheckResult:
    """The target diagnosed each fault as the kind it was."""
    name = "diagnosis_matches_fault"
    judged = [t for t in timelines if t.expected_kind]
    if not incidents_offered:
        return CheckResult(
            name=name,
            status=Status.NOT_APPLICABLE,
            message="the target offers no /incidents, so its diagnosis cannot be read",
        )
    if not judged:
        return CheckResult(
            name=name, status=Status.NOT_APPLICABLE, message="no fault expected a diagnosis"
        )
    wrong = [t for t in judged if t.diagnosed_kind != t.expected_kind]
    matrix = "; ".join(
        f"{expected} -> " + ", ".join(f"{got} x{n}" for got, n in sorted(row.items()))
        for expected, row in sorted(scores.confusion.items())
    )
    measured = {"diagnosis_accuracy": scores.diagnosis_accuracy or 0.0}
    if wrong:
        details = ", ".join(
            f"{t.fault}: expected {t.expected_kind}, diagnosed {t.diagnosed_kind or 'nothing'}"
            for t in wrong
        )
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{len(wrong)} of {len(judged)} faults misdiagnosed ({details}); "
            f"confusion: {matrix}",
            measured=measured,
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"all {len(judged)} faults diagnosed as injected ({matrix})",
        measured=measured,
    )


def no_feedback_lost(lost: int | None, detail: str) -> CheckResult:
    """Every label the target acknowledged before and during the faults is still counted."""
    name = "no_feedback_lost"
    if lost is None:
        return CheckResult(name=name, status=Status.ERROR, message=detail)
    if lost:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"{lost} acknowledged labels are missing from /evaluation: {detail}",
            measured={"feedback_lost": float(lost)},
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"no acknowledged label was lost: {detail}",
        measured={"feedback_lost": 0.0},
    )


def evaluation_restored_after_recovery(
    before: float | None, after: float | None, tolerance: float, error: str | None = None
) -> CheckResult:
    """After recovery the model's accuracy is back at its pre-fault level (within `tolerance`)."""
    name = "evaluation_restored_after_recovery"
    if before is None or after is None:
        return CheckResult(
            name=name,
            status=Status.FAILED if error is None else Status.ERROR,
            message="the model's accuracy could not be measured "
            + ("before the faults" if before is None else "after recovery")
            + (f": {error}" if error else ""),
        )
    measured = {"accuracy_before": before, "accuracy_after": after, "tolerance": tolerance}
    if after < before - tolerance:
        return CheckResult(
            name=name,
            status=Status.FAILED,
            message=f"accuracy after recovery {after:.3f} is more than {tolerance:g} below its "
            f"pre-fault level {before:.3f}: the model did not come back as it was",
            measured=measured,
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message=f"accuracy after recovery {after:.3f} vs {before:.3f} before the faults",
        measured=measured,
    )


def faults_took_effect(timelines: Sequence[InjectionTimeline]) -> CheckResult:
    """Each injected fault was proven to have taken effect (else the run proves nothing)."""
    name = "faults_took_effect"
    if not timelines:
        return _none_injected(name)
    unproven = [t for t in timelines if not t.effect_proven]
    if unproven:
        return CheckResult(
            name=name,
            status=Status.ERROR,
            message="faults not proven to have taken effect: "
            + "; ".join(f"{t.fault}: {t.effect_detail}" for t in unproven),
        )
    return CheckResult(
        name=name,
        status=Status.PASSED,
        message="; ".join(f"{t.fault}: {t.effect_detail}" for t in timelines),
    )


def measurements(scores: RecoveryScores, lost: int | None, scenario: str) -> list[Measurement]:
    """The part's measures: mttr_s, mean_time_to_detect_s, diagnosis_accuracy, ..."""
    context: dict[str, float | str] = {"scenario": scenario, "injections": scores.injections}
    if scores.not_self_healed:
        context["not_self_healed"] = ", ".join(scores.not_self_healed)
    if scores.confusion:
        # expected kind -> diagnosed kind -> count, for the report's confusion matrix.
        context["confusion"] = json.dumps(scores.confusion, sort_keys=True)
    values = [
        ("mttr_s", scores.mttr_s, "s"),
        ("mean_time_to_detect_s", scores.mean_time_to_detect_s, "s"),
        ("diagnosis_accuracy", scores.diagnosis_accuracy, ""),
        ("self_healed_share", scores.self_healed_share, ""),
        ("feedback_lost", None if lost is None else float(lost), "count"),
    ]
    return [
        Measurement(name=name, value=value, unit=unit, context=context)
        for name, value, unit in values
        if value is not None
    ]


def judge_recovery(
    timelines: Sequence[InjectionTimeline],
    settings: RecoveryPartConfig,
    *,
    scenario: str,
    lost: tuple[int | None, str],
    before: EvaluationLevel | None,
    after: EvaluationLevel | None,
    problems: Sequence[str] = (),
    injection_errors: Sequence[str] = (),
    skipped: Sequence[str] = (),
    incidents_offered: bool = True,
) -> SuiteResult:
    """The recovery part's result: its checks and measures (suite ``workflow``, not recorded).

    Args:
        timelines: One per injection.
        settings: The part's settings (budget, cap, tolerance).
        scenario: The scenario's name.
        lost: (acknowledged labels lost, detail) from the experiment.
        before: The model's accuracy before the faults.
        after: The model's accuracy after recovery.
        problems: Steady-state failures met on the way (each fails the part).
        injection_errors: Faults that could not be injected (an error of the run).
        skipped: Faults the target's capabilities did not allow.
        incidents_offered: Whether the target offers /incidents.
    """
    scores = score(timelines, settings.not_self_healed_mttr_s)
    if not timelines and skipped and not problems and not injection_errors:
        return SuiteResult(
            suite="workflow",
            checks=[
                CheckResult(
                    name="recovers_within_budget",
                    status=Status.NOT_APPLICABLE,
                    message="the target allows none of the scenario's faults: "
                    + ", ".join(skipped),
                )
            ],
        )
    checks = [
        recovers_within_budget(timelines, scores, settings.recovery_budget_s),
        heals_itself(timelines, scores),
        diagnosis_matches_fault(timelines, scores, incidents_offered),
        no_feedback_lost(*lost),
        evaluation_restored_after_recovery(
            before.accuracy if before else None,
            after.accuracy if after else None,
            settings.evaluation_tolerance,
            (after.error if after else None) or (before.error if before else None),
        ),
        faults_took_effect(timelines),
    ]
    if problems:
        checks.append(
            CheckResult(
                name="steady_state_before_each_fault",
                status=Status.FAILED,
                message="; ".join(problems),
            )
        )
    if injection_errors:
        checks.append(
            CheckResult(
                name="faults_injected",
                status=Status.ERROR,
                message="could not inject: " + "; ".join(injection_errors),
            )
        )
    return SuiteResult(
        suite="workflow", checks=checks, measurements=measurements(scores, lost[0], scenario)
    )
