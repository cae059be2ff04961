"""Load generation: typed scenario and profile in, typed statistics out.

Run a scenario with :func:`run_load` (or :func:`run_load_async` inside an event loop), merge
shards with :func:`merge_results`, and find the saturation point with :func:`find_saturation`.
Pass/fail is decided elsewhere, from the returned :class:`LoadResult`.
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
