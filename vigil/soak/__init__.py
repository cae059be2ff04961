"""The soak: validate's traffic and faults in cycles for hours, checkpointed and resumable.

A soak is a run of ``ceil(duration_s / cycle_s)`` cycles (:mod:`vigil.soak.config`). Each cycle
runs one bounded :func:`vigil.load.run_load` call under a probe stream, injects the periodic
fault (:mod:`vigil.soak.faults`) when it is due and rolls it back, checks learning and pattern
analysis once, samples the target's and vigil's memory and open files, and is checkpointed in
vigil's store (:class:`vigil.store.SoakCheckpoints`) with its figures and encoded latency
histogram. The judgement (:mod:`vigil.soak.judge`, :mod:`vigil.soak.trends`) looks at trends:
a p95 latency or memory slope that would reach its bound before the soak's end fails it, with
the projected time. Memory stays flat however long the soak: nothing per request or per
second is kept beyond a cycle except the bounded tiered series (:mod:`vigil.soak.series`).

Resuming: run the soak again with the same id (``vigil soak --soak-id ID``). Faults the journal
shows active are reverted first (SIGCONT of the recorded processes that still exist and are
stopped), then the soak continues at the first cycle not checkpointed; completed cycles are
never redone, the interrupted one is. A soak killed outright (SIGKILL, OOM, a lost machine) or
whose flow run was cancelled resumes the same way; the target it launched is stopped by the
target guard when vigil dies, so nothing is orphaned.

Prefect settings for a 72-hour soak (a deployment's ``job_variables.env`` or the worker's
environment), so that a healthy soak is never marked crashed:

* ``PREFECT_RUNNER_HEARTBEAT_FREQUENCY=30``: the runner sends a heartbeat event for the flow run
  every 30 s. It is off by default; Prefect's zombie detection (the server's "mark late/crashed"
  automation on missing heartbeats, ``prefect.flow-run.heartbeat``) can only tell a live soak
  from a dead one when heartbeats are sent. Keep the automation's "no heartbeat for" window well
  above the frequency (e.g. 3 x 30 s = 90 s), never below a cycle's longest blocking step.
* Flow retries: ``retries: 3``, ``retry_delay_seconds: 60`` on the deployment. A retried flow
  run keeps its parameters, so the retry resumes from the checkpoint (the run id is the soak id).
  A flow run that Prefect *did* mark crashed is resumed by starting the deployment again with
  the same ``soak_id`` parameter.
* No flow ``timeout_seconds`` shorter than the soak (leave it unset), and
  ``PREFECT_TASKS_REFRESH_CACHE`` is irrelevant: every soak task has ``NO_CACHE``.
* ``PREFECT_API_URL`` of a long-lived ``prefect server start``, not the temporary server: a
  temporary server dies with the process that started it.
"""

from __future__ import annotations

SOAK_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("soak_availability", "", "Share of good probes over the soak, fault windows excluded."),
    ("soak_p95_latency_s", "s", "p95 latency of every load request of the soak (merged HDR)."),
    ("soak_p95_slope_s_per_h", "s/h", "Fitted slope of the cycles' p95 latency."),
    ("soak_rss_slope_mb_per_h", "MB/h", "Fitted slope of the target's resident memory."),
    ("soak_cycles_completed", "cycles", "Cycles completed and checkpointed."),
    ("soak_mttr_s", "s", "Mean time from a cycle's fault to probes good again (settled)."),
)
"""(name, unit, description) of every measure the soak produces, for the suite registry."""
