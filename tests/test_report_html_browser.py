"""The HTML report as a user sees it: rendered by headless Chromium from the file on disk.

Reports are written by the real CLI (``python -m tcpcheck analyze ... --format html -o``) from
the bundled captures and opened from disk in Debian's ``chromium`` (tests/browser.py; started
with ``--headless --no-sandbox --disable-gpu``; the tests skip when it is not installed). Every
test fails on any console error or warning, uncaught exception, or request for anything but
the page itself (the report must work offline, as one file).

Screenshots for people to look at are kept in ``test-artifacts/`` at the repository root
(``$TCPCHECK_TEST_ARTIFACTS`` elsewhere; git-ignored, uploaded by CI):

- ``html-report.png``: the whole report of captures/crafted/syn-isn-changed.pcap, after
  following the highlighted segment's link to its explanation;
- ``html-ladder-close-server-first.png``: the ladder of captures/linux/close-server-first.pcap;
- ``html-seqgraph-bulk-loss.png``: the time-sequence graphs of captures/linux/bulk-loss.pcap,
  each retransmission marked with an "R";
- ``html-seqgraph-syn-isn-changed.png``: the graphs of captures/crafted/syn-isn-changed.pcap,
  whose time axis starts at the handshake a second into the capture;
- ``html-ladder-owed-replies.png``: the ladder of captures/linux/keepalive.pcap carrying the
  replies the server owed its keepalives (tests/owed_replies.py), each linked to its answer;
- ``html-ladder-900.png``: the ladder of captures/linux/bulk-loss.pcap in a 900 px window;
- ``html-seqgraph-zoomed.png``: bulk-loss's upload graph zoomed in by the mouse wheel;
- ``html-deep-link-conn.png``, ``html-deep-link-frame.png``: what ``chromium --headless
  --screenshot`` makes of a link to a connection and to a frame.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from browser import (
    ARTIFACTS,
    ReportPage,
    command_line_screenshot,
    read_png,
    report_page,
)
from owed_replies import EXPECTED, keepalive_with_replies, probe_reply
from pcap_edit import without_frames
from playwright.sync_api import Browser, Locator, expect

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.catalog import load_catalog
from tcpcheck.model.events import ReplyKind, ReplyOutcome, ReplyOwed
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report import ladder as ladder_module
from tcpcheck.report.html import OPEN_SECTIONS, render_html
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.timeline import Recording, Timeline

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = [*sorted(ROOT.glob("captures/linux/*.pcap")),
           *sorted(ROOT.glob("captures/crafted/*.pcap"))]
CLOSE_SERVER_FIRST = ROOT / "captures/linux/close-server-first.pcap"
SYN_ISN_CHANGED = ROOT / "captures/crafted/syn-isn-changed.pcap"
BULK_LOSS = ROOT / "captures/linux/bulk-loss.pcap"
RTO_BACKOFF = ROOT / "captures/linux/rto-backoff.pcap"
RST_IN_WINDOW = ROOT / "captures/linux/reply-rst-in-window.pcap"
BULK_HEAVY_LOSS = ROOT / "captures/linux/bulk-heavy-loss.pcap"

STATE_CHANGES = """() => [...document.querySelectorAll("details.conn")].flatMap(section =>
  [...section.querySelectorAll("text.state:not(.initial):not(.final)")].map(t =>
    [section.id, t.dataset.side, Number(t.dataset.frame), t.textContent]))"""
"""Every state change drawn in the page's ladders: (section id, side, frame, text)."""

OPEN_EVERY_SECTION = """() => document.querySelectorAll("details.conn").forEach(section => {
  section.open = true; })"""

WRAPPED_RULE_CELLS = """() => [...document.querySelectorAll("#findings-table td.rule")]
  .filter(td => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const boxes = [...range.getClientRects()];
    return Math.max(...boxes.map(b => b.top)) >= Math.min(...boxes.map(b => b.bottom));
  }).map(td => td.textContent)"""
"""The text of every findings table rule cell whose content takes more than one line (its
pieces do not all overlap vertically)."""

GLYPH_BOXES = """svg => svg.querySelector("path.rtx-marks").getAttribute("d").split("M").slice(1)
  .map(glyph => {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M" + glyph);
    svg.appendChild(path);
    const box = path.getBBox();
    path.remove();
    return [box.x, box.y, box.width, box.height];
  })"""
"""The box in the graph's pixels of each retransmission mark (each starts with an ``M``)."""

EVERY_SECTION_DRAWN = """() => [...document.querySelectorAll("details.conn")].every(section =>
  section.dataset.rendered === "1")"""


def html_report(out: Path, *captures: Path, html_all: bool = False) -> Path:
    """``tcpcheck analyze CAPTURES --format html -o OUT`` run from the repository root, so the
    report names bundled captures as ``captures/...``; exit 1 (error findings) is a normal
    run."""
    names = [str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
             for path in captures]
    # The linux profile, as ``analysis`` below: the page must show that analysis' numbers.
    argv = [sys.executable, "-m", "tcpcheck", "analyze", *names, "--profile", "linux",
            "--format", "html", "-o", str(out)]
    if html_all:
        argv.append("--html-all")
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return out


def analysis(*captures: Path, html_all: bool = False) -> AnalysisResult:
    """The same analysis in this process, for the numbers the page must show (artefacts
    folded per capture and host, as ``analyze`` reports them)."""
    profile = load_profile("linux")
    result = analyze_jobs([Job(str(path), profile) for path in captures],
                          Recording(all=html_all))
    return fold_artefacts(result, load_catalog().artefacts(), keep_timelines=html_all)


def state_changes(timeline: Timeline) -> list[tuple[str, int, str]]:
    """(side, frame, ``BEFORE → AFTER``) of every state change the model made, from its
    recorded steps."""
    changes = []
    client, server = timeline.client_state, timeline.server_state
    for step in timeline.steps:
        if step.client_state != client:
            changes.append(("client", step.frame, f"{client} → {step.client_state}"))
        if step.server_state != server:
            changes.append(("server", step.frame, f"{server} → {step.server_state}"))
        client, server = step.client_state, step.server_state
    return changes


