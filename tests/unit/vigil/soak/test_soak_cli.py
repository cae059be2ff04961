"""`vigil soak`: bad usage is answered with one line and exit code 2, before anything starts."""

from __future__ import annotations

import os
import sys

import pytest

from vigil.cli import EXIT_USAGE, _restart_with_system_malloc, main


def test_a_bad_duration_names_the_fix(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["soak", "--duration", "ten minutes"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--duration 'ten minutes' is not a duration; write e.g. 90s, 30m, 72h" in err
    assert not (tmp_path / ".vigil").exists(), "nothing may start for a usage error"


def test_a_duration_beyond_the_bound_is_rejected(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["soak", "--duration", "30d"]) == EXIT_USAGE
    assert "--duration 30d: Input should be less than or equal to" in capsys.readouterr().err


def test_status_of_an_unknown_soak(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["soak", "status", "nope"]) == EXIT_USAGE
    assert "no soak 'nope' in the store" in capsys.readouterr().err


class _Restarted(Exception):
    """Raised by the stand-in for os.execve, which never returns when it works."""


def test_a_soak_restarts_itself_on_glibc_malloc_with_the_same_arguments(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.setattr("vigil.soak.heap.glibc_malloc", lambda: True)
    calls = []

    def execve(path, argv, env):
        calls.append((path, argv, env))
        raise _Restarted

    monkeypatch.setattr("os.execve", execve)
    with pytest.raises(_Restarted):
        main(["soak", "--duration", "30s", "--soak-id", "s1"])
    [(path, argv, env)] = calls
    assert path == sys.executable
    soak = ["soak", "--duration", "30s", "--soak-id", "s1"]
    assert argv == [sys.executable, "-P", "-m", "vigil", *soak]
    assert env["PYTHONMALLOC"] == "malloc" and env["VIGIL_SOAK_MALLOC"] == "PYTHONMALLOC"


def test_the_restarted_soak_keeps_its_allocator_to_itself(monkeypatch):
    monkeypatch.setenv("PYTHONMALLOC", "malloc")
    monkeypatch.setenv("VIGIL_SOAK_MALLOC", "PYTHONMALLOC")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # the user's own
    monkeypatch.setattr("os.execve", lambda *a: pytest.fail(f"restarted again: {a[1]}"))
    _restart_with_system_malloc(["soak"])
    # What the target and Prefect's server inherit no longer has vigil's, and keeps the user's.
    assert not {"PYTHONMALLOC", "VIGIL_SOAK_MALLOC"} & set(os.environ)
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


@pytest.mark.parametrize("allocator", ["pymalloc", "malloc"])
def test_a_chosen_allocator_is_left_alone(monkeypatch, allocator):
    monkeypatch.setenv("PYTHONMALLOC", allocator)
    monkeypatch.setattr("vigil.soak.heap.glibc_malloc", lambda: True)
    monkeypatch.setattr("os.execve", lambda *a: pytest.fail(f"restarted: {a[1]}"))
    _restart_with_system_malloc(["soak"])


def test_off_glibc_there_is_no_restart(monkeypatch):
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.setattr("vigil.soak.heap.glibc_malloc", lambda: False)
    monkeypatch.setattr("os.execve", lambda *a: pytest.fail(f"restarted: {a[1]}"))
    _restart_with_system_malloc(["soak"])
