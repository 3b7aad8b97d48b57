"""`--timestamp` dates every report that has a place for the run's time, JSON included, and
only when asked: without it the same input gives byte-identical reports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "crafted" / "syn-isn-changed.pcap"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def analyze(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "--isolated", *args,
                           str(CAPTURE)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def test_timestamp_dates_the_json_report_with_the_time_junit_gets(tmp_path):
    analyze(tmp_path, "--timestamp", "--format", "json:r.json", "--format", "junit:r.xml")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert ISO_UTC.fullmatch(doc["timestamp"])
    [junit_time] = re.findall(r'timestamp="([^"]+)"', (tmp_path / "r.xml").read_text())
    assert doc["timestamp"] == junit_time
    assert list(doc)[:4] == ["tool", "version", "schema", "timestamp"]


def test_without_timestamp_the_json_report_has_no_time_and_is_byte_identical(tmp_path):
    analyze(tmp_path, "--format", "json:a.json")
    analyze(tmp_path, "--format", "json:b.json")
    assert "timestamp" not in json.loads((tmp_path / "a.json").read_text())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_help_names_json_among_the_reports_timestamp_dates():
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "--help"],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin"})
    help_text = " ".join(proc.stdout.split())  # as wrapped to any width
    assert "Put the run's start time into the json, junit, sarif and html reports" in help_text
