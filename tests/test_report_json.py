"""The JSON report (schema 1) is public API: its shape, its types and its bytes are tested.

The fixed result every report golden file is rendered from lives in ``sample_results``.
"""

from __future__ import annotations

import json
from dataclasses import replace

from sample_results import BULK, CRAFTED, assert_golden, sample_result

from tcpcheck.report.jsondoc import SCHEMA_VERSION, render_json
from tcpcheck.result import AnalysisResult


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


def test_timestamp_dates_the_document_right_after_the_schema_only_when_given() -> None:
    stamped = json.loads(render_json(sample_result(), timestamp="2026-11-21T10:00:00Z"))
    assert list(stamped)[:5] == ["tool", "version", "schema", "timestamp", "input"]
    assert stamped["timestamp"] == "2026-11-21T10:00:00Z"
    assert "timestamp" not in _document()
    assert {k: v for k, v in stamped.items() if k != "timestamp"} == _document()


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
                    "capture_start": 1700000000.123457, "profile": "linux",
                    "findings": {"error": 1, "warning": 1, "info": 2}}
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