@pytest.fixture(scope="module")
def bundled_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled capture (Linux and crafted) in one report, a diagram for each
    connection."""
    return html_report(tmp_path_factory.mktemp("html") / "bundled.html", *BUNDLED,
                       html_all=True)


@pytest.fixture(scope="module")
def bundled() -> AnalysisResult:
    return analysis(*BUNDLED, html_all=True)


def draw_every_section(tab: ReportPage) -> None:
    tab.page.evaluate(OPEN_EVERY_SECTION)
    tab.page.wait_for_function(EVERY_SECTION_DRAWN)


def drawn_section(tab: ReportPage, anchor: str) -> Locator:
    """The section ``#anchor`` scrolled to (an open section draws as it comes near)."""
    section = tab.page.locator(f"#{anchor}")
    section.scroll_into_view_if_needed()
    expect(section).to_have_attribute("data-rendered", "1")
    return section


def starts(d: str) -> list[tuple[float, float]]:
    """Where each subpath of an SVG path starts: the ``Mx y`` commands of ``d``."""
    return [(float(x), float(y)) for x, y in re.findall(r"M(-?[\d.]+) (-?[\d.]+)", d)]


def plot_x_range(graph: Locator) -> tuple[float, float]:
    """The x of a graph's y axis and of the right end of its x axis (the path ``Mx y V.. H..``
    of ``g.axes``)."""
    d = graph.locator("g.axes > path.axis").get_attribute("d")
    left = starts(d)[0][0]
    (right,) = re.findall(r"H(-?[\d.]+)", d)
    return left, float(right)


# ---------------------------------------------------------------- the whole report


def test_report_of_every_bundled_capture_draws_every_diagram_without_errors(
        page: ReportPage, bundled_report: Path, bundled: AnalysisResult) -> None:
    page.open(bundled_report)
    draw_every_section(page)
    assert page.log.problems() == []
    sections = page.page.locator("details.conn")
    assert sections.count() == len(bundled.connections)
    assert page.page.locator("details.conn svg.ladder-svg").count() == len(bundled.connections)


def test_every_state_change_of_the_model_is_written_at_its_frame(
        page: ReportPage, bundled_report: Path, bundled: AnalysisResult) -> None:
    page.open(bundled_report)
    inputs = page.page.locator("#captures-table tr[data-capture] td:first-child")
    assert inputs.all_text_contents() == [str(path.relative_to(ROOT)) for path in BUNDLED]
    draw_every_section(page)
    expected = sorted((f"conn-{BUNDLED.index(Path(t.input))}-{t.connection}", *change)
                      for t in bundled.timelines for change in state_changes(t))
    drawn = sorted(tuple(change) for change in page.page.evaluate(STATE_CHANGES))
    assert drawn == expected
    assert page.log.problems() == []


# ---------------------------------------------------------------- ladder


def test_ladder_shows_close_wait_last_ack_and_time_wait_where_the_server_closes_first(
        page: ReportPage, tmp_path: Path) -> None:
    """In close-server-first the server's FIN (frame 8) takes it to FIN_WAIT_1 and the
    client to CLOSE_WAIT; the client's FIN (frame 10) takes it to LAST_ACK and the server,
    which already had its FIN acknowledged (frame 9, FIN_WAIT_2), to TIME_WAIT, where it
    stays at the end of the capture. Each change is written beside its endpoint's line, on
    the row of the segment that caused it."""
    page.open(html_report(tmp_path / "report.html", CLOSE_SERVER_FIRST, html_all=True))
    ladder = page.page.locator("#conn-0-0 svg.ladder-svg")
    expect(ladder).to_be_visible()

    def change(side: str, frame: int) -> Locator:
        return ladder.locator(f'text.state[data-side="{side}"][data-frame="{frame}"]')

    def state(side: str, frame: int) -> str | None:
        return change(side, frame).text_content()

    assert state("server", 8) == "ESTABLISHED → FIN_WAIT_1"
    assert state("client", 8) == "ESTABLISHED → CLOSE_WAIT"
    assert state("server", 9) == "FIN_WAIT_1 → FIN_WAIT_2"
    assert state("client", 10) == "CLOSE_WAIT → LAST_ACK"
    assert state("server", 10) == "FIN_WAIT_2 → TIME_WAIT"
    assert state("client", 11) == "LAST_ACK → CLOSED"
    assert ladder.locator('text.state.final[data-side="server"]').text_content() == "TIME_WAIT"
    assert ladder.locator('text.state.final[data-side="client"]').text_content() == "CLOSED"

    # Where they are drawn: left of the client's line or right of the server's, at the height
    # of their segment's row.
    client_x = ladder.locator("text.role.client").bounding_box()
    server_x = ladder.locator("text.role.server").bounding_box()
    for side, frame in [("client", 8), ("server", 8), ("client", 10), ("server", 10)]:
        box = change(side, frame).bounding_box()
        if side == "client":
            assert box["x"] + box["width"] < client_x["x"] + client_x["width"] / 2
        else:
            assert box["x"] > server_x["x"] + server_x["width"] / 2
        row = ladder.locator(f"#frame-0-{frame} rect.hl-bg").bounding_box()
        assert row["y"] <= box["y"] + box["height"] / 2 <= row["y"] + row["height"]
    assert page.log.problems() == []
    page.screenshot("html-ladder-close-server-first.png", "#conn-0-0 .ladder")


def test_connection_without_findings_gets_a_diagram_only_with_html_all(
        page: ReportPage, tmp_path: Path) -> None:
    page.open(html_report(tmp_path / "report.html", CLOSE_SERVER_FIRST))
    assert page.page.locator("details.conn").count() == 0
    assert page.page.locator("#connections-table tr.connection").count() == 1
    assert page.log.problems() == []


