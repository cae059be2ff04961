"""Validate a written report.json against the committed schema (shared by the test modules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from vigil.report.schema import SCHEMA_PATH


def validate_report_json(path: Path) -> dict[str, Any]:
    """Validate `path` against vigil/report/report.schema.json; return its content."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    report = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    return report
