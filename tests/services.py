"""How tests ask for a system service (PostgreSQL, a Docker engine).

Locally a missing service skips the test with a reason; with
``VIGIL_REQUIRE_SERVICES=1`` (set by ``.ci/run``) it fails, so CI can never go
green by skipping.
"""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    """Whether a missing service must fail the test instead of skipping it."""
    return os.environ.get("VIGIL_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def require_service(name: str, reason: str) -> None:
    """Skip (or, under VIGIL_REQUIRE_SERVICES=1, fail) because `name` is missing."""
    message = f"{name} is not available: {reason}"
    if services_required():
        pytest.fail(f"{message} (VIGIL_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)
