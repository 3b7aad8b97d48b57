"""The JSON report (schema 1) is public API: its shape, its types and its bytes are tested.

This module also holds the fixed result every report golden file is rendered from
(``sample_result``) and the golden-file comparison (``assert_golden``). To regenerate the golden
files after an intended change, run::

    TCPCHECK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_report_*.py

and review the diff of ``tests/golden/`` before committing it.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from tcpcheck.report.jsondoc import SCHEMA_VERSION, render_json
from tcpcheck.result import (
    AnalysisResult,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    Severity,
)

GOLDEN = Path(__file__).parent / "golden"

BULK = "captures/linux/bulk-loss.pcap"
CRAFTED = "captures/crafted/syn-isn-changed.pcapng.gz"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals ``tests/golden/<name>`` exactly (TCPCHECK_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("TCPCHECK_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs; if the change is intended, rerun with TCPCHECK_UPDATE_GOLDEN=1"
    )


def _finding(rule: str, code: str, severity: Severity, input_path: str, connection: int,
             frame: int, time: float, message: str, expected: str, observed: str,
             reference: str) -> Finding:
    return Finding(rule=rule, code=code, severity=severity, connection=connection, frame=frame,
                   time=time, message=message, expected=expected, observed=observed,
                   reference=reference, input=input_path)


def retransmission(input_path: str, connection: int, frame: int) -> Finding:
    """An info finding of the kind that repeats hundreds of times in a lossy capture."""
    return _finding("retransmission", "SQ010", Severity.INFO, input_path, connection, frame,
                    frame / 1000, "data segment retransmitted",
                    "new data at SND.NXT 1449", "seq 1 already sent in frame 4",
                    "RFC 9293 §3.8.1")


def connection(input_path: str, id_: int, client: str = "10.0.0.1:51000",
               server: str = "10.0.0.2:80") -> ConnectionSummary:
    """A conformant connection that ended in a clean FIN exchange."""
    return ConnectionSummary(id=id_, client=client, server=server, first_frame=10 * id_ + 1,
                             last_frame=10 * id_ + 9, start=0.5 * id_, end=0.5 * id_ + 0.25,
                             packets=9, client_bytes=100, server_bytes=2000,
                             client_state="TIME_WAIT", server_state="CLOSED", close="fin",
                             midstream=False, input=input_path)


def sample_result() -> AnalysisResult:
    """Two captures (one damaged), an IPv4 and an IPv6 connection, findings of each severity."""
    captures = (
        CaptureSummary(input=BULK, format="pcap", packets=1204, tcp_packets=1180,
                       skipped={"non-tcp": 20, "truncated": 4},
                       capture_start=1700000000.1234567),
        CaptureSummary(input=CRAFTED, format="pcapng+gzip", packets=41, tcp_packets=38,
                       skipped={"non-ip": 2},
                       damage="truncated record at frame 41: 12 of 66 bytes",
                       capture_start=1700000100.0),
    )
    connections = (
        ConnectionSummary(id=0, client="10.0.0.1:51000", server="10.0.0.2:80", first_frame=1,
                          last_frame=1190, start=0.0, end=3.2000004, packets=1150,
                          client_bytes=1_048_576, server_bytes=512, client_state="TIME_WAIT",
                          server_state="CLOSED", close="fin", midstream=False, input=BULK),
        ConnectionSummary(id=1, client="[2001:db8::1]:40000", server="[2001:db8::2]:443",
                          first_frame=5, last_frame=1204, start=0.0041, end=75.5, packets=30,
                          client_bytes=517, server_bytes=4096, client_state="CLOSED",
                          server_state="CLOSED", close="reset", midstream=True, input=BULK),
        ConnectionSummary(id=0, client="192.0.2.10:33000", server="198.51.100.5:22",
                          first_frame=1, last_frame=40, start=0.0, end=0.000412, packets=38,
                          client_bytes=0, server_bytes=0, client_state="SYN_SENT",
                          server_state="SYN_RECEIVED", close="incomplete", midstream=False,
                          input=CRAFTED),
    )
    findings = (
        retransmission(BULK, 0, 212),
        retransmission(BULK, 0, 480),
        _finding("window-shrunk", "WN003", Severity.WARNING, BULK, 1, 700, 12.5000001,
                 "the right edge of the receive window moved left",
                 "right edge >= 70144 (SND.UNA 4097 + SND.WND 66047)",
                 "right edge 65537 (ack 4097, window 61440)", "RFC 9293 §3.8.6"),
        _finding("rst-out-of-window", "RS002", Severity.ERROR, BULK, 1, 1204, 75.5,
                 "RST with a sequence number outside the receive window was accepted",
                 "RCV.NXT 518 <= seq < 518 + RCV.WND 65535", "seq 99999999 [RST, ACK]",
                 "RFC 9293 §3.10.7.4"),
        _finding("syn-isn-changed", "HS001", Severity.ERROR, CRAFTED, 0, 3, 0.000205,
                 "retransmitted SYN carries a different initial sequence number",
                 "seq 1000 (ISN of the SYN in frame 1)", "seq 2000",
                 "RFC 9293 §3.4.1"),
    )
    return AnalysisResult(tool_version="0.1.0", profile="linux", captures=captures,
                          connections=connections, findings=findings)


def _document(result: AnalysisResult | None = None) -> dict:
    return json.loads(render_json(result or sample_result()))


def test_document_matches_golden_file() -> None:
    assert_golden("report.json", render_json(sample_result()))


def test_same_result_renders_byte_identical_output() -> None:
    assert render_json(sample_result()) == render_json(sample_result())


def test_document_is_indented_by_two_and_ends_with_a_newline() -> None:
    text = render_json(sample_result())
    assert text.startswith('{\n  "tool": "tcpcheck",\n')
    assert text.endswith("}\n")


def test_header_names_tool_version_schema_and_profile() -> None:
    doc = _document()
    assert list(doc)[:5] == ["tool", "version", "schema", "input", "profile"]
    assert doc["tool"] == "tcpcheck"
    assert doc["version"] == "0.1.0"
    assert doc["schema"] == SCHEMA_VERSION == 1
    assert doc["profile"] == "linux"


def test_input_is_a_list_of_paths_for_several_captures() -> None:
    assert _document()["input"] == [BULK, CRAFTED]


def test_input_is_a_single_path_for_one_capture() -> None:
    result = sample_result()
    one = replace(result, captures=result.captures[:1])
    assert _document(one)["input"] == BULK


def test_summary_totals_packets_connections_and_findings_by_severity() -> None:
    summary = _document()["summary"]
    assert summary["packets"] == 1204 + 41
    assert summary["tcp_packets"] == 1180 + 38
    assert summary["connections"] == 3
    assert summary["findings"] == {"error": 2, "warning": 1, "info": 2}


def test_summary_skipped_adds_up_reasons_over_captures() -> None:
    assert _document()["summary"]["skipped"] == {"non-ip": 2, "non-tcp": 20, "truncated": 4}


def test_each_capture_reports_its_counters_damage_and_start() -> None:
    bulk, crafted = _document()["summary"]["captures"]
    assert bulk == {"input": BULK, "format": "pcap", "packets": 1204, "tcp_packets": 1180,
                    "skipped": {"non-tcp": 20, "truncated": 4}, "damage": None,
                    "capture_start": 1700000000.123457}
    assert crafted["format"] == "pcapng+gzip"
    assert crafted["damage"] == "truncated record at frame 41: 12 of 66 bytes"


def test_connections_carry_every_contract_field_with_its_type() -> None:
    types = {"id": int, "input": str, "client": str, "server": str, "first_frame": int,
             "last_frame": int, "start": float, "end": float, "packets": int,
             "client_bytes": int, "server_bytes": int, "client_state": str,
             "server_state": str, "close": str, "midstream": bool}
    for conn in _document()["connections"]:
        for name, kind in types.items():
            assert type(conn[name]) is kind, (name, conn[name])


def test_connection_ids_and_frames_pass_through_unchanged() -> None:
    conns = _document()["connections"]
    assert [(c["input"], c["id"], c["first_frame"], c["last_frame"]) for c in conns] == [
        (BULK, 0, 1, 1190), (BULK, 1, 5, 1204), (CRAFTED, 0, 1, 40)]


def test_ipv6_endpoints_keep_brackets_around_the_address() -> None:
    ipv6 = _document()["connections"][1]
    assert ipv6["client"] == "[2001:db8::1]:40000"
    assert ipv6["server"] == "[2001:db8::2]:443"
    assert ipv6["midstream"] is True


def test_findings_carry_every_contract_field_with_its_type() -> None:
    types = {"rule": str, "code": str, "severity": str, "input": str, "connection": int,
             "frame": int, "time": float, "message": str, "expected": str, "observed": str,
             "reference": str}
    for finding in _document()["findings"]:
        for name, kind in types.items():
            assert type(finding[name]) is kind, (name, finding[name])
        assert finding["severity"] in ("error", "warning", "info")


def test_findings_keep_the_result_order_frames_and_connections() -> None:
    findings = _document()["findings"]
    assert [(f["input"], f["connection"], f["frame"], f["rule"]) for f in findings] == [
        (BULK, 0, 212, "retransmission"),
        (BULK, 0, 480, "retransmission"),
        (BULK, 1, 700, "window-shrunk"),
        (BULK, 1, 1204, "rst-out-of-window"),
        (CRAFTED, 0, 3, "syn-isn-changed"),
    ]


def test_floats_are_rounded_to_six_decimals() -> None:
    doc = _document()
    assert doc["connections"][0]["end"] == 3.2
    assert doc["findings"][2]["time"] == 12.5
    assert doc["findings"][4]["time"] == 0.000205


def test_non_ascii_text_is_escaped() -> None:
    text = render_json(sample_result())
    assert text.isascii()
    assert _document()["findings"][3]["reference"] == "RFC 9293 §3.10.7.4"


def test_empty_result_is_still_a_complete_document() -> None:
    empty = AnalysisResult(tool_version="0.1.0", profile="rfc9293", captures=(),
                           connections=(), findings=())
    doc = _document(empty)
    assert doc["input"] == []
    assert doc["summary"]["findings"] == {"error": 0, "warning": 0, "info": 0}
    assert doc["summary"]["skipped"] == {}
    assert doc["connections"] == [] and doc["findings"] == []
