"""Validated settings of the reference service, built once from the command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

MAX_WORKERS = 16
"""Upper bound on worker processes; shared-memory slots are allocated for this many."""


class ServiceSettings(BaseModel):
    """Everything the supervisor and its workers need to run the service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address the listening socket binds to.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    data_dir: Path = Field(
        Path(".reference"),
        description="Directory for the SQLite database, feedback buffers and the incident log.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (e.g. postgresql+psycopg://...); default SQLite in data_dir.",
    )
    workers: int = Field(1, ge=1, le=MAX_WORKERS, description="Worker processes serving HTTP.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="Log level of the supervisor and workers (stderr)."
    )
    admin_token: str | None = Field(
        None, repr=False, description="Bearer token for /admin/*; None disables admin."
    )
    check_interval_s: float = Field(
        0.5, ge=0.05, le=30, description="How often the supervisor checks its workers."
    )
    hang_timeout_s: float = Field(
        3.0, ge=0.2, le=300, description="A worker whose heartbeat is older than this is hung."
    )
    max_worker_rss_mb: float = Field(
        1024, ge=50, le=65536, description="A worker using more resident memory is recycled."
    )
    error_rate_threshold: float = Field(
        0.5, gt=0, le=1, description="Fraction of 5xx responses in the window that is a spike."
    )
    error_rate_window_s: float = Field(
        5.0, ge=0.5, le=600, description="Window over which the 5xx fraction is measured."
    )
    error_rate_min_requests: int = Field(
        20, ge=1, le=1_000_000, description="Fewer requests in the window never count as a spike."
    )
    regression_window: int = Field(
        50, ge=5, le=100_000, description="Labelled predictions compared before/after a deploy."
    )
    regression_margin: float = Field(
        0.2, gt=0, le=1, description="Accuracy drop after a deploy that triggers a rollback."
    )
    db_probe_timeout_s: float = Field(
        1.0, ge=0.05, le=30, description="A database probe slower than this counts as a failure."
    )
    checkpoint_every: int = Field(
        200, ge=1, le=1_000_000, description="Feedback applied between model checkpoints."
    )
    cache_size: int = Field(
        100_000, ge=0, le=10_000_000, description="Recent predictions kept in memory per worker."
    )
    learning_rate: float = Field(
        0.05, gt=0, le=10, description="SGD learning rate of the initial model."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=64 * 1_048_576, description="Larger request bodies get 413."
    )
    pattern_timeout_s: float = Field(
        20.0, ge=0.1, le=600, description="Time bound of one /patterns/analyze call."
    )
    # Switches that break one capability on purpose, so that a validator can be shown
    # to judge a service that never learns, never heals or finds no patterns as failed.
    learning_enabled: bool = Field(
        True, description="false freezes the model: feedback is stored and scored, never learned."
    )
    self_healing_enabled: bool = Field(
        True, description="false: the supervisor never restarts, recycles or rolls back anything."
    )
    patterns_mode: Literal["analyze", "none", "random"] = Field(
        "analyze", description="none: /patterns/analyze finds nothing; random: random windows."
    )
    ssl_certfile: Path | None = Field(
        None, description="PEM certificate (chain) to serve HTTPS with; needs --ssl-keyfile."
    )
    ssl_keyfile: Path | None = Field(
        None,
        validate_default=True,
        description="PEM private key of --ssl-certfile; with both, plain HTTP is not served.",
    )

    @field_validator("ssl_certfile", "ssl_keyfile")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"{path} is not a readable file")
        return path

    @field_validator("ssl_keyfile")
    @classmethod
    def _tls_pair(cls, key: Path | None, info: ValidationInfo) -> Path | None:
        # Fields validate in order, so the certificate's outcome is known here.
        if "ssl_certfile" in info.data and (info.data["ssl_certfile"] is None) != (key is None):
            raise ValueError("give both --ssl-certfile and --ssl-keyfile, or neither")
        return key

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file inside data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reference.db').resolve()}"


def configure_logging(level: str) -> None:
    """Log to stderr with the process id, so supervisor and worker lines are told apart."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    )
