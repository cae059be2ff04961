"""Configuration models of a load run: the traffic profile, the stress ramp and its SLO.

A :class:`LoadProfileConfig` describes *how much* traffic to send and for how long; what each
request looks like is a :class:`vigil.load.scenario.Scenario`. The named profiles (light,
moderate, heavy) live in vigil's configuration and are plain instances of this model.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_USERS = 100_000
MAX_DURATION_SECONDS = 7 * 24 * 3600.0
MAX_REQUESTS = 1_000_000_000
MAX_STAGES = 1000
LOOPBACK_HOSTS = ("127.0.0.0/8", "::1", "localhost")
"""What a load run may target by default: the loopback interface only."""


class LoadModel(StrEnum):
    """How traffic is generated."""

    CLOSED = "closed"
    """A fixed number of virtual users, each waiting for its answer and thinking before the next
    request: the offered load falls when the target slows down (Locust's model)."""
    OPEN = "open"
    """Iterations start at a fixed arrival rate whatever the target does (k6's constant arrival
    rate): a slow target builds a queue, and latency is measured from the intended start."""


class ArrivalStage(BaseModel):
    """One stage of a ramping arrival rate: reach `target_rate` linearly over `duration_seconds`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_rate: float = Field(
        ge=0, le=MAX_USERS, description="Iterations per second at the end of the stage."
    )
    duration_seconds: float = Field(
        gt=0, le=MAX_DURATION_SECONDS, description="Seconds the stage takes to reach its rate."
    )


class LoadProfileConfig(BaseModel):
    """How many users, how fast they arrive, and the bounds that end the run.

    The closed model is the default; setting ``arrival_rate`` (a constant rate) or
    ``arrival_stages`` (a ramping rate, like k6's ramping-arrival-rate executor) selects the open
    model, in which ``users`` caps how many iterations may be in flight at once. Every run ends
    by itself at ``duration_seconds`` or after ``max_requests`` requests, whichever comes first.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: int = Field(
        ge=1,
        le=MAX_USERS,
        description="Closed model: concurrent virtual users. Open model: most iterations in "
        "flight at once (arrivals beyond it wait, and the wait counts as latency).",
    )
    spawn_rate: float | None = Field(
        default=None,
        gt=0,
        le=MAX_USERS,
        description="Closed model: users started per second. Leave unset (with ramp_seconds "
        "unset) to start every user at once.",
    )
    ramp_seconds: float | None = Field(
        default=None,
        ge=0,
        le=MAX_DURATION_SECONDS,
        description="Closed model: seconds over which all users are started (an alternative "
        "to spawn_rate).",
    )
    arrival_rate: float | None = Field(
        default=None,
        gt=0,
        le=MAX_USERS,
        description="Open model: scenario iterations started per second (with arrival_stages: "
        "the rate the first stage starts from). Setting it selects the open model.",
    )
    arrival_stages: tuple[ArrivalStage, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STAGES,
        description="Open model with a ramping rate: stages of (target_rate, duration_seconds), "
        "each ramping linearly from the previous rate (the first from arrival_rate, or 0). "
        "After the last stage its rate holds until duration_seconds.",
    )
    max_backlog: int = Field(
        default=100_000,
        ge=0,
        le=10_000_000,
        description="Open model: most due arrivals that may wait for a free slot when `users` "
        "iterations are in flight. A waiting arrival is sent late (counted in late_sends, its "
        "wait is part of its latency); one beyond this backlog, or still waiting when the run "
        "ends, is dropped (counted in dropped_sends).",
    )
    duration_seconds: float = Field(
        gt=0,
        le=MAX_DURATION_SECONDS,
        description="Total wall time of the run, ramp included; no new request starts after it.",
    )
    max_requests: int = Field(
        default=10_000_000,
        ge=1,
        le=MAX_REQUESTS,
        description="Most requests sent over the whole run; the run ends once all have answered.",
    )
    think_min_seconds: float = Field(
        default=0.0, ge=0, le=3600, description="Shortest pause a user takes after a thinking step."
    )
    think_max_seconds: float = Field(
        default=0.0, ge=0, le=3600, description="Longest pause a user takes after a thinking step."
    )
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Total time one request may take (connect, send, wait, read) before it "
        "counts as a timeout.",
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=600, description="Time allowed to open one TCP connection."
    )
    connection_limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_USERS,
        description="Most open connections to the target; unset means one per user.",
    )
    keepalive_seconds: float = Field(
        default=4.0,
        ge=0,
        le=3600,
        description="How long an idle connection is kept for reuse. Below uvicorn's default of "
        "5 s so the client, not the server, closes idle connections.",
    )
    warmup_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_DURATION_SECONDS,
        description="Requests started before this many seconds appear in the time series but "
        "not in the summary statistics (e.g. set it to the ramp time).",
    )
    bucket_seconds: float = Field(
        default=1.0,
        ge=0.1,
        le=3600,
        description="Width of one bucket of the time series (widened for long runs, see "
        "max_series_buckets).",
    )
    max_series_buckets: int = Field(
        default=4096,
        ge=16,
        le=1_000_000,
        description="Most buckets in each time series: when duration_seconds / bucket_seconds "
        "exceeds it, buckets are bucket_seconds * 2**k wide, the smallest width that fits, so "
        "memory stays bounded on long (soak) runs.",
    )
    keep_bucket_histograms: bool = Field(
        default=True,
        description="Keep each time bucket's encoded histogram so merged series stay exact "
        "(about a kilobyte per bucket; turn off for very long runs with small buckets).",
    )
    progress_interval_seconds: float = Field(
        default=10.0, ge=0.1, le=3600, description="How often the progress callback is called."
    )
    stop_grace_seconds: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="After the duration ends or a stop is requested, how long requests in "
        "flight may finish before they are cancelled (and counted as cancelled).",
    )
    seed: int | None = Field(
        default=None, description="Seed of the think-time random generator, for repeatable runs."
    )
    allow_hosts: tuple[str, ...] = Field(
        default=LOOPBACK_HOSTS,
        min_length=1,
        max_length=100,
        description="Targets the run may send traffic to: IP networks or addresses (CIDR) and "
        "exact host names. Loopback only by default; any other target is refused before the "
        "run with a ConfigError.",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.think_min_seconds > self.think_max_seconds:
            raise ValueError(
                f"think_min_seconds ({self.think_min_seconds}) is greater than "
                f"think_max_seconds ({self.think_max_seconds}); set think_max_seconds to at "
                "least think_min_seconds"
            )
        if self.spawn_rate is not None and self.ramp_seconds is not None:
            raise ValueError(
                f"spawn_rate ({self.spawn_rate}) and ramp_seconds ({self.ramp_seconds}) both "
                "set the ramp; keep only one of them"
            )
        if self.arrival_rate is not None and (
            self.spawn_rate is not None or self.ramp_seconds is not None
        ):
            raise ValueError(
                f"arrival_rate ({self.arrival_rate}) selects the open model, which has no user "
                "ramp; remove spawn_rate/ramp_seconds, or remove arrival_rate for the closed model"
            )
        if self.arrival_stages is not None:
            if self.spawn_rate is not None or self.ramp_seconds is not None:
                raise ValueError(
                    "arrival_stages selects the open model, which has no user ramp; remove "
                    "spawn_rate/ramp_seconds, or remove arrival_stages for the closed model"
                )
            staged = sum(stage.duration_seconds for stage in self.arrival_stages)
            if staged > self.duration_seconds:
                raise ValueError(
                    f"the arrival stages take {staged:g} s but duration_seconds is "
                    f"{self.duration_seconds:g}; raise duration_seconds or shorten the stages"
                )
            if self.arrival_rate is None and all(
                stage.target_rate == 0 for stage in self.arrival_stages
            ):
                raise ValueError(
                    "every arrival stage has target_rate 0, so nothing would be sent; give a "
                    "stage a positive target_rate"
                )
        for entry in self.allow_hosts:
            if not entry.strip():
                raise ValueError("allow_hosts holds an empty entry; remove it")
        if self.ramp_time_seconds > self.duration_seconds:
            raise ValueError(
                f"the ramp takes {self.ramp_time_seconds:g} s but duration_seconds is "
                f"{self.duration_seconds:g}; raise duration_seconds or shorten the ramp"
            )
        if self.warmup_seconds >= self.duration_seconds:
            raise ValueError(
                f"warmup_seconds ({self.warmup_seconds:g}) must be shorter than "
                f"duration_seconds ({self.duration_seconds:g}), or nothing would be measured"
            )
        return self

    @property
    def model(self) -> LoadModel:
        """The load model this profile selects."""
        if self.arrival_rate is not None or self.arrival_stages is not None:
            return LoadModel.OPEN
        return LoadModel.CLOSED

    @property
    def series_bucket_seconds(self) -> float:
        """The width of the time series' buckets: bucket_seconds, doubled until they fit."""
        width = self.bucket_seconds
        while self.duration_seconds / width > self.max_series_buckets:
            width *= 2
        return width

    @property
    def ramp_time_seconds(self) -> float:
        """Seconds until the last closed-model user has started (0 when all start at once)."""
        if self.ramp_seconds is not None:
            return self.ramp_seconds
        if self.spawn_rate is not None:
            return (self.users - 1) / self.spawn_rate
        return 0.0


class LatencySloConfig(BaseModel):
    """The service level a stress ramp step must hold to count as within the SLO."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p95_ms: float = Field(
        default=2000.0, gt=0, le=600_000, description="Highest acceptable 95th percentile (ms)."
    )
    max_error_rate: float = Field(
        default=0.01, ge=0, le=1, description="Highest acceptable share of failed requests."
    )


class StressRampConfig(BaseModel):
    """A stepwise ramp used to find the saturation point: of users, or of arrival rate.

    With a closed-model base, each step runs more users (``start_users``, ``step_users``,
    ``max_users``). With an open-model base (``arrival_rate`` set), each step runs a higher
    constant arrival rate (``start_rate``, ``step_rate``, ``max_rate``) with the base's
    ``users`` as the in-flight cap.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: LoadProfileConfig = Field(
        description="Template of every step (think time, timeouts, spawn rate, ...); its users "
        "(or arrival rate), duration and warmup are replaced by the step's."
    )
    start_users: int | None = Field(
        default=None, ge=1, le=MAX_USERS, description="Closed model: users in the first step."
    )
    step_users: int | None = Field(
        default=None, ge=1, le=MAX_USERS, description="Closed model: users added at each step."
    )
    max_users: int | None = Field(
        default=None,
        ge=1,
        le=MAX_USERS,
        description="Closed model: ceiling, the ramp never goes beyond.",
    )
    start_rate: float | None = Field(
        default=None, gt=0, le=MAX_USERS, description="Open model: arrivals/s of the first step."
    )
    step_rate: float | None = Field(
        default=None, gt=0, le=MAX_USERS, description="Open model: arrivals/s added at each step."
    )
    max_rate: float | None = Field(
        default=None,
        gt=0,
        le=MAX_USERS,
        description="Open model: ceiling of the arrival rate, the ramp never goes beyond.",
    )
    step_seconds: float = Field(
        gt=0, le=86_400, description="Measured time of each step (after its warmup)."
    )
    step_warmup_seconds: float = Field(
        default=0.0,
        ge=0,
        le=86_400,
        description="Extra time at the start of each step that is not measured (ramp of users).",
    )
    max_requests_per_step: int = Field(
        default=1_000_000, ge=1, le=MAX_REQUESTS, description="Request bound of each step."
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        users = (self.start_users, self.step_users, self.max_users)
        rates = (self.start_rate, self.step_rate, self.max_rate)
        if self.base.model is LoadModel.OPEN:
            if None in rates or any(v is not None for v in users):
                raise ValueError(
                    "an open-model base (arrival_rate set) ramps the arrival rate: set "
                    "start_rate, step_rate and max_rate, and not start_users/step_users/max_users"
                )
            if self.base.arrival_stages is not None:
                raise ValueError(
                    "each ramp step runs a constant arrival rate; remove arrival_stages from the "
                    "base profile"
                )
            assert self.start_rate is not None and self.max_rate is not None
            if self.start_rate > self.max_rate:
                raise ValueError(
                    f"start_rate ({self.start_rate:g}) is above max_rate ({self.max_rate:g}); "
                    "lower start_rate or raise max_rate"
                )
        else:
            if None in users or any(v is not None for v in rates):
                raise ValueError(
                    "a closed-model base ramps users: set start_users, step_users and max_users "
                    "(start_rate/step_rate/max_rate need an open-model base with arrival_rate)"
                )
            assert self.start_users is not None and self.max_users is not None
            if self.start_users > self.max_users:
                raise ValueError(
                    f"start_users ({self.start_users}) is above max_users ({self.max_users}); "
                    "lower start_users or raise max_users"
                )
        # The ceiling is the most demanding step: one the base cannot express fails here.
        if self.base.model is LoadModel.OPEN:
            assert self.max_rate is not None
            self.rate_step_profile(self.max_rate)
        else:
            assert self.max_users is not None
            self.step_profile(self.max_users)
        return self

    def user_steps(self) -> list[int]:
        """Closed model: the number of users of each step, from start to the ceiling."""
        if self.start_users is None or self.max_users is None or self.step_users is None:
            return []
        return list(range(self.start_users, self.max_users + 1, self.step_users)) or [
            self.start_users
        ]

    def rate_steps(self) -> list[float]:
        """Open model: the arrival rate of each step, from start to the ceiling."""
        if self.start_rate is None or self.max_rate is None or self.step_rate is None:
            return []
        count = int((self.max_rate - self.start_rate) / self.step_rate + 1e-9) + 1
        return [round(self.start_rate + i * self.step_rate, 6) for i in range(count)]

    def step_profiles(self) -> list[LoadProfileConfig]:
        """The validated load profile of every step, in order."""
        if self.base.model is LoadModel.OPEN:
            return [self.rate_step_profile(rate) for rate in self.rate_steps()]
        return [self.step_profile(users) for users in self.user_steps()]

    def step_profile(self, users: int) -> LoadProfileConfig:
        """The validated load profile of the step running `users` users (closed model)."""
        fields = self._step_fields()
        fields["users"] = users
        if self.base.ramp_seconds is not None:
            fields["ramp_seconds"] = min(self.base.ramp_seconds, self.step_warmup_seconds)
        return LoadProfileConfig.model_validate(fields)

    def rate_step_profile(self, rate: float) -> LoadProfileConfig:
        """The validated load profile of the step at `rate` arrivals per second (open model)."""
        fields = self._step_fields()
        fields["arrival_rate"] = rate
        return LoadProfileConfig.model_validate(fields)

    def _step_fields(self) -> dict[str, object]:
        fields = self.base.model_dump(exclude_unset=True)
        fields.update(
            duration_seconds=self.step_warmup_seconds + self.step_seconds,
            warmup_seconds=self.step_warmup_seconds,
            max_requests=self.max_requests_per_step,
        )
        return fields


def check_target_allowed(base_url: str, allow_hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> None:
    """Refuse a target that is not an http(s) URL or whose host `allow_hosts` does not list.

    An IP address is allowed when it falls in one of the listed networks (``127.0.0.0/8``) or
    addresses; a host name only when it is listed by name (no name is resolved here, so a name
    cannot smuggle traffic to an address the list does not allow).

    Raises:
        ConfigError: `base_url` is malformed or its host is not allowed.
    """
    from vigil.errors import ConfigError

    parts = urlsplit(base_url)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 -- a malformed port raises here, before the run
    except ValueError as exc:
        raise ConfigError(f"base_url {base_url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"base_url {base_url!r} is not an http(s) URL; give e.g. 'http://127.0.0.1:8080'"
        )
    if _host_allowed(host, allow_hosts):
        return
    raise ConfigError(
        f"refusing to send load to {host!r} ({base_url}): it is not in allow_hosts "
        f"{list(allow_hosts)}; load goes to loopback only unless you add the host (or its "
        "network) to allow_hosts"
    )


def _host_allowed(host: str, allow_hosts: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in allow_hosts:
        entry = entry.strip()
        if address is None:
            if entry.lower() == host.lower():
                return True
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        mapped = getattr(address, "ipv4_mapped", None)
        if address in network or (mapped is not None and mapped in network):
            return True
    return False
