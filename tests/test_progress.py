"""While `tcpcheck analyze` reads, a terminal's stderr shows a progress bar; nothing else does.

The bar is fed by the readers once per chunk read (``tcpcheck.progress``): what they tell it
is checked on real captures, and the bar itself on a real pseudo-terminal.
"""

from __future__ import annotations

import gzip
import io
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from rich.console import Console

from tcpcheck.capture import CHUNK
from tcpcheck.cli.progress import reading_progress, wants_progress
from tcpcheck.pipeline import Job, analyze_capture, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.sources import CaptureSet, open_stream

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "linux" / "bulk-heavy-loss.pcap"
GUARD = 120
"""Seconds after which a hung run fails the test (a guard, not an assertion on time)."""


class Told:
    """A ``ReadProgress`` that keeps what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None, int]] = []

    def __call__(self, name: str, done: int, total: int | None, records: int) -> None:
        self.calls.append((name, done, total, records))


def test_the_reader_tells_progress_once_per_chunk_up_to_the_whole_file():
    told = Told()
    summary, _ = analyze_capture(str(CAPTURE), load_profile("linux"), progress=told)
    size = CAPTURE.stat().st_size
    assert len(told.calls) <= size // CHUNK + 2
    assert told.calls[-1] == (str(CAPTURE), size, size, summary.packets)


def test_a_gzip_capture_counts_its_compressed_bytes_against_its_size(tmp_path):
    packed = tmp_path / "capture.pcap.gz"
    packed.write_bytes(gzip.compress(CAPTURE.read_bytes()))
    told = Told()
    summary, _ = analyze_capture(str(packed), load_profile("linux"), progress=told)
    size = packed.stat().st_size
    assert told.calls[-1] == (str(packed), size, size, summary.packets)


def test_a_pipe_has_no_size():
    read_end, write_end = os.pipe()
    data = CAPTURE.read_bytes()

    def write() -> None:
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
    writer = threading.Thread(target=write)
    writer.start()
    with os.fdopen(read_end, "rb") as pipe, open_stream(pipe, "pipe") as capture:
        assert capture.size is None
        told = Told()
        capture.progress = told
        records = sum(1 for _ in capture.records())
    writer.join(GUARD)
    assert told.calls[-1] == ("pipe", len(data), None, records)


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap is not installed")
def test_a_stitched_set_is_one_bar_over_all_its_files(tmp_path):
    subprocess.run(["editcap", "-F", "pcap", "-c", "1000", str(CAPTURE),
                    str(tmp_path / "part.pcap")], check=True)
    parts = sorted(tmp_path.iterdir())
    told = Told()
    result = analyze_jobs([Job(str(parts[0]), load_profile("linux"),
                               stitch=CaptureSet(tuple(map(str, parts))))], progress=told)
    size = sum(part.stat().st_size for part in parts)
    assert {call[0] for call in told.calls} == {f"{parts[0]} (+{len(parts) - 1} rotated files)"}
    assert told.calls[-1][1:] == (size, size, result.packets)


def bar_on(console: Console, quiet: bool = False) -> str:
    """What the bar draws on ``console`` while the bundled capture is analysed."""
    with reading_progress(quiet, console) as progress:
        if progress is not None:
            analyze_capture(str(CAPTURE), load_profile("linux"), progress=progress)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_terminal_gets_the_bar_with_the_file_bytes_and_packets_per_second(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    drawn = bar_on(Console(file=io.StringIO(), force_terminal=True, width=160))
    assert str(CAPTURE) in drawn
    assert "packets/s" in drawn and "kB" in drawn


def test_no_bar_with_quiet_on_a_pipe_or_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert bar_on(Console(file=io.StringIO(), force_terminal=True), quiet=True) == ""
    assert bar_on(Console(file=io.StringIO(), force_terminal=False)) == ""
    monkeypatch.setenv("CI", "true")
    assert bar_on(Console(file=io.StringIO(), force_terminal=True)) == ""


@pytest.mark.parametrize(("ci", "wanted"), [("", True), ("false", True), ("0", True),
                                            ("true", False), ("1", False), ("yes", False)])
def test_the_ci_variable_as_github_and_gitlab_set_it_turns_the_bar_off(ci, wanted):
    assert wants_progress(False, True, {"CI": ci}) is wanted


def run_on_pty(*args: str, env: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """``tcpcheck analyze ARGS`` with stderr on a pseudo-terminal and stdout in a file:
    (stdout, what the terminal showed)."""
    main, terminal = pty.openpty()
    run_env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "160", **(env or {})}
    # A file, not a pipe: a report larger than a pipe's buffer would block the writer while
    # the terminal is read.
    with tempfile.TemporaryFile() as out, subprocess.Popen(
            [sys.executable, "-m", "tcpcheck", "analyze", *args], stdout=out,
            stderr=terminal, cwd=ROOT, env=run_env) as proc:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            shown += chunk
        proc.wait(GUARD)
        out.seek(0)
        stdout = out.read()
    os.close(main)
    return stdout, shown


def test_the_bar_is_drawn_on_a_terminals_stderr_and_leaves_stdout_as_it_was():
    args = (str(CAPTURE.relative_to(ROOT)), "--format", "json")
    stdout, shown = run_on_pty(*args)
    assert b"packets/s" in shown
    plain = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", *args],
                           capture_output=True, cwd=ROOT, timeout=GUARD)
    assert stdout == plain.stdout


@pytest.mark.parametrize(("args", "env"), [(("-q",), {}), ((), {"CI": "true"})])
def test_no_bar_on_a_terminal_with_quiet_or_in_ci(args, env):
    _, shown = run_on_pty(str(CAPTURE.relative_to(ROOT)), "--format", "json", *args,
                          env=env)
    assert b"packets/s" not in shown


def test_several_files_get_a_bar_each(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    other = CAPTURE.with_name("bulk-loss.pcap")
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with reading_progress(False, console) as progress:
        analyze_jobs([Job(str(path), load_profile("linux")) for path in (CAPTURE, other)],
                     progress=progress)
    drawn = console.file.getvalue()
    assert str(CAPTURE) in drawn and str(other) in drawn
