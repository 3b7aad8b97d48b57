"""``--format csv``: one RFC 4180 row per connection with the model's statistics
(tcpcheck/report/csvdoc.py)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.report.csvdoc import COLUMNS, render_csv

ROOT = Path(__file__).resolve().parent.parent
LINUX_CAPTURES = ROOT / "captures" / "linux"


def test_header_then_one_row_per_connection_with_crlf_line_ends() -> None:
    text = render_csv(analyze_files([str(LINUX_CAPTURES / "ci-run-1.pcap")],
                                    load_profile("linux")))
    lines = text.split("\r\n")
    assert lines[0] == ",".join(COLUMNS)
    assert lines[-1] == ""  # every record ends with CRLF
    assert len(lines) == 1 + 6 + 1


def test_a_path_with_a_comma_and_a_quote_is_quoted_as_rfc_4180_says(tmp_path: Path) -> None:
    odd = tmp_path / 'run "7", retry.pcap'
    shutil.copy(LINUX_CAPTURES / "refused.pcap", odd)
    text = render_csv(analyze_files([str(odd)], load_profile("linux")))
    row = text.split("\r\n")[1]
    assert row.startswith('"' + str(odd).replace('"', '""') + '",0,')
    assert next(csv.reader(io.StringIO(row)))[0] == str(odd)


def test_rows_carry_the_same_figures_as_the_json_report() -> None:
    path = str(LINUX_CAPTURES / "zero-window.pcap")
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "tcpcheck", "analyze", path, "--format", "json"],
        capture_output=True, text=True, check=False).stdout)
    rows = list(csv.DictReader(io.StringIO(subprocess.run(
        [sys.executable, "-m", "tcpcheck", "analyze", path, "--format", "csv"],
        capture_output=True, text=True, check=False).stdout)))
    assert len(rows) == len(doc["connections"]) == 1
    stats, row = doc["connections"][0]["stats"], rows[0]
    for side in ("client", "server"):
        for name, value in stats[side].items():
            cell = row[f"{side}_{name}"]
            if value is None:
                assert cell == "", name
            else:
                assert float(cell) == value, name
    assert float(row["server_zero_window"]) > 1.9  # the slow reader's 2 s (zero-window.pcap)
    assert row["timestamps"] == "true" and row["close"] == "fin"
    assert int(row["info"]) == sum(1 for f in doc["findings"] if f["severity"] == "info")


def test_an_unknown_window_is_an_empty_field() -> None:
    # refused.pcap: nothing after the SYN and the RST: no window was advertised after a
    # handshake, and nothing was timed.
    row = render_csv(analyze_files([str(LINUX_CAPTURES / "refused.pcap")],
                                   load_profile("linux"))).split("\r\n")[1]
    record = dict(zip(COLUMNS, next(csv.reader(io.StringIO(row))), strict=True))
    assert record["client_max_window"] == "" and record["client_rtt_mean"] == ""
    assert record["client_packets"] == "1" and record["server_packets"] == "1"
