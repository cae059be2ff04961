"""A flow that does almost nothing, for the schedule test: the scheduler is what is tested."""

from __future__ import annotations

import os

from prefect import flow, get_run_logger


@flow(name="heartbeat")
def heartbeat() -> str:
    """Log and return the working directory the deployment's pull step chose."""
    cwd = os.getcwd()
    get_run_logger().info("heartbeat in %s", cwd)
    return cwd
