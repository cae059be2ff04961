"""The JSON Schema of ``report.json``, generated from :class:`~vigil.report.model.RunReport`.

The committed ``report.schema.json`` beside this module is what consumers read; a test fails
when it differs from the model. Regenerate it with ``python -m vigil.report.schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vigil.report.model import RunReport

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
SCHEMA_ID = "https://vigil.invalid/report.schema.json"
"""A stable identifier, not a location: the schema ships in the repository and the package."""


def report_schema() -> dict[str, Any]:
    """The schema of report.json as the model serialises it (computed fields included)."""
    schema = RunReport.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, one final newline."""
    return json.dumps(report_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write report.schema.json from the model."""
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
