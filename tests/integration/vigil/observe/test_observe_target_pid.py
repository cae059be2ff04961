"""The endpoint of an http target names the service's pid when a process selector finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.reference.conftest import start_service, stop_service
from vigil.config import HttpTargetConfig, ProcessSelector
from vigil.targets import open_target

pytestmark = pytest.mark.integration


def test_http_target_endpoint_carries_the_selected_pid(tmp_path: Path) -> None:
    data_dir = tmp_path / "reference-for-pid"
    service = start_service(data_dir)
    try:
        found = HttpTargetConfig(
            name="running",
            base_url=service.base_url,
            process=ProcessSelector(cmdline_pattern=re.escape(str(data_dir))),
        )
        with open_target(found, tmp_path) as target:
            assert target.endpoint.pid == service.process.pid

        missing = found.model_copy(
            update={
                "process": ProcessSelector(cmdline_pattern="no-such-process-anywhere-[0-9]{40}")
            }
        )
        with open_target(missing, tmp_path) as target:
            assert target.endpoint.pid is None

        plain = found.model_copy(update={"process": None})
        with open_target(plain, tmp_path) as target:
            assert target.endpoint.pid is None
    finally:
        stop_service(service)
