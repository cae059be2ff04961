"""The soak's C-heap controls, measured with glibc's own report of its arenas (malloc_info)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from vigil.soak.heap import _glibc, limit_arenas, release_free_memory, tune_malloc

needs_glibc = pytest.mark.skipif(_glibc() is None, reason="the C library is not glibc")


@needs_glibc
def test_threads_started_after_the_limit_share_two_arenas():
    unlimited = _late_limit("none")["arenas"]
    assert unlimited > 2, "without the limit, eight busy threads get their own arenas"
    assert _late_limit("early")["arenas"] == 2


@needs_glibc
def test_releasing_free_memory_answers_and_a_zero_limit_is_refused():
    assert isinstance(release_free_memory(), bool)
    with pytest.raises(ValueError, match="at least one malloc arena, not 0"):
        limit_arenas(0)


# Threads allocate first (or not), then the limit is set (or not, "none"), then eight fresh
# threads allocate at once: the arenas glibc's malloc_info lists (one <heap> each), and what
# the soak's start-up check says about them.
_LATE_LIMIT = textwrap.dedent(
    """
    import ctypes, json, re, sys, tempfile, threading
    from vigil.soak import heap

    def busy(count):
        ready = threading.Barrier(count + 1)
        def allocate():
            blocks = [ctypes.create_string_buffer(2000) for _ in range(2000)]
            ready.wait()
            ready.wait()
        threads = [threading.Thread(target=allocate) for _ in range(count)]
        for thread in threads:
            thread.start()
        ready.wait()
        return ready, threads

    def arenas():
        libc = heap._glibc()
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        with tempfile.NamedTemporaryFile(suffix=".xml") as report:
            handle = libc.fopen(report.name.encode(), b"w")
            libc.malloc_info(0, handle)
            libc.fclose(handle)
            return len(re.findall(r'<heap nr="', open(report.name).read()))

    early = busy(8) if sys.argv[1] == "late" else None
    if sys.argv[1] != "none":
        assert heap.limit_arenas(2)
    answer = {"capped": heap.arenas_capped_from_start(), "warning": heap.late_cap_warning()}
    later = busy(8)
    answer["arenas"] = arenas()
    for ready, threads in [later] + ([early] if early else []):
        ready.wait()
        for thread in threads:
            thread.join()
    print(json.dumps(answer))
    """
)


def _late_limit(mode: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}
    done = subprocess.run(
        [sys.executable, "-c", _LATE_LIMIT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_glibc
def test_a_limit_set_before_any_thread_binds_them_all():
    answer = _late_limit("early")
    assert answer == {"capped": True, "warning": None, "arenas": 2}


@needs_glibc
def test_a_late_limit_leaves_the_earlier_arenas_and_the_soak_is_told_how_to_fix_it():
    answer = _late_limit("late")
    # The eight fresh threads take turns in the arenas the first eight made.
    assert answer["arenas"] > 2
    assert answer["capped"] is False
    warning = str(answer["warning"])
    assert "threads started before the soak's malloc arena limit" in warning
    assert "MALLOC_ARENA_MAX=2" in warning


@needs_glibc
def test_a_limit_from_the_environment_binds_every_thread():
    for env in ({"MALLOC_ARENA_MAX": "2"}, {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}):
        answer = _late_limit("late", **env)
        assert answer == {"capped": True, "warning": None, "arenas": 2}, env


# Three blocks of 200 KiB, one after the other, each freed before the next: how many bytes
# glibc mapped on their own for each (mallinfo2's hblkhd), with and without the soak's tuning.
_MAPPED_BLOCKS = textwrap.dedent(
    """
    import ctypes, json, sys
    from vigil.soak import heap

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    if sys.argv[1] == "tuned":
        assert heap.tune_malloc()
    libc = heap._glibc()
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    mapped = []
    for _ in range(3):
        before = libc.mallinfo2().hblkhd
        block = libc.malloc(200 * 1024)
        mapped.append(libc.mallinfo2().hblkhd - before)
        libc.free(block)
    print(json.dumps(mapped))
    """
)


def _mapped_blocks(mode: str) -> list[int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUN"))}
    done = subprocess.run(
        [sys.executable, "-c", _MAPPED_BLOCKS, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_glibc
def test_large_blocks_stay_mapped_on_their_own_once_malloc_is_tuned():
    # Untuned, the first block is mapped; freeing it raises glibc's threshold past 200 KiB,
    # so the next ones come from the arena and leave their pages there.
    first, *rest = _mapped_blocks("untuned")
    assert first >= 200 * 1024 and rest == [0, 0]
    assert all(size >= 200 * 1024 for size in _mapped_blocks("tuned"))


@needs_glibc
def test_a_threshold_of_nothing_is_refused():
    with pytest.raises(ValueError, match="mmap threshold must be a positive size, not 0"):
        tune_malloc(mmap_threshold=0)


@needs_glibc
def test_a_limit_from_the_environment_still_counts_once_vigil_hides_it_from_its_children():
    script = (
        "import os; from vigil.soak import heap; "
        "gone = heap.forget_vigil_only_allocator(); "
        "print(gone, 'MALLOC_ARENA_MAX' in os.environ, 'HOME' in os.environ, "
        "heap.late_cap_warning())"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUN"))}
    env = {**clean, "MALLOC_ARENA_MAX": "2", "VIGIL_SOAK_MALLOC": "MALLOC_ARENA_MAX,HOME"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    # Only allocator variables go, even where the mark names others.
    assert done.stdout.split() == [
        "['MALLOC_ARENA_MAX',",
        "'VIGIL_SOAK_MALLOC']",
        "False",
        "True",
        "None",
    ]
