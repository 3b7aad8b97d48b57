"""The HTML report of a rotated capture set (`tcpcheck analyze --stitch`) in headless Chromium:
a connection's ladder runs across the files with a divider where each next file starts, its
rows numbered by their own file's frames, and the findings of the later files link to their
rows there.

Real traffic cut by editcap (`tests/test_stitch.py`); Chromium and Playwright as in
`tests/test_report_html_browser.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BULK_LOSS = ROOT / "captures" / "linux" / "bulk-loss.pcap"

pytestmark = pytest.mark.skipif(shutil.which("editcap") is None,
                                reason="editcap (Wireshark's, from `make system-deps`) is not "
                                       "installed")

ROWS = """() => [...document.querySelectorAll("svg.ladder-svg > g")].flatMap(g =>
  g.classList.contains("file-change") ? [["file", g.dataset.file]]
  : g.classList.contains("seg") ? [["row", g.id, g.querySelector("text").textContent]] : [])"""
"""The ladder's dividers and rows in drawing order: a row's element id and the frame number
written in its frame column."""

DRAWN = "() => document.querySelector('details.conn').dataset.rendered === '1'"
"""The section's pictures are drawn (when it scrolls into view)."""


def cut(tmp_path: Path) -> list[Path]:
    """bulk-loss.pcap cut into parts of 200 records."""
    folder = tmp_path / "parts"
    folder.mkdir()
    subprocess.run(["editcap", "-F", "pcap", "-c", "200", str(BULK_LOSS),
                    str(folder / "part.pcap")], check=True, capture_output=True)
    return sorted(folder.iterdir())


def stitched(parts: list[Path], fmt: str) -> Path:
    """The parts analysed with --stitch as ``fmt``, beside them."""
    out = parts[0].parent.parent / f"report.{fmt}"
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", "--stitch", *map(
        str, parts), "--format", fmt, "-o", str(out)], capture_output=True, text=True,
        cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    return out


def test_the_ladder_numbers_rows_by_their_own_files_frames_after_a_divider_per_file(
        page, tmp_path):
    parts = cut(tmp_path)
    page.open(stitched(parts, "html"))
    page.page.locator("details.conn .ladder").scroll_into_view_if_needed()
    page.page.wait_for_function(DRAWN)
    drawn = page.page.evaluate(ROWS)
    assert [row[1] for row in drawn if row[0] == "file"] == [str(p) for p in parts[1:]]
    capture = 0
    for row in drawn:
        if row[0] == "file":
            capture += 1
            continue
        assert row[1] == f"frame-{capture}-{row[2]}"
    assert not page.log.errors and not page.log.console


def test_a_finding_in_a_later_file_links_to_its_row_in_its_connections_ladder(
        page, tmp_path):
    parts = cut(tmp_path)
    findings = json.loads(stitched(parts, "json").read_text())["findings"]
    later = next(i for i, f in enumerate(findings) if f["input"] != str(parts[0]))
    page.open(stitched(parts, "html"))
    page.page.locator(f"#findings-table tr[data-index='{later}'] td.num a").nth(1).click()
    card = page.page.locator(f"#finding-{later}")
    assert card.is_visible()
    target = card.locator("a[href^='#frame-']").first.get_attribute("href")
    assert page.page.locator(target).count() == 1
    assert not page.log.errors and not page.log.console