def test_offending_segment_is_highlighted_and_links_to_its_explanation(
        page: ReportPage, tmp_path: Path) -> None:
    """syn-isn-changed: frame 2 is a second SYN with another ISN while the first attempt is
    still live (syn-isn-changed.expect.json). Its row is the only one highlighted; clicking it
    brings its explanation card into view, with what was expected, what was observed and
    the RFC section; the card links back to the segment."""
    page.open(html_report(tmp_path / "report.html", SYN_ISN_CHANGED))
    ladder = page.page.locator("#conn-0-0 svg.ladder-svg")
    offending = ladder.locator("#frame-0-2")
    assert {"hl", "sev-error"} <= set(offending.get_attribute("class").split())
    assert ladder.locator("g.seg.hl").count() == 1

    offending.locator("a.row-link").click()
    page.page.wait_for_function('location.hash === "#finding-0"')
    card = page.page.locator("div.card#finding-0")
    expect(card).to_be_in_viewport()
    assert page.page.evaluate('document.querySelector(":target").id') == "finding-0"
    # Flashed for a moment, so the eye finds it.
    assert set(card.get_attribute("class").split()) == {"card", "sev-error", "flash"}
    terms = card.locator("dt").all_text_contents()
    details = dict(zip(terms, card.locator("dd").all_text_contents(), strict=True))
    assert details["expected"] == "seq 2915191912 (the ISN of the SYN in frame 1)"
    assert details["observed"] == "seq 136095426"
    assert details["reference"].startswith("RFC 9293 §3.4.1")
    assert card.locator('a[href^="https://www.rfc-editor.org/rfc/rfc9293"]').count() >= 1
    page.screenshot("html-report.png")

    card.locator("a.back").click()
    page.page.wait_for_function('location.hash === "#frame-0-2"')
    expect(offending).to_be_in_viewport()
    assert page.log.problems() == []


def replies_report(tmp_path: Path) -> Path:
    """The HTML report of keepalive.pcap's connection with the server's owed replies to the
    probes 8 (answered by 9), 10 (rate-limited) and 12 (missing)."""
    result = keepalive_with_replies(
        probe_reply(8), probe_reply(10, ReplyOutcome.RATE_LIMITED,
                                    observed="within the linux profile's 0.5 s limit"),
        probe_reply(12, ReplyOutcome.MISSING, observed="no reply"))
    report = tmp_path / "replies.html"
    report.write_text(render_html(result, load_catalog(), Severity.ERROR,
                                  all_connections=True), encoding="utf-8")
    return report


def test_an_owed_reply_is_told_under_its_segment_and_linked_to_the_answer(
        page: ReportPage, tmp_path: Path) -> None:
    """keepalive.pcap: each keepalive (8, 10, 12) fails the server's acceptability test, so
    the server owes an ACK; 9 answers 8, the ACK to 10 is taken as rate-limited and none to
    12 as missing (tests/owed_replies.py). Under 8 the note says what was owed and links to
    9; 9 says it answers 8 and links back; a connector joins the two rows on the server's
    side; clicking either end brings the other into view."""
    report = replies_report(tmp_path)
    page.open(report)
    ladder = drawn_section(page, "conn-0-0").locator("svg.ladder-svg")
    notes = {int(g.get_attribute("data-frame")):
             " ".join(" ".join(g.locator("text").all_text_contents()).split())
             for g in ladder.locator("g.owed").all()}
    assert notes == {
        8: f"⚑ server owes an ACK {EXPECTED} (RFC 9293 §3.10.7.4) → answered by frame 9",
        10: f"⚑ server owes an ACK {EXPECTED} (RFC 9293 §3.10.7.4) → rate-limited: within "
            "the linux profile's 0.5 s limit",
        12: f"⚑ server owes an ACK {EXPECTED} (RFC 9293 §3.10.7.4) → none came: no reply"}
    answers = ladder.locator("#frame-0-9 a.answers")
    assert answers.text_content() == "↳ answers frame 8"
    assert ladder.locator("a.answers").count() == 1

    # The connector runs outside the server's line, from 8's arrow down to 9's.
    (link,) = ladder.locator("path.reply-link").all()
    assert (link.get_attribute("data-frame"), link.get_attribute("data-reply-frame")) == \
        ("8", "9")
    box, row8, row9, server = (locator.bounding_box() for locator in (
        link, ladder.locator("#frame-0-8 .arrow"), ladder.locator("#frame-0-9 .arrow"),
        ladder.locator("line.lifeline").nth(1)))  # the lifelines go client, server
    assert box["y"] <= row8["y"] + row8["height"] and box["y"] + box["height"] >= row9["y"]
    assert box["x"] >= server["x"] - 3 and box["x"] + box["width"] >= server["x"] + 12

    answers.hover()
    assert "lit" in link.get_attribute("class").split()
    answers.click()
    page.page.wait_for_function('location.hash === "#frame-0-8"')
    provoking = ladder.locator("#frame-0-8")
    expect(provoking).to_be_in_viewport()
    assert "flash" in provoking.get_attribute("class").split()
    page.screenshot("html-ladder-owed-replies.png", "#conn-0-0 .ladder")

    ladder.locator('g.owed[data-frame="8"] a.settled').click()
    page.page.wait_for_function('location.hash === "#frame-0-9"')
    expect(ladder.locator("#frame-0-9")).to_be_in_viewport()
    assert page.log.problems() == []


