"""What `analyze PATH...` reads: files as named, folders recursively by content, glob patterns."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from formats import epb, ethernet, idb, ipv4, shb, tcp

from tcpcheck.inputs import expand_inputs, is_capture
from tcpcheck.sources import CaptureError

ROOT = Path(__file__).resolve().parent.parent
PCAP = ROOT / "captures" / "linux" / "close-client-first.pcap"


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    """A CI artefact folder: captures under odd names next to files that are not captures."""
    (tmp_path / "run" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    shutil.copy(PCAP, tmp_path / "run" / "traffic")  # no extension at all
    pcapng = shb() + idb() + epb(0, 1, ethernet(ipv4(tcp())))
    with gzip.open(tmp_path / "run" / "deep" / "b.pcapng.gz", "wb") as fh:
        fh.write(pcapng)
    with gzip.open(tmp_path / "run" / "a.cap.gz", "wb") as fh:
        fh.write(PCAP.read_bytes())
    (tmp_path / "run" / "report.pcap").write_text("<testsuites/>")  # the extension lies
    (tmp_path / "run" / "notes.txt").write_text("hello")
    shutil.copy(PCAP, tmp_path / ".git" / "hidden.pcap")
    return tmp_path


def test_captures_are_recognised_by_content_not_by_name(artefacts: Path):
    run = artefacts / "run"
    assert is_capture(str(run / "traffic"))
    assert is_capture(str(run / "a.cap.gz"))
    assert is_capture(str(run / "deep" / "b.pcapng.gz"))
    assert not is_capture(str(run / "report.pcap"))
    assert not is_capture(str(run / "notes.txt"))


def test_a_folder_is_searched_recursively_in_sorted_order(artefacts: Path):
    run = str(artefacts / "run")
    assert expand_inputs([run]) == [f"{run}/a.cap.gz", f"{run}/deep/b.pcapng.gz",
                                    f"{run}/traffic"]


def test_hidden_folders_are_not_searched(artefacts: Path):
    found = expand_inputs([str(artefacts)])
    assert not any(".git" in path for path in found)
    assert len(found) == 3


def test_a_glob_pattern_keeps_only_captures(artefacts: Path):
    run = str(artefacts / "run")
    assert expand_inputs([f"{run}/**/*.gz"]) == [f"{run}/a.cap.gz", f"{run}/deep/b.pcapng.gz"]


def test_a_glob_that_matches_only_non_captures_is_an_error(artefacts: Path):
    with pytest.raises(CaptureError, match="none of them a capture file"):
        expand_inputs([str(artefacts / "run" / "*.pcap")])


def test_a_glob_that_matches_nothing_is_an_error(artefacts: Path):
    with pytest.raises(CaptureError, match="no file matches"):
        expand_inputs([str(artefacts / "*.pcapng")])


def test_a_fifo_without_a_writer_in_a_searched_folder_is_passed_over_not_waited_on(
        artefacts: Path):
    # In a subprocess, so that a search blocked on the FIFO fails the test instead of hanging.
    run = artefacts / "run"
    os.mkfifo(run / "capture.pcap")
    code = ("import sys; from tcpcheck.inputs import expand_inputs; "
            "print(len(expand_inputs(sys.argv[1:])))")
    done = subprocess.run([sys.executable, "-c", code, str(run), f"{run}/*"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.split() == ["3"]


def test_a_folder_without_captures_is_an_error(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CaptureError, match="no capture files"):
        expand_inputs([str(tmp_path)])


def test_a_named_file_is_always_read_so_that_a_non_capture_is_reported(artefacts: Path):
    report = str(artefacts / "run" / "report.pcap")
    assert expand_inputs([report]) == [report]


def test_a_missing_path_is_passed_on_for_the_reader_to_report(tmp_path: Path):
    missing = str(tmp_path / "nope.pcap")
    assert expand_inputs([missing]) == [missing]


def test_a_file_named_twice_is_analysed_once_in_first_position(artefacts: Path):
    run = str(artefacts / "run")
    traffic = f"{run}/traffic"
    assert expand_inputs([traffic, run]) == [traffic, f"{run}/a.cap.gz",
                                             f"{run}/deep/b.pcapng.gz"]


# ---------------------------------------------------------------- folders that cannot be read


def as_unprivileged_user() -> list[str]:
    """The prefix that runs a command without root, which reads every folder whatever its
    mode: nobody (setpriv) when the tests run as root, nothing otherwise."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, needs setpriv (util-linux) to read folders as an unprivileged user")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="tcpcheck-inputs-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            path.chmod(0o755)
        shutil.rmtree(folder)


@pytest.mark.parametrize("locked", ["", "inner"], ids=["the folder", "a subfolder"])
def test_a_folder_that_cannot_be_read_is_named_not_reported_as_empty(shared_folder, locked):
    (shared_folder / "inner").mkdir()
    for folder in (shared_folder, shared_folder / "inner"):
        copy = folder / "c.pcap"
        shutil.copy(PCAP, copy)
        copy.chmod(0o644)
    (shared_folder / locked).chmod(0)
    proc = subprocess.run([*as_unprivileged_user(), sys.executable, "-m", "tcpcheck",
                           "analyze", str(shared_folder)],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert (proc.returncode, proc.stdout) == (2, "")
    unreadable = shared_folder / locked if locked else shared_folder
    assert proc.stderr == (f"tcpcheck: error: {unreadable}: cannot read this folder: "
                           "Permission denied\n")


def test_a_capture_file_that_cannot_be_read_is_one_line(shared_folder):
    capture = shared_folder / "c.pcap"
    shutil.copy(PCAP, capture)
    capture.chmod(0)
    proc = subprocess.run([*as_unprivileged_user(), sys.executable, "-m", "tcpcheck",
                           "analyze", str(capture)],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"tcpcheck: error: {capture}: permission denied\n"
