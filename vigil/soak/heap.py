"""Keep the C heap of a days-long soak flat: fewer glibc arenas, and free pages handed back.

Python's own heap is bounded in a soak (see ``benchmarks/soak/RESULTS.md``), but its resident
memory is not only Python's: every thread that allocates gets a glibc malloc arena (up to
eight per core), and a soak starts fresh threads every cycle (load, probes, fault watchdog),
each leaving partly used pages behind in whichever arena it was given. Measured there, that
fragmentation grew vigil's RSS by about 180 KB per cycle with no Python object behind it.

Two glibc calls keep it flat, and both are no-ops where the C library is not glibc:

* :func:`limit_arenas` -- ``mallopt(M_ARENA_MAX, n)``: threads started afterwards share
  ``n`` arenas. Must run before the soak's threads start; it is what ``MALLOC_ARENA_MAX``
  does, without needing the variable in the environment before the interpreter starts.
* :func:`release_free_memory` -- ``malloc_trim(0)``: every arena returns its free pages to the
  system. Cheap (milliseconds) next to a cycle, so the soak calls it after every checkpoint.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

_M_ARENA_MAX = -8
"""glibc's mallopt parameter number for the arena limit (malloc.h)."""

SOAK_ARENAS = 2
"""Arenas the soak's threads share: the soak's threads are few and mostly waiting."""

_LOG = logging.getLogger(__name__)


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


def limit_arenas(arenas: int = SOAK_ARENAS) -> bool:
    """Let threads started from now on share at most `arenas` malloc arenas.

    Returns:
        Whether the limit was set (False off glibc).
    """
    if arenas < 1:
        raise ValueError(f"a process needs at least one malloc arena, not {arenas}")
    libc = _glibc()
    if libc is None:
        _LOG.debug("not glibc: the malloc arena limit is left alone")
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Hand the free pages of every malloc arena back to the system.

    Returns:
        Whether any memory was released (False off glibc).
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))


__all__ = ["SOAK_ARENAS", "limit_arenas", "release_free_memory"]