def test_a_real_challenge_ack_is_linked_to_the_rst_that_caused_it(
        page: ReportPage, tmp_path: Path) -> None:
    """reply-rst-in-window: Linux answers an in-window, inexact RST (8) with a challenge ACK
    (9), as RFC 5961 §3.2 asks; the report the CLI writes ties the two rows together."""
    page.open(html_report(tmp_path / "report.html", RST_IN_WINDOW, html_all=True))
    ladder = drawn_section(page, "conn-0-0").locator("svg.ladder-svg")
    owed = ladder.locator("g.owed")
    assert owed.count() == 1
    assert (owed.get_attribute("data-frame"), owed.get_attribute("data-reply-frame"),
            owed.get_attribute("data-kind"), owed.get_attribute("data-outcome")) == \
        ("8", "9", "challenge-rst", "answered")
    assert ladder.locator("#frame-0-8 g.owed").count() == 1
    assert " ".join(owed.locator("text").all_text_contents()).startswith(
        "⚑ server owes a challenge ACK <SEQ=53><ACK=46><CTL=ACK>")
    assert ladder.locator("#frame-0-9 a.answers").text_content() == "↳ answers frame 8"
    assert ladder.locator('path.reply-link[data-frame="8"][data-reply-frame="9"]').count() == 1
    owed.locator("a.settled").click()
    page.page.wait_for_function('location.hash === "#frame-0-9"')
    expect(ladder.locator("#frame-0-9")).to_be_in_viewport()
    assert page.log.problems() == []


def test_a_missing_challenge_ack_is_told_in_the_warnings_colour_with_no_link(
        page: ReportPage, tmp_path: Path) -> None:
    """The same capture with the challenge ACK deleted: the note says none came and names
    the rule; there is no answer to link to."""
    crafted = without_frames(RST_IN_WINDOW, tmp_path / "no-challenge-ack.pcap", {9})
    page.open(html_report(tmp_path / "report.html", crafted))
    ladder = drawn_section(page, "conn-0-0").locator("svg.ladder-svg")
    owed = ladder.locator("#frame-0-8 g.owed")
    assert set(owed.get_attribute("class").split()) == {"owed", "sev-warning"}
    assert owed.get_attribute("data-outcome") == "missing"
    assert owed.locator(".settled text").all_text_contents() == [
        "→ none came: challenge-ack-missing"]
    assert owed.locator("a.settled").count() == 0
    assert ladder.locator("a.answers, path.reply-link").count() == 0
    assert page.log.problems() == []


