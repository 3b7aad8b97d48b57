"""GitHub workflow annotations: line shapes and escaping as the Actions runner parses them.

``parse`` below follows the workflow-command grammar (``::name key=value,key=value::message``)
and undoes the escaping the way the runner does (``%25`` last); every line the renderer prints
must survive it unchanged. Compared with ``tests/golden/report.github.txt``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sample_results import (
    BASELINE,
    BULK,
    CRAFTED,
    REAL_CAPTURES,
    analyze_real,
    assert_golden,
    error_finding,
    retransmission,
    sample_result,
    sample_result_with_baseline,
    single_capture,
)

from tcpcheck.report.github import (
    STALE_SHOWN,
    command,
    escape_data,
    escape_property,
    render_github,
)
from tcpcheck.result import AnalysisResult, BaselineEntry, BaselineReport, Severity

COMMAND_LINE = re.compile(r"::(?P<name>[a-z-]+)(?: (?P<props>[^:\r\n]*))?::(?P<data>[^\r\n]*)")
"""A workflow command on one line; property values cannot hold ``:`` (it is escaped)."""

PROPERTY = re.compile(r"(?P<key>[A-Za-z_]+)=(?P<value>[^,]*)")

_DATA_TOKENS = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_TOKENS = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def _unescape(text: str, tokens: tuple[tuple[str, str], ...]) -> str:
    for token, char in tokens:
        text = text.replace(token, char)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, message) of one workflow command line, unescaped."""
    match = COMMAND_LINE.fullmatch(line)
    assert match, f"not a workflow command: {line!r}"
    props: dict[str, str] = {}
    if match["props"]:
        for part in match["props"].split(","):
            prop = PROPERTY.fullmatch(part)
            assert prop, f"bad property {part!r} in {line!r}"
            props[prop["key"]] = _unescape(prop["value"], _PROPERTY_TOKENS)
    return match["name"], props, _unescape(match["data"], _DATA_TOKENS)


def commands(result: AnalysisResult) -> list[tuple[str, dict[str, str], str]]:
    text = render_github(result)
    assert text == "" or text.endswith("\n")
    return [parse(line) for line in text.splitlines()]


# -- the output ----------------------------------------------------------------------------


def test_output_matches_golden_file() -> None:
    assert_golden("report.github.txt", render_github(sample_result_with_baseline()))


def test_same_result_renders_byte_identical_output() -> None:
    assert render_github(sample_result()) == render_github(sample_result())


def test_every_line_is_a_workflow_command_the_runner_parses() -> None:
    for name, props, _ in commands(sample_result_with_baseline()):
        assert name in ("error", "warning", "notice")
        assert set(props) == {"file", "title"}


def test_each_error_and_warning_finding_is_one_annotation_on_its_capture_file() -> None:
    lines = [c for c in commands(sample_result()) if c[1]["title"][:2] != "SQ"]
    assert [(name, props["file"], props["title"]) for name, props, _ in lines] == [
        ("warning", BULK, "WN003 window-shrunk"),
        ("error", BULK, "RS002 rst-out-of-window"),
        ("warning", CRAFTED, "capture damaged"),
        ("error", CRAFTED, "HS001 syn-isn-changed"),
    ]


def test_annotation_message_has_frame_connection_expected_observed_reference_and_next_step():
    _, _, message = next(c for c in commands(sample_result())
                         if c[1]["title"] == "RS002 rst-out-of-window")
    assert message == (
        "RST with a sequence number outside the receive window was accepted (frame 1204, "
        "connection 1 [2001:db8::1]:40000 → [2001:db8::2]:443; expected RCV.NXT 518 <= seq < "
        "518 + RCV.WND 65535; observed seq 99999999 [RST, ACK]; RFC 9293 §3.10.7.4)\n"
        "look: tshark -r captures/linux/bulk-loss.pcap -Y 'ipv6.addr == 2001:db8::1 && "
        "tcp.port == 40000 && ipv6.addr == 2001:db8::2 && tcp.port == 443 && "
        "frame.number == 1204'\n"
        "show: tcpcheck show captures/linux/bulk-loss.pcap --frame 1204")


def test_info_findings_are_one_notice_per_capture_and_rule_with_count_and_first_frame() -> None:
    notices = [c for c in commands(sample_result()) if c[0] == "notice"]
    assert notices == [(
        "notice", {"file": BULK, "title": "SQ010 retransmission"},
        "2 info findings; first at frame 212, connection 0 10.0.0.1:51000 → 10.0.0.2:80: "
        "data segment retransmitted (RFC 9293 §3.8.1)")]


def test_fifty_thousand_info_findings_make_one_line() -> None:
    findings = tuple(retransmission(BULK, 0, frame) for frame in range(1, 50_001))
    [(name, _, message)] = commands(single_capture(1, findings))
    assert name == "notice"
    assert message.startswith("50,000 info findings; first at frame 1, connection 0 ")


