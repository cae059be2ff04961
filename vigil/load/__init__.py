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

from vigil.exports import lazy_exports

_EXPORTS = {
    "ArrivalSchedule": "arrivals",
    "ArrivalStage": "config",
    "ErrorKind": "statistics",
    "Iteration": "scenario",
    "LOOPBACK_HOSTS": "config",
    "LabelledRow": "scenario",
    "LatencySloConfig": "config",
    "LatencySummary": "statistics",
    "LoadModel": "config",
    "LoadProfileConfig": "config",
    "LoadProgress": "statistics",
    "LoadResult": "statistics",
    "ProgressCallback": "engine",
    "RequestStats": "statistics",
    "SaturationResult": "saturation",
    "SaturationStep": "saturation",
    "Scenario": "scenario",
    "Step": "scenario",
    "StopReason": "statistics",
    "StopSignal": "engine",
    "StressRampConfig": "config",
    "TimeBucket": "statistics",
    "check_target_allowed": "config",
    "find_saturation": "saturation",
    "find_saturation_async": "saturation",
    "merge_results": "statistics",
    "predict_feedback_scenario": "scenario",
    "random_labelled_rows": "scenario",
    "run_load": "engine",
    "run_load_async": "engine",
    "run_load_sharded": "shards",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
