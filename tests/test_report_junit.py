"""The JUnit XML report: what CI systems show as test suites, cases and failures.

Read back with junitparser (a real consumer) and with xml.etree, on the sample result and on a
real analysis of bundled captures; compared with ``tests/golden/report.junit.xml``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml
from sample_results import (
    BULK,
    CRAFTED,
    REAL_CAPTURES,
    analyze_real,
    assert_golden,
    error_finding,
    retransmission,
    sample_result,
    single_capture,
    truncated_copy,
)

from tcpcheck.report.junit import (
    CAPTURE_FILE_CASE,
    OUTSIDE_CONNECTIONS_CASE,
    classname,
    render_junit,
)
from tcpcheck.result import AnalysisResult, CaptureSummary, Severity

TIMESTAMP = "2026-11-21T10:00:00Z"


def read_back(text: str, tmp_path: Path) -> JUnitXml:
    """The document as junitparser reads a report file a CI job wrote."""
    path = tmp_path / "tcpcheck.xml"
    path.write_text(text, encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def tree(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def case(root: ET.Element, suite: str, name_start: str) -> ET.Element:
    found = [c for s in root.iter("testsuite") if s.get("name") == suite
             for c in s.iter("testcase") if c.get("name", "").startswith(name_start)]
    assert len(found) == 1, (suite, name_start, found)
    return found[0]


@pytest.fixture(scope="module")
def real_result(tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    damaged = truncated_copy("captures/crafted/window-shrink.pcap", tmp_path_factory.mktemp("c"))
    return analyze_real([*REAL_CAPTURES, damaged])


# -- the document --------------------------------------------------------------------------


def test_document_matches_golden_file() -> None:
    assert_golden("report.junit.xml", render_junit(sample_result(), Severity.ERROR))


def test_same_result_renders_byte_identical_output() -> None:
    assert (render_junit(sample_result(), Severity.WARNING)
            == render_junit(sample_result(), Severity.WARNING))


def test_document_has_an_xml_declaration_is_indented_and_ends_with_a_newline() -> None:
    text = render_junit(sample_result(), Severity.ERROR)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="tcpcheck"')
    assert "\n  <testsuite " in text and "\n    <testcase " in text
    assert text.endswith("</testsuites>\n")


def test_junitparser_reads_a_suite_per_capture_and_a_case_per_connection(tmp_path: Path) -> None:
    xml = read_back(render_junit(sample_result(), Severity.ERROR), tmp_path)
    suites = list(xml)
    assert [s.name for s in suites] == [BULK, CRAFTED]
    assert [[c.name for c in s] for s in suites] == [
        ["connection 0 10.0.0.1 → 10.0.0.2:80",
         "connection 1 [2001:db8::1] → [2001:db8::2]:443"],
        ["connection 0 192.0.2.10 → 198.51.100.5:22", CAPTURE_FILE_CASE],
    ]
    assert (xml.tests, xml.failures, xml.errors) == (4, 2, 1)
    assert [(s.tests, s.failures, s.errors, s.skipped) for s in suites] == [
        (2, 1, 0, 0), (2, 1, 1, 0)]


def test_failure_lists_every_finding_at_or_above_fail_on_with_its_next_step(tmp_path: Path) -> None:
    xml = read_back(render_junit(sample_result(), Severity.WARNING), tmp_path)
    ipv6 = list(next(iter(xml)))[1]
    [failure] = ipv6.result
    assert isinstance(failure, Failure)
    assert failure.type == "RS002 rst-out-of-window, WN003 window-shrunk"
    assert failure.message == ("2 findings at or above warning; worst: RS002 rst-out-of-window "
                               "at frame 1204: RST with a sequence number outside the receive "
                               "window was accepted")
    assert failure.text == (
        "frame 700 · WN003 window-shrunk · warning\n"
        "the right edge of the receive window moved left\n"
        "where:     server, ack=4097\n"
        "expected:  right edge >= 70144 (SND.UNA 4097 + SND.WND 66047)\n"
        "observed:  right edge 65537 (ack 4097, window 61440)\n"
        "reference: RFC 9293 §3.8.6\n"
        "look:      tshark -r captures/linux/bulk-loss.pcap -Y 'ipv6.addr == 2001:db8::1 && "
        "tcp.port == 40000 && ipv6.addr == 2001:db8::2 && tcp.port == 443 && "
        "frame.number == 700'\n"
        "show:      tcpcheck show captures/linux/bulk-loss.pcap --frame 700\n"
        "\n"
        "frame 1204 · RS002 rst-out-of-window · error\n"
        "RST with a sequence number outside the receive window was accepted\n"
        "where:     client, seq=99999482\n"
        "expected:  RCV.NXT 518 <= seq < 518 + RCV.WND 65535\n"
        "observed:  seq 99999999 [RST, ACK]\n"
        "reference: RFC 9293 §3.10.7.4\n"
        "look:      tshark -r captures/linux/bulk-loss.pcap -Y 'ipv6.addr == 2001:db8::1 && "
        "tcp.port == 40000 && ipv6.addr == 2001:db8::2 && tcp.port == 443 && "
        "frame.number == 1204'\n"
        "show:      tcpcheck show captures/linux/bulk-loss.pcap --frame 1204\n")
    assert ipv6.system_out is None


def test_a_single_failing_finding_is_the_failure_message() -> None:
    failure = case(tree(render_junit(sample_result(), Severity.ERROR)), CRAFTED,
                   "connection 0").find("failure")
    assert failure is not None
    assert failure.get("message") == ("HS001 syn-isn-changed at frame 3: retransmitted SYN "
                                      "carries a different initial sequence number")
    assert failure.get("type") == "HS001 syn-isn-changed"


def test_findings_below_fail_on_go_to_system_out(tmp_path: Path) -> None:
    xml = read_back(render_junit(sample_result(), Severity.ERROR), tmp_path)
    first, ipv6 = list(next(iter(xml)))
    assert first.is_passed
    assert first.system_out.count("· SQ010 retransmission · info") == 2
    assert "frame 700 · WN003 window-shrunk · warning" in ipv6.system_out
    [failure] = ipv6.result
    assert "WN003" not in failure.text


def test_finding_without_side_or_position_has_no_where_line() -> None:
    result = sample_result()
    bare = replace(result, findings=tuple(replace(f, side="", position="")
                                          for f in result.findings))
    assert "where:" not in render_junit(bare, Severity.ERROR)


def test_fail_on_never_fails_no_case_and_keeps_every_finding_in_system_out() -> None:
    root = tree(render_junit(sample_result(), None))
    assert root.find(".//failure") is None
    assert root.get("failures") == "0"
    assert "RS002 rst-out-of-window · error" in case(root, BULK, "connection 1").findtext(
        "system-out", "")
    assert root.find(".//error") is not None  # damage is not a finding: still an error


def test_damaged_capture_adds_a_capture_file_case_with_an_error(tmp_path: Path) -> None:
    xml = read_back(render_junit(sample_result(), Severity.ERROR), tmp_path)
    capture_file = list(list(xml)[1])[-1]
    assert capture_file.name == CAPTURE_FILE_CASE
    [error] = capture_file.result
    assert isinstance(error, Error)
    assert error.message == "truncated record at frame 41: 12 of 66 bytes"
    assert error.type == "capture damage"
    assert error.text.startswith(f"{CRAFTED}: truncated record at frame 41")


def test_capture_without_connections_still_has_its_suite(tmp_path: Path) -> None:
    result = single_capture(0)
    xml = read_back(render_junit(result, Severity.ERROR), tmp_path)
    [suite] = list(xml)
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.time) == (
        BULK, 0, 0, 0, 0.0)


def test_finding_of_a_connection_the_result_does_not_list_is_kept() -> None:
    result = single_capture(1, (error_finding(BULK, 7, 70),))
    orphan = case(tree(render_junit(result, Severity.ERROR)), BULK, OUTSIDE_CONNECTIONS_CASE)
    assert "frame 70 · HS001" in orphan.findtext("failure", "")


def test_counts_add_up_over_suites_and_cases() -> None:
    root = tree(render_junit(sample_result(), Severity.WARNING))
    suites = root.findall("testsuite")
    for key, child in (("tests", "testcase"), ("failures", "testcase/failure"),
                       ("errors", "testcase/error")):
        for suite in suites:
            assert int(suite.get(key, "-1")) == len(suite.findall(child)), (key, suite.get("name"))
        assert int(root.get(key, "-1")) == sum(int(s.get(key, "0")) for s in suites)
    assert float(root.get("time", "-1")) == pytest.approx(
        sum(float(s.get("time", "0")) for s in suites))


def test_case_time_is_the_connection_duration_and_suite_time_the_captures_span() -> None:
    root = tree(render_junit(sample_result(), Severity.ERROR))
    assert case(root, BULK, "connection 0").get("time") == "3.200000"
    assert case(root, BULK, "connection 1").get("time") == "75.495900"
    assert [s.get("time") for s in root.iter("testsuite")] == ["75.500000", "0.000412"]


def test_suite_properties_name_tool_profile_format_packets_and_gate(tmp_path: Path) -> None:
    xml = read_back(render_junit(sample_result(), Severity.WARNING), tmp_path)
    properties = {p.name: p.value for p in next(iter(xml)).properties()}
    assert properties == {"tool": "tcpcheck 0.1.0", "profile": "linux", "format": "pcap",
                          "packets": "1204", "tcp_packets": "1180", "skipped.non-tcp": "20",
                          "skipped.truncated": "4", "fail_on": "warning"}


def test_timestamp_is_written_only_when_given() -> None:
    assert "timestamp=" not in render_junit(sample_result(), Severity.ERROR)
    root = tree(render_junit(sample_result(), Severity.ERROR, timestamp=TIMESTAMP))
    assert {s.get("timestamp") for s in root.iter("testsuite")} == {TIMESTAMP}


@pytest.mark.parametrize(("path", "expected"), [
    ("captures/linux/bulk-loss.pcap", "tcpcheck.captures.linux.bulk-loss_pcap"),
    ("caps/x.pcapng.gz", "tcpcheck.caps.x_pcapng_gz"),
    ("/var/tmp/x.pcap", "tcpcheck.var.tmp.x_pcap"),
    ("caps\\win.pcap", "tcpcheck.caps.win_pcap"),
    ("plain", "tcpcheck.plain"),
])
def test_classname_groups_cases_by_directory_as_jenkins_splits_it(path: str,
                                                                   expected: str) -> None:
    assert classname(path) == expected


def test_characters_xml_forbids_are_stripped_and_markup_is_escaped(tmp_path: Path) -> None:
    nasty = "seq\x00 <b>1</b> & ]]> \x1b[31m\ud800 done\r\nnext"
    result = single_capture(1, (replace(error_finding(BULK, 0, 5), message=nasty,
                                        observed='"quoted" & <tagged>'),))
    text = render_junit(result, Severity.ERROR)
    xml = read_back(text, tmp_path)
    [test_case] = list(next(iter(xml)))
    [failure] = test_case.result
    assert failure.message.endswith("seq <b>1</b> & ]]> [31m done\nnext")
    assert 'observed:  "quoted" & <tagged>' in failure.text
    assert "\x00" not in text and "\x1b" not in text


def test_path_with_markup_is_escaped_in_names_and_classnames() -> None:
    path = 'caps/"a"&<b>.pcap'
    result = single_capture(1, input_path=path)
    root = tree(render_junit(result, Severity.ERROR))
    assert root.find("testsuite").get("name") == path
    assert root.find(".//testcase").get("classname") == 'tcpcheck.caps."a"&<b>_pcap'


# -- a real analysis -----------------------------------------------------------------------


def test_real_analysis_reads_back_into_suites_cases_and_failures(
        real_result: AnalysisResult, tmp_path: Path) -> None:
    xml = read_back(render_junit(real_result, Severity.WARNING), tmp_path)
    suites = list(xml)
    assert [s.name for s in suites] == [c.input for c in real_result.captures]
    for suite, capture in zip(suites, real_result.captures, strict=True):
        conns = [c for c in real_result.connections if c.input == capture.input]
        cases = list(suite)
        connection_cases = [c for c in cases if c.name != CAPTURE_FILE_CASE]
        assert len(connection_cases) == len(conns)
        assert suite.errors == (1 if capture.damage else 0)
        for conn, test_case in zip(conns, connection_cases, strict=True):
            failing = [f for f in real_result.findings
                       if (f.input, f.connection) == (conn.input, conn.id)
                       and f.severity >= Severity.WARNING]
            assert test_case.is_failure == bool(failing)
            text = test_case.result[0].text if failing else ""
            for finding in failing:
                assert f"frame {finding.frame} · {finding.code} {finding.rule} · " in text
    assert xml.failures == len({(f.input, f.connection) for f in real_result.findings
                                if f.severity >= Severity.WARNING})
    assert xml.errors == 1
    assert xml.tests == len(real_result.connections) + 1


def test_real_analysis_with_capture_profiles_unset_falls_back_to_the_runs(
        real_result: AnalysisResult) -> None:
    result = replace(real_result, captures=tuple(
        CaptureSummary(input=c.input, format=c.format, packets=c.packets,
                       tcp_packets=c.tcp_packets) for c in real_result.captures))
    root = tree(render_junit(result, Severity.ERROR))
    profiles = {p.get("value") for p in root.iter("property") if p.get("name") == "profile"}
    assert profiles == {"linux"}


def test_retransmissions_in_system_out_are_all_listed() -> None:
    findings = tuple(retransmission(BULK, 0, frame) for frame in range(1, 301))
    out = case(tree(render_junit(single_capture(1, findings), Severity.ERROR)), BULK,
               "connection 0").findtext("system-out", "")
    assert out.count("· SQ010 retransmission · info") == 300


def test_case_names_leave_out_the_client_port_the_os_picks_anew_each_run(tmp_path: Path) -> None:
    run_1, run_2 = "captures/linux/ci-run-1.pcap", "captures/linux/ci-run-2.pcap"
    one = read_back(render_junit(analyze_real([run_1]), Severity.ERROR), tmp_path)
    two = read_back(render_junit(analyze_real([run_2]), Severity.ERROR), tmp_path)
    names = [[c.name for c in s] for s in one]
    assert names == [[c.name for c in s] for s in two]
    assert names[0][0] == "connection 0 192.0.2.1 → 192.0.2.2:8080"
