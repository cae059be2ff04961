"""Every flow test runs on the session's Prefect harness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _on_prefect(prefect_harness: None) -> Iterator[None]:
    yield
