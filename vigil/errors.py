"""vigil's exceptions.

Every error vigil raises on purpose derives from :class:`VigilError`. They fall
in two families, and the difference matters to the user and to the exit code:

* :class:`ConfigError` -- the run is invalid before it starts: a bad
  ``vigil.yaml``, an unknown profile, a missing secret, bad parameters for the
  data generator. Nothing was touched. Exit code 2.
* :class:`RunError` -- the run was valid but something failed while it ran:
  the target would not start (:class:`TargetUnavailableError`) or broke its
  HTTP contract (:class:`TargetProtocolError`), a fault could
  not be undone (:class:`FaultRollbackError`), the store could not be reached
  (:class:`StoreError`), generated data broke its expectations
  (:class:`DataValidationError`). Exit code 3.

A check that *measures* a failure (p95 too high, a wrong diagnosis) never
raises: it returns a failed :class:`vigil.results.CheckResult`.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class of every error vigil raises on purpose."""


class ConfigError(VigilError):
    """The configuration or the command line is invalid; the run never started."""


class RunError(VigilError):
    """A valid run failed because of its infrastructure, not because of a measurement."""


class TargetUnavailableError(RunError):
    """The system under test could not be started, reached or controlled."""


class TargetProtocolError(RunError):
    """The target answered, but not as the HTTP contract says (status or body)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class FaultRollbackError(RunError):
    """A fault's rollback failed: the target may be left degraded."""


class StoreError(RunError):
    """vigil's result store could not be opened, migrated or written."""


class DataValidationError(RunError):
    """Generated data failed its Great Expectations suite."""
