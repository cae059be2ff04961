"""What the readiness drills observed: plain models the judgements and the store read.

The drills (:mod:`vigil.observe.drills`, :mod:`vigil.observe.security`) fill these in;
:mod:`vigil.readiness.judgements` turns them into checks and measures without I/O.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class GateScore(BaseModel):
    """The gate set scored once: which version answered and how well."""

    versions: list[str] = Field(default_factory=list, description="Distinct versions seen.")
    scores: list[float | None] = Field(default_factory=list, description="Per gate row.")
    accuracy: float | None = None
    errors: list[str] = Field(default_factory=list)


class GateResult(BaseModel):
    """The health gate's verdict on one deploy."""

    passed: bool
    reason: str
    version: str | None = Field(default=None, description="The version the gate waited for.")
    accuracy: float | None = None
    baseline_accuracy: float | None = None
    passed_at: datetime | None = None


class DeployAttempt(BaseModel):
    """One deploy, its gate and (when the gate failed) the automatic rollback."""

    kind: str = Field(description="`model` (through the admin API) or `version` (the target).")
    broken: bool = Field(description="Deliberately broken: the gate must fail it.")
    previous: str | None = Field(default=None, description="What served before the deploy.")
    version: str | None = Field(default=None, description="What was deployed.")
    started_at: datetime
    finished_at: datetime | None = None
    gate: GateResult | None = None
    rolled_back: bool = False
    rollback_started_at: datetime | None = None
    rollback_verified_at: datetime | None = None
    serving_after: str | None = Field(default=None, description="What serves once it is over.")
    old_answers_identical: bool | None = Field(
        default=None, description="After a rollback: the gate set scores as before the deploy."
    )
    error: str | None = None


class Fingerprint(BaseModel):
    """What the target's data looks like through its public API, to compare two moments."""

    taken_at: datetime
    model_version: str | None = None
    evaluation_count: int | None = None
    evaluation_accuracy: float | None = None
    evaluation_log_loss: float | None = None
    scores: list[float | None] = Field(default_factory=list)
    error: str | None = None


class RestoreObservation(BaseModel):
    """The backup, destruction, restore and corrupted-backup steps as they happened."""

    backup_id: str | None = None
    backup_created_at: datetime | None = None
    backup_bytes: int | None = None
    backup_sha256_claimed: str | None = Field(default=None, description="What the target said.")
    backup_sha256_measured: str | None = Field(default=None, description="What vigil computed.")
    backup_tables: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    before: Fingerprint | None = Field(default=None, description="At the backup.")
    writes_after_backup: int = 0
    at_destruction: Fingerprint | None = None
    destroyed_at: datetime | None = None
    target_back_at: datetime | None = Field(default=None, description="Healthy again, empty.")
    after_destruction: Fingerprint | None = Field(
        default=None, description="What the target held once back, before the restore."
    )
    restore_started_at: datetime | None = None
    restored_at: datetime | None = Field(default=None, description="Answers verified identical.")
    after: Fingerprint | None = None
    restored_tables: dict[str, dict[str, int | str]] = Field(
        default_factory=dict, description="Row counts and digests of a backup taken after."
    )
    corrupt_status: int | None = Field(
        default=None, description="HTTP status of restoring a truncated copy."
    )
    corrupt_detail: str | None = None
    after_corrupt: Fingerprint | None = None
    error: str | None = None


class Exchange(BaseModel):
    """One request the security drill sent and what came back."""

    label: str
    method: str
    path: str
    status: int | None = None
    body: str = Field(default="", description="The answer's body (first 4000 characters).")
    headers: str = ""
    error: str | None = None


class TimingSample(BaseModel):
    """Latencies (ms) of admin calls with two kinds of wrong token."""

    right_prefix_ms: list[float] = Field(default_factory=list)
    wrong_first_byte_ms: list[float] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)


class TlsObservation(BaseModel):
    """What a TLS handshake with the target, and a plaintext request to it, showed."""

    verified: bool = False
    error: str | None = Field(default=None, description="Why verification failed.")
    protocol: str | None = None
    not_after: str | None = None
    plaintext_status: int | None = Field(
        default=None, description="HTTP status a plaintext request got on the TLS port."
    )
    plaintext_detail: str = ""


class SecurityObservation(BaseModel):
    """Everything the security drill sent and read."""

    started_at: datetime
    finished_at: datetime | None = None
    admin_token_configured: bool = True
    refusals: list[Exchange] = Field(default_factory=list)
    timing: TimingSample | None = None
    bad_input: list[Exchange] = Field(default_factory=list)
    generated: list[Exchange] = Field(default_factory=list)
    healthy_after: bool | None = None
    tls: TlsObservation | None = Field(default=None, description="None: served over plain HTTP.")
    leaks: list[str] = Field(default_factory=list, description="Where a secret was found.")
    scanned: list[str] = Field(default_factory=list, description="What the secret scan read.")
    error: str | None = None
