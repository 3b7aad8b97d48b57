"""Plain output that survives a pipe: the terminal report of ``tcpcheck analyze`` read through
a real pipe (a subprocess whose stdout is a pipe, as in CI, ``| grep`` or ``> file``).

Nothing wraps inside an address, a path or a number; each connection is one record per line;
no line ends in a space. The snapshot is ``tests/golden/plain-report.txt``
(``TCPCHECK_UPDATE_GOLDEN=1`` rewrites it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pcap_edit import with_connection_copies
from sample_results import assert_golden

ROOT = Path(__file__).resolve().parent.parent
OFFLOAD = "captures/linux/offload.pcap"
ERRORS = "captures/crafted/data-beyond-window.pcap"
IPV6 = "captures/linux/close-client-first-ipv6.pcap"


def through_a_pipe(*args: str) -> str:
    """stdout of ``tcpcheck ARGS`` run from the project root, its stdout a pipe."""
    done = subprocess.run([sys.executable, "-m", "tcpcheck", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": os.environ["PATH"]})
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> Path:
    """offload.pcap's connection three times, from 192.0.2.1:41694, :41695 and :41696."""
    return with_connection_copies(ROOT / OFFLOAD, tmp_path_factory.mktemp("pipe") / "c.pcap", 3)


def test_report_through_a_pipe_matches_its_snapshot():
    assert_golden("plain-report.txt", through_a_pipe("analyze", ERRORS, OFFLOAD))


def test_no_line_ends_in_a_space(copies):
    for text in (through_a_pipe("analyze", ERRORS, OFFLOAD, IPV6),
                 through_a_pipe("analyze", str(copies))):
        assert [line for line in text.splitlines() if line != line.rstrip()] == []


def test_every_connection_is_one_greppable_line_with_both_endpoints(copies):
    for capture in (str(copies), IPV6):
        lines = through_a_pipe("analyze", capture).splitlines()
        doc = json.loads(through_a_pipe("analyze", "--format", "json", capture))
        for conn in doc["connections"]:
            record = f"{conn['client']} → {conn['server']}"
            assert [line for line in lines if record in line], record
    grep = subprocess.run(["grep", "192.0.2.1:41695"], input=through_a_pipe("analyze",
                          str(copies)), capture_output=True, text=True, check=True).stdout
    assert grep.startswith("1  192.0.2.1:41695 → 192.0.2.2:8000  TIME_WAIT/CLOSED  87-172  ")


def test_messages_and_paths_are_never_cut_at_80_columns(tmp_path):
    deep = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2) / "offload.pcap"
    deep.parent.mkdir()
    deep.write_bytes((ROOT / OFFLOAD).read_bytes())
    text = through_a_pipe("analyze", ERRORS, str(deep))
    assert any(len(line) > 80 for line in text.splitlines())
    assert f"\n{deep}" in text or f" {deep} " in text
    doc = json.loads(through_a_pipe("analyze", "--format", "json", ERRORS))
    error = next(f for f in doc["findings"] if f["severity"] == "error")
    assert f"    {error['message']}\n" in text


def test_statistics_through_a_pipe_is_one_line_per_rule(copies):
    assert through_a_pipe("analyze", "--statistics", str(copies)) == (
        "3  CQ002  oversized-segment  info\n"
        "3  CQ003  checksum-offload   info\n"
        "3  DG003  zero-window        info\n")


def test_a_terminal_report_written_to_a_file_is_plain_too(tmp_path):
    out = tmp_path / "report.txt"
    through_a_pipe("analyze", "--format", f"terminal:{out}", "--format",
                   f"json:{tmp_path / 'r.json'}", ERRORS, OFFLOAD)
    assert out.read_text() == through_a_pipe("analyze", ERRORS, OFFLOAD)
