"""Settings of the readiness suite (``suites.readiness`` in vigil.yaml).

The defaults are the development profile's values: every drill on, sized to finish in
about 30 seconds against the reference service on a two-core machine.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from vigil.config_base import StrictModel, SuiteSettings
from vigil.observe.alerts import AlertRule
from vigil.observe.probes import ProbeConfig


class TargetVersionConfig(StrictModel):
    """One deployable version of the target: a command (process) or an image (docker)."""

    command: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Command of this version; may use {python}, {port} and {workdir}. "
        "Required for a process target; for docker it overrides the image's.",
    )
    image: str | None = Field(
        default=None, min_length=1, description="Docker image of this version (local tag)."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment of this version (no secrets)."
    )

    @model_validator(mode="after")
    def _command_or_image(self) -> TargetVersionConfig:
        if self.command is None and self.image is None:
            raise ValueError("give the version a `command` (process) or an `image` (docker)")
        return self


class DeployDrillConfig(StrictModel):
    """Model deploys behind a health gate, a broken deploy rolled back, target versions."""

    enabled: bool = Field(default=True, description="Run the deploy drill.")
    warmup_labels: int = Field(
        default=120,
        ge=0,
        le=100_000,
        description="Labelled rows the model learns first, so the gate can tell a broken model.",
    )
    gate_rows: int = Field(
        default=60, ge=5, le=10_000, description="Fixed labelled rows the health gate scores."
    )
    gate_max_accuracy_drop: float = Field(
        default=0.15,
        gt=0,
        le=1,
        description="A new version whose gate accuracy falls more than this below the old fails.",
    )
    gate_timeout_s: float = Field(
        default=15.0, gt=0, le=600, description="How long a new version has to pass the gate."
    )
    hold_after_gate_s: float = Field(
        default=1.0,
        ge=0,
        le=600,
        description="The deploy is watched this long after its gate passed (probes count).",
    )
    versions: dict[str, TargetVersionConfig] = Field(
        default_factory=dict,
        description="Process-target versions by name, deployed in order by a rolling restart.",
    )
    broken_version: str | None = Field(
        default=None,
        description="Name of a version in `versions` that must fail the gate and be rolled back.",
    )

    @model_validator(mode="after")
    def _broken_version_is_listed(self) -> DeployDrillConfig:
        if self.broken_version is not None and self.broken_version not in self.versions:
            known = ", ".join(self.versions) or "none"
            raise ValueError(
                f"broken_version {self.broken_version!r} is not one of the versions ({known})"
            )
        return self


class RestoreDrillConfig(StrictModel):
    """Back up, destroy the data, restore, verify; and a corrupted backup refused."""

    enabled: bool = Field(default=True, description="Run the backup and restore drill.")
    writes_after_backup: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description="Labels sent after the backup: the work a disaster then loses (RPO).",
    )
    keep_in_workdir: list[str] = Field(
        default_factory=lambda: ["target.log*", "guard.log"],
        description="Names or glob patterns of the target's workdir entries the destruction "
        "spares (its logs, rotated ones included).",
    )
    restore_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="Bound on restore until identical answers."
    )
    score_tolerance: float = Field(
        default=1e-9, ge=0, le=0.1, description="Largest score difference still 'identical'."
    )


class SecurityDrillConfig(StrictModel):
    """Admin tokens, a timing check, bad input, generated requests, secrets in the output."""

    enabled: bool = Field(default=True, description="Run the security drill.")
    timing_samples: int = Field(
        default=100, ge=20, le=100_000, description="Requests per token variant in the timing test."
    )
    timing_alpha: float = Field(
        default=0.001,
        gt=0,
        lt=0.5,
        description="Mann-Whitney U p-value below which the two timings count as different.",
    )
    timing_min_effect_ms: float = Field(
        default=0.2,
        ge=0,
        le=1000,
        description="Median difference below which a significant timing gap is ignored as noise.",
    )
    fuzz_paths: list[str] = Field(
        default_factory=lambda: ["/predict", "/feedback", "/evaluation", "/incidents"],
        description="Paths from /openapi.json that get property-based requests.",
    )
    fuzz_examples: int = Field(
        default=15, ge=1, le=10_000, description="Generated requests per fuzzed path."
    )
    tls_ca_file: Path | None = Field(
        default=None,
        description="CA bundle that must verify an https target; default the system's "
        "(and SSL_CERT_FILE).",
    )
    secret_env: list[str] = Field(
        default_factory=lambda: ["VIGIL_DATABASE_URL", "REFERENCE_DATABASE_URL"],
        description="Environment variables whose values (or URL passwords) must never leak.",
    )


def _default_rules() -> list[AlertRule]:
    return [
        AlertRule.model_validate(
            {
                "alert": "PredictionErrors",
                "expr": 'rate(reference_errors_total{endpoint="/predict"}[2s]) > 0',
                "for": "0s",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "/predict answers 5xx"},
            }
        )
    ]


class AlertDrillConfig(StrictModel):
    """Scrape /metrics, evaluate alert rules, inject a fault: the right alert fires, resolves."""

    enabled: bool = Field(default=True, description="Run the monitoring and alerting drill.")
    rules: list[AlertRule] = Field(
        default_factory=_default_rules, description="Alert rules (Prometheus rule shape)."
    )
    rules_file: Path | None = Field(
        default=None, description="A Prometheus rule file whose rules are added to `rules`."
    )
    alert: str = Field(
        default="PredictionErrors", min_length=1, description="The rule the fault must fire."
    )
    fault_path: str = Field(
        default="/admin/faults/errors", pattern=r"^/", description="The target's fault hook."
    )
    fault_rate: float = Field(default=1.0, gt=0, le=1, description="Share of requests failed.")
    fault_seconds: float = Field(default=2.0, gt=0, le=600, description="How long it lasts.")
    scrape_interval_s: float = Field(
        default=0.5, ge=0.05, le=60, description="Time between two scrapes of /metrics."
    )
    fire_within_s: float = Field(
        default=5.0, gt=0, le=3600, description="Bound after the injection for the alert to fire."
    )
    resolve_within_s: float = Field(
        default=10.0, gt=0, le=3600, description="Bound after the fault ends for it to resolve."
    )
    webhook_url: str | None = Field(
        default=None, pattern=r"^https?://", description="Receiver of firing and resolved alerts."
    )
    requests_per_scrape: int = Field(
        default=3, ge=0, le=1000, description="Predictions the drill sends between two scrapes."
    )

    @model_validator(mode="after")
    def _alert_is_a_rule(self) -> AlertDrillConfig:
        if self.rules_file is None and self.alert not in {r.alert for r in self.rules}:
            known = ", ".join(r.alert for r in self.rules) or "none"
            raise ValueError(f"alert {self.alert!r} is not one of the rules ({known})")
        return self


class ReadinessSuiteConfig(SuiteSettings):
    """The readiness suite: production drills judged by a probe stream that runs throughout."""

    probes: ProbeConfig = Field(
        # A probe counts as answered when it is answered within the latency budget users are
        # promised (p95 under 2 s), so the timeout is that budget, not a tighter one.
        default_factory=lambda: ProbeConfig(interval_s=0.1, timeout_s=2.0, max_duration_s=900),
        description="The probe stream that runs for the whole suite (availability).",
    )
    probe_series_max_points: int = Field(
        default=1800,
        ge=10,
        le=1_000_000,
        description="Seconds of per-second probe counts kept in the store at most.",
    )
    deploy: DeployDrillConfig = Field(default_factory=DeployDrillConfig)
    restore: RestoreDrillConfig = Field(default_factory=RestoreDrillConfig)
    security: SecurityDrillConfig = Field(default_factory=SecurityDrillConfig)
    alerts: AlertDrillConfig = Field(default_factory=AlertDrillConfig)
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Timeout of each control request the drills send."
    )
