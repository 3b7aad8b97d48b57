"""tcpcheck.writing: files are staged beside their targets and replace them only on commit,
all together; a stop signal after the commit is dropped, so a finished run stays finished."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tcpcheck.writing import Replacement, StagedWrites


class Stop(Exception):
    """What the test's SIGINT handler raises."""


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_targets_change_only_at_commit_and_all_together(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.sarif"
    a.write_text("old a")
    with StagedWrites() as staged:
        with staged.open(str(a)) as fh:
            fh.write("new a")
        with staged.open(str(b)) as fh:
            fh.write("new b")
        assert a.read_text() == "old a" and not b.exists()
        assert len(hidden(tmp_path)) == 2
        staged.commit()
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert hidden(tmp_path) == []


def test_leaving_without_a_commit_keeps_every_target_and_no_temporary_file(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.sarif"
    a.write_text("old a")
    with pytest.raises(RuntimeError), StagedWrites() as staged:
        with staged.open(str(a)) as fh:
            fh.write("new a")
        with staged.open(str(b)) as fh:
            fh.write("half of b")
            raise RuntimeError("the renderer failed")
    assert a.read_text() == "old a" and not b.exists()
    assert hidden(tmp_path) == []


def test_a_stop_signal_after_the_commit_is_dropped(tmp_path):
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        with StagedWrites() as staged:
            with staged.open(str(tmp_path / "r.json")) as fh:
                fh.write("{}")
            staged.commit()
            os.kill(os.getpid(), signal.SIGINT)  # held back: the run is over
        os.kill(os.getpid(), signal.SIGINT)  # after the block: delivered as usual
    finally:
        signal.signal(signal.SIGINT, previous)
    assert received == [signal.SIGINT]
    assert (tmp_path / "r.json").read_text() == "{}"


def test_a_stop_signal_while_writing_interrupts_and_leaves_the_target(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("previous")

    def stop(signum: int, frame: object) -> None:
        raise Stop

    previous = signal.signal(signal.SIGINT, stop)
    try:
        with pytest.raises(Stop), StagedWrites() as staged:
            with staged.open(str(target)) as fh:
                fh.write("<html>")
                os.kill(os.getpid(), signal.SIGINT)
                fh.write("</html>")
            staged.commit()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert target.read_text() == "previous" and hidden(tmp_path) == []


def test_a_committed_replacement_can_still_be_written(tmp_path):
    # sniff --write: the capture file takes the place of the old one once the capture runs,
    # and grows there.
    target = tmp_path / "live.pcapng"
    target.write_bytes(b"old capture")
    saved = Replacement(str(target), binary=True)
    saved.file.write(b"head")
    assert target.read_bytes() == b"old capture"
    saved.commit()
    saved.file.write(b" and packets")
    saved.close()
    assert target.read_bytes() == b"head and packets" and hidden(tmp_path) == []


def test_a_replacement_closed_without_commit_leaves_the_target(tmp_path):
    target = tmp_path / "live.pcapng"
    target.write_bytes(b"old capture")
    saved = Replacement(str(target), binary=True)
    saved.file.write(b"head")
    saved.close()
    assert target.read_bytes() == b"old capture" and hidden(tmp_path) == []