def test_owed_replies_left_in_collapsed_stretches_are_counted_above_the_ladder(
        page: ReportPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bulk-heavy-loss: 2491 resends data the server already has (below its RCV.NXT), owing
    the duplicate ACK 2492; with no row left for owed replies without a finding, it stays in
    its collapsed stretch and is counted."""
    monkeypatch.setattr(ladder_module, "REPLY_ROWS", 0)
    result = analysis(BULK_HEAVY_LOSS)
    (timeline,) = result.timelines
    owed = ReplyOwed(2491, 0, "server", ReplyKind.ACK_UNACCEPTABLE, ReplyOutcome.ANSWERED,
                     2492, "<SEQ=1><ACK=2485649><CTL=ACK>", "", "", "RFC 9293 §3.10.7.4",
                     load_profile("linux"))
    result = replace(result, timelines=(replace(timeline, replies=(owed,)),))
    report = tmp_path / "capped.html"
    report.write_text(render_html(result, load_catalog(), Severity.ERROR), encoding="utf-8")
    page.open(report)
    section = drawn_section(page, "conn-0-0")
    assert section.locator("p.unseen-replies").text_content() == (
        "1 more owed reply without a finding is in the collapsed stretches (the first ones "
        "are drawn).")
    assert section.locator("g.owed").count() == 0
    assert page.log.problems() == []


# ---------------------------------------------------------------- findings table


def finding_rows(tab: ReportPage) -> list[dict[str, str]]:
    return tab.page.evaluate("""() => [...document.querySelectorAll(
        "#findings-table tbody tr.finding")].map(tr => ({severity: tr.cells[0].textContent,
        rule: tr.cells[1].textContent, connection: tr.dataset.connection,
        frame: tr.dataset.frame, capture: tr.dataset.capture}))""")


def test_findings_table_sorts_by_the_clicked_column(
        page: ReportPage, bundled_report: Path, bundled: AnalysisResult) -> None:
    page.open(bundled_report)
    severity = page.page.locator('#findings-table th[data-key="severity"]')
    expect(severity).to_have_attribute("aria-sort", "ascending")  # the order it opens in
    counts = Counter(f.severity for f in bundled.findings)
    errors, warnings = counts[Severity.ERROR], counts[Severity.WARNING]
    shown = [row["severity"] for row in finding_rows(page)]
    assert shown[:errors + warnings] == ["error"] * errors + ["warning"] * warnings
    assert set(shown[errors + warnings:]) == {"info"}

    frame = page.page.locator('#findings-table th[data-key="frame"]')
    frame.locator("button").click()
    expect(frame).to_have_attribute("aria-sort", "ascending")
    expect(severity).not_to_have_attribute("aria-sort", "ascending")
    order = [(int(r["frame"]), int(r["capture"])) for r in finding_rows(page)]
    assert order == sorted(order)
    frame.locator("button").click()
    expect(frame).to_have_attribute("aria-sort", "descending")
    order = [(int(r["frame"]), int(r["capture"])) for r in finding_rows(page)]
    assert order == sorted(order, reverse=True)
    assert order[0][0] == max(f.frame for f in bundled.findings)
    assert page.log.problems() == []


def test_findings_table_filters_by_severity_rule_and_connection(
        page: ReportPage, bundled_report: Path, bundled: AnalysisResult) -> None:
    page.open(bundled_report)
    total = len(bundled.findings)
    count = page.page.locator("#findings-count")

    page.page.uncheck("#filter-severity-warning")
    page.page.uncheck("#filter-severity-info")
    errors = [f for f in bundled.findings if f.severity is Severity.ERROR]
    expect(count).to_have_text(f"{len(errors)} of {total:,} findings match")
    assert {row["severity"] for row in finding_rows(page)} == {"error"}
    assert len(finding_rows(page)) == len(errors)

    page.page.check("#filter-severity-warning")
    page.page.check("#filter-severity-info")
    page.page.select_option("#filter-rule", "connection-reset")
    resets = [f for f in bundled.findings if f.rule == "connection-reset"]
    expect(count).to_have_text(f"{len(resets)} of {total:,} findings match")
    assert all(row["rule"].endswith(" connection-reset") for row in finding_rows(page))

    page.page.select_option("#filter-rule", "")
    page.page.fill("#filter-connection", "2")
    of_two = [f for f in bundled.findings if f.connection == 2]
    expect(count).to_have_text(f"{len(of_two)} of {total:,} findings match")
    assert {row["connection"] for row in finding_rows(page)} == {"2"}
    assert len(finding_rows(page)) == len(of_two)
    assert page.log.problems() == []


@pytest.mark.parametrize("width", [1400, 1000])
def test_findings_table_keeps_each_rule_code_and_slug_on_one_line(
        chromium: Browser, bundled_report: Path, width: int) -> None:
    with report_page(chromium, width=width) as tab:
        tab.open(bundled_report)
        assert tab.page.locator("#findings-table td.rule").count() > 100
        assert tab.page.evaluate(WRAPPED_RULE_CELLS) == []
        assert tab.log.problems() == []


# ---------------------------------------------------------------- time-sequence graph


def test_time_sequence_graph_draws_every_data_segment_and_marks_retransmissions(
        page: ReportPage, tmp_path: Path) -> None:
    """bulk-loss: the client uploads 1 MB through a router dropping packets; the server
    answers with one small response. One graph per direction; the client's shows every data
    segment (its retransmissions in their own path), the ACK line and the window edge."""
    page.open(html_report(tmp_path / "report.html", BULK_LOSS))
    (timeline,) = analysis(BULK_LOSS).timelines
    section = page.page.locator("#conn-0-0")
    section.scroll_into_view_if_needed()
    expect(section).to_have_attribute("data-rendered", "1")
    graphs = section.locator("svg.seqgraph")
    assert [g.get_attribute("data-direction") for g in graphs.all()] == ["client", "server"]

    upload = section.locator('svg.seqgraph[data-direction="client"]')
    data = [s for s in timeline.steps if s.from_client and s.length > 0]
    again = [s for s in data if s.retransmission]
    assert again, "bulk-loss has retransmissions"
    bars = upload.locator("path.bars:not(.rtx)").get_attribute("d")
    rtx = upload.locator("path.bars.rtx").get_attribute("d")
    assert (bars.count("M"), rtx.count("M")) == (len(data) - len(again), len(again))
    for series in ("acks", "windows"):
        assert upload.locator(f"path.{series}").get_attribute("d").count("H") > 1
    assert upload.locator(".mark").count() > 0

    # On a 1 MB axis a segment is a pixel high: each retransmission also gets an "R" of the
    # same size in pixels, centred just over its bar, however many bytes the axis spans.
    glyphs = upload.evaluate(GLYPH_BOXES)
    tops = [(float(x), min(float(y), float(top))) for x, y, top in
            re.findall(r"M([\d.]+) ([\d.]+)V([\d.]+)", rtx)]
    assert len(glyphs) == len(tops) == len(again)
    assert len({(round(w, 1), round(h, 1)) for _, _, w, h in glyphs}) == 1
    for (x, y, width, height), (bar_x, bar_top) in zip(glyphs, tops, strict=True):
        assert width >= 5 and height >= 10
        assert abs(x + width / 2 - bar_x) < 1
        assert 0 < bar_top - (y + height) < 6
    assert page.log.problems() == []
    page.screenshot("html-seqgraph-bulk-loss.png", "#conn-0-0 .seqgraphs")


def test_time_sequence_graph_starts_at_its_own_first_point_not_at_the_capture_start(
        page: ReportPage, tmp_path: Path) -> None:
    """syn-isn-changed waits a second between the first SYN and the handshake; the data and
    its ACKs all fall within the next 2 ms. They fill the width of both graphs, whose time
    labels still count seconds since the capture's start."""
    page.open(html_report(tmp_path / "report.html", SYN_ISN_CHANGED))
    graphs = drawn_section(page, "conn-0-0").locator("svg.seqgraph")
    expect(graphs).to_have_count(2)
    for graph in graphs.all():
        times = [float(t) for t in graph.locator("text.tick.time").all_text_contents()]
        assert len(times) >= 3 and all(1.0 <= t < 1.003 for t in times)
        left, right = plot_x_range(graph)
        points = [float(x) for x in graph.locator("circle.mark").evaluate_all(
            "circles => circles.map(c => c.getAttribute('cx'))")]
        for series in ("bars", "acks"):
            points += [x for x, _ in starts(graph.locator(f"path.{series}").get_attribute("d"))]
        first = min(points)
        last = max(x for x, _ in starts(graph.locator("path.bars").get_attribute("d")))
        assert left < first < left + 0.05 * (right - left)
        assert last - first > 0.1 * (right - left)
    assert page.log.problems() == []
    page.screenshot("html-seqgraph-syn-isn-changed.png", "#conn-0-0 .seqgraphs")


def test_sequence_axes_count_bytes_or_megabytes_and_their_title_says_which(
        page: ReportPage, tmp_path: Path) -> None:
    """rto-backoff's client sends 300 kB: bytes with thousands separators; bulk-loss's sends
    1 MB: megabytes, every label with as many decimals; the servers' short answers: bytes."""
    page.open(html_report(tmp_path / "report.html", RTO_BACKOFF, BULK_LOSS))

    def axis(anchor: str, direction: str) -> tuple[str | None, list[str]]:
        graph = drawn_section(page, anchor).locator(
            f'svg.seqgraph[data-direction="{direction}"]')
        return (graph.locator("text.title").nth(1).text_content(),
                graph.locator("text.tick.seq").all_text_contents())

    title, labels = axis("conn-0-0", "client")
    assert title == "relative sequence number (bytes)"
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", label) for label in labels)
    assert "100,000" in labels
    title, labels = axis("conn-1-0", "client")
    assert title == "relative sequence number (MB)"
    assert all(re.fullmatch(r"\d\.\d", label) for label in labels) and "1.0" in labels
    for anchor in ("conn-0-0", "conn-1-0"):
        title, labels = axis(anchor, "server")
        assert title == "relative sequence number (bytes)"
        assert all(re.fullmatch(r"\d{1,2}", label) for label in labels)
    assert page.log.problems() == []


# ---------------------------------------------------------------- many real connections


@pytest.fixture(scope="module")
def many_connections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 real Linux connections (scripts/make_many_connections.py): every 50th aborted
    with RST, every 100th refused."""
    if os.geteuid() != 0 or shutil.which("tcpdump") is None:
        pytest.skip("recording a capture needs root (namespaces, veth) and tcpdump")
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_many_connections

    out = tmp_path_factory.mktemp("many") / "many.pcap"
    make_many_connections.record(out, 300)
    return out


def test_report_of_300_real_connections_opens_with_a_diagram_for_each_with_html_all(
        page: ReportPage, tmp_path: Path, many_connections: Path) -> None:
    result = analysis(many_connections)
    with_findings = {f.connection for f in result.findings}
    assert 0 < len(with_findings) < 300

    page.open(html_report(tmp_path / "default.html", many_connections))
    expect(page.page.locator("#connections-count")).to_have_text("300 connections")
    assert page.page.locator("details.conn").count() == len(with_findings)

    page.open(html_report(tmp_path / "all.html", many_connections, html_all=True))
    assert page.page.locator("details.conn").count() == 300
    draw_every_section(page)
    assert page.log.problems() == []


# ---------------------------------------------------------------- fitting the window

FITS = """svg => {
  const box = svg.parentElement, lines = [...svg.querySelectorAll("line.lifeline")];
  const client = lines[0].getBoundingClientRect().x, server = lines[1].getBoundingClientRect().x;
  const boxes = selector => [...svg.querySelectorAll(selector)].map(e => {
    const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, side: e.dataset.side || null,
            text: e.textContent};
  });
  return {clientWidth: box.clientWidth, scrollWidth: box.scrollWidth,
          pageScrolls: document.documentElement.scrollWidth > innerWidth,
          window: innerWidth, client, server,
          texts: boxes("text.role, text.state, text.code, text.label, .gap text.summary"),
          states: boxes("text.state:not(.initial):not(.final)"),
          between: boxes("text.label, .gap text.summary, g.owed text, a.answers text")};
}"""
"""Where a ladder's text lies (window pixels) beside its endpoint lines and its box."""

