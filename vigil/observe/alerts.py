"""Alert rules evaluated by vigil over the target's scraped ``/metrics``, and the alert drill.

Rules take the Prometheus rule shape (``alert``, ``expr``, ``for``, ``labels.severity``)
with a deliberately small expression language::

    reference_errors_total > 0
    reference_workers_alive{} < 1
    rate(reference_errors_total{endpoint="/predict"}[3s]) > 0

— a sample name with optional exact label matchers, optionally inside ``rate(...[Ns])``,
optionally compared with a number (no comparison: fires while the value is non-zero).
Matching series are summed. Evaluation follows Prometheus: a rule whose condition holds
is *pending*, *firing* once it has held for ``for``, and *resolved* when it stops holding.
A scrape that fails holds no value, so no rule holds on it.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigil.config_base import StrictModel
from vigil.errors import ConfigError
from vigil.observe.probes import PROBE_FEATURES

if TYPE_CHECKING:  # the configuration imports AlertRule from here: keep it light
    import httpx

_EXPR = re.compile(
    r"^\s*(?:(?P<fn>rate)\(\s*)?(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)\s*"
    r"(?:\{(?P<labels>[^}]*)\})?\s*(?:\[(?P<window>\d+(?:\.\d+)?)s\]\s*\))?\s*"
    r"(?:(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>-?\d+(?:\.\d+)?(?:e-?\d+)?))?\s*$"
)
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*')
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def parse_duration(text: str | float) -> float:
    """Seconds of a Prometheus duration such as ``30s``, ``2m`` or ``500ms``."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"duration {text!r} is not like 30s, 2m, 500ms or 1h")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


class Expression(BaseModel):
    """A parsed rule expression."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    rate_window_s: float | None = None
    op: str | None = None
    value: float | None = None

    @classmethod
    def parse(cls, text: str) -> Expression:
        """Parse `text`, raising ValueError that says what is accepted."""
        match = _EXPR.match(text)
        if not match or (match.group("fn") is None) != (match.group("window") is None):
            raise ValueError(
                f'expr {text!r} is not `metric{{label="v"}} > 1` or '
                "`rate(metric[30s]) > 0` (a sample name, optional labels and comparison)"
            )
        labels = {}
        for part in filter(str.strip, (match.group("labels") or "").split(",")):
            pair = _LABEL.fullmatch(part)
            if not pair:
                raise ValueError(f'label matcher {part!r} in {text!r} is not name="value"')
            labels[pair.group(1)] = pair.group(2)
        window = match.group("window")
        return cls(
            name=match.group("name"),
            labels=labels,
            rate_window_s=float(window) if window else None,
            op=match.group("op"),
            value=float(match.group("value")) if match.group("value") else None,
        )


class AlertRule(StrictModel):
    """One alert rule, in the Prometheus rule shape."""

    alert: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1, max_length=500, description="See the module docstring.")
    for_: str = Field(
        default="0s", alias="for", description="How long the condition must hold to fire."
    )
    labels: dict[str, str] = Field(
        default_factory=lambda: {"severity": "warning"}, description="Must hold `severity`."
    )
    annotations: dict[str, str] = Field(default_factory=dict, description="Free text.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("expr")
    @classmethod
    def _parses(cls, value: str) -> str:
        Expression.parse(value)
        return value

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("labels")
    @classmethod
    def _severity(cls, value: dict[str, str]) -> dict[str, str]:
        if "severity" not in value:
            raise ValueError("labels must hold a `severity` (e.g. warning, critical)")
        return value

    @property
    def expression(self) -> Expression:
        """The parsed expression."""
        return Expression.parse(self.expr)

    @property
    def hold_s(self) -> float:
        """The ``for`` duration in seconds."""
        return parse_duration(self.for_)


def load_rules(path: Path) -> list[AlertRule]:
    """Rules from a Prometheus rule file (``groups: [{name, rules: [...]}]``).

    Raises:
        ConfigError: the file is missing, not YAML, or a rule is invalid.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"alert rules {path}: {exc}") from exc
    rules = []
    for g, group in enumerate(document.get("groups", [])):
        for r, rule in enumerate(group.get("rules", [])):
            try:
                rules.append(AlertRule.model_validate(rule))
            except ValueError as exc:
                raise ConfigError(f"alert rules {path}: groups[{g}].rules[{r}]: {exc}") from exc
    return rules


class Scrape(BaseModel):
    """One scrape of ``/metrics``: when, and every sample's value by (name, labels)."""

    at: datetime
    samples: list[tuple[str, dict[str, str], float]] = Field(default_factory=list)
    error: str | None = None


