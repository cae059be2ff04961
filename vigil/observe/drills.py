"""The deploy and disaster-recovery drills: what vigil does to the target and what it sees.

Each drill only acts and records (:mod:`vigil.readiness.evidence`); whether what it saw
is good enough is decided by :mod:`vigil.readiness.judgements`. Every request has the
client's explicit timeout, and every wait is bounded by a deadline from the settings.

The health gate scores a fixed labelled set whose truth vigil generated itself (river's
SEA concept), so a deployed model that answers but answers wrongly fails the gate just
like one that does not answer at all.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.contract import LabelledRow
from vigil.errors import RunError, TargetProtocolError, TargetUnavailableError
from vigil.readiness.config import DeployDrillConfig, RestoreDrillConfig, TargetVersionConfig
from vigil.readiness.evidence import (
    DeployAttempt,
    Fingerprint,
    GateResult,
    GateScore,
    RestoreObservation,
)
from vigil.readiness.judgements import gate_verdict, same_answers
from vigil.targets.client import TargetClient

_POLL_S = 0.1


def _now() -> datetime:
    return datetime.now(UTC)


def train(client: TargetClient, rows: Sequence[LabelledRow]) -> int:
    """Predict and label every row so the model learns; returns how many labels were taken.

    Args:
        client: A client of the target.
        rows: Labelled rows whose truth vigil knows.
    """
    accepted = 0
    for row in rows:
        try:
            prediction = client.predict(row.features)
            client.feedback(prediction.request_id, row.label)
        except (TargetUnavailableError, TargetProtocolError):
            continue
        accepted += 1
    return accepted


def score_gate(client: TargetClient, rows: Sequence[LabelledRow]) -> GateScore:
    """Score the gate set once: versions seen, per-row scores, accuracy against the truth.

    Args:
        client: A client of the target.
        rows: The gate set.
    """
    score = GateScore()
    versions: list[str] = []
    correct = answered = 0
    for row in rows:
        try:
            prediction = client.predict(row.features)
        except (TargetUnavailableError, TargetProtocolError) as exc:
            score.errors.append(str(exc)[:200])
            score.scores.append(None)
            continue
        if prediction.model_version not in versions:
            versions.append(prediction.model_version)
        score.scores.append(prediction.score)
        answered += 1
        correct += int(prediction.prediction) == row.label
    score.versions = versions
    score.accuracy = correct / answered if answered else None
    return score


def serving_version(client: TargetClient) -> str | None:
    """The model version the target's health reports, or None when it cannot say."""
    try:
        return client.health().model_version
    except (TargetUnavailableError, TargetProtocolError):
        return None


def fingerprint(client: TargetClient, rows: Sequence[LabelledRow]) -> Fingerprint:
    """The target's data seen through its API: version, evaluation totals, gate-set scores.

    Args:
        client: A client of the target.
        rows: The fixed probe set whose scores are part of the fingerprint.
    """
    taken = Fingerprint(taken_at=_now())
    try:
        evaluation = client.evaluation(window=1)
        taken.model_version = evaluation.model_version
        taken.evaluation_count = evaluation.total.count
        taken.evaluation_accuracy = evaluation.total.accuracy
        taken.evaluation_log_loss = evaluation.total.log_loss
    except (TargetUnavailableError, TargetProtocolError) as exc:
        taken.error = str(exc)[:300]
    taken.scores = score_gate(client, rows).scores
    return taken


# --- deploys ----------------------------------------------------------------------------------


def wait_for_gate(
    client: TargetClient,
    rows: Sequence[LabelledRow],
    version: str | None,
    baseline: float | None,
    config: DeployDrillConfig,
) -> GateResult:
    """Poll until `version` (None: any) serves every gate row and passes, fails, or time is up.

    Args:
        client: A client of the target.
        rows: The gate set.
        version: The model version that must answer, or None for any.
        baseline: The previous version's gate accuracy.
        config: Gate bounds (accuracy drop, timeout).
    """
    deadline = time.monotonic() + config.gate_timeout_s
    last = GateResult(passed=False, reason="not yet asked", version=version)
    while time.monotonic() < deadline:
        if version is None or serving_version(client) == version:
            score = score_gate(client, rows)
            last = gate_verdict(score, version, baseline, config.gate_max_accuracy_drop)
            if last.passed:
                return last.model_copy(update={"passed_at": _now()})
            if (version is None or score.versions == [version]) and not score.errors:
                # Every answer came from the new version and it is still wrong: waiting
                # will not make a broken model better.
                return last
        time.sleep(_POLL_S)
    return last.model_copy(
        update={"reason": f"{last.reason}; gave up after {config.gate_timeout_s:g} s"}
    )


