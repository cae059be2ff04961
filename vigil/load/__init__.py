"""Load generation: typed scenario and profile in, typed statistics out.

Run a scenario with :func:`run_load` (or :func:`run_load_async` inside an event loop), merge
shards with :func:`merge_results`, and find the saturation point with :func:`find_saturation`.
Pass/fail is decided elsewhere, from the returned :class:`LoadResult`.

Example (1000 users, predict -> think 2-5 s -> feedback, 90 s measured after a 20 s ramp)::

    from vigil.load import LoadProfileConfig, predict_feedback_scenario, random_labelled_rows
    from vigil.load import run_load

    profile = LoadProfileConfig(
        users=1000, ramp_seconds=20, duration_seconds=110, warmup_seconds=20,
        think_min_seconds=2, think_max_seconds=5, request_timeout_seconds=30,
    )
    result = run_load("http://127.0.0.1:8080", profile,
                      predict_feedback_scenario(random_labelled_rows(seed=1)))
    result.overall.latency.p95_ms, result.overall.error_rate, result.overall.throughput_rps

The ground truth may be any iterable (or callable) of ``(features, label)`` rows; when it runs
out the run ends with ``stop_reason == "rows_exhausted"``.

Open model: ``arrival_rate=200`` for a constant rate, or ``arrival_stages=[{"target_rate": 500,
"duration_seconds": 30}, ...]`` for a ramping one; arrivals that find every slot (``users``)
busy are counted in ``LoadResult.late_sends`` / ``dropped_sends``. Only loopback targets are
allowed unless ``allow_hosts`` says otherwise. From a shell: ``vigil load URL --users 50``.
"""

from vigil.load.arrivals import ArrivalSchedule
from vigil.load.config import (
    LOOPBACK_HOSTS,
    ArrivalStage,
    LatencySloConfig,
    LoadModel,
    LoadProfileConfig,
    StressRampConfig,
    check_target_allowed,
)
from vigil.load.engine import ProgressCallback, StopSignal, run_load, run_load_async
from vigil.load.saturation import (
    SaturationResult,
    SaturationStep,
    find_saturation,
    find_saturation_async,
)
from vigil.load.scenario import (
    Iteration,
    LabelledRow,
    Scenario,
    Step,
    predict_feedback_scenario,
    random_labelled_rows,
)
from vigil.load.shards import run_load_sharded
from vigil.load.statistics import (
    ErrorKind,
    LatencySummary,
    LoadProgress,
    LoadResult,
    RequestStats,
    StopReason,
    TimeBucket,
    merge_results,
)

__all__ = [
    "LOOPBACK_HOSTS",
    "ArrivalSchedule",
    "ArrivalStage",
    "ErrorKind",
    "Iteration",
    "LabelledRow",
    "LatencySloConfig",
    "LatencySummary",
    "LoadModel",
    "LoadProfileConfig",
    "LoadProgress",
    "LoadResult",
    "ProgressCallback",
    "RequestStats",
    "SaturationResult",
    "SaturationStep",
    "Scenario",
    "Step",
    "StopReason",
    "StopSignal",
    "StressRampConfig",
    "TimeBucket",
    "check_target_allowed",
    "find_saturation",
    "find_saturation_async",
    "merge_results",
    "predict_feedback_scenario",
    "random_labelled_rows",
    "run_load",
    "run_load_async",
    "run_load_sharded",
]