def parse_exposition(text: str, at: datetime) -> Scrape:
    """Parse Prometheus text with ``prometheus_client.parser``."""
    from prometheus_client.parser import text_string_to_metric_families

    scrape = Scrape(at=at)
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                scrape.samples.append((sample.name, dict(sample.labels), float(sample.value)))
    except ValueError as exc:
        scrape.error = f"unparsable exposition: {exc}"[:300]
    return scrape


def scrape(http: httpx.Client) -> Scrape:
    """Scrape ``GET /metrics`` once (the client carries the timeout)."""
    import httpx  # here: this module is imported whenever the configuration loads

    at = datetime.now(UTC)
    try:
        answer = http.get("/metrics")
    except httpx.HTTPError as exc:
        return Scrape(at=at, error=f"{type(exc).__name__}: {exc}"[:300])
    if answer.status_code != 200:
        return Scrape(at=at, error=f"GET /metrics answered {answer.status_code}")
    return parse_exposition(answer.text, at)


def _value(expression: Expression, scrape: Scrape) -> float | None:
    if scrape.error:
        return None
    return sum(
        value
        for name, labels, value in scrape.samples
        if name == expression.name and all(labels.get(k) == v for k, v in expression.labels.items())
    )


def value_at(expression: Expression, scrapes: Sequence[Scrape], index: int) -> float | None:
    """The expression's value at scrape `index` (a per-second rate for ``rate(...)``).

    Args:
        expression: The parsed expression.
        scrapes: The scrapes, oldest first.
        index: Which scrape to evaluate at.
    """
    now = _value(expression, scrapes[index])
    if now is None or expression.rate_window_s is None:
        return now
    start = scrapes[index].at.timestamp() - expression.rate_window_s
    earlier = [
        i for i in range(index) if scrapes[i].at.timestamp() >= start and not scrapes[i].error
    ]
    if not earlier:
        return None
    first = earlier[0]
    increase = 0.0
    previous = _value(expression, scrapes[first]) or 0.0
    for i in [*earlier[1:], index]:
        current = _value(expression, scrapes[i])
        if current is None:
            continue
        # A counter that went down was reset (a restarted process): count from zero.
        increase += current - previous if current >= previous else current
        previous = current
    elapsed = scrapes[index].at.timestamp() - scrapes[first].at.timestamp()
    return increase / elapsed if elapsed > 0 else None


def holds(expression: Expression, value: float | None) -> bool:
    """Whether the condition holds for `value` (no value never holds)."""
    if value is None:
        return False
    if expression.op is None:
        return value != 0
    return _OPS[expression.op](value, expression.value)


class AlertEvent(BaseModel):
    """An alert changing state."""

    alert: str
    state: str = Field(description="pending, firing or resolved.")
    at: datetime
    value: float | None = None
    severity: str = ""


def evaluate(rules: Sequence[AlertRule], scrapes: Sequence[Scrape]) -> list[AlertEvent]:
    """Every state change of every rule over the scrapes, in time order.

    Args:
        rules: The alert rules.
        scrapes: The scrapes so far, oldest first.
    """
    events: list[AlertEvent] = []
    for rule in rules:
        expression = rule.expression
        pending_since: datetime | None = None
        firing = False
        for index, current in enumerate(scrapes):
            value = value_at(expression, scrapes, index)
            severity = rule.labels.get("severity", "")
            if holds(expression, value):
                if pending_since is None:
                    pending_since = current.at
                    events.append(
                        AlertEvent(alert=rule.alert, state="pending", at=current.at, value=value,
                                   severity=severity)
                    )  # fmt: skip
                held = (current.at - pending_since).total_seconds()
                if not firing and held >= rule.hold_s:
                    firing = True
                    events.append(
                        AlertEvent(alert=rule.alert, state="firing", at=current.at, value=value,
                                   severity=severity)
                    )  # fmt: skip
            else:
                if firing:
                    events.append(
                        AlertEvent(alert=rule.alert, state="resolved", at=current.at, value=value,
                                   severity=severity)
                    )  # fmt: skip
                pending_since, firing = None, False
    return sorted(events, key=lambda e: e.at)


