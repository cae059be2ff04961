"""A soak started without an id is named after its flow run, so a retry of the run resumes it."""

from __future__ import annotations

import re

import pytest
from prefect import flow
from prefect.context import FlowRunContext

from flows.soak_run import default_soak_id

pytestmark = pytest.mark.integration


def test_a_retried_flow_run_gets_the_same_soak_id_and_another_run_a_new_one(prefect_harness):
    seen: list[tuple[str, str]] = []

    @flow(retries=1, retry_delay_seconds=0)
    def first_attempt_dies() -> None:
        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        seen.append((default_soak_id(), str(context.flow_run.id)))
        if len(seen) == 1:
            raise RuntimeError("the worker died in cycle 2")

    first_attempt_dies()
    first_attempt_dies()

    (retried, run_a), (resumed, run_a_again), (other, run_b) = seen
    assert run_a == run_a_again != run_b, "the retry is the same flow run, the call a new one"
    assert retried == resumed, "the retry resumes the soak it started"
    assert other != retried
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}", retried)
    assert retried.endswith(run_a.replace("-", "")[:6])


def test_outside_a_flow_run_each_soak_gets_a_fresh_id():
    assert default_soak_id() != default_soak_id()
