"""Pure judgements of the readiness drills: observations in, checks and measures out.

Nothing here does I/O, so every verdict can be checked against hand-made observations.
A drill that could not be carried out is an ``error`` (the run's problem); a target
that lacks what a drill needs is ``not_applicable``; only what the target did is
``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vigil.observe.alerts import AlertDrillObservation
from vigil.observe.probes import ProbeSample
from vigil.readiness.evidence import (
    DeployAttempt,
    GateResult,
    GateScore,
    RestoreObservation,
    SecurityObservation,
)
from vigil.results import CheckResult, Measurement, Status
from vigil.scoring.availability import Window, availability

TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "Exception in ASGI application")
"""Text that only a leaked stack trace puts into a response body."""


def _check(
    name: str,
    status: Status,
    message: str,
    measured: dict[str, float] | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> CheckResult:
    span = {}
    if started_at is not None:
        span["started_at"] = started_at
    if finished_at is not None:
        span["finished_at"] = finished_at
    return CheckResult(name=name, status=status, message=message, measured=measured or {}, **span)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def same_answers(
    before: Sequence[float | None], after: Sequence[float | None], tolerance: float
) -> bool:
    """Whether two scorings of the same rows agree row by row (no missing answer)."""
    if len(before) != len(after) or not before:
        return False
    return all(
        a is not None and b is not None and abs(a - b) <= tolerance
        for a, b in zip(before, after, strict=True)
    )


def gate_verdict(
    score: GateScore, version: str | None, baseline: float | None, max_drop: float
) -> GateResult:
    """The health gate: every gate row answered by `version`, accuracy close to the old one.

    Args:
        score: The gate set scored against the new version.
        version: The model version that must answer (None: any one version, as after a
            target version deploy, which need not change the model's name).
        baseline: The old version's accuracy on the same rows (None: not measured).
        max_drop: Largest accuracy drop that still passes.
    """

    def failed(reason: str) -> GateResult:
        return GateResult(
            passed=False,
            reason=reason,
            version=version,
            accuracy=score.accuracy,
            baseline_accuracy=baseline,
        )

    if score.errors:
        return failed(f"{len(score.errors)} gate requests failed, first: {score.errors[0]}")
    if version is not None and score.versions != [version]:
        return failed(f"gate answers came from {score.versions}, not only {version!r}")
    if score.accuracy is None:
        return failed("no gate row was answered")
    if baseline is not None and score.accuracy < baseline - max_drop:
        return failed(
            f"gate accuracy {score.accuracy:.3f} is more than {max_drop:g} below the "
            f"previous version's {baseline:.3f}"
        )
    return GateResult(
        passed=True,
        reason=f"{version or score.versions[0]!r} answered every gate row, "
        f"accuracy {score.accuracy:.3f}",
        version=version,
        accuracy=score.accuracy,
        baseline_accuracy=baseline,
    )


def failed_probes(samples: Sequence[ProbeSample], start: datetime, end: datetime) -> list:
    """The failed probes sent within [start, end]."""
    return [s for s in samples if start <= s.sent_at <= end and not s.ok]


def probes_between(samples: Sequence[ProbeSample], start: datetime, end: datetime) -> int:
    """How many probes were sent within [start, end]."""
    return sum(start <= s.sent_at <= end for s in samples)


# --- availability -----------------------------------------------------------------------------


def judge_availability(
    samples: Sequence[ProbeSample], excluded: Sequence[Window]
) -> tuple[list[CheckResult], list[Measurement]]:
    """The share of probes answered correctly over the suite, fault windows left out."""
    seen = availability(samples, excluded)
    started = samples[0].sent_at if samples else None
    finished = samples[-1].sent_at if samples else None
    if seen.share is None:
        check = _check(
            "availability_measured",
            Status.ERROR,
            "no probe was sent outside the fault windows, so availability is unmeasured",
        )
        return [check], []
    measured = {
        "probes": float(seen.probes),
        "good": float(seen.good),
        "excluded": float(seen.excluded),
        "share": seen.share,
    }
    excluded_s = sum((end - start).total_seconds() for start, end in excluded)
    check = _check(
        "availability_measured",
        Status.PASSED,
        f"{seen.good} of {seen.probes} probes answered correctly ({seen.share:.4%}); "
        f"{seen.excluded} probes in {len(excluded)} deliberate fault window(s) "
        f"({excluded_s:.1f} s) are excluded here and judged by MTTR instead",
        measured,
        started,
        finished,
    )
    measure = Measurement(
        name="availability",
        value=seen.share,
        unit="",
        context={
            "probes": seen.probes,
            "excluded_probes": seen.excluded,
            "excluded_windows": len(excluded),
            "excluded_s": round(excluded_s, 3),
            "note": "windows of deliberately injected faults excluded",
        },
    )
    return [check], [measure]


# --- deploys ----------------------------------------------------------------------------------


def judge_good_deploy(
    attempt: DeployAttempt, samples: Sequence[ProbeSample], name_prefix: str = ""
) -> tuple[list[CheckResult], list[Measurement]]:
    """A good deploy must pass its gate with no probe failing while it ran."""
    gate_name = f"{name_prefix}deploy_passes_health_gate"
    quiet_name = f"{name_prefix}deploy_without_failed_requests"
    end = attempt.finished_at or attempt.started_at
    if attempt.error and attempt.gate is None:
        message = f"the {attempt.kind} deploy could not be carried out: {attempt.error}"
        return [_check(gate_name, Status.FAILED, message, started_at=attempt.started_at)], []
    gate = attempt.gate
    passed = gate is not None and gate.passed
    checks = [
        _check(
            gate_name,
            Status.PASSED if passed else Status.FAILED,
            (
                f"{attempt.kind} deploy of {attempt.version!r} passed the health gate: "
                f"{gate.reason}"
                if passed and gate
                else f"{attempt.kind} deploy of {attempt.version!r} failed the health gate: "
                f"{gate.reason if gate else attempt.error}"
            ),
            {"gate_accuracy": gate.accuracy} if gate and gate.accuracy is not None else {},
            attempt.started_at,
            end,
        )
    ]
    failures = failed_probes(samples, attempt.started_at, end)
    sent = probes_between(samples, attempt.started_at, end)
    first = failures[0].error if failures else ""
    checks.append(
        _check(
            quiet_name,
            Status.FAILED if failures else Status.PASSED if sent else Status.ERROR,
            (
                f"{len(failures)} of {sent} probes failed during the {attempt.kind} deploy"
                + (f" (first: {first})" if failures else "")
                if sent
                else f"no probe was sent during the {attempt.kind} deploy, so it is unmeasured"
            ),
            {"failed_probes": float(len(failures)), "probes": float(sent)},
            attempt.started_at,
            end,
        )
    )
    measures = [
        Measurement(
            name=f"{name_prefix}deploy_failed_requests",
            value=float(len(failures)),
            unit="requests",
            context={"kind": attempt.kind, "probes": sent},
        )
    ]
    took = _seconds(attempt.started_at, gate.passed_at if gate else None)
    if took is not None:
        measures.append(
            Measurement(
                name=f"{name_prefix}deploy_seconds",
                value=took,
                unit="s",
                context={"kind": attempt.kind, "from": "deploy request", "to": "gate passed"},
            )
        )
    return checks, measures


def judge_broken_deploy(
    attempt: DeployAttempt, name_prefix: str = ""
) -> tuple[list[CheckResult], list[Measurement]]:
    """A broken deploy must fail the gate and be rolled back to the old, answering as before."""
    name = f"{name_prefix}broken_deploy_rolled_back"
    end = attempt.finished_at or attempt.started_at
    gate = attempt.gate
    problems = []
    if gate is None:
        problems.append(f"the broken deploy could not be carried out ({attempt.error})")
    elif gate.passed:
        problems.append(f"the gate let the broken version {attempt.version!r} through")
    elif not attempt.rolled_back:
        problems.append(f"no rollback happened ({attempt.error or 'rollback refused'})")
    elif attempt.rollback_verified_at is None:
        problems.append(f"{attempt.previous!r} did not serve again after the rollback")
    if not problems and attempt.serving_after != attempt.previous:
        problems.append(
            f"{attempt.serving_after!r} serves after the rollback, not {attempt.previous!r}"
        )
    if not problems and attempt.old_answers_identical is False:
        problems.append(f"{attempt.previous!r} serves again but answers differently than before")
    took = _seconds(attempt.rollback_started_at, attempt.rollback_verified_at)
    if problems:
        return [_check(name, Status.FAILED, "; ".join(problems), {}, attempt.started_at, end)], []
    message = (
        f"the gate refused broken {attempt.kind} {attempt.version!r} ({gate.reason}); rolled "
        f"back to {attempt.previous!r}, which answered as before after {took:.2f} s"
    )
    measured = {"rollback_seconds": took} if took is not None else {}
    checks = [_check(name, Status.PASSED, message, measured, attempt.started_at, end)]
    measures = []
    if took is not None:
        measures.append(
            Measurement(
                name=f"{name_prefix}rollback_seconds",
                value=took,
                unit="s",
                context={"kind": attempt.kind, "from": "gate failed", "to": "old version serves"},
            )
        )
    return checks, measures


# --- backup and restore -----------------------------------------------------------------------


def judge_restore(
    seen: RestoreObservation, score_tolerance: float
) -> tuple[list[CheckResult], list[Measurement]]:
    """Backup verifiable, restore identical (RTO, RPO), a truncated backup refused."""
    checks: list[CheckResult] = []
    measures: list[Measurement] = []
    start = seen.before.taken_at if seen.before else None

    if seen.backup_id is None:
        reason = seen.error or "no backup was taken"
        return [_check("backup_taken", Status.FAILED, f"backup failed: {reason}")], []

    if not seen.backup_sha256_claimed:
        checks.append(
            _check(
                "backup_checksum_matches",
                Status.FAILED,
                f"backup {seen.backup_id} carries no SHA-256, so a damaged copy cannot be told "
                "from a good one",
            )
        )
    else:
        same = seen.backup_sha256_claimed == seen.backup_sha256_measured
        checks.append(
            _check(
                "backup_checksum_matches",
                Status.PASSED if same else Status.FAILED,
                f"backup {seen.backup_id}: the target says sha256 "
                f"{seen.backup_sha256_claimed[:12]}..., vigil measured "
                f"{(seen.backup_sha256_measured or 'nothing')[:12]}...",
                {"bytes": float(seen.backup_bytes or 0)},
            )
        )

    problems = []
    before, after = seen.before, seen.after
    wiped, doomed = seen.after_destruction, seen.at_destruction
    if (
        wiped
        and doomed
        and wiped.evaluation_count
        and (wiped.evaluation_count == doomed.evaluation_count)
    ):
        checks.append(
            _check(
                "restore_is_identical",
                Status.ERROR,
                f"the target still held all {wiped.evaluation_count} labels after its "
                "workdir was wiped (is its database elsewhere?), so the restore proves "
                "nothing; destroy the data where it lives",
            )
        )
        return checks, measures
    if seen.error and seen.restored_at is None:
        problems.append(seen.error)
    if before is None or after is None:
        problems.append("the data before or after was not read")
    else:
        if after.model_version != before.model_version:
            problems.append(
                f"model version {after.model_version!r} after, {before.model_version!r} before"
            )
        if after.evaluation_count != before.evaluation_count:
            problems.append(
                f"{after.evaluation_count} labelled predictions after, "
                f"{before.evaluation_count} at the backup"
            )
        for field in ("evaluation_accuracy", "evaluation_log_loss"):
            a, b = getattr(before, field), getattr(after, field)
            if (a is None) != (b is None) or (a is not None and abs(a - b) > score_tolerance):
                problems.append(f"{field.removeprefix('evaluation_')} {b} after, {a} before")
        if not same_answers(before.scores, after.scores, score_tolerance):
            differing = sum(
                x is None or y is None or abs(x - y) > score_tolerance
                for x, y in zip(before.scores, after.scores, strict=False)
            )
            problems.append(f"{differing} of {len(before.scores)} probe-set scores differ")
    for table in ("feedback", "modelversion"):
        claimed, restored = seen.backup_tables.get(table), seen.restored_tables.get(table)
        if claimed and restored and claimed != restored:
            problems.append(
                f"table {table}: {restored.get('rows')} rows after (digest "
                f"{str(restored.get('sha256'))[:12]}), {claimed.get('rows')} in the backup"
            )
    rto = _seconds(seen.destroyed_at, seen.restored_at)
    checks.append(
        _check(
            "restore_is_identical",
            Status.FAILED if problems else Status.PASSED,
            "; ".join(problems)
            if problems
            else f"after destroying the data and restoring {seen.backup_id}, version, "
            f"{before.evaluation_count if before else 0} labels, quality totals and "
            f"{len(before.scores) if before else 0} probe-set scores are identical "
            f"(RTO {rto:.2f} s)",
            {"rto_s": rto} if rto is not None else {},
            start,
            seen.restored_at,
        )
    )
    if rto is not None and not problems:
        measures.append(
            Measurement(
                name="rto_s",
                value=rto,
                unit="s",
                context={
                    "from": "data destroyed (target stopped, workdir wiped)",
                    "to": "restored answers verified identical",
                    "restart_s": _seconds(seen.destroyed_at, seen.target_back_at) or 0.0,
                    "restore_s": _seconds(seen.restore_started_at, seen.restored_at) or 0.0,
                },
            )
        )
    rpo = _seconds(seen.backup_created_at, seen.destroyed_at)
    if rpo is not None:
        measures.append(
            Measurement(
                name="rpo_s",
                value=rpo,
                unit="s",
                context={"from": "last backup", "to": "data destroyed"},
            )
        )
    lost = None
    if seen.at_destruction and after and seen.at_destruction.evaluation_count is not None:
        lost = (seen.at_destruction.evaluation_count or 0) - (after.evaluation_count or 0)
        measures.append(
            Measurement(
                name="rpo_feedback_lost",
                value=float(lost),
                unit="labels",
                context={"written_after_backup": seen.writes_after_backup},
            )
        )

    if seen.corrupt_status is None:
        checks.append(
            _check(
                "corrupt_backup_refused",
                Status.ERROR if seen.error else Status.FAILED,
                f"the truncated backup was not tried ({seen.error or 'drill ended early'})",
            )
        )
    else:
        refused = 400 <= seen.corrupt_status < 500
        unchanged = (
            seen.after is not None
            and seen.after_corrupt is not None
            and seen.after_corrupt.evaluation_count == seen.after.evaluation_count
        )
        if refused and unchanged:
            status, message = (
                Status.PASSED,
                f"a copy of {seen.backup_id} cut at a line boundary was refused "
                f"({seen.corrupt_status}: {(seen.corrupt_detail or '')[:160]})",
            )
        elif not refused:
            status, message = (
                Status.FAILED,
                f"a copy of {seen.backup_id} cut at a line boundary was restored silently "
                f"(answer {seen.corrupt_status}); the data now lacks its last rows",
            )
        else:
            status, message = (
                Status.FAILED,
                f"the truncated backup was answered {seen.corrupt_status} but the data "
                "changed anyway",
            )
        checks.append(
            _check("corrupt_backup_refused", status, message, {"status": seen.corrupt_status})
        )
    return checks, measures


# --- security ---------------------------------------------------------------------------------


def judge_security(
    seen: SecurityObservation, alpha: float, min_effect_ms: float
) -> tuple[list[CheckResult], list[Measurement]]:
    """Tokens refused, constant-time comparison, no 5xx or stack trace, no secret leaked."""
    checks: list[CheckResult] = []
    findings = 0

    open_calls = [e for e in seen.refusals if e.status not in (401, 403)]
    if not seen.refusals:
        checks.append(
            _check(
                "admin_refuses_bad_tokens",
                Status.ERROR,
                f"no admin endpoint was found to try ({seen.error or 'none in /openapi.json'})",
            )
        )
    else:
        findings += len(open_calls)
        by_endpoint: dict[str, list[str]] = {}
        for e in open_calls:
            by_endpoint.setdefault(f"{e.method} {e.path}", []).append(f"{e.label} -> {e.status}")
        shown = "; ".join(
            f"{where} [{', '.join(labels[:2])}{', ...' if len(labels) > 2 else ''}]"
            for where, labels in list(by_endpoint.items())[:8]
        )
        checks.append(
            _check(
                "admin_refuses_bad_tokens",
                Status.FAILED if open_calls else Status.PASSED,
                f"{len(open_calls)} of {len(seen.refusals)} admin calls without a valid token "
                f"were not refused with 401/403: {shown}"
                if open_calls
                else f"all {len(seen.refusals)} admin calls with a missing, wrong or malformed "
                "token were refused (401/403)",
                {"calls": float(len(seen.refusals)), "not_refused": float(len(open_calls))},
            )
        )

    checks.append(_judge_timing(seen, alpha, min_effect_ms))
    if checks[-1].status is Status.FAILED:
        findings += 1

    bad = [
        e
        for e in [*seen.bad_input, *seen.generated]
        if e.error or (e.status is not None and e.status >= 500) or _has_trace(e.body)
    ]
    findings += len(bad)
    total = len(seen.bad_input) + len(seen.generated)
    problems = [
        f"{e.method} {e.path} [{e.label}] -> "
        + (e.error or (f"{e.status} with a stack trace" if _has_trace(e.body) else str(e.status)))
        for e in bad[:5]
    ]
    if seen.healthy_after is False:
        findings += 1
        problems.append("the target was not healthy after the bad input")
    if total == 0:
        checks.append(_check("no_5xx_on_bad_input", Status.ERROR, "no bad request was sent"))
    else:
        checks.append(
            _check(
                "no_5xx_on_bad_input",
                Status.FAILED if problems else Status.PASSED,
                f"{len(bad)} of {total} bad or generated requests got a 5xx, a stack trace or "
                f"no answer: {'; '.join(problems)}"
                if problems
                else f"{len(seen.bad_input)} bad-input and {len(seen.generated)} generated "
                "requests: no 5xx, no stack trace, still healthy",
                {
                    "bad_input": float(len(seen.bad_input)),
                    "generated": float(len(seen.generated)),
                    "failures": float(len(bad)),
                },
            )
        )

    checks.append(_judge_tls(seen))
    findings += checks[-1].status is Status.FAILED

    findings += len(seen.leaks)
    checks.append(
        _check(
            "no_secret_leaked",
            Status.FAILED if seen.leaks else Status.PASSED,
            f"a secret appeared in: {'; '.join(seen.leaks[:5])}"
            if seen.leaks
            else f"no secret in {len(seen.scanned)} places scanned ({', '.join(seen.scanned[:4])}"
            + (", ..." if len(seen.scanned) > 4 else "")
            + ")",
            {"leaks": float(len(seen.leaks)), "scanned": float(len(seen.scanned))},
        )
    )
    measures = [Measurement(name="security_findings", value=float(findings), unit="findings")]
    return checks, measures


def _judge_tls(seen: SecurityObservation) -> CheckResult:
    """A valid certificate, and no plain-HTTP answer on the TLS port."""
    name = "tls_valid_without_plaintext"
    tls = seen.tls
    if tls is None:
        return _check(
            name, Status.NOT_APPLICABLE, "the target is served over plain HTTP (TLS not configured)"
        )
    problems = []
    if not tls.verified:
        problems.append(f"its certificate does not verify ({tls.error})")
    if tls.plaintext_status is not None:
        problems.append(f"a plaintext request on the TLS port got HTTP {tls.plaintext_status}")
    if problems:
        return _check(name, Status.FAILED, "; ".join(problems))
    return _check(
        name,
        Status.PASSED,
        f"{tls.protocol} with a certificate that verifies (valid until {tls.not_after}); a "
        "plaintext request on the same port got no HTTP answer",
    )


def _has_trace(body: str) -> bool:
    return any(marker in body for marker in TRACE_MARKERS)


def _judge_timing(seen: SecurityObservation, alpha: float, min_effect_ms: float) -> CheckResult:
    """Mann-Whitney U over a right-prefix token against a wrong-first-byte token."""
    name = "token_check_constant_time"
    timing = seen.timing
    if timing is None or len(timing.right_prefix_ms) < 10 or len(timing.wrong_first_byte_ms) < 10:
        return _check(name, Status.ERROR, "too few timed admin calls to judge the token check")
    from scipy.stats import mannwhitneyu

    prefix, first = timing.right_prefix_ms, timing.wrong_first_byte_ms
    result = mannwhitneyu(prefix, first, alternative="two-sided")
    p_value = float(result.pvalue)
    effect = _median(prefix) - _median(first)
    measured = {
        "p_value": p_value,
        "median_right_prefix_ms": _median(prefix),
        "median_wrong_first_byte_ms": _median(first),
        "median_difference_ms": effect,
        "samples": float(len(prefix)),
    }
    leaking = p_value < alpha and effect > min_effect_ms
    return _check(
        name,
        Status.FAILED if leaking else Status.PASSED,
        f"a token right but for its last byte is answered {effect:.3f} ms slower (median) than "
        f"one wrong from the first byte, p = {p_value:.2g} over {len(prefix)} calls each: the "
        "comparison exits early and leaks the token byte by byte"
        if leaking
        else f"no timing difference between a right-prefix and a wrong-first-byte token "
        f"(median difference {effect:.3f} ms, p = {p_value:.2g}, {len(prefix)} calls each; "
        f"differences under {min_effect_ms:g} ms are below what this sample can show)",
        measured,
    )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# --- monitoring and alerting ------------------------------------------------------------------


def judge_alerts(
    seen: AlertDrillObservation,
    fire_within_s: float,
    resolve_within_s: float,
    webhook: bool,
) -> tuple[list[CheckResult], list[Measurement]]:
    """The alert stays quiet in steady state, fires within its bound, resolves after recovery."""
    checks: list[CheckResult] = []
    measures: list[Measurement] = []
    if seen.injected_at is None:
        reason = seen.error or "the fault was not injected"
        return [_check("alert_fires_within_bound", Status.ERROR, reason)], []
    checks.append(
        _check(
            "alert_quiet_in_steady_state",
            Status.FAILED if seen.steady_firing else Status.PASSED,
            f"alerts firing before any fault: {', '.join(seen.steady_firing)}"
            if seen.steady_firing
            else f"no alert fired over the steady-state scrapes ({seen.failed_scrapes} of "
            f"{seen.scrapes} scrapes failed in the whole drill)",
        )
    )
    fire_s = _seconds(seen.injected_at, seen.fired_at)
    fired = fire_s is not None and fire_s <= fire_within_s
    checks.append(
        _check(
            "alert_fires_within_bound",
            Status.PASSED if fired else Status.FAILED,
            f"{seen.alert} fired {fire_s:.2f} s after the fault (bound {fire_within_s:g} s)"
            if fire_s is not None
            else f"{seen.alert} never fired in {fire_within_s:g} s after the fault "
            f"({seen.scrapes} scrapes, {seen.failed_scrapes} failed)",
            {"fire_s": fire_s} if fire_s is not None else {},
            seen.injected_at,
            seen.fired_at,
        )
    )
    if fire_s is not None:
        measures.append(Measurement(name="alert_fire_s", value=fire_s, unit="s"))
    resolve_s = _seconds(seen.fault_ends_at, seen.resolved_at)
    resolved = resolve_s is not None and resolve_s <= resolve_within_s
    checks.append(
        _check(
            "alert_resolves_after_recovery",
            Status.PASSED if resolved else Status.FAILED,
            f"{seen.alert} resolved {resolve_s:.2f} s after the fault ended "
            f"(bound {resolve_within_s:g} s)"
            if resolve_s is not None
            else f"{seen.alert} did not resolve within {resolve_within_s:g} s after the fault "
            "ended",
            {"resolve_s": resolve_s} if resolve_s is not None else {},
            seen.fault_ends_at,
            seen.resolved_at,
        )
    )
    if resolve_s is not None:
        measures.append(Measurement(name="alert_resolve_s", value=resolve_s, unit="s"))
    if webhook:
        delivered = [s for s in seen.webhook_statuses if s is not None and 200 <= s < 300]
        checks.append(
            _check(
                "alert_webhook_delivered",
                Status.PASSED if delivered and len(delivered) == len(seen.webhook_statuses)
                else Status.FAILED,
                f"{len(delivered)} of {len(seen.webhook_statuses)} webhook posts were accepted "
                f"(answers: {seen.webhook_statuses})",
            )
        )  # fmt: skip
    return checks, measures