def deploy_model(
    client: TargetClient,
    rows: Sequence[LabelledRow],
    config: DeployDrillConfig,
    *,
    broken: bool,
) -> DeployAttempt:
    """Deploy a model version through the admin API behind the gate; roll back if it fails.

    Args:
        client: A client of the target (its admin token resolved by the client).
        rows: The gate set.
        config: Gate bounds.
        broken: Ask the target for a deliberately broken model (the reference's ``corrupt``).
    """
    previous = serving_version(client)
    baseline = score_gate(client, rows)
    attempt = DeployAttempt(kind="model", broken=broken, previous=previous, started_at=_now())
    try:
        answer = client.admin("POST", "/admin/models/deploy", json={"corrupt": broken})
        if answer.status_code != 200:
            attempt.error = f"deploy answered {answer.status_code}: {answer.text[:200]}"
            return attempt
        attempt.version = str(answer.json()["name"])
        attempt.gate = wait_for_gate(client, rows, attempt.version, baseline.accuracy, config)
        attempt.gate.baseline_accuracy = baseline.accuracy
        if attempt.gate.passed:
            # What users see just after the switch belongs to the deploy too.
            time.sleep(config.hold_after_gate_s)
        if not attempt.gate.passed and previous is not None:
            attempt.rollback_started_at = _now()
            rolled = client.admin("POST", "/admin/models/rollback", json={"to": previous})
            attempt.rolled_back = rolled.status_code == 200
            if attempt.rolled_back:
                attempt.rollback_verified_at, attempt.old_answers_identical = _wait_serving(
                    client, rows, previous, baseline.scores, config.gate_timeout_s
                )
            else:
                attempt.error = f"rollback answered {rolled.status_code}: {rolled.text[:200]}"
    except (RunError, KeyError, ValueError) as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        attempt.serving_after = serving_version(client)
        attempt.finished_at = _now()
    return attempt


def _wait_serving(
    client: TargetClient,
    rows: Sequence[LabelledRow],
    version: str,
    scores: Sequence[float | None],
    timeout_s: float,
) -> tuple[datetime | None, bool | None]:
    """When `version` answered the whole gate set again, and whether exactly as before."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if serving_version(client) == version:
            score = score_gate(client, rows)
            if score.versions == [version] and not score.errors:
                return _now(), same_answers(scores, score.scores, 1e-9)
        time.sleep(_POLL_S)
    return None, None


def current_version(target: Any) -> TargetVersionConfig:
    """What a process or docker target runs now, as a version it can be deployed back to."""
    if hasattr(target, "version"):
        image, command, env = target.version
        return TargetVersionConfig(image=image, command=command, env=env)
    return TargetVersionConfig(command=target.command, env=target.extra_env)


def deploy_target(target: Any, version: TargetVersionConfig, timeout_s: float) -> None:
    """Recreate the target on `version` through its adapter's ``deploy``."""
    if hasattr(target, "version"):
        target.deploy(version.image or target.version[0], version.command, version.env, timeout_s)
    else:
        if version.command is None:
            raise RunError("a process target's version needs a `command`")
        target.deploy(version.command, version.env, timeout_s)


