"""Steps that start and stop the system under test."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil.config import TargetConfig
from vigil.targets import Target, open_target


@task(name="start-target", cache_policy=NO_CACHE, persist_result=False)
def start_target(config: TargetConfig, workdir: Path) -> Target:
    """Start the target (or find the running one) and wait until it is healthy.

    Args:
        config: The target's configuration.
        workdir: A folder the target may write into (its log, its data).
    """
    logger = get_run_logger()
    target = open_target(config, workdir)
    logger.info("Starting target %r (%s)", config.name, config.kind)
    try:
        endpoint = target.start()
    except BaseException:
        target.stop()
        raise
    logger.info("Target %r is healthy at %s", config.name, endpoint.base_url)
    return target


@task(name="stop-target", cache_policy=NO_CACHE, persist_result=False)
def stop_target(target: Target) -> None:
    """Stop whatever :func:`start_target` started; safe after a failed start.

    Args:
        target: The target returned by start_target.
    """
    target.stop()
    get_run_logger().info("Target %r stopped", target.config.name)
