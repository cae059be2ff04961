"""vigil.yaml contents the tests share: short runs of the contract suites alone."""

from __future__ import annotations

from pathlib import Path

import yaml

HEAVY_SUITES = ("performance", "workflow", "readiness")
"""Suites that tests of the flow and the CLI switch off to stay short (the acceptance test
in tests/e2e runs them all)."""
HEAVY_CRITERIA = (
    "p95_latency_within_budget",
    "learning_improves_over_30_days",
    "mttr_within_budget",
    "pattern_accuracy",
    "availability",
)
"""The default criteria those suites measure, switched off with them."""


def contract_only(tmp_path: Path, **overrides: object) -> dict[str, object]:
    """A configuration of the data and integration suites, writing everything under tmp_path.

    Mappings in `overrides` are merged one level deep (``suites={"data": ...}`` keeps the
    heavy suites off); anything else replaces.
    """
    config: dict[str, object] = {
        "work_dir": str(tmp_path / "work"),
        "store": {"url": f"sqlite:///{tmp_path / 'vigil.db'}"},
        "suites": {name: {"enabled": False} for name in HEAVY_SUITES},
        "criteria": {name: {"enabled": False} for name in HEAVY_CRITERIA},
    }
    return merge_overrides(config, overrides)


def merge_overrides(config: dict[str, object], overrides: dict[str, object]) -> dict[str, object]:
    """`config` with `overrides`: mappings merged one level deep, anything else replaced."""
    merged = dict(config)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = {**current, **value}
        else:
            merged[key] = value
    return merged


def write_config(tmp_path: Path, config: dict[str, object]) -> Path:
    """Write `config` as tmp_path/vigil.yaml and return its path."""
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
