"""Keep a days-long soak's memory flat: garbage collected each cycle, C heap pages handed back.

Python's live heap is bounded in a soak (see ``benchmarks/soak/RESULTS.md``), but resident
memory also depends on when garbage is freed and how the C heap is laid out.

The interpreter's collector comes first. A cycle leaves reference cycles behind
(event loops, sessions, tracebacks), and in a process holding some 400,000 long-lived objects
(Prefect, pydantic, numpy) the automatic full collection runs rarely, so that garbage piles up
for minutes and RSS swings by tens of megabytes before it is freed all at once. Measured
without Prefect: RSS climbed from 213 to 227 MB over 20 minutes, then fell to 211 MB within
5 s when the collector finally ran; collecting after every cycle kept it within about a
megabyte.

Every thread that allocates also gets a glibc malloc arena (up to eight per core), and a soak
starts fresh threads each cycle (load, probes, fault watchdog), each leaving partly used pages
in whichever arena it was given; capping the arenas made a loop of short cycles about 4 MB
smaller and its RSS far steadier (standard deviation 0.8 MB instead of 3.1 MB).

The cap only binds threads that have not allocated yet. Once a process has more arenas than the
cap, glibc hands each new thread the next existing arena in turn, so a soak's per-cycle threads
visit every arena that Prefect's own threads (events, logs, its event loop) made before the flow
started, and each arena's heap grows to a cycle's peak in turn: under Prefect that was
+20 to +30 MB/h of free but resident heap (``benchmarks/soak/RESULTS.md``, run 6). So the cap
must come first: ``vigil soak`` sets it before Prefect starts, and a soak run by a worker needs
``MALLOC_ARENA_MAX=2`` in its environment (the ``weekly-soak`` deployment sets it);
:func:`arenas_capped_from_start` tells the flow whether that happened.

glibc also moves its threshold for mapping a block on its own (128 KiB to start with) up to
the size of every mapped block freed, so that blocks that size come from an arena from then on.
The load generator makes an HDR histogram of 136 KiB per second of load and frees it when the
cycle ends: after the first, they all come from the arenas, and their holes are what stays
free but resident. A fixed threshold keeps them mapped on their own and unmapped when freed:
in run 7 of ``benchmarks/soak/RESULTS.md`` the free memory in the arenas stayed at 0.4 to
2 MB instead of climbing from 12 to 17 MB.

Python's own allocator for small objects keeps them in 1 MiB arenas that it frees only when
every object in them is gone. Over a soak a few long-lived objects hold more and more arenas
open (two more per half hour under ``vigil soak``, with the bytes allocated in them flat), so
``vigil soak`` restarts itself with ``PYTHONMALLOC=malloc`` (:mod:`vigil.cli`), and glibc's
malloc, capped and trimmed as below, takes those objects too: in run 8 that brought the soak
from +5.6 to +0.75 MB/h. It has to be set before the interpreter starts, so a worker's flow run
gets it from the deployment's environment.

:func:`release_free_memory` collects first, then trims. The glibc calls are no-ops where the C
library is not glibc:

* :func:`limit_arenas` -- ``mallopt(M_ARENA_MAX, n)``: threads started afterwards share
  ``n`` arenas. Must run before the soak's threads start; it is what ``MALLOC_ARENA_MAX``
  does, without needing the variable in the environment before the interpreter starts.
* :func:`tune_malloc` -- both settings the soak makes: the arena limit and
  ``mallopt(M_MMAP_THRESHOLD, 128 KiB)``, which also stops glibc moving the threshold.
* :func:`release_free_memory` -- ``gc.collect()``, then ``malloc_trim(0)``: every arena returns
  its free pages to the system. About 0.1 s with vigil, Prefect and their libraries loaded
  (some 220,000 objects), next to a cycle of seconds to minutes, so the soak calls it after
  every checkpoint.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import os
import threading

_M_ARENA_MAX = -8
"""glibc's mallopt parameter number for the arena limit (malloc.h)."""

_M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter number for the size from which blocks are mapped on their own."""

SOAK_MMAP_THRESHOLD = 128 * 1024
"""Blocks of this size and more are mapped on their own: glibc's starting value, kept fixed."""

SOAK_ARENAS = 2
"""Arenas the soak's threads share: the soak's threads are few and mostly waiting."""

_LOG = logging.getLogger(__name__)

_THREADS_AT_FIRST_LIMIT: int | None = None
"""Python threads running when :func:`limit_arenas` first set the limit in this process."""


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has ``malloc_trim``), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


VIGIL_ONLY_MARK = "VIGIL_SOAK_MALLOC"
"""Names, comma-separated, of the allocator variables that were set for vigil's process only."""

