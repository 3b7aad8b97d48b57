"""How big the HTML report of 10,000 connections is and how fast Chromium opens it
(``make bench-html``; recording the capture needs root).

1. ``bench/data/many-connections.pcap`` (gitignored) is recorded once by
   scripts/make_many_connections.py: 10,000 short request/response connections of real Linux
   TCP between two network namespaces, of which every 50th ends with an RST (SO_LINGER 0)
   and every 100th is refused by a closed port — 300 connections with (info) findings, so
   the default report draws 300 ladder diagrams and ``--html-all`` draws all 10,000.
2. ``tcpcheck analyze FILE --format html -o REPORT`` with and without ``--html-all``, as a
   child process: wall time (start-up included) and the report's size.
3. Headless Chromium (Debian's ``chromium``, driven by Playwright, with ``--headless
   --no-sandbox --disable-gpu``) opens each report from disk in a fresh tab. Measured: the
   wall time from ``goto`` to the ``load`` event (the tables are drawn by then: the script
   runs at the end of the body, before DOMContentLoaded) and until the page has been painted
   after that (``READY``); the page's own Navigation Timing (``domContentLoadedEventEnd``,
   first contentful paint); its JS heap, elements and diagram sections. Then two things a
   user does, timed inside the page until painted: sorting the 10,000-row connections table
   by duration, and following a link to the last connection's diagram (``#conn-C-I``: the
   section opens and draws).

Nothing asserts on time: the numbers are for reading (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_many_connections  # noqa: E402 - scripts/ is not a package
from playwright.sync_api import Browser, sync_playwright  # noqa: E402

DEFAULT_CAPTURE = ROOT / "bench" / "data" / "many-connections.pcap"
TCPCHECK = ROOT / ".venv" / "bin" / "tcpcheck"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  # performance.memory otherwise rounds the heap size to coarse buckets.
                  "--enable-precise-memory-info")
CONNECTIONS = 10_000

READY = """() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(
    () => resolve(performance.now()))))"""
"""Resolves once the page has been painted after everything its scripts did on load: the
first animation frame callback runs before the next paint, the second after it."""

SORT = """() => new Promise(resolve => {
  const start = performance.now();
  document.querySelector('#connections-table th[data-key="duration"] button').click();
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - start)));
})"""
"""Milliseconds to sort the connections table by duration and paint it."""

JUMP = """() => new Promise(resolve => {
  const sections = document.querySelectorAll("details.conn");
  const section = sections[sections.length - 1];
  const start = performance.now();
  location.hash = "#" + section.id;
  const drawn = () => section.dataset.rendered === "1"
    ? requestAnimationFrame(() => resolve(performance.now() - start))
    : requestAnimationFrame(drawn);
  requestAnimationFrame(drawn);
})"""
"""Milliseconds from following a link to the last diagram until it is drawn and painted."""

NAVIGATION = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return {dcl: nav.domContentLoadedEventEnd,
          fcp: paint ? paint.startTime : null,
          heap: performance.memory ? performance.memory.usedJSHeapSize : null,
          elements: document.getElementsByTagName("*").length,
          diagrams: document.querySelectorAll("details.conn").length};
}"""


@dataclass(frozen=True, slots=True)
class Report:
    """One ``tcpcheck analyze --format html`` run."""

    mode: str
    path: Path
    seconds: float
    size_mb: float


@dataclass(frozen=True, slots=True)
class Opening:
    """Chromium opening one report, times in seconds."""

    load: float
    """From ``goto`` to the ``load`` event, measured outside the page."""
    ready: float
    """From ``goto`` until painted after the load handlers ran, measured outside the page."""
    dom_content_loaded: float
    """``domContentLoadedEventEnd`` of the page's Navigation Timing entry."""
    first_contentful_paint: float | None
    heap_mb: float | None
    elements: int
    """Elements in the document once it is ready."""
    diagrams: int
    """Connection sections (each draws its diagrams when opened or scrolled to)."""
    sort: float
    """Sorting the connections table by duration, until painted."""
    jump: float
    """Following a link to the last diagram section, until drawn and painted."""


