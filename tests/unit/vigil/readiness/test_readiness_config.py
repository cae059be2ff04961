"""Readiness settings: YAML shape in, a JSON round trip (Prefect parameters), clear errors."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from vigil.readiness.config import ReadinessSuiteConfig

YAML = """
probes: {interval_s: 0.05}
deploy:
  versions:
    next: {command: ["{python}", "-m", "reference", "--port", "{port}"]}
    broken: {image: "vigil-reference:broken"}
  broken_version: broken
alerts:
  rules:
    - alert: Down
      expr: reference_workers_alive < 1
      for: 5s
      labels: {severity: critical}
  alert: Down
security: {timing_samples: 500}
"""


def test_the_yaml_shape_validates_and_survives_a_json_round_trip():
    settings = ReadinessSuiteConfig.model_validate(yaml.safe_load(YAML))
    assert settings.alerts.rules[0].hold_s == 5.0
    assert settings.deploy.versions["broken"].image == "vigil-reference:broken"
    again = ReadinessSuiteConfig.model_validate(settings.model_dump(mode="json"))
    assert again == settings


def test_bad_settings_name_the_problem():
    with pytest.raises(ValidationError, match="alert 'Nope' is not one of the rules"):
        ReadinessSuiteConfig.model_validate({"alerts": {"alert": "Nope"}})
    with pytest.raises(ValidationError, match="give the version a `command`"):
        ReadinessSuiteConfig.model_validate({"deploy": {"versions": {"v2": {}}}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ReadinessSuiteConfig.model_validate({"restore": {"destroy": "everything"}})
    with pytest.raises(ValidationError, match="duration '5 minutes'"):
        ReadinessSuiteConfig.model_validate(
            {"alerts": {"rules": [{"alert": "A", "expr": "up", "for": "5 minutes",
                                   "labels": {"severity": "warning"}}], "alert": "A"}}
        )  # fmt: skip