_ALLOCATOR_VARIABLES = frozenset({"PYTHONMALLOC", "MALLOC_ARENA_MAX"})


def forget_vigil_only_allocator() -> list[str]:
    """Take the allocator variables meant for vigil's process out of what its children inherit.

    They took effect when this interpreter started. Without this, a target that vigil launches
    (and the temporary Prefect server) would run on vigil's allocator settings rather than its
    own. Only the variables that ``VIGIL_SOAK_MALLOC`` names (set by ``vigil soak``'s restart
    and by the weekly-soak deployment) are removed, and only allocator variables: a user's own
    ``PYTHONMALLOC`` or ``MALLOC_ARENA_MAX`` stays.

    Returns:
        The names removed, the mark's included.
    """
    named = {n.strip() for n in os.environ.pop(VIGIL_ONLY_MARK, "").split(",")} - {""}
    gone = [name for name in sorted(named & _ALLOCATOR_VARIABLES) if os.environ.pop(name, None)]
    return [*gone, VIGIL_ONLY_MARK] if named else []


def glibc_malloc() -> bool:
    """Whether this process allocates with glibc's malloc (the settings here apply)."""
    return _glibc() is not None


def limit_arenas(arenas: int = SOAK_ARENAS) -> bool:
    """Let threads started from now on share at most `arenas` malloc arenas.

    Returns:
        Whether the limit was set (False off glibc).
    """
    if arenas < 1:
        raise ValueError(f"a process needs at least one malloc arena, not {arenas}")
    global _THREADS_AT_FIRST_LIMIT
    libc = _glibc()
    if libc is None:
        _LOG.debug("not glibc: the malloc arena limit is left alone")
        return False
    limited = bool(libc.mallopt(_M_ARENA_MAX, arenas))
    if limited and _THREADS_AT_FIRST_LIMIT is None:
        _THREADS_AT_FIRST_LIMIT = threading.active_count()
    return limited


def tune_malloc(arenas: int = SOAK_ARENAS, mmap_threshold: int = SOAK_MMAP_THRESHOLD) -> bool:
    """Cap the arenas (:func:`limit_arenas`) and fix the mmap threshold, as a soak runs.

    Returns:
        Whether both were set (False off glibc).
    """
    if mmap_threshold < 1:
        raise ValueError(f"the mmap threshold must be a positive size, not {mmap_threshold}")
    if not limit_arenas(arenas):
        return False
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def _environment_limit() -> str | None:
    """The arena limit glibc read from the environment at start-up, if any was set."""
    if os.environ.get("MALLOC_ARENA_MAX", "").strip():
        return f"MALLOC_ARENA_MAX={os.environ['MALLOC_ARENA_MAX'].strip()}"
    for tunable in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        if tunable.strip().startswith("glibc.malloc.arena_max="):
            return f"GLIBC_TUNABLES {tunable.strip()}"
    return None


_LIMIT_AT_START = _environment_limit()
"""The environment's arena limit as this module first saw it (glibc read it at start-up), kept
because :func:`forget_vigil_only_allocator` may take it out of the environment later."""


def arenas_capped_from_start() -> bool:
    """Whether every thread of this process is bound by an arena limit.

    True where the limit came from the environment (glibc reads it before any thread starts),
    where :func:`limit_arenas` first ran while this was the only thread, or off glibc, where
    there is nothing to cap.
    """
    if _glibc() is None or (_LIMIT_AT_START or _environment_limit()) is not None:
        return True
    return _THREADS_AT_FIRST_LIMIT == 1


def late_cap_warning() -> str | None:
    """A warning for the soak's log when threads already running keep arenas of their own."""
    if arenas_capped_from_start():
        return None
    running = threading.active_count()
    return (
        f"{running} threads started before the soak's malloc arena limit and keep arenas of "
        "their own; each cycle's threads take turns in all of them, and vigil's memory creeps "
        "up by tens of MB an hour. Set MALLOC_ARENA_MAX=2 in the soak process's environment "
        "(the weekly-soak deployment's job_variables.env does)."
    )


def release_free_memory() -> bool:
    """Collect the garbage a cycle left, then hand the free pages of every arena back.

    Returns:
        Whether glibc released any memory (False off glibc).
    """
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))


__all__ = [
    "SOAK_ARENAS",
    "SOAK_MMAP_THRESHOLD",
    "VIGIL_ONLY_MARK",
    "arenas_capped_from_start",
    "forget_vigil_only_allocator",
    "glibc_malloc",
    "late_cap_warning",
    "limit_arenas",
    "release_free_memory",
    "tune_malloc",
]
