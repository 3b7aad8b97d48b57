"""Capture formats only Wireshark reads (NetMon, Sniffer, snoop, ...): recognised by their first
bytes, converted by editcap with frame numbers unchanged, reported under the original's name;
and without editcap, one line that says what the file is and how to get editcap.

The captures are made in each test from a bundled real one by ``editcap -F FORMAT``."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tcpcheck.foreign import FORMATS, foreign_format
from tcpcheck.inputs import expand_inputs, is_capture
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = ROOT / "captures" / "linux" / "reply-paws.pcap"  # a real connection + 1 injected error
LINUX = load_profile("linux")
EDITCAP = shutil.which("editcap")
TSHARK = shutil.which("tshark")
TCPCHECK = [sys.executable, "-m", "tcpcheck"]
# editcap -F name -> the format tcpcheck names in its report.
WRITABLE = {"snoop": "snoop", "netmon1": "netmon1", "netmon2": "netmon2",
            "ngsniffer": "ngsniffer", "ngwsniffer_2_0": "ngwsniffer", "modpcap": "modpcap"}
# Formats whose timestamps are coarser than the original's microseconds (NetMon 1 counts
# milliseconds; the Sniffer formats count ticks of their own): times and RTTs differ a little,
# what happened at which frame does not.
COARSE_CLOCK = {"netmon1", "ngsniffer", "ngwsniffer_2_0"}
needs_editcap = pytest.mark.skipif(EDITCAP is None, reason="editcap is not installed "
                                   "(make system-deps installs Wireshark's tools)")


def written_as(form: str, folder: Path, name: str = "trace") -> Path:
    """The original capture written by editcap in format ``form``, under a name that says
    nothing of its format (formats are told by content)."""
    path = folder / name
    subprocess.run([EDITCAP, "-F", form, str(ORIGINAL), str(path)], check=True,
                   capture_output=True)
    return path


def _without_input(result: AnalysisResult) -> tuple[list[object], list[object]]:
    return ([dataclasses.replace(c, input="") for c in result.connections],
            [dataclasses.replace(f, input="") for f in result.findings])


def _what_where(result: AnalysisResult) -> tuple[list[object], list[object]]:
    """Each connection's endpoints and frames, each finding's rule, frame, side and place."""
    return ([(c.client, c.server, c.first_frame, c.last_frame, c.packets, c.close)
             for c in result.connections],
            [(f.rule, f.severity, f.frame, f.side, f.position) for f in result.findings])


def _tshark_frames(path: Path) -> list[str]:
    """Frame number, IP ID and TCP sequence number of every frame, as tshark reads them."""
    return subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "frame.number",
                           "-e", "ip.id", "-e", "tcp.seq_raw"], capture_output=True,
                          text=True, check=True).stdout.splitlines()


@needs_editcap
@pytest.mark.parametrize("form", sorted(WRITABLE))
def test_a_capture_in_a_format_only_wireshark_reads_reports_what_the_original_reports(
        tmp_path, monkeypatch, form):
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # where the conversion goes
    path = written_as(form, tmp_path)
    result = analyze_files([str(path)], LINUX)
    original = analyze_files([str(ORIGINAL)], LINUX)
    if form in COARSE_CLOCK:
        assert _what_where(result) == _what_where(original)
    else:
        assert _without_input(result) == _without_input(original)
    assert {f.input for f in result.findings} == {str(path)}
    assert result.captures[0].input == str(path)
    assert result.captures[0].format == f"{WRITABLE[form]} (converted by editcap)"
    assert sorted(os.listdir(tmp_path)) == ["tmp", "trace"]  # nothing next to the input
    assert os.listdir(private) == []  # the conversion is gone


@needs_editcap
@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
@pytest.mark.parametrize("form", ["snoop", "netmon2", "ngsniffer"])
def test_frame_n_of_the_conversion_is_frame_n_of_the_original_as_wireshark_reads_both(
        tmp_path, form):
    path = written_as(form, tmp_path)
    assert _tshark_frames(path) == _tshark_frames(ORIGINAL)
    findings = analyze_files([str(path)], LINUX).findings
    assert ("paws-timestamp-regression", 8) in [(f.rule, f.frame) for f in findings]


@needs_editcap
def test_folders_find_these_formats_by_content(tmp_path):
    for form in WRITABLE:
        written_as(form, tmp_path, f"from-{form}")
    (tmp_path / "notes.snoop").write_text("not a capture, whatever its name says\n")
    found = expand_inputs([str(tmp_path)])
    assert found == sorted(str(tmp_path / f"from-{form}") for form in WRITABLE)
    assert not is_capture(str(tmp_path / "notes.snoop"))


def test_every_format_is_told_by_its_magic_alone() -> None:
    for form in FORMATS:
        assert foreign_format(form.magic + b"\0" * 8) == form
    assert foreign_format(ORIGINAL.read_bytes()[:32]) is None


@needs_editcap
def test_standard_input_in_such_a_format_is_converted_too(tmp_path):
    path = written_as("netmon2", tmp_path)
    with path.open("rb") as stdin:
        proc = subprocess.run([*TCPCHECK, "analyze", "-", "--format", "json",
                               "--fail-on", "never", "--profile", "linux"], stdin=stdin,
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["rule"], f["frame"]) for f in doc["findings"] if f["severity"] == "error"] == [
        ("paws-timestamp-regression", 8)]
    assert tmp_path.as_posix() not in proc.stdout + proc.stderr


@needs_editcap
def test_jobs_shard_a_converted_capture_like_any_other(tmp_path):
    path = written_as("snoop", tmp_path)
    proc = subprocess.run([*TCPCHECK, "analyze", str(path), "--jobs", "2", "--format", "json",
                           "--fail-on", "never", "--profile", "linux"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    errors = [(f["rule"], f["frame"]) for f in json.loads(proc.stdout)["findings"]
              if f["severity"] == "error"]
    assert errors == [("paws-timestamp-regression", 8)]


@needs_editcap
def test_without_editcap_the_format_and_how_to_install_it_are_one_line_and_exit_2(tmp_path):
    path = written_as("netmon2", tmp_path)
    env = {**os.environ, "PATH": str(tmp_path / "no-such-folder")}
    proc = subprocess.run([*TCPCHECK, "analyze", str(path)], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"tcpcheck: error: {path}: a Microsoft Network Monitor 2 capture, which tcpcheck reads "
        "through Wireshark's editcap, not installed here: install Wireshark's command-line "
        "tools (apt-get install tshark, brew install wireshark, dnf install wireshark-cli)\n")


@needs_editcap
def test_a_file_editcap_cannot_convert_is_one_line_naming_the_original_and_exit_2(tmp_path):
    cut = tmp_path / "cut"
    cut.write_bytes(written_as("netmon2", tmp_path).read_bytes()[:30])
    with cut.open("rb") as stdin:
        piped = subprocess.run([*TCPCHECK, "analyze", "-"], capture_output=True, text=True,
                               stdin=stdin)
    named = subprocess.run([*TCPCHECK, "analyze", str(cut)], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    for proc, name in ((named, str(cut)), (piped, "standard input")):
        assert proc.returncode == 2
        assert proc.stderr.startswith(f"tcpcheck: error: {name}: a Microsoft Network Monitor 2 "
                                      "capture editcap could not convert (editcap: ")
        assert proc.stderr.count("\n") == 1 and "tcpcheck-" not in proc.stderr
