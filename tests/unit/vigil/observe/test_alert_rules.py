"""Alert rules: the expression language and Prometheus-style pending/firing/resolved states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.errors import ConfigError
from vigil.observe.alerts import (
    AlertRule,
    Expression,
    Scrape,
    evaluate,
    load_rules,
    parse_exposition,
    value_at,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(*values: float | None, name: str = "errors_total") -> list[Scrape]:
    """One scrape a second; None is a failed scrape."""
    return [
        Scrape(at=T0 + timedelta(seconds=i), error="down")
        if v is None
        else Scrape(at=T0 + timedelta(seconds=i), samples=[(name, {"endpoint": "/p"}, v)])
        for i, v in enumerate(values)
    ]


def rule(expr: str, hold: str = "0s") -> AlertRule:
    return AlertRule.model_validate(
        {"alert": "A", "expr": expr, "for": hold, "labels": {"severity": "critical"}}
    )


def test_expressions_parse_and_bad_ones_say_what_is_accepted():
    parsed = Expression.parse('rate(errors_total{endpoint="/p"}[3s]) >= 0.5')
    assert (parsed.name, parsed.labels, parsed.rate_window_s, parsed.op, parsed.value) == (
        "errors_total", {"endpoint": "/p"}, 3.0, ">=", 0.5,
    )  # fmt: skip
    assert Expression.parse("up").op is None
    with pytest.raises(ValueError, match="is not `metric"):
        Expression.parse("rate(errors_total) > 0")
    with pytest.raises(ValueError, match="must hold a `severity`"):
        AlertRule.model_validate({"alert": "A", "expr": "up", "labels": {}})


def test_rate_handles_counter_resets():
    scrapes = series(0, 2, 4, 1)
    expression = Expression.parse("rate(errors_total[3s])")
    assert value_at(expression, scrapes, 2) == pytest.approx(2.0)
    # 0 -> 2 -> 4, then a reset to 1: an increase of 5 over 3 s.
    assert value_at(expression, scrapes, 3) == pytest.approx(5 / 3)


def test_an_alert_is_pending_then_firing_after_its_hold_then_resolved():
    events = evaluate([rule("errors_total > 0", "2s")], series(0, 1, 1, 1, 0, None))
    assert [(e.state, (e.at - T0).total_seconds()) for e in events] == [
        ("pending", 1.0),
        ("firing", 3.0),
        ("resolved", 4.0),
    ]
    # A condition that does not hold for the whole `for` never fires.
    short = evaluate([rule("errors_total > 0", "5s")], series(0, 1, 1, 0))
    assert [e.state for e in short] == ["pending"]


def test_exposition_is_parsed_with_prometheus_client():
    text = '# TYPE errors counter\nerrors_total{endpoint="/p"} 3\n'
    scrape = parse_exposition(text, T0)
    assert scrape.samples == [("errors_total", {"endpoint": "/p"}, 3.0)]


def test_a_rule_file_in_prometheus_shape_loads_and_a_bad_rule_names_its_place(tmp_path: Path):
    good = tmp_path / "rules.yaml"
    good.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up < 1\n    for: 30s\n"
        "    labels: {severity: critical}\n"
    )
    (loaded,) = load_rules(good)
    assert loaded.alert == "Down" and loaded.hold_s == 30.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: 'up <'\n")
    with pytest.raises(ConfigError, match=r"groups\[0\]\.rules\[0\]"):
        load_rules(bad)
