"""Outputs never destroy anything: an output that is an input capture, or a folder, or in a
folder that is not there, is refused before anything is read; a report or baseline that cannot
be written completely (a full disk, SIGINT, SIGTERM) leaves the previous file as it was.

Every test runs ``python -m tcpcheck`` as a user would, on real files.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "linux" / "close-client-first.pcap"
LINUX = ROOT / "captures" / "linux"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"}
PAST = 1_000_000_000_000_000_000
"""An mtime (2001) that any write would change."""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")


def tcpcheck(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=ENV)


def snapshot(path: Path) -> tuple[bytes, int]:
    """What must not change: the bytes and the modification time."""
    return path.read_bytes(), path.stat().st_mtime_ns


def temp_files(folder: Path) -> list[str]:
    """The hidden files tcpcheck writes before renaming them into place."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A capture whose modification time is in the past, so that any write shows."""
    path = tmp_path / "in.pcap"
    shutil.copy(CAPTURE, path)
    os.utime(path, ns=(PAST, PAST))
    return path


# ---------------------------------------------------------------- the input is never written


def _same_path(capture: Path) -> tuple[list[str], str]:
    return ["in.pcap", "--format", "json", "-o", "in.pcap"], "-o in.pcap"


def _dot_path(capture: Path) -> tuple[list[str], str]:
    return ["in.pcap", "--format", "json", "-o", "./in.pcap"], "-o ./in.pcap"


def _symlink_to_input(capture: Path) -> tuple[list[str], str]:
    (capture.parent / "link.json").symlink_to("in.pcap")
    return ["in.pcap", "--format", "json", "-o", "link.json"], "-o link.json"


def _input_through_symlink(capture: Path) -> tuple[list[str], str]:
    (capture.parent / "link.pcap").symlink_to("in.pcap")
    return ["link.pcap", "-o", "in.pcap"], "-o in.pcap"


def _hard_link(capture: Path) -> tuple[list[str], str]:
    os.link(capture, capture.parent / "hard.json")
    return ["in.pcap", "--format", "json", "-o", "hard.json"], "-o hard.json"


def _gzip_input(capture: Path) -> tuple[list[str], str]:
    capture.write_bytes(gzip.compress(CAPTURE.read_bytes()))
    os.utime(capture, ns=(PAST, PAST))
    return ["in.pcap", "--format", "html", "-o", "in.pcap"], "-o in.pcap"


def _found_in_folder(capture: Path) -> tuple[list[str], str]:
    return [".", "--format", "json", "-o", "in.pcap"], "-o in.pcap"


def _found_by_glob(capture: Path) -> tuple[list[str], str]:
    return ["*.pcap", "--format", "sarif:in.pcap"], "--format sarif:in.pcap"


def _write_baseline(capture: Path) -> tuple[list[str], str]:
    return ["in.pcap", "--write-baseline", "in.pcap"], "--write-baseline in.pcap"


def _format_path(capture: Path) -> tuple[list[str], str]:
    return ["in.pcap", "--format", "sarif:in.pcap"], "--format sarif:in.pcap"


@pytest.mark.parametrize("form", [_same_path, _dot_path, _symlink_to_input,
                                  _input_through_symlink, _hard_link, _gzip_input,
                                  _found_in_folder, _found_by_glob, _write_baseline,
                                  _format_path], ids=lambda f: f.__name__.strip("_"))
def test_an_output_that_is_an_input_capture_is_refused_and_the_capture_untouched(capture, form):
    args, label = form(capture)
    before = snapshot(capture)
    proc = tcpcheck("analyze", *args, cwd=capture.parent)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"tcpcheck: error: {label}: is the input capture ")
    assert line.split("is the input capture ")[1].split(";")[0].endswith(".pcap")
    assert proc.stdout == ""
    assert snapshot(capture) == before
    assert temp_files(capture.parent) == []


def test_two_outputs_naming_one_file_are_refused(capture):
    proc = tcpcheck("analyze", "in.pcap", "--format", "json:r.json",
                    "--write-baseline", "./r.json", cwd=capture.parent)
    assert proc.returncode == 2
    assert proc.stderr == ("tcpcheck: error: --format json:r.json and --write-baseline "
                           "./r.json name the same file\n")
    assert not (capture.parent / "r.json").exists()


