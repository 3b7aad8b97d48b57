"""`tcpcheck analyze -` reads the capture from standard input, as `tcpdump -r -` does.

Every test goes through a real pipe or a real redirect into a real process: the point is what
the shell hands the program, not what an in-process runner would fake.
"""

from __future__ import annotations

import gzip
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
CRAFTED = ROOT / "captures" / "crafted"
ENV = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
TCPCHECK = [sys.executable, "-m", "tcpcheck"]
GUARD = 120
"""Seconds after which a hung run fails the test (a guard, not an assertion on time)."""


def analyze(*args: str, stdin: IO[bytes] | int | None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TCPCHECK, "analyze", *args], stdin=stdin, capture_output=True,
                          text=True, timeout=GUARD, env=ENV, cwd=cwd)


def piped(writer: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``writer | tcpcheck analyze ARGS``, the writer's stderr discarded."""
    with subprocess.Popen(writer, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as source:
        assert source.stdout is not None
        proc = analyze(*args, stdin=source.stdout)
        source.stdout.close()  # only the reader holds the pipe now: the writer sees it end
    return proc


def report(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)


def by_path(path: Path) -> dict:
    return report(analyze("--format", "json", str(path), stdin=subprocess.DEVNULL))


def findings(doc: dict) -> list[tuple[str, int, int]]:
    return [(f["rule"], f["connection"], f["frame"]) for f in doc["findings"]]


def test_a_capture_piped_from_cat_is_analysed_with_the_frame_numbers_of_the_file():
    capture = CRAFTED / "syn-isn-changed.pcap"
    proc = piped(["cat", str(capture)], "--format", "json", "-")
    assert proc.returncode == 1, proc.stderr  # the capture's error finding fails the run
    doc = report(proc)
    assert doc["input"] == "-"
    assert findings(doc) == findings(by_path(capture)) != []
    assert all(f["input"] == "-" for f in doc["findings"])


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_writing_to_a_pipe_is_read_as_its_capture():
    capture = REAL / "bulk-loss.pcap"
    proc = piped(["tcpdump", "-r", str(capture), "-w", "-"], "--format", "json", "-")
    assert proc.returncode == 0, proc.stderr
    doc, file_doc = report(proc), by_path(capture)
    assert doc["summary"]["packets"] == file_doc["summary"]["packets"] == 1312
    assert findings(doc) == findings(file_doc)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_pcapng_from_a_tshark_pipe_is_read():
    capture = REAL / "close-client-first.pcap"
    proc = piped(["tshark", "-r", str(capture), "-F", "pcapng", "-w", "-"],
                 "--format", "json", "-")
    assert proc.returncode == 0, proc.stderr
    [summary] = report(proc)["summary"]["captures"]
    assert summary["format"] == "pcapng"
    assert summary["packets"] == by_path(capture)["summary"]["packets"]


def test_a_gzip_compressed_capture_redirected_from_a_file_is_read(tmp_path):
    capture = CRAFTED / "syn-isn-changed.pcap"
    compressed = tmp_path / "capture.pcap.gz"
    compressed.write_bytes(gzip.compress(capture.read_bytes()))
    with compressed.open("rb") as stdin:
        proc = analyze("--format", "json", "-", stdin=stdin)
    assert proc.returncode == 1, proc.stderr
    doc = report(proc)
    assert doc["summary"]["captures"][0]["format"] == "pcap+gzip"
    assert findings(doc) == findings(by_path(capture))


def test_a_truncated_stream_is_analysed_up_to_the_cut_and_reported_like_a_truncated_file(
        tmp_path):
    data = (REAL / "bulk-loss.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:5000])
    proc = piped(["head", "-c", "5000", str(REAL / "bulk-loss.pcap")], "-q", "-")
    with cut.open("rb") as stdin:
        from_file = analyze("-q", str(cut), stdin=stdin)
    assert proc.returncode == 0
    assert proc.stderr == from_file.stderr.replace(str(cut), "-")
    assert proc.stderr.startswith("tcpcheck: warning: -: file truncated in record ")
    assert proc.stderr.endswith("(analysed up to there)\n")


def test_garbage_on_standard_input_is_one_line_and_exit_2():
    proc = piped(["echo", "hello, world"], "-")
    assert proc.returncode == 2
    assert proc.stderr == ("tcpcheck: error: standard input: not a pcap or pcapng file "
                           "(starts with 'hello, w')\n")
    assert proc.stdout == ""


def test_empty_standard_input_is_one_line_and_exit_2():
    proc = analyze("-", stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stderr) == (2, "tcpcheck: error: standard input: empty file\n")


def test_a_terminal_on_standard_input_is_refused_at_once_instead_of_waiting_for_typing():
    controller, terminal = pty.openpty()
    try:
        proc = analyze("-", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 2
    assert proc.stderr.startswith("tcpcheck: error: standard input: is a terminal, not a "
                                  "capture: pipe one in (tcpdump -w - | tcpcheck analyze -)")
    assert proc.stderr.count("\n") == 1


def test_dash_is_standard_input_even_beside_a_file_named_dash(tmp_path):
    (tmp_path / "-").write_bytes((REAL / "refused.pcap").read_bytes())
    with (CRAFTED / "syn-isn-changed.pcap").open("rb") as stdin:
        proc = analyze("--format", "json", "-", stdin=stdin, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert findings(report(proc)) == findings(by_path(CRAFTED / "syn-isn-changed.pcap"))


def test_dash_beside_files_is_read_once_in_its_place(tmp_path):
    with (CRAFTED / "syn-isn-changed.pcap").open("rb") as stdin:
        proc = analyze("--format", "json", str(REAL / "refused.pcap"), "-", "-", stdin=stdin)
    assert proc.returncode == 1, proc.stderr
    assert report(proc)["input"] == [str(REAL / "refused.pcap"), "-"]


def test_a_pipe_that_stays_silent_is_waited_on_with_a_line_saying_so():
    capture = CRAFTED / "syn-isn-changed.pcap"
    with subprocess.Popen([*TCPCHECK, "analyze", "-q", "-"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV) as proc:
        assert proc.stdin and proc.stdout and proc.stderr
        # The writer sends nothing until tcpcheck says it is waiting: no race, no sleep.
        waiting = proc.stderr.readline().decode()
        proc.stdin.write(capture.read_bytes())
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=GUARD)
    assert waiting == ("tcpcheck: standard input: waiting for a writer to send the capture "
                       "(Ctrl-C to stop)\n")
    assert proc.returncode == 1 and err == b""
    assert out.decode().startswith("-:2: HS001 syn-isn-changed ")


def show(*args: str, stdin: IO[bytes]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TCPCHECK, "show", *args], stdin=stdin, capture_output=True,
                          text=True, timeout=GUARD, env=ENV)


def test_show_draws_the_connection_of_a_frame_read_from_standard_input():
    capture = CRAFTED / "syn-isn-changed.pcap"
    with capture.open("rb") as stdin:
        piped_in = show("-", "--frame", "2", stdin=stdin)
    by_name = show(str(capture), "--frame", "2", stdin=subprocess.DEVNULL)
    assert piped_in.returncode == 0, piped_in.stderr
    assert piped_in.stdout.splitlines()[0] == "-"
    assert piped_in.stdout.splitlines()[1:] == by_name.stdout.splitlines()[1:]


def test_show_of_a_frame_outside_every_connection_on_standard_input_does_not_read_it_twice():
    with (CRAFTED / "arp-between.pcap").open("rb") as stdin:
        proc = show("-", "--frame", "4", stdin=stdin)
    assert proc.returncode == 2
    assert proc.stderr == ("tcpcheck: error: -: frame 4 is not a TCP segment of any "
                           "connection\n")
