"""The soak's C-heap controls, measured with glibc's own report of its arenas (malloc_info)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from vigil.soak.heap import _glibc, limit_arenas, release_free_memory

needs_glibc = pytest.mark.skipif(_glibc() is None, reason="the C library is not glibc")

# Eight threads allocate at once; glibc's malloc_info then lists one <heap> per arena.
_ARENAS_SEEN = textwrap.dedent(
    """
    import ctypes, re, sys, tempfile, threading
    from vigil.soak.heap import _glibc, limit_arenas
    if sys.argv[1] == "limit":
        assert limit_arenas(2)
    ready = threading.Barrier(9)
    def allocate():
        blocks = [ctypes.create_string_buffer(2000) for _ in range(2000)]
        ready.wait()
        ready.wait()
    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    ready.wait()
    libc = _glibc()
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        handle = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        print(len(re.findall(r'<heap nr="', open(report.name).read())))
    ready.wait()
    for thread in threads:
        thread.join()
    """
)


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _ARENAS_SEEN, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@needs_glibc
def test_threads_started_after_the_limit_share_two_arenas():
    assert _arenas("none") > 2, "without the limit, eight busy threads get their own arenas"
    assert _arenas("limit") == 2


@needs_glibc
def test_releasing_free_memory_answers_and_a_zero_limit_is_refused():
    assert isinstance(release_free_memory(), bool)
    with pytest.raises(ValueError, match="at least one malloc arena, not 0"):
        limit_arenas(0)
