"""The alert drill: rules over scraped /metrics fire on an injected fault and resolve after."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tasks.readiness import drill_alerting, judge_readiness
from tests.integration.conftest import drill_target_config
from vigil.readiness.config import (
    AlertDrillConfig,
    DeployDrillConfig,
    ReadinessSuiteConfig,
    RestoreDrillConfig,
    SecurityDrillConfig,
)
from vigil.results import Status

pytestmark = pytest.mark.integration


def alert_only(**alerts) -> ReadinessSuiteConfig:
    return ReadinessSuiteConfig(
        deploy=DeployDrillConfig(enabled=False),
        restore=RestoreDrillConfig(enabled=False),
        security=SecurityDrillConfig(enabled=False),
        alerts=AlertDrillConfig(**alerts),
    )


def judged(run, settings) -> tuple[dict, object]:
    seen = drill_alerting.fn(run, settings)
    checks, _ = judge_readiness.fn(run.endpoint, [], [], None, None, seen, settings)
    return {c.name: c for c in checks}, seen


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that keeps every JSON body posted to it."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args) -> None:
        return None


def test_the_reference_fires_the_error_alert_and_resolves_it_with_a_webhook(start_target, make_run):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received.clear()
    try:
        target = start_target()
        url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
        checks, seen = judged(make_run(target), alert_only(webhook_url=url))
    finally:
        server.shutdown()
        server.server_close()

    for name in (
        "alert_quiet_in_steady_state",
        "alert_fires_within_bound",
        "alert_resolves_after_recovery",
        "alert_webhook_delivered",
    ):
        assert checks[name].status is Status.PASSED, checks[name].message
    assert seen.fired_at < seen.resolved_at
    states = [a["status"] for body in Receiver.received for a in body["alerts"]]
    assert states == ["firing", "resolved"]
    assert Receiver.received[0]["alerts"][0]["labels"] == {
        "alertname": "PredictionErrors",
        "severity": "critical",
    }


def test_a_target_whose_metrics_miss_the_errors_never_fires(start_target, make_run):
    target = start_target(drill_target_config("no-error-metric"))
    checks, _ = judged(make_run(target), alert_only(fire_within_s=2, resolve_within_s=1))
    fired = checks["alert_fires_within_bound"]
    assert fired.status is Status.FAILED
    assert "PredictionErrors never fired in 2 s after the fault" in fired.message


def test_an_alert_that_stays_firing_after_recovery_fails(start_target, make_run):
    target = start_target(drill_target_config("stuck-errors"))
    checks, _ = judged(make_run(target), alert_only(resolve_within_s=2))
    assert checks["alert_fires_within_bound"].status is Status.PASSED
    resolved = checks["alert_resolves_after_recovery"]
    assert resolved.status is Status.FAILED
    assert "did not resolve within 2 s after the fault ended" in resolved.message