def deploy_version(
    target: Any,
    client: TargetClient,
    rows: Sequence[LabelledRow],
    name: str,
    version: TargetVersionConfig,
    config: DeployDrillConfig,
    *,
    previous_name: str,
    broken: bool,
) -> DeployAttempt:
    """Deploy a version of the target itself behind the gate; roll back to the old one if it fails.

    Args:
        target: The running target's adapter (with ``deploy``, ``command``, ``extra_env``).
        client: A client of the target.
        rows: The gate set.
        name: The version's name, for the record.
        version: Its command and environment.
        config: Gate bounds.
        previous_name: The name of the version that serves now.
        broken: The version is expected to fail the gate.
    """
    previous = current_version(target)
    baseline = score_gate(client, rows)
    attempt = DeployAttempt(
        kind="version", broken=broken, previous=previous_name, version=name, started_at=_now()
    )
    try:
        deploy_target(target, version, config.gate_timeout_s)
        attempt.gate = wait_for_gate(client, rows, None, baseline.accuracy, config)
    except RunError as exc:
        attempt.gate = GateResult(
            passed=False, reason=f"{name!r} never became healthy: {exc}"[:500]
        )
    attempt.gate.baseline_accuracy = baseline.accuracy
    if attempt.gate.passed:
        time.sleep(config.hold_after_gate_s)
    else:
        attempt.rollback_started_at = _now()
        try:
            deploy_target(target, previous, config.gate_timeout_s * 4)
            attempt.rolled_back = True
            after = score_gate(client, rows)
            if not after.errors:
                attempt.rollback_verified_at = _now()
                attempt.old_answers_identical = same_answers(baseline.scores, after.scores, 1e-9)
        except RunError as exc:
            attempt.error = f"rollback to the previous command failed: {exc}"[:400]
    attempt.serving_after = attempt.previous if attempt.rolled_back else name
    attempt.finished_at = _now()
    return attempt


# --- backup and restore -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed by vigil (the independent check of a backup)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(client: TargetClient) -> dict[str, Any]:
    """Ask the target for a backup; its answer (id, path, created_at, checksums)."""
    answer = client.admin("POST", "/admin/backup")
    if answer.status_code != 200:
        raise TargetProtocolError(
            f"POST /admin/backup answered {answer.status_code}: {answer.text[:200]}",
            status_code=answer.status_code,
        )
    return dict(answer.json())


def backup_files(path: Path) -> list[Path]:
    """The data file of a backup and, when there is one, its manifest beside it."""
    manifest = path.with_name(path.name.removesuffix(".jsonl.gz") + ".manifest.json")
    return [path, manifest] if manifest.exists() else [path]


def write_truncated_copy(path: Path, backup_id: str) -> str:
    """Copy a backup without its last line, cut at a line boundary, under a new id.

    The copy is valid gzip and valid JSON lines, and it keeps the original's manifest
    (as a careless copy would): only a target that checks content finds it wrong.

    Args:
        path: The backup's data file.
        backup_id: Its id; the copy's id is ``<backup_id>-cut``.
    """
    cut_id = f"{backup_id}-cut"[:64]
    with gzip.open(path, "rt", encoding="utf-8") as source:
        lines = source.readlines()
    target = path.with_name(f"{cut_id}.jsonl.gz")
    with gzip.open(target, "wt", encoding="utf-8") as out:
        out.writelines(lines[:-1])
    manifest = path.with_name(path.name.removesuffix(".jsonl.gz") + ".manifest.json")
    if manifest.exists():
        shutil.copyfile(manifest, target.with_name(f"{cut_id}.manifest.json"))
    return cut_id


def restore(client: TargetClient, backup_id: str) -> tuple[int, str]:
    """Ask the target to restore a backup: (status, detail)."""
    answer = client.admin("POST", "/admin/restore", json={"backup_id": backup_id})
    return answer.status_code, answer.text[:400]


def destroy_workdir(workdir: Path, keep: Sequence[str]) -> list[str]:
    """Delete everything in the target's workdir except `keep`; the names deleted.

    Args:
        workdir: The stopped target's working folder.
        keep: Names or glob patterns of entries to spare (its logs).
    """
    deleted = []
    for entry in sorted(workdir.iterdir()):
        if any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in keep):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        deleted.append(entry.name)
    return deleted