def test_the_baseline_read_may_be_rewritten_in_the_same_run(tmp_path):
    # Not an overwrite of an input capture: the baseline is read whole before it is replaced.
    shutil.copy(ROOT / "captures" / "crafted" / "syn-isn-changed.pcap", tmp_path / "in.pcap")
    first = tcpcheck("analyze", "in.pcap", "--write-baseline", "b.json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    recorded = (tmp_path / "b.json").read_text()
    again = tcpcheck("analyze", "in.pcap", "--baseline", "b.json", "--write-baseline", "b.json",
                     cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr == "tcpcheck: recorded 1 finding in b.json\n"
    assert (tmp_path / "b.json").read_text() == recorded
    assert tcpcheck("analyze", "in.pcap", "--baseline", "b.json", cwd=tmp_path).returncode == 0


# ---------------------------------------------------------------- paths that cannot be written


def test_an_empty_output_path_is_refused(capture):
    proc = tcpcheck("analyze", "in.pcap", "--write-baseline", "", cwd=capture.parent)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "tcpcheck: error: --write-baseline '': the path is empty\n"


@pytest.mark.parametrize(("args", "label"), [
    (["-o", "out/"], "-o out/"),
    (["--format", "json:out"], "--format json:out"),
    (["--write-baseline", "out"], "--write-baseline out"),
])
def test_an_output_naming_a_folder_is_one_line(capture, args, label):
    (capture.parent / "out").mkdir()
    proc = tcpcheck("analyze", "in.pcap", *args, cwd=capture.parent)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"tcpcheck: error: {label}: is a folder; give a file path\n"


def test_an_output_in_a_missing_folder_is_refused_before_the_input_is_read(tmp_path):
    # The input does not exist either: the message about the output shows that it was
    # checked first, before a (maybe 1 GB) capture was read.
    proc = tcpcheck("analyze", "missing.pcap", "--format", "json", "-o", "nowhere/r.json",
                    cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (f"tcpcheck: error: -o nowhere/r.json: {tmp_path / 'nowhere'} "
                           "does not exist\n")


def test_an_output_below_a_file_is_refused_before_the_input_is_read(capture):
    proc = tcpcheck("analyze", "in.pcap", "--format", "sarif:in.pcap/r.sarif",
                    cwd=capture.parent)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (f"tcpcheck: error: --format sarif:in.pcap/r.sarif: {capture} "
                           "is not a folder\n")


# ---------------------------------------------------------------- atomic reports


def test_a_report_replaces_the_previous_one_and_keeps_its_permission_bits(capture):
    report = capture.parent / "r.json"
    report.write_text("previous")
    report.chmod(0o640)
    proc = tcpcheck("analyze", "in.pcap", "--format", "json:r.json", cwd=capture.parent)
    assert proc.returncode == 0, proc.stderr
    assert report.read_text().startswith("{") and report.stat().st_mode & 0o777 == 0o640
    assert temp_files(capture.parent) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as another user")
def test_a_report_written_by_root_over_a_users_file_stays_the_users(capture):
    report = capture.parent / "r.json"
    report.write_text("previous")
    os.chown(report, 65534, 65534)
    proc = tcpcheck("analyze", "in.pcap", "--format", "json:r.json", cwd=capture.parent)
    assert proc.returncode == 0, proc.stderr
    assert report.read_text().startswith("{")
    assert (report.stat().st_uid, report.stat().st_gid) == (65534, 65534)


def test_a_new_report_gets_the_mode_open_would_give_it(capture):
    subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "in.pcap", "--format",
                    "sarif:r.sarif"], cwd=capture.parent, env=ENV, capture_output=True,
                   check=True, umask=0o027, timeout=120)
    assert (capture.parent / "r.sarif").stat().st_mode & 0o777 == 0o640


def test_a_report_through_a_symlink_replaces_the_file_and_keeps_the_link(capture):
    (capture.parent / "reports").mkdir()
    real = capture.parent / "reports" / "latest.md"
    real.write_text("previous")
    (capture.parent / "latest.md").symlink_to(real)
    proc = tcpcheck("analyze", "in.pcap", "--format", "markdown:latest.md", cwd=capture.parent)
    assert proc.returncode == 0, proc.stderr
    assert (capture.parent / "latest.md").is_symlink()
    assert real.read_text() != "previous"


def test_a_report_to_a_fifo_is_written_into_it_not_over_it(capture):
    fifo = capture.parent / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = tcpcheck("analyze", "in.pcap", "--format", f"json:{fifo}", "-q", cwd=capture.parent)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert fifo.is_fifo() and received[0].startswith(b"{")


def test_dev_stdout_is_written_into_what_the_shell_opened_not_replaced(capture):
    # `tcpcheck ... -o /dev/stdout >> log`: the log keeps its lines and its inode.
    log = capture.parent / "log"
    log.write_text("earlier line\n")
    inode = log.stat().st_ino
    with log.open("ab") as appended:
        proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "in.pcap",
                               "--format", "json", "-o", "/dev/stdout"], cwd=capture.parent,
                              stdout=appended, stderr=subprocess.PIPE, text=True, env=ENV,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().startswith("earlier line\n{") and log.stat().st_ino == inode
    assert temp_files(capture.parent) == []


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder``: a disk that fills up."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@needs_root
@pytest.mark.parametrize("fmt", ["html", "json", "sarif", "junit"])
def test_a_full_disk_leaves_the_previous_report_and_no_temporary_file(tmp_path, fmt):
    with tiny_disk(tmp_path / "disk", "128k") as disk:
        report = disk / "report"
        report.write_text("the previous, good report\n")
        os.utime(report, ns=(PAST, PAST))
        before = snapshot(report)
        # Reports of every bundled Linux capture: html 1.4 MB, sarif 1.5 MB, json 0.8, junit 0.5.
        proc = tcpcheck("analyze", LINUX, "--html-all", "--format", f"{fmt}:{report}")
        assert proc.returncode == 2
        assert proc.stderr.splitlines()[-1] == (
            f"tcpcheck: error: cannot write {report}: No space left on device")
        assert "Traceback" not in proc.stderr
        assert snapshot(report) == before
        assert temp_files(disk) == []


