"""The terminal report: the summary, connections, findings and verdict an SRE reads first.

Rendered at a fixed width without colour and compared with ``tests/golden/report.txt``;
regenerate with ``TCPCHECK_UPDATE_GOLDEN=1`` (see ``sample_results``).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console
from sample_results import (
    BULK,
    CRAFTED,
    assert_golden,
    connection,
    retransmission,
    sample_result,
    sample_result_with_baseline,
)

from tcpcheck.report.terminal import (
    SHOWN_PER_RULE,
    format_duration,
    render_failures,
    render_terminal,
    verdict,
)
from tcpcheck.result import AnalysisResult, CaptureSummary, Finding, Fold, Severity


@pytest.fixture(autouse=True)
def _no_colour_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests pick colour and terminal-ness themselves; the caller's shell must not."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def render(result: AnalysisResult, *, max_connections: int = 20, show_info: bool = True) -> str:
    """The report as plain text at width 100, trailing spaces of table cells stripped."""
    console = Console(file=io.StringIO(), no_color=True, width=100, record=True)
    render_terminal(result, console, max_connections=max_connections, show_info=show_info)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def listed_connection_ids(text: str) -> list[int]:
    """Ids of the rows of the connections table(s), in order."""
    return [int(m[1]) for m in re.finditer(r"^ *(\d+)  \S+:\d+ ", text, re.MULTILINE)]


def one_capture(connections: int, findings: tuple[Finding, ...] = ()) -> AnalysisResult:
    """One capture with ``connections`` conformant IPv4 connections and the given findings."""
    capture = CaptureSummary(input=BULK, format="pcap", packets=9 * connections,
                             tcp_packets=9 * connections)
    return AnalysisResult(tool_version="0.1.0", profile="linux", captures=(capture,),
                          connections=tuple(connection(BULK, i) for i in range(connections)),
                          findings=findings)


def error(connection_id: int, frame: int) -> Finding:
    return Finding(rule="syn-isn-changed", code="HS001", severity=Severity.ERROR,
                   connection=connection_id, frame=frame, time=frame / 1000,
                   message="retransmitted SYN carries a different initial sequence number",
                   expected="seq 1000", observed="seq 2000", reference="RFC 9293 §3.4.1",
                   input=BULK)


def test_report_matches_golden_file() -> None:
    assert_golden("report.txt", render(sample_result()))


def test_summary_lists_each_capture_with_counters_and_skipped_reasons() -> None:
    text = render(sample_result())
    assert "tcpcheck 0.1.0 · profile linux" in text
    assert f"{BULK}                pcap            1,204   1,180   non-tcp 20, truncated 4" in text
    assert f"{CRAFTED}   pcapng+gzip        41      38   non-ip 2" in text
    assert "3 connections · 2 errors · 1 warning · 2 info" in text


def test_summary_names_the_damaged_capture_and_why_reading_stopped() -> None:
    text = render(sample_result())
    assert f"damage {CRAFTED}: truncated record at frame 41: 12 of 66 bytes" in text


def test_connection_row_shows_endpoints_states_frames_duration_close_and_findings() -> None:
    lines = render(sample_result()).splitlines()
    row = lines.index("0  10.0.0.1:51000       TIME_WAIT  1-1190  1,150    3.20 s  fin        2I")
    assert lines[row + 1] == "   → 10.0.0.2:80        CLOSED"


def test_ipv6_endpoints_keep_their_brackets() -> None:
    text = render(sample_result())
    assert "1  [2001:db8::1]:40000  CLOSED     5-1204" in text
    assert "   → [2001:db8::2]:443  CLOSED" in text
    assert "conn 1 [2001:db8::1]:40000 → [2001:db8::2]:443" in text


def test_text_from_the_result_is_never_read_as_rich_markup() -> None:
    result = one_capture(1, (replace(error(0, 3), observed="[bold]seq 2000[/bold] [RST]"),))
    assert "observed:  [bold]seq 2000[/bold] [RST]" in render(result)


def test_midstream_connection_is_marked_under_its_close() -> None:
    lines = render(sample_result()).splitlines()
    reset_row = next(i for i, line in enumerate(lines) if line.startswith("1  [2001:db8::1]"))
    assert lines[reset_row + 1].endswith("midstream")


def test_finding_shows_frame_time_connection_message_expected_observed_and_reference() -> None:
    text = render(sample_result())
    assert (
        "RS002 rst-out-of-window · error · 1\n"
        "  frame 1204 · 75.500000 s · conn 1 [2001:db8::1]:40000 → [2001:db8::2]:443\n"
        "    RST with a sequence number outside the receive window was accepted\n"
        "    expected:  RCV.NXT 518 <= seq < 518 + RCV.WND 65535\n"
        "    observed:  seq 99999999 [RST, ACK]\n"
        "    reference: RFC 9293 §3.10.7.4\n"
    ) in text


def test_findings_come_in_a_section_per_capture_with_rules_errors_first_then_by_code() -> None:
    text = render(sample_result()).split("findings ─")[1].split("info ─")[0].split("\n", 1)[1]
    sections = text.split(f"{CRAFTED}\n")
    assert sections[0].lstrip().startswith(f"{BULK}\n")
    codes = [re.findall(r"^([A-Z]{2}\d{3}) [a-z-]+ · ", part, re.MULTILINE) for part in sections]
    assert codes == [["RS002", "WN003"], ["HS001"]]


def test_errors_and_warnings_lead_then_info_then_connections() -> None:
    text = render(sample_result())
    order = [text.index(heading) for heading in ("findings ─", "info ─", "connections ─")]
    assert order == sorted(order)
    assert text.index("RS002 rst-out-of-window · error") < text.index("SQ010 retransmission")


def test_input_headings_are_left_out_for_a_single_capture() -> None:
    text = render(one_capture(2, (error(1, 12),)))
    # A heading is the path on a line of its own; the next-step commands name it too.
    assert BULK not in [line.strip() for line in text.split("connections ─")[1].splitlines()]


def test_info_findings_are_one_line_per_rule_with_count_and_first_frames() -> None:
    findings = tuple(retransmission(BULK, 0, frame) for frame in range(1, 501))
    text = render(one_capture(1, findings))
    assert "\nSQ010 retransmission · info · 500 · frames 1, 2, 3, 4, 5, …\n" in text
    assert "data segment retransmitted" not in text
    assert ("each in full: --format json or html; one in its connection: tcpcheck show "
            "FILE --frame N") in text


def test_an_info_rule_with_a_few_findings_lists_them_all_without_ellipsis() -> None:
    findings = tuple(retransmission(BULK, 0, frame) for frame in (7, 9))
    assert "\nSQ010 retransmission · info · 2 · frames 7, 9\n" in render(one_capture(1, findings))


def test_a_folded_artefact_counts_what_it_stands_for_and_names_its_host() -> None:
    fold = Fold("192.0.2.1", 603, 302, (1, 2, 12, 13, 22))
    offload = Finding(rule="checksum-offload", code="CQ003", severity=Severity.INFO,
                      connection=0, frame=1, time=0.0, message="3 times on host …",
                      expected="a complete TCP checksum", observed="the partial checksum",
                      reference="Capture artefact", input=BULK, side="client", fold=fold)
    text = render(one_capture(1, (offload,)))
    assert ("\nCQ003 checksum-offload · info · 603 · host 192.0.2.1 · frames 1, 2, 12, 13, 22, "
            "…\n") in text


def test_a_hundred_errors_of_a_rule_are_all_shown() -> None:
    findings = tuple(error(0, frame) for frame in range(1, 101))
    text = render(one_capture(1, findings))
    assert text.count("retransmitted SYN carries a different initial sequence number") == 100
    assert "more (use --format json for all)" not in text


def test_hiding_info_findings_still_counts_them_and_says_how_to_list_them() -> None:
    text = render(sample_result(), show_info=False)
    assert "SQ010" not in text and "data segment retransmitted" not in text
    assert "2 info findings not shown (--no-info): run without --no-info to list them\n" in text
    assert text.endswith("✗ 2 errors, 1 warning, 2 info in 3 connections\n")


def test_connections_past_the_limit_are_summed_up() -> None:
    text = render(one_capture(30), max_connections=20)
    assert listed_connection_ids(text) == list(range(20))
    assert "… 10 more connections without errors or warnings (use --format json for all)" in text


def test_connections_with_errors_are_listed_even_past_the_limit() -> None:
    text = render(one_capture(30, (error(27, 271),)), max_connections=3)
    assert listed_connection_ids(text) == [0, 1, 2, 27]
    assert "… 26 more connections without errors or warnings" in text


def test_a_capture_without_connections_says_so() -> None:
    text = render(one_capture(0))
    assert "no TCP connections in the capture" in text
    assert text.endswith("✓ no protocol errors in 0 connections\n")


def test_verdict_counts_every_severity_when_there_are_errors() -> None:
    assert render(sample_result()).endswith("\n✗ 2 errors, 1 warning, 2 info in 3 connections\n")


def test_verdict_is_a_check_mark_when_there_are_no_errors() -> None:
    assert render(one_capture(12)).endswith("\n✓ no protocol errors in 12 connections\n")


def test_verdict_without_errors_still_mentions_warnings_and_info() -> None:
    result = sample_result()
    no_errors = replace(result, findings=tuple(f for f in result.findings
                                               if f.severity is not Severity.ERROR))
    assert render(no_errors).endswith(
        "\n✓ no protocol errors in 3 connections (1 warning, 2 info)\n")


def test_output_has_no_escape_codes_when_not_a_terminal() -> None:
    out = io.StringIO()
    render_terminal(sample_result(), Console(file=out, width=100))
    assert "\x1b[" not in out.getvalue()


def test_severities_are_coloured_on_a_colour_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="standard")
    render_terminal(sample_result(), console)
    assert "\x1b[1;31m✗ 2 errors" in out.getvalue()
    assert "\x1b[33mWN003" in out.getvalue()


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0.0 ms"),
    (0.000412, "0.4 ms"),
    (3.2, "3.20 s"),
    (75.5, "1m15s"),
    (7500.0, "2h05m"),
])
def test_durations_read_in_the_unit_that_fits(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_verdict_judges_by_the_fail_level() -> None:
    only_warnings = replace(sample_result(), findings=tuple(
        f for f in sample_result().findings if f.severity is Severity.WARNING))
    assert verdict(only_warnings, Severity.ERROR).plain.startswith("✓ no protocol errors")
    assert verdict(only_warnings, Severity.WARNING).plain.startswith("✗ 1 warning")
    assert verdict(sample_result(), None).plain.startswith("✓ passed (--fail-on never)")


def test_baseline_section_counts_suppressed_and_lists_entries_no_longer_found() -> None:
    text = render(sample_result_with_baseline())
    assert "3 findings suppressed; 1 baseline entry no longer occurs" in text
    assert "HS005 half-open server port 80 seq=4097 (2 times)" in text


def test_quiet_output_is_one_line_per_failing_finding() -> None:
    console = Console(file=io.StringIO(), no_color=True, width=300, record=True)
    render_failures(sample_result(), console, Severity.WARNING)
    lines = console.export_text().splitlines()
    # In report order: capture, connection, frame.
    assert [line.split(": ", 2)[1].split()[0] for line in lines] == ["WN003", "RS002", "HS001"]
    assert lines[1].startswith(f"{BULK}:1204: RS002 rst-out-of-window ")


def test_errors_collapse_after_a_hundred_per_rule_so_heavy_capture_loss_stays_readable() -> None:
    findings = tuple(error(1, frame) for frame in range(1, 1001))
    text = render(one_capture(2, findings))
    assert SHOWN_PER_RULE == 100
    assert "frame 100 · " in text and "frame 101 · " not in text
    assert "  … and 900 more (use --format json for all)" in text
