"""Scenarios: the ordered steps a virtual user repeats, and the built-in predict/feedback one.

A :class:`Scenario` is a list of :class:`Step`. At the start of each iteration the engine draws
one row from the scenario's row source (for example a ``(features, label)`` pair of a ground
truth stream) and runs the steps in order with an :class:`Iteration` that carries the row and
the values earlier steps extracted from their responses. When a step fails (an unexpected
status, a timeout, an unreadable answer) the rest of that iteration is skipped, because later
steps usually depend on it (feedback needs the prediction's ``request_id``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
JsonBody = dict[str, Any] | list[Any] | None
FeatureValue = float | int | str
LabelledRow = tuple[Mapping[str, FeatureValue], int | bool]
"""One row of a ground-truth stream: the features to predict on and the true label."""

SUCCESS_STATUSES = frozenset(range(200, 300))


@dataclass(slots=True)
class Iteration:
    """The state of one pass of a virtual user through the scenario's steps."""

    user: int
    """Index of the virtual user (closed model) or of the arrival (open model)."""
    row: Any = None
    """The row drawn from the scenario's row source for this iteration (None without one)."""
    values: dict[str, Any] = field(default_factory=dict)
    """Values extracted from earlier responses of this iteration, by name."""


class Step(BaseModel):
    """One HTTP request of a scenario, with how to build it and what to keep from its answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        min_length=1, max_length=100, description="Statistics are grouped by this name."
    )
    method: HttpMethod = Field(default="GET", description="HTTP method.")
    path: str = Field(
        min_length=1,
        max_length=2000,
        description="Path (and query) appended to the base URL; starts with '/'.",
    )
    json_body: Callable[[Iteration], JsonBody] | None = Field(
        default=None, description="Builds the JSON body from the iteration; None sends no body."
    )
    extract: Callable[[Iteration, Any], None] | None = Field(
        default=None,
        description="Reads the decoded JSON answer into `iteration.values`; a KeyError, "
        "TypeError or ValueError it raises counts the request as a bad response.",
    )
    ok_statuses: frozenset[int] = Field(
        default=SUCCESS_STATUSES, description="Statuses that count as success (default 2xx)."
    )
    think_after: bool = Field(
        default=False, description="Whether the user pauses for a think time after this step."
    )

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with '/', e.g. '/{path}'")
        return path

    @field_validator("ok_statuses")
    @classmethod
    def _statuses_are_http(cls, statuses: frozenset[int]) -> frozenset[int]:
        bad = sorted(s for s in statuses if not 100 <= s <= 599)
        if bad or not statuses:
            raise ValueError(
                f"ok_statuses must be a non-empty set of HTTP statuses in 100..599, "
                f"got {bad or '{}'}"
            )
        return statuses


class Scenario(BaseModel):
    """An ordered list of steps that a virtual user runs in a loop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Name shown in results.")
    steps: tuple[Step, ...] = Field(min_length=1, description="Steps in the order they run.")
    next_row: Callable[[], Any] | None = Field(
        default=None,
        description="Called once per iteration for its row; raising StopIteration ends the run "
        "(the stream of rows is exhausted).",
    )


def row_source(rows: Iterable[LabelledRow] | Callable[[], LabelledRow]) -> Callable[[], Any]:
    """Turn an iterable or a callable of rows into the `next_row` callable of a scenario."""
    if callable(rows) and not isinstance(rows, Iterable):
        return rows
    if isinstance(rows, Iterable):
        return iter(rows).__next__
    raise TypeError(
        f"rows must be an iterable or a callable of (features, label) rows, got {type(rows)!r}"
    )


def _remember_request_id(iteration: Iteration, answer: Any) -> None:
    request_id = answer["request_id"]
    if not isinstance(request_id, str) or not request_id:
        raise ValueError(f"request_id must be a non-empty string, got {request_id!r}")
    iteration.values["request_id"] = request_id


def _label(row: LabelledRow) -> int:
    return int(bool(row[1]))


def predict_feedback_scenario(
    rows: Iterable[LabelledRow] | Callable[[], LabelledRow],
    *,
    think_after_feedback: bool = False,
) -> Scenario:
    """The HTTP contract's learning loop: predict on features, think, send the true label.

    Each iteration draws a ``(features, label)`` row, sends ``POST /predict`` with the features,
    keeps the returned ``request_id``, thinks, and sends ``POST /feedback`` with that id and the
    row's label (expected answer: 202).

    Args:
        rows: The ground-truth stream: an iterable of ``(features, label)`` rows, or a callable
            returning the next row (raising StopIteration when there is none left).
        think_after_feedback: Also think after the feedback, so that each iteration holds two
            think times instead of one.
    """
    return Scenario(
        name="predict_feedback",
        next_row=row_source(rows),
        steps=(
            Step(
                name="predict",
                method="POST",
                path="/predict",
                json_body=lambda it: {"features": dict(it.row[0])},
                extract=_remember_request_id,
                think_after=True,
            ),
            Step(
                name="feedback",
                method="POST",
                path="/feedback",
                json_body=lambda it: {
                    "request_id": it.values["request_id"],
                    "label": _label(it.row),
                },
                ok_statuses=frozenset({202}),
                think_after=think_after_feedback,
            ),
        ),
    )


def random_labelled_rows(
    *, features: int = 5, seed: int | None = None, limit: int | None = None
) -> Iterator[LabelledRow]:
    """A synthetic ground-truth stream: Gaussian features and a label from a fixed linear rule.

    The rule (label 1 when ``x0 + 0.5 * x1 - 0.25 * x2 > 0``) is learnable, so a learning target
    fed by this stream should improve over time.

    Args:
        features: Number of numeric features per row (at least 3).
        seed: Seed of the random generator, for a repeatable stream.
        limit: Number of rows before the stream ends; None means endless.
    """
    if features < 3:
        raise ValueError(f"features must be at least 3 for the labelling rule, got {features}")
    rng = random.Random(seed)
    produced = 0
    while limit is None or produced < limit:
        values = [rng.gauss(0.0, 1.0) for _ in range(features)]
        label = int(values[0] + 0.5 * values[1] - 0.25 * values[2] > 0)
        yield {f"x{i}": round(v, 6) for i, v in enumerate(values)}, label
        produced += 1
