"""The guard's size-bounded log: rotation, whole lines, what is kept and what is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.targets.guard import BoundedLog


def files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))}


def test_lines_that_fit_stay_in_one_file(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "target.log", max_bytes=100, backups=2)
    log.write(b"one\n")
    log.write(b"two\n")
    log.close()
    assert files(tmp_path / "target.log") == {"target.log": b"one\ntwo\n"}


def test_a_full_file_rotates_keeping_lines_whole_and_the_newest_backups(
    tmp_path: Path,
) -> None:
    path = tmp_path / "target.log"
    log = BoundedLog(path, max_bytes=10, backups=2)
    for n in range(8):
        log.write(f"line{n}\n".encode())  # 6 bytes: one line per file
    log.close()
    # Eight lines, one per 10-byte file: the current file and two backups hold the last three.
    assert files(path) == {
        "target.log": b"line7\n",
        "target.log.1": b"line6\n",
        "target.log.2": b"line5\n",
    }


def test_a_chunk_is_cut_at_its_last_newline_that_fits(tmp_path: Path) -> None:
    path = tmp_path / "target.log"
    log = BoundedLog(path, max_bytes=12, backups=3)
    log.write(b"aaaa\nbbbb\ncccc\ndd")
    log.write(b"dd\n")
    log.close()
    assert files(path) == {"target.log": b"cccc\ndddd\n", "target.log.1": b"aaaa\nbbbb\n"}


def test_a_line_longer_than_a_file_is_split(tmp_path: Path) -> None:
    path = tmp_path / "target.log"
    log = BoundedLog(path, max_bytes=4, backups=5)
    log.write(b"0123456789\n")
    log.close()
    assert files(path) == {
        "target.log": b"89\n",
        "target.log.1": b"4567",
        "target.log.2": b"0123",
    }
    assert all(len(data) <= 4 for data in files(path).values())


def test_no_backups_empties_the_one_file(tmp_path: Path) -> None:
    path = tmp_path / "target.log"
    log = BoundedLog(path, max_bytes=8, backups=0)
    log.write(b"first\n")
    log.write(b"second\n")
    log.close()
    assert files(path) == {"target.log": b"second\n"}


def test_an_existing_log_is_appended_to_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "target.log"
    path.write_bytes(b"earlier run\n")  # 12 bytes
    log = BoundedLog(path, max_bytes=16, backups=1)
    log.write(b"next\n")
    log.close()
    assert files(path) == {"target.log": b"next\n", "target.log.1": b"earlier run\n"}


def test_a_log_removed_while_open_is_started_again_at_the_next_rotation(tmp_path: Path) -> None:
    path = tmp_path / "target.log"
    log = BoundedLog(path, max_bytes=8, backups=1)
    log.write(b"first\n")
    path.unlink()
    log.write(b"second\n")
    log.close()
    assert files(path) == {"target.log": b"second\n"}


@pytest.mark.parametrize(("max_bytes", "backups"), [(0, 1), (10, -1)])
def test_bounds_that_make_no_sense_are_refused(
    tmp_path: Path, max_bytes: int, backups: int
) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        BoundedLog(tmp_path / "target.log", max_bytes, backups)