def wait_identical(
    client: TargetClient,
    rows: Sequence[LabelledRow],
    before: Fingerprint,
    config: RestoreDrillConfig,
) -> tuple[datetime | None, Fingerprint]:
    """Poll until the target answers as `before` did (version, scores); when, and the last look.

    Args:
        client: A client of the target.
        rows: The fixed probe set.
        before: The fingerprint taken at the backup.
        config: The bound and the score tolerance.
    """
    deadline = time.monotonic() + config.restore_timeout_s
    seen = fingerprint(client, rows)
    while True:
        if seen.model_version == before.model_version and same_answers(
            before.scores, seen.scores, config.score_tolerance
        ):
            return seen.taken_at, seen
        if time.monotonic() >= deadline:
            return None, seen
        time.sleep(_POLL_S)
        seen = fingerprint(client, rows)


def tables_of(answer: dict[str, Any]) -> dict[str, dict[str, int | str]]:
    """Per-table rows and digests from a backup answer (empty when the target gives none)."""
    tables = answer.get("tables")
    return {str(k): dict(v) for k, v in tables.items()} if isinstance(tables, dict) else {}


def parse_instant(text: Any) -> datetime | None:
    """An ISO-8601 instant from an answer, or None."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def run_restore_drill(
    target: Any,
    client: TargetClient,
    rows: Sequence[LabelledRow],
    later_rows: Sequence[LabelledRow],
    config: RestoreDrillConfig,
    vault: Path,
) -> RestoreObservation:
    """Back up, write more, destroy the data, restore, verify; then try a truncated copy.

    Args:
        target: The running target's adapter; it must offer ``stop()``, ``start()`` and a
            ``workdir`` holding all of the target's data (a process or docker target).
        client: A client of the target.
        rows: The fixed probe set whose answers must be identical after the restore.
        later_rows: Labelled rows written after the backup (lost by design: the RPO).
        config: Bounds of the drill.
        vault: A folder outside the target's workdir that keeps the backup safe.
    """
    seen = RestoreObservation()
    try:
        seen.before = fingerprint(client, rows)
        answer = backup(client)
        seen.backup_id = str(answer["backup_id"])
        seen.backup_created_at = parse_instant(answer.get("created_at"))
        seen.backup_sha256_claimed = answer.get("sha256")
        seen.backup_tables = tables_of(answer)
        source = Path(str(answer["path"]))
        seen.backup_bytes = source.stat().st_size
        seen.backup_sha256_measured = file_sha256(source)
        vault.mkdir(parents=True, exist_ok=True)
        kept = [Path(shutil.copy2(f, vault / f.name)) for f in backup_files(source)]

        seen.writes_after_backup = train(client, later_rows)
        seen.at_destruction = fingerprint(client, rows)

        seen.destroyed_at = _now()
        target.stop()
        destroy_workdir(Path(target.workdir), config.keep_in_workdir)
        target.start()
        seen.target_back_at = _now()
        seen.after_destruction = fingerprint(client, rows)

        source.parent.mkdir(parents=True, exist_ok=True)
        for item in kept:
            shutil.copy2(item, source.parent / item.name)
        seen.restore_started_at = _now()
        status, detail = restore(client, seen.backup_id)
        if status != 200:
            seen.error = f"restore of {seen.backup_id} answered {status}: {detail}"
            seen.after = fingerprint(client, rows)
            return seen
        seen.restored_at, seen.after = wait_identical(client, rows, seen.before, config)
        seen.restored_tables = tables_of(backup(client))

        cut_id = write_truncated_copy(source, seen.backup_id)
        seen.corrupt_status, seen.corrupt_detail = restore(client, cut_id)
        seen.after_corrupt = fingerprint(client, rows)
    except (RunError, OSError, KeyError, ValueError) as exc:
        seen.error = f"{type(exc).__name__}: {exc}"[:400]
    return seen


__all__ = [
    "backup",
    "backup_files",
    "deploy_model",
    "deploy_version",
    "destroy_workdir",
    "file_sha256",
    "fingerprint",
    "parse_instant",
    "restore",
    "run_restore_drill",
    "score_gate",
    "serving_version",
    "tables_of",
    "train",
    "wait_for_gate",
    "wait_identical",
    "write_truncated_copy",
]
