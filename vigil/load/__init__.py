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
"""

from vigil.load.config import LatencySloConfig, LoadModel, LoadProfileConfig, StressRampConfig
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
    "find_saturation",
    "find_saturation_async",
    "merge_results",
    "predict_feedback_scenario",
    "random_labelled_rows",
    "run_load",
    "run_load_async",
    "run_load_sharded",
]
