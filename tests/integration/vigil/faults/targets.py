"""The reference service launched through vigil's own process target, for fault tests.

Faults need the live adapter (``running_target``), so these tests start the
reference the way ``vigil validate`` does rather than with the reference fixtures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from vigil.config import ProcessTargetConfig, StoreConfig
from vigil.run import SuiteRun, new_run_id
from vigil.store import Store
from vigil.targets import open_target
from vigil.targets.process import ProcessTarget

REPO = Path(__file__).resolve().parents[4]


def reference_config(*args: str, name: str = "reference") -> ProcessTargetConfig:
    """The default target's configuration, with extra reference flags."""
    return ProcessTargetConfig(
        name=name,
        command=[
            "{python}",
            "-m",
            "reference",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--data-dir",
            "{workdir}",
            *args,
        ],
        token_env="REFERENCE_ADMIN_TOKEN",
        cwd=REPO,
        startup_timeout_s=120,
    )


@contextlib.contextmanager
def launched_reference(workdir: Path, *args: str) -> Iterator[ProcessTarget]:
    """The reference, started by vigil and always stopped."""
    target = open_target(reference_config(*args), workdir)
    assert isinstance(target, ProcessTarget)
    with target:
        yield target


def suite_run(tmp_path: Path, target: ProcessTarget) -> tuple[SuiteRun, Store]:
    """A run recorded in a fresh SQLite store, against `target`."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store = Store.open(url)
    run = SuiteRun(
        run_id=new_run_id(),
        profile="development",
        seed=7,
        store=StoreConfig(url=url),
        report_dir=tmp_path / "reports",
        endpoint=target.endpoint,
    )
    store.begin_run(run.run_id, profile=run.profile, seed=run.seed, config={})
    return run, store
