"""Where a soak process's memory is: the accounts the soak benchmarks write from inside.

Shared by ``direct_soak.py`` (after each cycle) and ``accounted_soak.py`` (on a timer, beside
``vigil soak``): RSS and anonymous memory (smaps_rollup), glibc's malloc totals
(``mallinfo2``), SQLite's own allocations (``sqlite3_memory_used``), Python's allocated blocks
and the collector's object count, and the small-object allocator's arenas
(``sys._debugmallocstats``). A growth seen in RSS can then be placed in the C heap, SQLite,
Python objects, or pages that allocators hold without using them.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import psutil


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _pymalloc() -> dict[str, int]:
    """Python's small-object allocator totals from ``sys._debugmallocstats`` (C stderr)."""
    wanted = {
        "# arenas allocated current": "arenas",
        "# bytes in allocated blocks": "allocated",
        "# bytes in available blocks": "available",
    }
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        found = {}
        for line in capture.read().decode("ascii", "replace").splitlines():
            name, _, value = line.partition("=")
            if name.strip() in wanted:
                found[wanted[name.strip()]] = int(value.strip().replace(",", ""))
    return found


def _malloc_arenas(libc: ctypes.CDLL) -> int:
    """How many arenas glibc's malloc has made in this process (one ``<heap>`` each)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        handle = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        return Path(report.name).read_text(encoding="ascii", errors="replace").count("<heap nr=")


def accountant() -> tuple[list[str], Callable[[], list[object]]]:
    """Column names and a function returning one row of the process's memory accounts."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = _MallInfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    import _sqlite3

    sqlite = ctypes.CDLL(_sqlite3.__file__)
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    me = psutil.Process()
    columns = [
        "t_s",
        "rss_mb",
        "anon_mb",
        "malloc_in_use_mb",
        "malloc_free_mb",
        "malloc_mmapped_mb",
        "sqlite_mb",
        "py_blocks",
        "gc_objects",
        "pymalloc_arenas_mb",
        "pymalloc_allocated_mb",
        "pymalloc_available_mb",
        "malloc_arenas",
    ]
    began = time.monotonic()

    def row() -> list[object]:
        info = libc.mallinfo2()
        pymalloc = _pymalloc()
        anon = ""
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                anon = round(int(line.split()[1]) / 1024, 2)
        return [
            round(time.monotonic() - began, 1),
            round(me.memory_info().rss / 2**20, 2),
            anon,
            round(info.uordblks / 2**20, 2),
            round(info.fordblks / 2**20, 2),
            round(info.hblkhd / 2**20, 2),
            round(sqlite.sqlite3_memory_used() / 2**20, 3),
            sys.getallocatedblocks(),
            len(gc.get_objects()),
            pymalloc.get("arenas", 0),  # arenas of 1 MiB each (CPython 3.10+)
            round(pymalloc.get("allocated", 0) / 2**20, 2),
            round(pymalloc.get("available", 0) / 2**20, 2),
            _malloc_arenas(libc),
        ]

    return columns, row


def write_growth(before: object, after: object, out: Path) -> None:
    """The 25 allocation sites whose live memory grew most between the two snapshots."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diffs = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "traceback")
    lines = []
    for diff in diffs[:25]:
        lines.append(f"{diff.size_diff / 1024:+.1f} KiB, {diff.count_diff:+d} blocks")
        lines.extend(f"    {line}" for line in diff.traceback.format()[-12:])
    out.write_text("\n".join(lines) + "\n")


def type_census() -> collections.Counter[str]:
    """How many objects of each type the collector tracks (containers, not str or int)."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def write_census_growth(before: collections.Counter[str], out: Path, top: int = 30) -> None:
    """The `top` types whose tracked object count grew most since `before`."""
    after = type_census()
    grown = sorted(((after[k] - before.get(k, 0), k) for k in after), reverse=True)[:top]
    lines = [f"{delta:+d}\t{after[name]}\t{name}" for delta, name in grown]
    out.write_text("growth\tnow\ttype\n" + "\n".join(lines) + "\n")