CROSSINGS = """svg => {
  const summaries = [...svg.querySelectorAll(".gap text.summary")];
  const lines = [...svg.querySelectorAll("line.lifeline")].map(l => l.getBoundingClientRect());
  return [summaries.length, summaries.flatMap(t => {
    const r = t.getBoundingClientRect();
    return lines.filter(l => l.right >= r.left && l.left <= r.right && l.bottom >= r.top
                             && l.top <= r.bottom).map(() => t.textContent);
  })];
}"""
"""How many collapsed stretches a ladder has, and the summary of each one a lifeline crosses."""


def ladder_geometry(tab: ReportPage, anchor: str) -> dict:
    return drawn_section(tab, anchor).locator("svg.ladder-svg").evaluate(FITS)


def test_ladder_fits_a_900_px_window_with_both_sides_and_their_states(
        chromium: Browser, tmp_path: Path) -> None:
    """bulk-loss: long labels, state changes on both sides, finding codes right of the
    server. In a 900 px window the ladder fits its box (nothing scrolls) and every label,
    state and code is inside the window, each state beside its own endpoint's line."""
    report = html_report(tmp_path / "report.html", BULK_LOSS, html_all=True)
    with report_page(chromium, width=900) as tab:
        tab.open(report)
        fit = ladder_geometry(tab, "conn-0-0")
        assert fit["scrollWidth"] <= fit["clientWidth"] and not fit["pageScrolls"]
        assert [t["text"] for t in fit["texts"]
                if t["left"] < 0 or t["right"] > fit["window"]] == []
        assert {t["side"] for t in fit["states"]} == {"client", "server"}
        for state in fit["states"]:
            if state["side"] == "client":
                assert state["right"] < fit["client"]
            else:
                assert state["left"] > fit["server"]
        assert [t["text"] for t in fit["between"]
                if not fit["client"] < t["left"] < t["right"] < fit["server"]] == []
        assert tab.log.problems() == []
        tab.screenshot("html-ladder-900.png", "#conn-0-0 .ladder")


def test_state_changes_take_one_line_when_the_window_has_room(
        page: ReportPage, tmp_path: Path) -> None:
    page.open(html_report(tmp_path / "report.html", BULK_LOSS, html_all=True))
    ladder = drawn_section(page, "conn-0-0").locator("svg.ladder-svg")
    assert ladder.get_attribute("data-split") is None
    assert ladder.locator("text.state tspan").count() == 0
    fit = ladder.evaluate(FITS)
    assert fit["scrollWidth"] <= fit["clientWidth"]


def test_a_ladder_wider_than_its_window_scrolls_rather_than_overlap_its_labels(
        chromium: Browser, tmp_path: Path) -> None:
    """In a 520 px window bulk-loss's labels need more room than there is: the ladder's box
    scrolls sideways, and the labels stay between the endpoint lines, the states outside."""
    report = html_report(tmp_path / "report.html", BULK_LOSS, html_all=True)
    with report_page(chromium, width=520) as tab:
        tab.open(report)
        fit = ladder_geometry(tab, "conn-0-0")
        assert fit["scrollWidth"] > fit["clientWidth"]
        assert not fit["pageScrolls"]
        assert [t["text"] for t in fit["between"]
                if not fit["client"] < t["left"] < t["right"] < fit["server"]] == []
        for state in fit["states"]:
            assert (state["right"] < fit["client"] if state["side"] == "client"
                    else state["left"] > fit["server"])
        assert tab.log.problems() == []


