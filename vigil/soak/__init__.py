"""The soak: validate's traffic and faults in cycles for hours, checkpointed and resumable.

A soak is a run of ``ceil(duration_s / cycle_s)`` cycles (:mod:`vigil.soak.config`). Each cycle
runs one bounded :func:`vigil.load.run_load` call under a probe stream, injects the periodic
fault (:mod:`vigil.soak.faults`) when it is due and rolls it back, checks learning and pattern
analysis once, samples the target's and vigil's memory and open files, and is checkpointed in
vigil's store (:class:`vigil.store.SoakCheckpoints`) with its figures and encoded latency
histogram. The judgement (:mod:`vigil.soak.judge`, :mod:`vigil.soak.trends`) looks at trends:
a p95 latency or memory slope that would reach its bound before the soak's end fails it, with
the projected time. Nothing per request or per second is kept beyond a cycle except the
tiered series, preallocated at their full size (:mod:`vigil.soak.series`). Prefect's
per-task-result links are dropped after each checkpoint, the cycle's garbage is collected and
the C heap trimmed (:mod:`vigil.soak.heap`). vigil's own RSS over a long soak is measured in
``benchmarks/soak/RESULTS.md``.

Resuming: run the soak again with the same id (``vigil soak --soak-id ID``). Faults the journal
shows active are reverted first (SIGCONT of the recorded processes that still exist and are
stopped), then the soak continues at the first cycle not checkpointed; completed cycles are
never redone, the interrupted one is. A soak killed outright (SIGKILL, OOM, a lost machine) or
whose flow run was cancelled resumes the same way; the target it launched is stopped by the
target guard when vigil dies, so nothing is orphaned.

Prefect settings for a 72-hour soak (a deployment's ``job_variables.env`` or the worker's
environment), so that a healthy soak is never marked crashed (checked against Prefect 3.8.8):

* ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY=60`` (the older name ``PREFECT_RUNNER_HEARTBEAT_FREQUENCY``
  is still read; minimum 30 s). A flow run started from a deployment then emits a
  ``prefect.flow-run.heartbeat`` event from a daemon OS thread, so heartbeats keep coming while
  a task blocks (a cycle's load holds its task for ``cycle_s``).
* Zombie detection is an automation, not a server default: a proactive trigger ``after``
  ``prefect.flow-run.heartbeat`` expecting the next heartbeat (or a terminal state) ``within``
  a window, whose action marks the run ``Crashed`` (Prefect Cloud's managed "Unresponsive run
  detection" is the same). Give the window at least three heartbeat periods (e.g. 180 s for a
  60 s frequency): the soak's heartbeats never stop while its process lives, so only a dead
  soak is marked crashed.
* A scheduled run has no ``soak_id``; its soak is named after its flow run
  (``flows/soak_run.py:default_soak_id``), so *Retry* on a crashed or failed run in the UI (or
  ``retries`` on the flow) resumes that soak from its checkpoint. A new run of the deployment
  resumes it when given the ``soak_id`` the first run logged (``vigil runs list`` shows it).
* No flow ``timeout_seconds`` shorter than the soak (leave it unset); every soak task uses
  ``NO_CACHE`` and ``persist_result=False``, so nothing is cached or stored per task run.
* ``PREFECT_API_URL`` of a long-lived ``prefect server start`` (or Cloud), never the temporary
  server, which dies with the process that started it.
* ``MALLOC_ARENA_MAX=2`` and ``PYTHONMALLOC=malloc`` in the flow run's environment (the
  ``weekly-soak`` deployment's ``job_variables.env``), or vigil's memory creeps up all soak
  long (:mod:`vigil.soak.heap`): glibc must cap its malloc arenas before Prefect starts its
  threads, and Python's own small-object arenas are held open one by one by a few long-lived
  objects. ``vigil soak`` sees to both itself (it restarts on glibc's malloc unless
  ``PYTHONMALLOC`` is set); a soak whose arena cap came too late says so in its log.
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
