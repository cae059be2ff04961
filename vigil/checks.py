"""How a check is declared: its name, what it needs of the target, and what it found.

A check is a plain function decorated with :func:`check`. The function does the
work and returns an :class:`Outcome` -- passed or not, one sentence on what was
seen, the numbers it observed. The decorator turns it into a :class:`Check`,
called with the target's capabilities first, that:

* answers *not applicable* without calling the function when a capability it
  needs is missing (or when the function raises :class:`NotApplicable`);
* turns the target's transport and contract errors into a failed result carrying
  their message, since a target that cannot answer has failed the check;
* times the check and stamps it with its one name.

Bad declarations (a name that is not a lower_snake_case predicate, an unknown
capability) are rejected when the module is imported, not when the check runs::

    @check("health_reports_ok", needs=[Capability.HEALTH])
    def health_reports_ok(client: TargetClient) -> Outcome:
        health = client.health()
        return Outcome(health.status == "ok", f"status {health.status}")

    result = health_reports_ok(endpoint.capabilities, client)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, ParamSpec

from vigil.config_base import Capability
from vigil.errors import TargetProtocolError, TargetUnavailableError
from vigil.results import CheckResult, Severity, Status, utc_now

P = ParamSpec("P")
_PREDICATE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


@dataclass(frozen=True)
class Outcome:
    """What a check's function found."""

    passed: bool
    message: str
    measured: Mapping[str, float] = field(default_factory=dict)


class NotApplicable(Exception):
    """Raised by a check's function when, seen at run time, the check does not apply."""


class Check(Generic[P]):
    """A declared check; call it with the target's capabilities, then the function's arguments."""

    def __init__(
        self,
        function: Callable[P, Outcome],
        name: str,
        needs: frozenset[Capability],
        severity: Severity,
    ) -> None:
        self.function = function
        self.name = name
        self.needs = needs
        self.severity = severity
        self.summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__

    def __call__(
        self, capabilities: Iterable[Capability], /, *args: P.args, **kwargs: P.kwargs
    ) -> CheckResult:
        started = utc_now()
        missing = sorted(c.value for c in self.needs - frozenset(capabilities))
        if missing:
            status, message, measured = (
                Status.NOT_APPLICABLE,
                f"the target does not offer {', '.join(missing)}",
                {},
            )
        else:
            try:
                outcome = self.function(*args, **kwargs)
                status = Status.PASSED if outcome.passed else Status.FAILED
                message, measured = outcome.message, dict(outcome.measured)
            except NotApplicable as exc:
                status, message, measured = Status.NOT_APPLICABLE, str(exc), {}
            except (TargetUnavailableError, TargetProtocolError) as exc:
                status, message, measured = Status.FAILED, str(exc), {}
        return CheckResult(
            name=self.name,
            status=status,
            severity=self.severity,
            message=message,
            measured=measured,
            started_at=started,
            finished_at=utc_now(),
        )


def check(
    name: str, *, needs: Iterable[Capability] = (), severity: Severity = Severity.ERROR
) -> Callable[[Callable[P, Outcome]], Check[P]]:
    """Declare a check called `name` that needs `needs` of the target.

    Args:
        name: The check's predicate-style name, e.g. ``feedback_accepted``.
        needs: Capabilities without which the check is not applicable.
        severity: ``warn`` reports a failure without failing the suite.

    Raises:
        ValueError: the name is not a lower_snake_case predicate or a capability is unknown.
    """
    if not _PREDICATE.match(name):
        raise ValueError(f"check name {name!r} must be a lower_snake_case predicate (a_b...)")
    required = frozenset(Capability(c) for c in needs)
    level = Severity(severity)

    def declare(function: Callable[P, Outcome]) -> Check[P]:
        return Check(function, name, required, level)

    return declare


# --- checks that plugins install -------------------------------------------------------------

CHECKS_ENTRY_POINT_GROUP = "vigil.checks"
"""Entry-point group of third-party checks: ``name = "package.module:declared_check"``."""


def installed_checks() -> dict[str, str]:
    """Names of the checks installed under ``vigil.checks``, with what each entry points at.

    Reading the names imports nothing, so a configuration can be checked cheaply.
    """
    from importlib.metadata import entry_points

    return {e.name: e.value for e in entry_points(group=CHECKS_ENTRY_POINT_GROUP)}


def load_plugin_check(name: str) -> Check[...]:
    """The installed check called `name`: a :func:`check` taking a ``TargetClient``.

    Raises:
        ConfigError: no such check is installed, it cannot be imported, or it is not a
            declared check whose name is the entry point's.
    """
    from importlib.metadata import entry_points

    from vigil.errors import ConfigError

    matches = [e for e in entry_points(group=CHECKS_ENTRY_POINT_GROUP) if e.name == name]
    if not matches:
        known = ", ".join(sorted(installed_checks())) or "none installed"
        raise ConfigError(
            f"no check {name!r} under the {CHECKS_ENTRY_POINT_GROUP} entry points "
            f"(installed: {known})"
        )
    entry = matches[0]
    try:
        declared = entry.load()
    except Exception as exc:
        raise ConfigError(
            f"check plugin {name!r} ({entry.value}) cannot be imported: {exc}"
        ) from exc
    if not isinstance(declared, Check) or declared.name != name:
        raise ConfigError(
            f"check plugin {name!r} ({entry.value}) must be a function declared with "
            f"@vigil.checks.check({name!r}, ...)"
        )
    return declared
