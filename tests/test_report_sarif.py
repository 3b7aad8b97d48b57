"""The SARIF report: valid SARIF 2.1.0 that GitHub code scanning can take, byte-identical runs.

Validated against the official OASIS schema (draft-04), on the sample result and on a real
analysis of bundled captures; compared with ``tests/golden/report.sarif``.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, FormatChecker
from sample_results import (
    BASELINE,
    BULK,
    CRAFTED,
    REAL_CAPTURES,
    analyze_real,
    assert_golden,
    retransmission,
    sample_catalog,
    sample_result,
    sample_result_with_baseline,
    single_capture,
    truncated_copy,
)

from tcpcheck.catalog import Catalog, load_catalog
from tcpcheck.report.sarif import (
    DESCRIPTION_LIMIT,
    FINGERPRINT_KEY,
    GITHUB_RESULT_LIMIT,
    SARIF_SCHEMA,
    artifact_uri,
    render_sarif,
)
from tcpcheck.result import AnalysisResult, Severity

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"
TIMESTAMP = "2026-11-21T10:00:00Z"

_URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")

formats = FormatChecker()


@formats.checks("uri-reference")
@formats.checks("uri")
def _is_uri(value: object) -> bool:
    """RFC 3986 characters only, every ``%`` starting an escape (jsonschema has no checker of
    its own without extra packages)."""
    return not isinstance(value, str) or bool(_URI_REFERENCE.fullmatch(value))


@formats.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.fromisoformat(value))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 schema from ../shared, which a clone of the repository alone
    does not have: the schema tests skip there, the structural tests below still run."""
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is not present ({SCHEMA}): ../shared is absent")
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def assert_valid_sarif(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``text`` is a SARIF 2.1.0 log valid against the official schema; returns it parsed."""
    log = json.loads(text)
    errors = sorted(Draft4Validator(schema, format_checker=formats).iter_errors(log),
                    key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return log


def sarif(result: AnalysisResult | None = None, **kwargs: Any) -> dict[str, Any]:
    return json.loads(render_sarif(result or sample_result(), load_catalog(), **kwargs))


def run_of(result: AnalysisResult | None = None, **kwargs: Any) -> dict[str, Any]:
    return sarif(result, **kwargs)["runs"][0]


@pytest.fixture(scope="module")
def real_result(tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    """Bundled captures with errors, warnings and info, and a truncated (absolute) one."""
    damaged = truncated_copy("captures/crafted/window-shrink.pcap", tmp_path_factory.mktemp("c"))
    return analyze_real([*REAL_CAPTURES, damaged])


# -- the document --------------------------------------------------------------------------


def test_document_matches_golden_file() -> None:
    assert_golden("report.sarif", render_sarif(sample_result(), sample_catalog()))


def test_same_result_renders_byte_identical_output() -> None:
    catalog = load_catalog()
    assert render_sarif(sample_result(), catalog) == render_sarif(sample_result(), catalog)


def test_sample_validates_against_the_official_sarif_2_1_0_schema(schema) -> None:
    for result in (sample_result(), sample_result_with_baseline()):
        assert_valid_sarif(render_sarif(result, load_catalog(), timestamp=TIMESTAMP), schema)


def test_real_analysis_of_bundled_captures_validates_against_the_schema(
        real_result: AnalysisResult, schema) -> None:
    assert_valid_sarif(render_sarif(real_result, load_catalog()), schema)


def test_real_analysis_has_a_result_per_finding_and_an_artifact_per_capture(
        real_result: AnalysisResult) -> None:
    run = json.loads(render_sarif(real_result, load_catalog()))["runs"][0]
    assert len(run["results"]) == len(real_result.findings)
    assert [r["ruleId"] for r in run["results"]] == [f.code for f in real_result.findings]
    assert {"error", "warning", "note"} <= {r["level"] for r in run["results"]}
    assert len(run["artifacts"]) == len(REAL_CAPTURES) + 1
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == 1


def _empty_result() -> AnalysisResult:
    return AnalysisResult(tool_version="0.1.0", profile="linux", captures=(), connections=(),
                          findings=())


def test_empty_result_validates_against_the_schema(schema) -> None:
    assert_valid_sarif(render_sarif(_empty_result(), load_catalog()), schema)


def test_empty_result_is_a_log_with_every_rule_and_no_results() -> None:
    run = sarif(_empty_result())["runs"][0]
    assert run["results"] == [] and run["artifacts"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(load_catalog().rules)


def test_log_names_the_schema_github_documents_and_has_one_run() -> None:
    log = sarif()
    assert log["$schema"] == SARIF_SCHEMA == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_head_is_indented_by_two_and_each_result_is_one_line() -> None:
    text = render_sarif(sample_result(), load_catalog())
    assert text.startswith('{\n  "$schema": ')
    assert text.endswith("}\n")
    result_lines = [line for line in text.splitlines() if line.startswith('        {"ruleId"')]
    assert len(result_lines) == len(sample_result().findings)
    assert text.isascii()


# -- the tool and its rules ----------------------------------------------------------------


def test_driver_names_tcpcheck_with_version_and_semantic_version() -> None:
    driver = run_of()["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["semanticVersion"]) == (
        "tcpcheck", "0.1.0", "0.1.0")


def test_semantic_version_is_left_out_when_the_version_is_not_semver() -> None:
    driver = run_of(replace(sample_result(), tool_version="0.1.dev3"))["tool"]["driver"]
    assert driver["version"] == "0.1.dev3"
    assert "semanticVersion" not in driver


def test_every_catalog_rule_is_listed_in_catalog_order_so_rule_indexes_never_move() -> None:
    rules = run_of(single_capture(1))["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in load_catalog()]
    assert [r["name"] for r in rules] == [r.slug for r in load_catalog()]


def test_rule_descriptor_carries_summary_description_help_and_default_level() -> None:
    rules = {r["id"]: r for r in run_of()["tool"]["driver"]["rules"]}
    meta = load_catalog().get("rto-backoff-violation")
    rule = rules[meta.code]
    assert rule["shortDescription"]["text"] == meta.summary
    assert rule["fullDescription"]["text"] == " ".join(meta.what.split())
    assert rule["defaultConfiguration"]["level"] == "warning"
    for text in (rule["help"]["text"], rule["help"]["markdown"]):
        for part in (meta.what, meta.why, meta.causes):
            assert " ".join(part.split()) in text
        assert meta.reference in text
    assert "tolerance = 0.25: How far an interval" in rule["help"]["text"]
    assert "| `tolerance` | `0.25` | How far an interval" in rule["help"]["markdown"]


def test_help_unwraps_paragraphs_and_escapes_table_cells() -> None:
    rules = json.loads(render_sarif(sample_result(), sample_catalog()))["runs"][0]["tool"][
        "driver"]["rules"]
    hs001, _, wn003 = rules[:3]
    assert hs001["fullDescription"]["text"] == (
        "A SYN for a four-tuple whose earlier SYN is still unanswered, with another ISN.\n\n"
        "A new attempt after a RST is not flagged.")
    assert "| `tolerance` | `0` | Bytes \\| of slack allowed. |" in wn003["help"]["markdown"]
    assert "| `strict` | `false` | Flag every shrink. |" in wn003["help"]["markdown"]


def test_rule_without_parameters_has_no_parameters_section() -> None:
    rules = {r["name"]: r for r in run_of()["tool"]["driver"]["rules"]}
    assert "Parameters" not in rules["syn-isn-changed"]["help"]["text"]


def test_rule_properties_have_category_tags_and_reference_but_no_security_marks() -> None:
    rules = {r["name"]: r for r in run_of()["tool"]["driver"]["rules"]}
    props = rules["rst-out-of-window"]["properties"]
    assert props == {"category": "reset", "tags": ["tcp", "reset"],
                     "reference": load_catalog().get("RS002").reference,
                     "problem.severity": "error"}
    for rule in rules.values():
        # Code scanning treats a "security" tag or a security-severity as a security alert.
        assert "security" not in rule["properties"]["tags"]
        assert "security-severity" not in rule["properties"]


def test_info_rules_default_to_note_and_recommendation() -> None:
    rules = {r["name"]: r for r in run_of()["tool"]["driver"]["rules"]}
    assert rules["duplicate-ack"]["defaultConfiguration"]["level"] == "note"
    assert rules["duplicate-ack"]["properties"]["problem.severity"] == "recommendation"


def test_descriptions_stay_within_githubs_limit_cut_at_a_word() -> None:
    meta = load_catalog().get("syn-isn-changed")
    long_rule = replace(meta, what="word " * 400)
    result = single_capture(1)
    rules = json.loads(render_sarif(result, Catalog((long_rule,))))["runs"][0]["tool"][
        "driver"]["rules"]
    text = rules[0]["fullDescription"]["text"]
    assert len(text) <= DESCRIPTION_LIMIT
    assert text.endswith("word…")


def test_code_the_catalog_does_not_know_gets_a_descriptor_after_the_catalogs() -> None:
    run = json.loads(render_sarif(sample_result(), sample_catalog()))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    catalog_size = len(sample_catalog().rules)
    assert [r["id"] for r in rules] == ["HS001", "RS002", "WN003", "SQ010"]
    sq010 = next(r for r in run["results"] if r["ruleId"] == "SQ010")
    assert sq010["ruleIndex"] == catalog_size
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


# -- results -------------------------------------------------------------------------------


def _result(run: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in run["results"] if r["ruleId"] == code)


def test_results_keep_the_result_order() -> None:
    assert [(r["ruleId"], r["properties"]["frame"]) for r in run_of()["results"]] == [
        ("SQ010", 212), ("SQ010", 480), ("WN003", 700), ("RS002", 1204), ("HS001", 3)]


def test_result_level_follows_the_findings_effective_severity() -> None:
    result = sample_result()
    demoted = replace(result, findings=tuple(replace(f, severity=Severity.WARNING)
                                             if f.code == "HS001" else f
                                             for f in result.findings))
    assert _result(run_of(result), "HS001")["level"] == "error"
    assert _result(run_of(demoted), "HS001")["level"] == "warning"
    assert _result(run_of(result), "SQ010")["level"] == "note"


def test_message_is_the_findings_message_then_expected_and_observed() -> None:
    assert _result(run_of(), "RS002")["message"]["text"] == (
        "RST with a sequence number outside the receive window was accepted. "
        "Expected: RCV.NXT 518 <= seq < 518 + RCV.WND 65535; observed: seq 99999999 [RST, ACK].")


def test_result_is_located_in_its_capture_file_without_inventing_lines() -> None:
    run = run_of()
    location = _result(run, "HS001")["locations"][0]
    artifact = location["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": CRAFTED, "index": 1}
    assert run["artifacts"][1]["location"]["uri"] == CRAFTED
    assert "region" not in location["physicalLocation"]


def test_result_names_its_connection_and_frame_as_a_logical_location() -> None:
    location = _result(run_of(), "RS002")["locations"][0]
    assert location["logicalLocations"] == [{
        "name": "frame 1204",
        "fullyQualifiedName": "connection 1 ([2001:db8::1]:40000 → [2001:db8::2]:443) / "
                              "frame 1204",
    }]


def test_fingerprint_is_a_versioned_partial_fingerprint() -> None:
    assert FINGERPRINT_KEY == "tcpcheck/v1"
    assert _result(run_of(), "HS001")["partialFingerprints"] == {
        "tcpcheck/v1": "0123456789abcdef"}


def _without_fingerprints() -> AnalysisResult:
    result = sample_result()
    return replace(result, findings=tuple(replace(f, fingerprint="", side="", position="")
                                          for f in result.findings))


def test_findings_without_fingerprint_validate_against_the_schema(schema) -> None:
    assert_valid_sarif(render_sarif(_without_fingerprints(), load_catalog()), schema)


def test_finding_without_fingerprint_has_no_partial_fingerprints() -> None:
    log = sarif(_without_fingerprints())
    for sarif_result in log["runs"][0]["results"]:
        assert "partialFingerprints" not in sarif_result
        assert sarif_result["properties"]["side"] == sarif_result["properties"]["position"] == ""


def test_result_properties_carry_frame_connection_endpoints_time_side_and_position() -> None:
    assert _result(run_of(), "WN003")["properties"] == {
        "rule": "window-shrunk",
        "frame": 700,
        "connection": 1,
        "client": "[2001:db8::1]:40000",
        "server": "[2001:db8::2]:443",
        "time": 12.5,
        "side": "server",
        "position": "ack=4097",
        "expected": "right edge >= 70144 (SND.UNA 4097 + SND.WND 66047)",
        "observed": "right edge 65537 (ack 4097, window 61440)",
        "reference": "RFC 9293 §3.8.6",
        "display_filter": "ipv6.addr == 2001:db8::1 && tcp.port == 40000 && "
                          "ipv6.addr == 2001:db8::2 && tcp.port == 443 && frame.number == 700",
        "show_command": "tcpcheck show captures/linux/bulk-loss.pcap --frame 700",
    }


# -- artifacts, invocation, baseline -------------------------------------------------------


def test_each_capture_is_an_analysis_target_artifact_with_its_counters_and_profile() -> None:
    bulk, crafted = run_of()["artifacts"]
    assert bulk == {
        "location": {"uri": BULK},
        "roles": ["analysisTarget"],
        "properties": {"format": "pcap", "packets": 1204, "tcp_packets": 1180,
                       "skipped": {"non-tcp": 20, "truncated": 4}, "damage": None,
                       "profile": "linux"},
    }
    assert crafted["properties"]["damage"] == "truncated record at frame 41: 12 of 66 bytes"


def test_capture_without_its_own_profile_shows_the_runs() -> None:
    result = sample_result()
    unset = replace(result, captures=tuple(replace(c, profile="") for c in result.captures),
                    profile="windows")
    assert {a["properties"]["profile"] for a in run_of(unset)["artifacts"]} == {"windows"}


def test_capture_damage_is_a_warning_notification_of_a_successful_invocation() -> None:
    invocation = run_of()["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == [{
        "level": "warning",
        "message": {"text": f"{CRAFTED}: truncated record at frame 41: 12 of 66 bytes "
                            "(analysed up to there)"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": CRAFTED,
                                                                 "index": 1}}}],
    }]


def test_start_time_appears_only_when_a_timestamp_is_given() -> None:
    assert "startTimeUtc" not in run_of()["invocations"][0]
    assert run_of(timestamp=TIMESTAMP)["invocations"][0]["startTimeUtc"] == TIMESTAMP


def test_more_results_than_github_accepts_warns_in_the_invocation() -> None:
    findings = tuple(retransmission(BULK, 0, frame)
                     for frame in range(1, GITHUB_RESULT_LIMIT + 2))
    notes = run_of(single_capture(1, findings))["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning"]
    assert "GitHub code scanning rejects a run of more than 25,000" in notes[0]["message"]["text"]


def test_baseline_is_reported_in_run_properties_and_results_are_new() -> None:
    run = run_of(sample_result_with_baseline())
    assert run["properties"]["baseline"] == {
        "path": BASELINE,
        "suppressed": 3,
        "stale": [{"input": BULK, "rule": "half-open", "code": "HS005", "side": "server",
                   "service": 80, "position": "seq=4097", "fingerprint": "fedcba9876543210",
                   "count": 2}],
    }
    assert {r["baselineState"] for r in run["results"]} == {"new"}


def test_without_a_baseline_there_are_no_run_properties_or_baseline_states() -> None:
    run = run_of()
    assert "properties" not in run
    assert all("baselineState" not in r for r in run["results"])


@pytest.mark.parametrize(("path", "uri"), [
    ("captures/linux/bulk-loss.pcap", "captures/linux/bulk-loss.pcap"),
    ("caps/a b#1.pcap", "caps/a%20b%231.pcap"),
    ("caps/100%.pcap", "caps/100%25.pcap"),
    ("c:odd.pcap", "c%3Aodd.pcap"),
    ("caps/café.pcap", "caps/caf%C3%A9.pcap"),
    ("/tmp/a b.pcap", "file:///tmp/a%20b.pcap"),
])
def test_relative_paths_stay_relative_uris_and_absolute_ones_become_file_uris(
        path: str, uri: str) -> None:
    assert artifact_uri(path) == uri
    assert _is_uri(uri)