@needs_root
def test_a_full_disk_while_writing_the_baseline_leaves_the_previous_one(tmp_path):
    with tiny_disk(tmp_path / "disk", "16k") as disk:
        baseline = disk / "baseline.json"
        baseline.write_text("{}\n")
        before = snapshot(baseline)
        proc = tcpcheck("analyze", LINUX, "--write-baseline", baseline, "-q")
        assert proc.returncode == 2
        assert proc.stderr == (f"tcpcheck: error: cannot write {baseline}: "
                               "No space left on device\n")
        assert snapshot(baseline) == before and temp_files(disk) == []


# ---------------------------------------------------------------- SIGINT and SIGTERM


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled Linux capture four times (hard links): its html report with every
    connection drawn takes a while to render and write."""
    folder = tmp_path_factory.mktemp("big")
    for copy in range(4):
        for capture in LINUX.glob("*.pcap"):
            os.link(capture, folder / f"{copy}-{capture.name}")
    return folder


def interrupt_while_writing(big_input: Path, report: Path, signum: int, delay: float) -> int:
    """Run an analysis writing ``report``; once its temporary file exists, wait ``delay``
    seconds and send ``signum``. The exit status."""
    proc = subprocess.Popen([sys.executable, "-m", "tcpcheck", "analyze", str(big_input),
                             "--html-all", "--format", f"html:{report}", "-q"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None and not temp_files(report.parent):
            time.sleep(0.001)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_report_is_written_leaves_the_previous_one_or_a_finished_run(
        tmp_path, big_input, signum, code):
    report = tmp_path / "report.html"
    interrupted = 0
    for delay in (0, 0, 0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0):
        report.write_text("the previous report\n")
        os.utime(report, ns=(PAST, PAST))
        before = snapshot(report)
        status = interrupt_while_writing(big_input, report, signum, delay)
        assert temp_files(tmp_path) == []
        if status == code or (status == -signum and snapshot(report) == before):
            # Stopped before the report was in place: the previous one is left. A signal that
            # lands while the interpreter unwinds after "interrupted" kills it with the
            # signal itself (-signum, which a shell shows as 128 + signum as well).
            interrupted += 1
            assert snapshot(report) == before
        else:
            # The signal came once the report was in place: the run finished (0 or 1), or
            # its signal killed the interpreter while it was tearing down after the run.
            assert status in (0, 1, -signum)
            assert report.read_text().rstrip().endswith("</html>")
    assert interrupted > 0


# ---------------------------------------------------------------- sniff --write


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a live capture")
@pytest.mark.skipif(shutil.which("dumpcap") is None, reason="dumpcap is not installed")
def test_sniff_write_keeps_an_existing_file_when_the_capture_cannot_start(tmp_path):
    saved = tmp_path / "previous.pcapng"
    shutil.copy(CAPTURE, saved)
    os.utime(saved, ns=(PAST, PAST))
    before = snapshot(saved)
    proc = tcpcheck("sniff", "-i", "nosuchif0", "--write", saved)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("tcpcheck: error: no such interface 'nosuchif0'")
    assert snapshot(saved) == before
    assert temp_files(tmp_path) == []


def test_sniff_write_naming_a_folder_is_one_line(tmp_path):
    proc = tcpcheck("sniff", "-i", "lo", "--write", tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"tcpcheck: error: --write {tmp_path}: is a folder; give a file path\n"


def test_sniff_write_and_a_report_naming_one_file_are_refused(tmp_path):
    proc = tcpcheck("sniff", "-i", "lo", "--write", "x.pcapng", "--format", "json",
                    "-o", "./x.pcapng", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "tcpcheck: error: -o ./x.pcapng and --write x.pcapng name the same file\n"