def post_webhook(url: str, events: Sequence[AlertEvent], timeout_s: float) -> int | None:
    """POST firing and resolved alerts in the Alertmanager webhook shape; the answer's status.

    Args:
        url: The receiver's URL.
        events: The events to deliver (pending ones are not sent).
        timeout_s: Timeout of the request.
    """
    import httpx  # here: this module is imported whenever the configuration loads

    alerts = [
        {
            "status": "firing" if e.state == "firing" else "resolved",
            "labels": {"alertname": e.alert, "severity": e.severity},
            "startsAt" if e.state == "firing" else "endsAt": e.at.isoformat(),
            "annotations": {"value": "" if e.value is None else f"{e.value:g}"},
        }
        for e in events
        if e.state in ("firing", "resolved")
    ]
    if not alerts:
        return None
    body = {"version": "4", "status": alerts[-1]["status"], "receiver": "vigil", "alerts": alerts}
    try:
        answer = httpx.post(
            url,
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=timeout_s,
        )
    except httpx.HTTPError:
        return None
    return answer.status_code


class AlertDrillObservation(BaseModel):
    """The alert drill as it happened."""

    alert: str
    scrapes: int = 0
    failed_scrapes: int = 0
    steady_firing: list[str] = Field(default_factory=list, description="Alerts firing before.")
    injected_at: datetime | None = None
    fault_ends_at: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    events: list[AlertEvent] = Field(default_factory=list)
    webhook_statuses: list[int | None] = Field(default_factory=list)
    error: str | None = None


def run_alert_drill(
    http: httpx.Client,
    admin_headers: dict[str, str],
    rules: Sequence[AlertRule],
    alert: str,
    *,
    fault: dict[str, Any],
    fault_path: str,
    scrape_interval_s: float,
    fire_within_s: float,
    resolve_within_s: float,
    webhook_url: str | None,
    webhook_timeout_s: float,
    requests_per_scrape: int = 3,
) -> AlertDrillObservation:
    """Scrape in steady state, inject the fault, scrape until `alert` fires and resolves.

    Args:
        http: A client of the target (with its timeout).
        admin_headers: The admin authorisation header.
        rules: Every rule; all are evaluated, `alert` is the one the fault must fire.
        alert: Name of the rule the fault must fire.
        fault: Body of the fault request (its ``seconds`` is how long the fault lasts).
        fault_path: The target's fault hook.
        scrape_interval_s: Time between scrapes.
        fire_within_s: Bound after the injection for the alert to fire.
        resolve_within_s: Bound after the fault ends for the alert to resolve.
        webhook_url: Where firing and resolved alerts are posted, if anywhere.
        webhook_timeout_s: Timeout of each webhook post.
        requests_per_scrape: Predictions sent between two scrapes, so that the fault shows
            in the metrics whether or not anything else is calling the target.
    """
    import httpx  # here: this module is imported whenever the configuration loads

    seen = AlertDrillObservation(alert=alert)
    scrapes: list[Scrape] = []

    def take() -> list[AlertEvent]:
        for _ in range(requests_per_scrape):
            with contextlib.suppress(httpx.HTTPError):
                http.post("/predict", json={"features": PROBE_FEATURES})
        scrapes.append(scrape(http))
        seen.scrapes = len(scrapes)
        seen.failed_scrapes += scrapes[-1].error is not None
        return evaluate(rules, scrapes)

    for _ in range(4):
        take()
        time.sleep(scrape_interval_s)
    seen.steady_firing = sorted({e.alert for e in evaluate(rules, scrapes) if e.state == "firing"})
    answer = http.post(fault_path, json=fault, headers=admin_headers)
    if answer.status_code != 200:
        seen.error = f"the fault hook {fault_path} answered {answer.status_code}"
        return seen
    seen.injected_at = datetime.now(UTC)
    fault_s = float(fault.get("seconds", 0))
    deadline = time.monotonic() + fault_s + fire_within_s + resolve_within_s
    sent: set[tuple[str, datetime]] = set()
    while time.monotonic() < deadline:
        events = [e for e in take() if e.alert == alert and e.at >= seen.injected_at]
        fresh = [e for e in events if (e.state, e.at) not in sent and e.state != "pending"]
        if webhook_url and fresh:
            seen.webhook_statuses.append(post_webhook(webhook_url, fresh, webhook_timeout_s))
        sent.update((e.state, e.at) for e in fresh)
        fired = next((e for e in events if e.state == "firing"), None)
        if fired is not None:
            seen.fired_at = fired.at
            resolved = next((e for e in events if e.state == "resolved" and e.at > fired.at), None)
            if resolved is not None:
                seen.resolved_at = resolved.at
                break
        time.sleep(scrape_interval_s)
    seen.fault_ends_at = datetime.fromtimestamp(seen.injected_at.timestamp() + fault_s, UTC)
    seen.events = evaluate(rules, scrapes)
    return seen
