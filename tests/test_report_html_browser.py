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
- ``html-seqgraph-bulk-loss.png``: the time-sequence graphs of captures/linux/bulk-loss.pcap.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ReportPage, launch_chromium, report_page
from playwright.sync_api import Browser, Locator, expect

from tcpcheck.engine import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.timeline import Recording, Timeline

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = [*sorted(ROOT.glob("captures/linux/*.pcap")),
           *sorted(ROOT.glob("captures/crafted/*.pcap"))]
CLOSE_SERVER_FIRST = ROOT / "captures/linux/close-server-first.pcap"
SYN_ISN_CHANGED = ROOT / "captures/crafted/syn-isn-changed.pcap"
BULK_LOSS = ROOT / "captures/linux/bulk-loss.pcap"

STATE_CHANGES = """() => [...document.querySelectorAll("details.conn")].flatMap(section =>
  [...section.querySelectorAll("text.state:not(.initial):not(.final)")].map(t =>
    [section.id, t.dataset.side, Number(t.dataset.frame), t.textContent]))"""
"""Every state change drawn in the page's ladders: (section id, side, frame, text)."""

OPEN_EVERY_SECTION = """() => document.querySelectorAll("details.conn").forEach(section => {
  section.open = true; })"""

EVERY_SECTION_DRAWN = """() => [...document.querySelectorAll("details.conn")].every(section =>
  section.dataset.rendered === "1")"""


def html_report(out: Path, *captures: Path, html_all: bool = False) -> Path:
    """``tcpcheck analyze CAPTURES --format html -o OUT`` run from the repository root, so the
    report names bundled captures as ``captures/...``; exit 1 (error findings) is a normal
    run."""
    names = [str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
             for path in captures]
    argv = [sys.executable, "-m", "tcpcheck", "analyze", *names, "--format", "html", "-o",
            str(out)]
    if html_all:
        argv.append("--html-all")
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return out


def analysis(*captures: Path, html_all: bool = False) -> AnalysisResult:
    """The same analysis in this process, for the numbers the page must show."""
    profile = load_profile("linux")
    return analyze_jobs([Job(str(path), profile) for path in captures],
                        Recording(all=html_all))


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


# Module scope, not session: while Playwright's sync API runs, its event loop is the thread's
# running loop, and pyshark (the Wireshark agreement tests, later in the run) cannot run its own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[ReportPage]:
    with report_page(chromium) as tab:
        yield tab


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
    severity.locator("button").click()
    expect(severity).to_have_attribute("aria-sort", "ascending")
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
    assert page.log.problems() == []
    page.screenshot("html-seqgraph-bulk-loss.png", "#conn-0-0 .seqgraphs")


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
