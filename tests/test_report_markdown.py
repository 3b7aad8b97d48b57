"""The Markdown report: a pull-request comment that parses as intended and stays under the cap.

Parsed with markdown-it-py (CommonMark plus GFM tables, what GitHub renders) to check that
every table has the cells it should and that text from the result never turns into markup;
compared with ``tests/golden/report.md``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from sample_results import (
    BASELINE,
    BULK,
    CRAFTED,
    REAL_CAPTURES,
    analyze_real,
    assert_golden,
    connection,
    error_finding,
    retransmission,
    sample_result,
    sample_result_with_baseline,
    single_capture,
)

from tcpcheck.report.markdown import (
    ROWS_PER_CAPTURE,
    SIZE_LIMIT,
    TRUNCATED,
    code,
    render_markdown,
    text,
)
from tcpcheck.result import AnalysisResult, CaptureSummary, Finding, Severity

MARKDOWN = MarkdownIt("commonmark").enable("table")

Table = list[list[str]]
"""Rows of cells as plain text, the header row first."""


def _plain(inline: Token) -> str:
    """The text of an inline token; any markup in it fails the test (it must be escaped)."""
    parts = []
    for child in inline.children or []:
        assert child.type in ("text", "code_inline", "softbreak"), (
            f"markup {child.type} in {inline.content!r}")
        parts.append(child.content)
    return "".join(parts)


def tables(markdown: str) -> list[Table]:
    """Every table of the document as markdown-it parses it."""
    out: list[Table] = []
    row: list[str] = []
    in_cell = False
    for token in MARKDOWN.parse(markdown):
        if token.type == "table_open":
            out.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row.append(_plain(token))
        elif token.type == "tr_close":
            out[-1].append(row)
    return out


def source_cell_counts(markdown: str) -> list[list[int]]:
    """Per table (by markdown-it's line map), the cells of each source line, counted by its
    unescaped pipes: a row with a stray ``|`` would have one more."""
    lines = markdown.splitlines()
    counts = []
    for token in MARKDOWN.parse(markdown):
        if token.type == "table_open" and token.map:
            start, end = token.map
            counts.append([_pipes(line) - 1 for line in lines[start:end]])
    return counts


def _pipes(line: str) -> int:
    count, escaped = 0, False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            count += 1
    return count


def assert_well_formed(markdown: str) -> list[Table]:
    """Every table's rows have as many cells as its header, in the source and once parsed."""
    for counts in source_cell_counts(markdown):
        assert len(set(counts)) == 1, counts
    parsed = tables(markdown)
    for table in parsed:
        assert len({len(row) for row in table}) == 1, table
    return parsed


def render(result: AnalysisResult, fail_on: Severity | None = Severity.ERROR) -> str:
    return render_markdown(result, fail_on)


# -- the document --------------------------------------------------------------------------


def test_comment_matches_golden_file() -> None:
    assert_golden("report.md", render(sample_result_with_baseline()))


def test_same_result_renders_byte_identical_output() -> None:
    assert render(sample_result()) == render(sample_result())


def test_sample_and_real_analysis_render_well_formed_tables() -> None:
    assert_well_formed(render(sample_result_with_baseline(), Severity.INFO))
    real = analyze_real(REAL_CAPTURES)
    parsed = assert_well_formed(render(real, Severity.WARNING))
    captures_table = parsed[0]
    assert [row[0] for row in captures_table[1:]] == list(REAL_CAPTURES)


@pytest.mark.parametrize(("fail_on", "headline"), [
    (Severity.ERROR, "### ❌ tcpcheck: 2 errors, 1 warning — fails at `--fail-on error`"),
    (Severity.INFO, "### ❌ tcpcheck: 2 errors, 1 warning, 2 info — fails at `--fail-on info`"),
    (None, "### ✅ tcpcheck: 2 errors, 1 warning — passes (`--fail-on never`)"),
])
def test_headline_gives_the_tally_and_the_verdict(fail_on: Severity | None,
                                                  headline: str) -> None:
    assert render(sample_result(), fail_on).splitlines()[0] == headline


def test_headline_passes_when_nothing_reaches_fail_on() -> None:
    result = sample_result()
    warnings_only = replace(result, findings=tuple(f for f in result.findings
                                                   if f.severity is not Severity.ERROR))
    assert render(warnings_only).startswith(
        "### ✅ tcpcheck: 1 warning — passes at `--fail-on error`\n")
    assert render(single_capture(2)).startswith(
        "### ✅ tcpcheck: no errors or warnings — passes at `--fail-on error`\n")
    assert render(single_capture(2), Severity.INFO).startswith(
        "### ✅ tcpcheck: no findings — passes at `--fail-on info`\n")


def test_second_line_names_version_profile_and_totals() -> None:
    assert render(sample_result()).splitlines()[2] == (
        "tcpcheck 0.1.0 · profile `linux` · 2 captures · 3 connections · 2 errors · "
        "1 warning · 2 info")


def test_captures_table_has_a_row_per_capture_with_its_counts() -> None:
    captures = assert_well_formed(render(sample_result()))[0]
    assert captures == [
        ["capture", "profile", "packets", "connections", "errors", "warnings", "info"],
        [BULK, "linux", "1,204", "2", "1", "1", "2"],
        [f"{CRAFTED} (damaged)", "linux", "41", "1", "1", "0", "0"],
    ]


# -- per capture ---------------------------------------------------------------------------


def _section(markdown: str, path: str) -> str:
    """The part of the comment under the heading of capture ``path``."""
    start = markdown.index(f"\n#### `{path}`\n")
    end = markdown.find("\n#### ", start + 1)
    return markdown[start:end if end >= 0 else len(markdown)]


def test_every_capture_has_its_own_section_even_without_findings() -> None:
    result = replace(sample_result(),
                     captures=(*sample_result().captures,
                               CaptureSummary(input="caps/clean.pcap", format="pcap",
                                              packets=9, tcp_packets=9, profile="linux")),
                     connections=(*sample_result().connections,
                                  connection("caps/clean.pcap", 0)))
    markdown = render(result)
    assert [line for line in markdown.splitlines() if line.startswith("#### ")] == [
        f"#### `{BULK}`", f"#### `{CRAFTED}`", "#### `caps/clean.pcap`"]
    assert "No findings." in _section(markdown, "caps/clean.pcap")


def test_findings_table_lists_the_findings_at_or_above_fail_on() -> None:
    markdown = render(sample_result())
    bulk = assert_well_formed(_section(markdown, BULK))[0]
    assert bulk == [
        ["severity", "rule", "frame", "connection", "message", "next step"],
        ["error", "RS002 rst-out-of-window", "1204",
         "1 [2001:db8::1]:40000 → [2001:db8::2]:443",
         "RST with a sequence number outside the receive window was accepted",
         "tcpcheck show captures/linux/bulk-loss.pcap --frame 1204 · Wireshark: "
         "ipv6.addr == 2001:db8::1 && tcp.port == 40000 && ipv6.addr == 2001:db8::2 && "
         "tcp.port == 443 && frame.number == 1204"],
    ]


def test_fail_on_never_lists_errors_and_warnings() -> None:
    rows = assert_well_formed(_section(render(sample_result(), None), BULK))[0]
    assert [row[1] for row in rows[1:]] == ["WN003 window-shrunk", "RS002 rst-out-of-window"]


def test_findings_below_fail_on_are_counted_per_rule_in_a_details_block() -> None:
    section = _section(render(sample_result()), BULK)
    assert "<details><summary>3 findings below <code>--fail-on error</code></summary>" in section
    others = assert_well_formed(section)[1]
    assert others == [["rule", "severity", "count", "first frame"],
                      ["WN003 window-shrunk", "warning", "1", "700"],
                      ["SQ010 retransmission", "info", "2", "212"]]
    assert section.rstrip().endswith("</details>")


def test_info_findings_under_fail_on_never_are_summed_up_as_info() -> None:
    section = _section(render(sample_result(), None), BULK)
    assert "<details><summary>2 info findings</summary>" in section


def test_rows_are_capped_per_capture_and_the_rest_counted() -> None:
    findings = tuple(error_finding(BULK, 0, frame) for frame in range(1, 61))
    section = _section(render(single_capture(1, findings)), BULK)
    rows = assert_well_formed(section)[0]
    assert len(rows) == 1 + ROWS_PER_CAPTURE == 51
    assert rows[-1][2] == "50"
    assert "_… and 10 more._" in section


def test_damaged_capture_says_so_in_its_section() -> None:
    section = _section(render(sample_result()), CRAFTED)
    assert ("> **Damaged capture:** truncated record at frame 41: 12 of 66 bytes "
            "(analysed up to there)") in section


# -- baseline ------------------------------------------------------------------------------


def test_baseline_section_gives_suppressed_count_and_stale_entries() -> None:
    markdown = render(sample_result_with_baseline())
    assert (f"**Baseline** `{BASELINE}`: 3 findings suppressed; 1 stale entry: 2 accepted "
            "findings no longer occur (regenerate the baseline with `--write-baseline`).") in (
        markdown)
    stale = assert_well_formed(markdown)[1]
    assert stale == [["capture", "rule", "side", "position", "count"],
                     [BULK, "HS005 half-open", "server", "seq=4097", "2"]]


def test_baseline_section_is_absent_without_a_baseline() -> None:
    assert "Baseline" not in render(sample_result())


# -- escaping and size ---------------------------------------------------------------------


def test_pipes_newlines_and_markup_in_cells_stay_literal_text() -> None:
    nasty = "a | b\nc *d* _e_ <b>f</b> [g](h) `i` ~~j~~ &amp; $x$ \\| k"
    finding: Finding = replace(error_finding("caps/a|b `c`.pcap", 0, 5), message=nasty)
    result = single_capture(1, (finding,), input_path="caps/a|b `c`.pcap")
    markdown = render(result)
    parsed = assert_well_formed(markdown)
    assert parsed[0][1][0] == "caps/a|b `c`.pcap"
    assert parsed[1][1][4] == " ".join(nasty.split())


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "plain"),
    ("a|b", "a\\|b"),
    ("*x* _y_", "\\*x\\* \\_y\\_"),
    ("one\ntwo", "one two"),
    ("<br>", "\\<br\\>"),
])
def test_text_escapes_what_markdown_would_read_as_markup(value: str, expected: str) -> None:
    assert text(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("caps/x.pcap", "`caps/x.pcap`"),
    ("a`b", "``a`b``"),
    ("`edge", "`` `edge ``"),
    ("a|b", "`a\\|b`"),
])
def test_code_spans_use_a_longer_fence_than_the_text_holds(value: str, expected: str) -> None:
    assert code(value) == expected


def test_hundred_thousand_findings_stay_under_the_size_limit() -> None:
    captures = tuple(CaptureSummary(input=f"caps/run-{i:04d}.pcap", format="pcap",
                                    packets=100, tcp_packets=100, profile="linux")
                     for i in range(2000))
    findings = tuple(
        (error_finding if n % 2 else retransmission)(capture.input, 0, n)
        for capture in captures for n in range(1, 51))
    assert len(findings) == 100_000
    result = AnalysisResult(tool_version="0.1.0", profile="linux", captures=captures,
                            connections=tuple(connection(c.input, 0) for c in captures),
                            findings=findings)
    markdown = render(result)
    assert len(markdown) <= SIZE_LIMIT
    assert markdown.endswith(TRUNCATED)
    assert markdown.startswith("### ❌ tcpcheck: 50,000 errors — fails at `--fail-on error`")
    assert_well_formed(markdown)


def test_a_comment_that_fits_is_not_cut() -> None:
    assert TRUNCATED not in render(sample_result_with_baseline())