@pytest.mark.parametrize("width", [1400, 900])
def test_collapsed_stretches_are_summarised_clear_of_the_lifelines(
        chromium: Browser, tmp_path: Path, width: int) -> None:
    report = html_report(tmp_path / "report.html", BULK_LOSS, html_all=True)
    with report_page(chromium, width=width) as tab:
        tab.open(report)
        ladder = drawn_section(tab, "conn-0-0").locator("svg.ladder-svg")
        stretches, crossed = ladder.evaluate(CROSSINGS)
        assert stretches > 5
        assert crossed == []
        assert tab.log.problems() == []


def test_owed_reply_notes_wrap_between_the_lines_of_a_narrow_ladder(
        chromium: Browser, tmp_path: Path) -> None:
    """The notes html.py wraps for a wide ladder are wrapped again, shorter, in a 900 px
    window: every line stays between the endpoint lines, and the words are the same."""
    report = replies_report(tmp_path)
    with report_page(chromium, width=900) as tab:
        tab.open(report)
        ladder = drawn_section(tab, "conn-0-0").locator("svg.ladder-svg")
        fit = ladder.evaluate(FITS)
        owed = [t for t in fit["between"] if t["text"].startswith(("⚑", "→", "  "))]
        assert len(owed) > 6
        assert [t["text"] for t in fit["between"]
                if not fit["client"] < t["left"] < t["right"] < fit["server"]] == []
        note = " ".join(" ".join(ladder.locator('g.owed[data-frame="8"] text')
                                 .all_text_contents()).split())
        assert note == (f"⚑ server owes an ACK {EXPECTED} (RFC 9293 §3.10.7.4) → answered "
                        "by frame 9")
        assert tab.log.problems() == []


def test_a_resized_window_lays_the_ladder_out_again(chromium: Browser, tmp_path: Path) -> None:
    """Narrowed from 1400 to 900 px, an open ladder takes two-line states and fits; widened
    again while its section is closed, it is laid out wide when reopened."""
    report = html_report(tmp_path / "report.html", BULK_LOSS, html_all=True)
    with report_page(chromium, width=1400) as tab:
        tab.open(report)
        ladder = drawn_section(tab, "conn-0-0").locator("svg.ladder-svg")
        wide = float(ladder.get_attribute("width"))
        tab.page.set_viewport_size({"width": 900, "height": 900})
        tab.page.wait_for_function("""() => document.querySelector(
            "#conn-0-0 svg.ladder-svg").getAttribute("data-split") === "1" """)
        fit = tab.page.locator("#conn-0-0 svg.ladder-svg").evaluate(FITS)
        assert fit["scrollWidth"] <= fit["clientWidth"] < wide

        # Widened while closed: laid out again when opened.
        tab.page.evaluate('document.querySelector("#conn-0-0").open = false')
        tab.page.set_viewport_size({"width": 1400, "height": 900})
        # Past the resize handler's debounce (150 ms), which leaves closed sections alone.
        tab.page.wait_for_timeout(600)
        tab.page.evaluate('document.querySelector("#conn-0-0").open = true')
        tab.page.wait_for_function("""() => !document.querySelector(
            "#conn-0-0 svg.ladder-svg").hasAttribute("data-split")""")
        assert float(tab.page.locator("#conn-0-0 svg.ladder-svg").get_attribute("width")) == wide
        assert tab.log.problems() == []


# ---------------------------------------------------------------- zooming a graph


def domain(graph: Locator) -> tuple[float, float, float, float]:
    """The graph's shown domain: (first second, last second, lowest byte, highest byte)."""
    t0, t1, lo, hi = (float(v) for v in graph.get_attribute("data-domain").split())
    return t0, t1, lo, hi


def plot_point(graph: Locator, fx: float, fy: float) -> tuple[float, float]:
    """Window coordinates of the point at fractions (fx, fy) of the graph's plot area."""
    d = graph.locator("g.axes > path.axis").get_attribute("d")
    (left, top), = starts(d)
    (bottom,) = (float(v) for v in re.findall(r"V(-?[\d.]+)", d))
    (right,) = (float(v) for v in re.findall(r"H(-?[\d.]+)", d))
    box = graph.bounding_box()
    return (box["x"] + left + fx * (right - left), box["y"] + top + fy * (bottom - top))


def test_wheel_zooms_a_graph_around_the_pointer_drag_pans_and_reset_shows_it_all(
        page: ReportPage, tmp_path: Path) -> None:
    """bulk-loss's upload: a wheel turn over the plot narrows both axes, keeping the time and
    sequence number under the pointer where they were; a drag moves the domain with the
    pointer; the reset button and the 0 key bring back the whole graph; + and the arrow keys
    zoom and pan a focused graph."""
    page.open(html_report(tmp_path / "report.html", BULK_LOSS))
    graph = drawn_section(page, "conn-0-0").locator('svg.seqgraph[data-direction="client"]')
    graph.scroll_into_view_if_needed()
    reset = page.page.locator("#conn-0-0 button.graph-reset").first
    expect(reset).to_be_disabled()
    whole = domain(graph)
    bars = graph.locator("path.bars:not(.rtx)").get_attribute("d").count("M")

    x, y = plot_point(graph, 0.6, 0.4)
    under = (whole[0] + 0.6 * (whole[1] - whole[0]), whole[3] - 0.4 * (whole[3] - whole[2]))
    page.page.mouse.move(x, y)
    page.page.mouse.wheel(0, -400)
    page.page.wait_for_function(f"""() => document.querySelector('#conn-0-0 svg.seqgraph')
        .getAttribute('data-domain') !== {' '.join(map(str, whole))!r}""")
    zoomed = domain(graph)
    assert zoomed[1] - zoomed[0] < 0.6 * (whole[1] - whole[0])
    assert zoomed[3] - zoomed[2] < 0.6 * (whole[3] - whole[2])
    t_span, v_span = zoomed[1] - zoomed[0], zoomed[3] - zoomed[2]
    assert abs(zoomed[0] + 0.6 * t_span - under[0]) < 0.01 * t_span  # a pixel or two
    assert abs(zoomed[3] - 0.4 * v_span - under[1]) < 0.01 * v_span
    assert 0 < graph.locator("path.bars:not(.rtx)").get_attribute("d").count("M") < bars
    expect(reset).to_be_enabled()
    page.screenshot("html-seqgraph-zoomed.png", "#conn-0-0 .seqgraph-wrap")

    # Dragging a quarter of the plot to the left shows later times, by a quarter of the span.
    start_x, start_y = plot_point(graph, 0.5, 0.5)
    end_x, _ = plot_point(graph, 0.25, 0.5)
    page.page.mouse.move(start_x, start_y)
    page.page.mouse.down()
    page.page.mouse.move(end_x, start_y, steps=4)
    page.page.mouse.up()
    page.page.wait_for_function(f"""() => document.querySelector('#conn-0-0 svg.seqgraph')
        .getAttribute('data-domain') !== {' '.join(map(str, zoomed))!r}""")
    panned = domain(graph)
    assert abs((panned[0] - zoomed[0]) - 0.25 * t_span) < 0.02 * t_span
    assert abs(panned[2] - zoomed[2]) < 1e-6 * v_span

    reset.click()
    page.page.wait_for_function("""() => document.querySelector(
        '#conn-0-0 button.graph-reset').disabled""")
    assert domain(graph) == whole

    graph.focus()
    page.page.keyboard.press("+")
    page.page.keyboard.press("ArrowLeft")
    expect(reset).to_be_enabled()
    keyed = domain(graph)
    assert keyed[1] - keyed[0] < whole[1] - whole[0]
    page.page.keyboard.press("0")
    expect(reset).to_be_disabled()
    assert domain(graph) == whole
    assert page.log.problems() == []


