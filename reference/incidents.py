"""The incident log: what the supervisor detected, what it did and when it recovered.

The supervisor is the only writer. Each change of an incident appends its whole
current state as one fsynced JSON line, so the log survives crashes and stays
readable while the database is down; readers fold the lines by id.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

INCIDENT_KINDS = (
    "worker_crash",
    "worker_hang",
    "memory_growth",
    "error_rate_spike",
    "model_regression",
    "database_unavailable",
)
INCIDENT_ACTIONS = (
    "restart_worker",
    "recycle_worker",
    "rollback_model",
    "degraded_mode",
    "replay_buffer",
)


def now_iso() -> str:
    """Wall-clock UTC now, millisecond precision, ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class IncidentLog:
    """Append-only JSON-lines file of incident states."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def open_incident(self, kind: str, action: str, evidence: dict[str, Any]) -> dict[str, Any]:
        """Record a newly detected incident and return it."""
        if kind not in INCIDENT_KINDS or action not in INCIDENT_ACTIONS:
            raise ValueError(f"unknown incident kind/action {kind!r}/{action!r}")
        incident = {
            "id": uuid.uuid4().hex,
            "kind": kind,
            "detected_at": now_iso(),
            "recovered_at": None,
            "action": action,
            "evidence": evidence,
        }
        self._append(incident)
        return incident

    def close_incident(self, incident: dict[str, Any], **evidence: Any) -> dict[str, Any]:
        """Mark an incident recovered now, adding evidence about the recovery."""
        incident = {
            **incident,
            "recovered_at": now_iso(),
            "evidence": {**incident["evidence"], **evidence},
        }
        self._append(incident)
        return incident

    def _append(self, incident: dict[str, Any]) -> None:
        line = (json.dumps(incident) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Current state of every incident detected at or after `since`, oldest first."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        latest: dict[str, dict[str, Any]] = {}
        for line in text.splitlines():
            try:
                incident = json.loads(line)
            except json.JSONDecodeError:
                continue
            latest[incident["id"]] = incident
        incidents = sorted(latest.values(), key=lambda i: i["detected_at"])
        if since is not None:
            incidents = [i for i in incidents if parse_iso(i["detected_at"]) >= since]
        return incidents
