"""Steps that start and stop the system under test."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from vigil.config import TargetConfig
from vigil.errors import StoreError
from vigil.retention import prune_target_dirs
from vigil.run import RunRef
from vigil.store import open_store
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


@task(name="prune-target-folders", cache_policy=NO_CACHE, persist_result=False)
def prune_target_folders(run: RunRef, work_dir: Path, keep: int | None) -> list[str]:
    """Remove old target folders of finished runs (see :mod:`vigil.retention`).

    A failure here never stops the run: the folders are only a disk bound.

    Args:
        run: The run about to start its target (its folder is kept).
        work_dir: vigil's working folder; the target folders are in its ``targets``.
        keep: Folders of finished runs to keep; None keeps every one.
    """
    if keep is None:
        return []
    logger = get_run_logger()
    try:
        removed = prune_target_dirs(
            Path(work_dir) / "targets", open_store(run.store), keep, current=run.run_id
        )
    except (StoreError, ValueError) as exc:
        logger.warning("Old target folders were not pruned: %s", exc)
        return []
    if removed:
        logger.info(
            "Removed %d old target folder(s), keeping the newest %d: %s",
            len(removed),
            keep,
            ", ".join(p.name for p in removed),
        )
    return [str(p) for p in removed]
