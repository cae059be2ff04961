"""What every step of a run needs to know: its id, seed, target, store and folder."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from vigil.config import StoreConfig
from vigil.synth.config import DataConfig
from vigil.targets.base import TargetEndpoint


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261121T164512-3fa9c1``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class RunRef(BaseModel):
    """A run as the criteria and report steps see it; safe to pass as a flow parameter."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    profile: str
    seed: int
    store: StoreConfig
    report_dir: Path
    """This run's own folder, ``<reports.dir>/<run-id>``."""


class SuiteRun(RunRef):
    """A run as a suite sees it: the run, the started target's endpoint, the run's datasets."""

    endpoint: TargetEndpoint
    datasets: DataConfig = DataConfig()
    """How the run's synthetic data is generated; with the run's seed it is the same data the
    data suite checked, so a suite regenerates it instead of passing it around."""
