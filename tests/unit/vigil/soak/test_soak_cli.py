"""`vigil soak`: bad usage is answered with one line and exit code 2, before anything starts."""

from __future__ import annotations

from vigil.cli import EXIT_USAGE, main


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