def render(capture: Path, out: Path, *, html_all: bool) -> Report:
    """Run the CLI once; exit 1 (error findings) is a normal result."""
    argv = [str(TCPCHECK), "analyze", str(capture), "--format", "html", "-o", str(out)]
    if html_all:
        argv.append("--html-all")
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1) or not out.exists():
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: "
                           f"{proc.stderr.strip()[-500:]}")
    return Report("--html-all" if html_all else "default", out, seconds,
                  out.stat().st_size / 1e6)


def open_report(browser: Browser, path: Path) -> Opening:
    """Open ``path`` from disk in a fresh context; fail on any console error or page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
        start = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=300_000)
        loaded = time.perf_counter() - start
        page.evaluate(READY)
        ready = time.perf_counter() - start
        nav = page.evaluate(NAVIGATION)
        sort = page.evaluate(SORT) / 1000
        jump = page.evaluate(JUMP) / 1000
        if problems:
            raise RuntimeError(f"{path}: " + "; ".join(problems[:5]))
        return Opening(loaded, ready, nav["dcl"] / 1000,
                       None if nav["fcp"] is None else nav["fcp"] / 1000,
                       None if nav["heap"] is None else nav["heap"] / 2**20, nav["elements"],
                       nav["diagrams"], sort, jump)
    finally:
        context.close()


def median_opening(browser: Browser, path: Path, runs: int) -> Opening:
    """The run with the median ready time (one whole run, so its figures belong together)."""
    openings = sorted((open_report(browser, path) for _ in range(runs)), key=lambda o: o.ready)
    return openings[len(openings) // 2]


def ensure_capture(path: Path, connections: int, force: bool) -> None:
    if path.exists() and not force:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"{path} is missing and recording it needs root (netns, tcpdump)")
    rec = make_many_connections.record(path, connections)
    print(f"recorded {rec.path}: {rec.connections:,} connections ({rec.aborted} aborted, "
          f"{rec.refused} refused), {rec.packets:,} packets in {rec.seconds:.1f} s")


def chromium() -> str:
    path = os.environ.get("TCPCHECK_CHROMIUM") or shutil.which("chromium")
    if path is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    return path


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_CAPTURE,
                        help="capture to report on (default %(default)s, recorded if missing)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help="connections to record when the file is missing")
    parser.add_argument("--force", action="store_true", help="record the capture again")
    parser.add_argument("--runs", type=int, default=3,
                        help="openings per report; the median is shown (default %(default)s)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the reports in DIR (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.file == DEFAULT_CAPTURE:
        ensure_capture(args.file, args.connections, args.force)
    elif not args.file.exists():
        raise SystemExit(f"{args.file}: no such file")
    browser_path = chromium()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        reports = [render(args.file, folder / "report.html", html_all=False),
                   render(args.file, folder / "report-all.html", html_all=True)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True,
                                                 args=list(CHROMIUM_FLAGS))
            try:
                # A first opening warms Chromium's caches (fonts, the V8 code cache) so
                # that every measured run starts from the same state.
                open_report(browser, reports[0].path)
                openings = [median_opening(browser, r.path, args.runs) for r in reports]
            finally:
                browser.close()
    print(f"{args.file}: {args.file.stat().st_size / 1e6:.1f} MB; Chromium "
          f"{browser_path}, median of {args.runs} openings\n")
    header = (f"{'report':<12}{'analyze s':>10}{'HTML MB':>9}{'load s':>8}{'ready s':>9}"
              f"{'DCL s':>7}{'FCP s':>7}{'heap MB':>9}{'elements':>10}{'diagrams':>10}"
              f"{'sort s':>8}{'jump s':>8}")
    print(header)
    for report, o in zip(reports, openings, strict=True):
        heap = "-" if o.heap_mb is None else f"{o.heap_mb:.0f}"
        print(f"{report.mode:<12}{report.seconds:>10.2f}{report.size_mb:>9.1f}{o.load:>8.2f}"
              f"{o.ready:>9.2f}{o.dom_content_loaded:>7.2f}{_seconds(o.first_contentful_paint):>7}"
              f"{heap:>9}{o.elements:>10,}{o.diagrams:>10,}{o.sort:>8.2f}{o.jump:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