def test_a_graph_is_as_tall_as_its_data_needs(page: ReportPage, tmp_path: Path) -> None:
    """close-server-first: each direction carries one data segment; bulk-loss's upload
    carries hundreds. The one-segment graphs are short, the upload's full height."""
    page.open(html_report(tmp_path / "report.html", CLOSE_SERVER_FIRST, BULK_LOSS,
                          html_all=True))
    small = drawn_section(page, "conn-0-0").locator("svg.seqgraph")
    expect(small).to_have_count(2)
    big = drawn_section(page, "conn-1-0").locator('svg.seqgraph[data-direction="client"]')
    heights = [float(g.get_attribute("height")) for g in small.all()]
    assert all(h < 200 for h in heights)
    assert float(big.get_attribute("height")) >= 2 * max(heights)
    assert page.log.problems() == []


# ---------------------------------------------------------------- deep links


@pytest.mark.parametrize(("fragment", "name"), [("conn-1-0", "html-deep-link-conn.png"),
                                                ("frame-1-1307", "html-deep-link-frame.png")])
def test_command_line_screenshot_of_a_deep_link_shows_its_ladder(
        tmp_path: Path, fragment: str, name: str) -> None:
    """``chromium --headless --screenshot=out.png file:///…/r.html#conn-1-0`` (and a link to
    bulk-loss's frame 1307): the target is drawn as the page loads, so the picture is its
    ladder — arrows in the client's and the server's colours — not a white page. The first
    section (close-server-first) keeps the linked one far below the top of the page."""
    report = html_report(tmp_path / "r.html", CLOSE_SERVER_FIRST, BULK_LOSS, html_all=True)
    picture = read_png(command_line_screenshot(f"{report.resolve().as_uri()}#{fragment}",
                                               ARTIFACTS / name))
    pixels = picture.width * picture.height
    white = picture.count((255, 255, 255), tolerance=0)
    assert pixels - white > 0.05 * pixels
    assert picture.count((0x05, 0x50, 0xAE), tolerance=12) > 300  # --client
    assert picture.count((0x95, 0x38, 0x00), tolerance=12) > 300  # --server


def test_command_line_screenshot_of_a_link_to_a_closed_section_far_down_the_page(
        bundled_report: Path, tmp_path: Path) -> None:
    """Every bundled capture with ``--html-all``: hundreds of sections, more than
    ``OPEN_SECTIONS``, so each starts closed. A link to zero-window's connection, thousands
    of pixels down, opens and draws it before the screenshot is taken."""
    assert bundled_report.read_text(encoding="utf-8").count("<details class=\"conn\"") \
        > OPEN_SECTIONS
    zero_window = BUNDLED.index(ROOT / "captures/linux/zero-window.pcap")
    picture = read_png(command_line_screenshot(
        f"{bundled_report.resolve().as_uri()}#conn-{zero_window}-0",
        tmp_path / "closed-section.png"))
    assert picture.count((0x05, 0x50, 0xAE), tolerance=12) > 300  # --client
    assert picture.count((0x95, 0x38, 0x00), tolerance=12) > 300  # --server


def test_a_section_not_yet_drawn_is_as_tall_as_its_ladder_in_a_wide_window(
        page: ReportPage, tmp_path: Path) -> None:
    """html.py reserves each ladder's height before the script draws it, so that a link
    scrolls to the right place; in a wide window (one-line stretch summaries, notes as html.py
    wrapped them) the drawn ladder takes exactly that height."""
    result = keepalive_with_replies(probe_reply(8), probe_reply(10))
    report = tmp_path / "replies.html"
    report.write_text(render_html(result, load_catalog(), Severity.ERROR,
                                  all_connections=True), encoding="utf-8")
    for path in (report, html_report(tmp_path / "bulk.html", BULK_LOSS)):
        page.open(path)
        box = page.page.locator("#conn-0-0 .ladder")
        reserved = page.page.evaluate(
            'parseFloat(document.querySelector("#conn-0-0 .ladder").style.minHeight)')
        ladder = drawn_section(page, "conn-0-0").locator("svg.ladder-svg")
        assert float(ladder.get_attribute("height")) == reserved
        assert box.locator("g.gap").count() + box.locator("g.owed").count() > 0
    assert page.log.problems() == []
