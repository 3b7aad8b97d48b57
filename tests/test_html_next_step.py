"""The HTML report's next steps and finding order, as a user sees them in headless Chromium.

The findings table opens sorted by severity (errors, then warnings, then info), then capture
and frame; each row has buttons copying the Wireshark display filter that selects its frame
and the ``tcpcheck show`` command, and each explanation card has both as selectable text. The
page puts the commands together itself (``report.js``, from per-capture and per-connection
parts): every one is compared with what ``tcpcheck.report.nextstep`` gives the text reports.
Reports are written by the real CLI from bundled captures (tests/browser.py drives Debian's
chromium; the tests skip when it is not installed).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ReportPage, report_page
from playwright.sync_api import Browser, expect

from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.nextstep import NextSteps
from tcpcheck.result import AnalysisResult

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ("captures/linux/bulk-loss.pcap", "captures/crafted/rst-out-of-window.pcap",
            "captures/linux/ipv6-bulk-loss.pcap", "captures/linux/time-wait-reuse.pcap")
"""Info findings in the first capture, an error in the second, IPv6 in the third, a reused
four-tuple in the fourth: the error must come first, whatever the capture order."""

ROWS = """() => [...document.querySelectorAll("#findings-table tbody tr")].map(tr => ({
  index: Number(tr.dataset.index), severity: tr.className.replace("finding sev-", ""),
  capture: Number(tr.dataset.capture), frame: Number(tr.dataset.frame),
  copies: [...tr.querySelectorAll("td.next button.copy")].map(b => b.dataset.copy ?? null),
  titles: [...tr.querySelectorAll("td.next button.copy")].map(b => b.title),
  disabled: [...tr.querySelectorAll("td.next button.copy")].map(b => b.disabled)}))"""
"""Every row the findings table shows, in order, with what its copy buttons hold."""

RANK = {"error": 0, "warning": 1, "info": 2}


def html_report(out: Path, *names: str, stdin: bytes | None = None) -> Path:
    """``tcpcheck analyze NAMES --format html -o OUT`` from the repository root."""
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", *names, "--format",
                           "html", "-o", str(out)], cwd=ROOT, input=stdin, capture_output=True)
    assert proc.returncode in (0, 1), proc.stderr
    return out


@pytest.fixture
def page(chromium: Browser) -> Iterator[ReportPage]:
    with report_page(chromium) as tab:
        tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield tab


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return html_report(tmp_path_factory.mktemp("html") / "report.html", *CAPTURES)


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return analyze_jobs([Job(name, load_profile("linux")) for name in CAPTURES])


def test_findings_open_sorted_by_severity_then_capture_then_frame(page, report, result):
    page.open(report)
    expect(page.page.locator('#findings-table th[data-key="severity"]')).to_have_attribute(
        "aria-sort", "ascending")
    rows = page.page.evaluate(ROWS)
    assert rows[0]["severity"] == "error"
    order = [(RANK[r["severity"]], r["capture"], r["frame"]) for r in rows]
    assert order == sorted(order)
    assert {r["severity"] for r in rows} == {"error", "info"}
    assert page.log.problems() == []


def test_each_rows_buttons_copy_the_filter_and_show_command_the_text_reports_give(
        page, report, result):
    page.open(report)
    steps = NextSteps(result.connections)
    rows = page.page.evaluate(ROWS)
    assert len(rows) == min(len(result.findings), 500)
    for row in rows:
        step = steps.of(result.findings[row["index"]])
        assert row["copies"] == [step.display_filter, step.show]
        assert row["titles"] == row["copies"] and row["disabled"] == [False, False]
    assert page.log.problems() == []


def test_a_copy_button_puts_its_command_on_the_clipboard(page, report, result):
    page.open(report)
    first = page.page.locator("#findings-table tbody tr").first
    show = first.locator("td.next button.copy", has_text="show")
    show.click()
    expect(show).to_have_class("copy copied")
    error = next(f for f in result.findings if f.rule == "rst-out-of-window")
    assert page.page.evaluate("() => navigator.clipboard.readText()") == (
        f"tcpcheck show {error.input} --frame {error.frame}")
    assert page.log.problems() == []


def test_a_findings_card_shows_its_filter_and_show_command_as_text(page, report, result):
    index = next(i for i, f in enumerate(result.findings) if f.rule == "rst-out-of-window")
    page.page.goto(f"{report.resolve().as_uri()}#finding-{index}", wait_until="load")
    card = page.page.locator(f"#finding-{index}")
    expect(card).to_be_visible()
    step = NextSteps(result.connections).of(result.findings[index])
    assert card.locator("dd.next code.cmd").all_inner_texts() == [step.display_filter,
                                                                  step.show]
    assert page.log.problems() == []


def test_a_capture_from_standard_input_has_the_filter_and_a_disabled_show_button_saying_why(
        page, tmp_path):
    data = (ROOT / "captures/crafted/rst-out-of-window.pcap").read_bytes()
    page.open(html_report(tmp_path / "stdin.html", "/dev/stdin", stdin=data))
    [row] = page.page.evaluate(ROWS)
    assert row["copies"][0].endswith(" && frame.number == 7") and row["copies"][1] is None
    assert row["disabled"] == [False, True]
    assert row["titles"][1].startswith("none, the capture came from standard input")
    assert page.log.problems() == []