def test_a_single_info_finding_is_counted_in_the_singular() -> None:
    [(_, _, message)] = commands(single_capture(1, (retransmission(BULK, 0, 9),)))
    assert message.startswith("1 info finding; first at frame 9")


def test_info_notices_follow_their_captures_errors_and_warnings() -> None:
    result = replace(sample_result(), findings=(
        retransmission(BULK, 0, 1), error_finding(BULK, 0, 2),
        retransmission(CRAFTED, 0, 3), error_finding(CRAFTED, 0, 4)))
    assert [(name, props["file"]) for name, props, _ in commands(result)] == [
        ("error", BULK), ("notice", BULK),
        ("warning", CRAFTED), ("error", CRAFTED), ("notice", CRAFTED)]


def test_capture_damage_is_a_warning_on_the_capture_file() -> None:
    damage = next(c for c in commands(sample_result()) if c[1]["title"] == "capture damaged")
    assert damage == ("warning", {"file": CRAFTED, "title": "capture damaged"},
                      "truncated record at frame 41: 12 of 66 bytes (analysed up to there)")


def test_baseline_adds_one_notice_on_the_baseline_file_with_suppressed_and_stale() -> None:
    last = commands(sample_result_with_baseline())[-1]
    assert last == ("notice", {"file": BASELINE, "title": "tcpcheck baseline"},
                    f"baseline {BASELINE} suppressed 3 findings; 2 accepted findings no longer "
                    "occur (regenerate it with --write-baseline): 2 of HS005 half-open in "
                    f"{BULK} (server, seq=4097)")


def test_baseline_without_stale_entries_only_counts_what_it_suppressed() -> None:
    result = replace(sample_result(), baseline=BaselineReport(path=BASELINE, suppressed=1))
    assert commands(result)[-1][2] == f"baseline {BASELINE} suppressed 1 finding"


def test_many_stale_entries_are_named_up_to_a_limit() -> None:
    stale = tuple(BaselineEntry(input=BULK, rule="half-open", code="HS005", side="server",
                                service=80, position=f"seq={i}", fingerprint=f"{i:016x}",
                                count=1) for i in range(STALE_SHOWN + 5))
    result = replace(sample_result(), baseline=BaselineReport(BASELINE, 0, stale))
    message = commands(result)[-1][2]
    assert message.count("HS005 half-open") == STALE_SHOWN
    assert message.endswith("; … and 5 more")


def test_empty_result_prints_nothing() -> None:
    assert render_github(single_capture(3)) == ""


def test_real_analysis_gives_an_annotation_per_error_and_warning() -> None:
    result = analyze_real(REAL_CAPTURES)
    parsed = commands(result)
    loud = [f for f in result.findings if f.severity >= Severity.WARNING]
    assert [c[1]["title"] for c in parsed if c[0] != "notice"] == [
        f"{f.code} {f.rule}" for f in loud]
    info_rules = {(f.input, f.code) for f in result.findings if f.severity is Severity.INFO}
    assert len([c for c in parsed if c[0] == "notice"]) == len(info_rules)


# -- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "escaped"), [
    ("100% done", "100%25 done"),
    ("one\ntwo", "one%0Atwo"),
    ("cr\r\nlf", "cr%0D%0Alf"),
    ("%0A literally", "%250A literally"),
    ("a: b, c", "a: b, c"),
])
def test_data_escapes_percent_cr_and_lf_like_actions_core(text: str, escaped: str) -> None:
    assert escape_data(text) == escaped


@pytest.mark.parametrize(("text", "escaped"), [
    ("caps/a,b.pcap", "caps/a%2Cb.pcap"),
    ("C:\\caps\\x.pcap", "C%3A\\caps\\x.pcap"),
    ("50%:1,\n", "50%25%3A1%2C%0A"),
])
def test_property_escapes_colon_and_comma_as_well(text: str, escaped: str) -> None:
    assert escape_property(text) == escaped


def test_properties_with_an_empty_value_are_left_out_like_actions_core() -> None:
    assert command("notice", {"file": "", "title": "t"}, "m") == "::notice title=t::m"
    assert command("notice", {}, "m") == "::notice::m"


def test_path_and_message_with_special_characters_survive_the_round_trip() -> None:
    path = "caps/run 1,2:3%/x.pcap"
    message = "line one\nline two: 100% [RST, ACK] :: done\r"
    finding = replace(error_finding(path, 0, 5), message=message)
    result = single_capture(1, (finding,), input_path=path)
    [(name, props, data)] = commands(result)
    assert name == "error"
    assert props["file"] == path
    assert data.startswith(message + " (frame 5, connection 0 ")


def test_each_annotation_stays_on_one_line() -> None:
    finding = replace(error_finding(BULK, 0, 5), message="a\nb\rc", expected="x\ny")
    assert len(render_github(single_capture(1, (finding,))).splitlines()) == 1
