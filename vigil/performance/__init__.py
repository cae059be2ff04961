"""The performance suite's logic: user profiles, the population plan, and its judgements.

Pure functions and settings only; the load itself runs in :mod:`vigil.load.population`, the
resource samples come from :mod:`vigil.observe.resources`, and the Prefect steps live in
``tasks/performance.py``. The modules: ``settings`` (the suite's configuration), ``plan`` (the
steps and their groups of users), ``target_metrics`` (the target's Prometheus histograms),
``saturation`` (the resource that saturated first), ``outcome`` (what a step measured),
``judgements`` (the checks), ``measures`` (the reported figures), ``evidence`` (what the store
keeps for charts). Everything public is importable from ``vigil.performance``.

What the suite does
-------------------

1. **Baseline** -- a few users for a few seconds: latency of an unloaded target, and the
   model-update probe (predict a row, label it against the prediction, poll ``/predict`` on the
   same features until the score moves; see :mod:`vigil.load.model_update`).
2. **Load** -- ``load_users`` (1000) users for ``ramp_seconds`` + ``steady_seconds``, split over
   the user profiles by their ``share``; only the steady window is measured. With
   ``each_profile_alone`` every profile then also runs alone at its own ``users``. The headline
   ``p95_latency_s_at_1000_users`` is the p95 of every request of the steady windows of these
   steps (their HDR histograms added, so the percentile is exact).
3. **Stress** -- steps of ``stress.step_users`` more users above ``stress.start_users``, each
   ``stress.step_warmup_seconds`` + ``stress.step_seconds``, ended at the first step that
   breaks the SLO (p95 or error rate), at ``stress.max_users`` or at ``stress.time_cap_seconds``.
   The saturation point is the last step that held; the resource that saturated first is named
   from the resource samples of the breaking step (:func:`first_saturated_resource`).
4. **Resources** -- the target's process tree, vigil's own process and the machine, sampled
   every second during every step (peak CPU and memory are reported).

User profiles
-------------

A profile is a kind of user of an interactive ML service: how long they think between two
actions and what they do in one visit. The built-in ones (users = 1000 in each):

========  =====  ============  ===================================================
profile   share  think (s)     mix: predict / predict+feedback / evaluation read
========  =====  ============  ===================================================
light     0.50   5 -- 15       0.70 / 0.20 / 0.10 -- browsing users, mostly asking
moderate  0.35   2 -- 5        0.50 / 0.40 / 0.10 -- working users who label answers
heavy     0.15   0.5 -- 2      0.30 / 0.60 / 0.10 -- integrations and power users
========  =====  ============  ===================================================

A ``predict`` user sends ``POST /predict`` and thinks; a ``predict_feedback`` user predicts,
thinks, sends the true label (``POST /feedback``, 202) and thinks; an ``evaluation`` user reads
``GET /evaluation`` and thinks. A target without feedback or evaluation gets predict users in
their place. Within a step each (profile, kind) pair is its own group of users, so latency is
known per profile and per request name.

Development values keep the suite near 70 s on a 2-core machine: 3 s baseline at 10 users, 10
model-update probes, 15 s ramp + 30 s at 1000 users, stress from 1250 users in steps of 250 of
1 s + 3 s, no step started after 12 s (so two steps), plus about 1 s of Prefect and
measurement overhead per step (measured: 72 s against the reference service).

Staging and production run longer and also run every profile alone (``each_profile_alone``):

==========================  ===========================  ============================
setting                     staging                      production
==========================  ===========================  ============================
ramp / steady seconds       30 / 120                     60 / 600
baseline_seconds            30                           60
each_profile_alone          true                         true
stress steps                1250..3000 by 250, 10 + 30   1250..5000 by 250, 15 + 60
stress.time_cap_seconds     600                          1800
model_update_probes         30                           100
==========================  ===========================  ============================

Measures
--------

``p95_latency_s_at_1000_users`` (s; also p50 and p99), ``availability_under_load`` (share of
requests answered without error in the steady windows), ``error_rate`` (share),
``throughput_rps`` (req/s), ``saturation_users`` (users of the last step within the SLO),
``inference_p95_s`` and ``inference_p95_s_<profile>`` (s, vigil's ``/predict`` timing),
``target_inference_p95_s`` (s, the target's own request histogram), ``model_update_p95_s`` (s,
vigil's probe), ``target_model_update_p95_s_under_load`` and, per profile run alone,
``target_model_update_p95_s_<profile>`` (s, the target's ``reference_model_update_seconds``)
and ``target_inference_p95_s_<profile>``, ``breaking_users`` (users of the first step that broke
the SLO, when one did),
``baseline_p95_s`` (s), ``target_cpu_percent_peak`` / ``vigil_cpu_percent_peak`` (%, 100 = one
core) and ``target_rss_mb_peak`` (MB).
"""

from __future__ import annotations

from vigil.exports import lazy_exports

# Names are looked up in their submodules on first use, so that importing the settings
# (read whenever the configuration loads) stays light (see vigil.exports).
_EXPORTS = {
    "Buckets": "target_metrics",
    "LOAD_SCENARIO": "plan",
    "LoadStepPlan": "plan",
    "MODEL_UPDATE_HISTOGRAM": "target_metrics",
    "ModelUpdateProbeResult": "outcome",
    "PREDICT_HISTOGRAM": "target_metrics",
    "PREDICT_LABELS": "target_metrics",
    "PerformanceSuiteConfig": "settings",
    "PopulationPart": "plan",
    "RequestKind": "settings",
    "RequestMixConfig": "settings",
    "SUITE": "plan",
    "SaturatedResource": "saturation",
    "SaturationLimitsConfig": "settings",
    "StepOutcome": "outcome",
    "StressConfig": "settings",
    "StressVerdict": "judgements",
    "UserProfileConfig": "settings",
    "assemble_step": "outcome",
    "bucket_count": "target_metrics",
    "bucket_delta": "target_metrics",
    "bucket_quantile": "target_metrics",
    "effective_mix": "plan",
    "evidence_of": "evidence",
    "first_saturated_resource": "saturation",
    "group_scenario": "plan",
    "histogram_buckets": "target_metrics",
    "judge_baseline": "judgements",
    "judge_error_rate": "judgements",
    "judge_inference": "judgements",
    "judge_model_update": "judgements",
    "judge_p95_within_budget": "judgements",
    "judge_step_result": "judgements",
    "judge_stress": "judgements",
    "judge_stress_step": "judgements",
    "judge_without_predict": "judgements",
    "load_window": "outcome",
    "measurements": "measures",
    "merge_shards": "outcome",
    "plan_population": "plan",
    "plan_steps": "plan",
    "population_spec": "plan",
    "quantile": "judgements",
    "stress_verdict": "judgements",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
