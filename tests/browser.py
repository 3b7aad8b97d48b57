"""Headless Chromium for the HTML report's tests, driven by Playwright.

The browser is Debian's ``chromium`` package (CI installs it with
``scripts/install-system-deps.sh``), never one Playwright downloads: ``playwright install``
needs the network and a browser build the project does not control. Chromium starts with
``--headless --no-sandbox --disable-gpu``, which lets it run as root and without a display.

Everything a test must see going wrong is collected while the page lives: console messages
of type error or warning, uncaught exceptions (``pageerror``), and every request for
anything but the report file itself — the report is meant to be one self-contained file, so a
stylesheet from a CDN or a fetch would show up here.

``launch_chromium`` skips the test (``pytest.skip``) when no Chromium is installed; that only
happens on a developer's machine, since CI always has it. ``TCPCHECK_CHROMIUM`` names another
Chromium or Chrome binary.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu")
"""The flags the issue asks for: no display, no setuid sandbox (CI runs as root), no GPU."""

ARTIFACTS = Path(os.environ.get("TCPCHECK_TEST_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))
"""Where tests leave files for people to look at (screenshots); git-ignored, uploaded by CI."""

_INLINE_SCHEMES = ("data:", "blob:", "about:")


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``$TCPCHECK_CHROMIUM``, else ``chromium`` on PATH."""
    return os.environ.get("TCPCHECK_CHROMIUM") or shutil.which("chromium")


@contextlib.contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Start headless Chromium for the duration of the block; skip when none is installed."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium, or set "
                    "TCPCHECK_CHROMIUM); CI installs it with scripts/install-system-deps.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What went wrong in a page, as Chromium reported it."""

    console: list[str] = field(default_factory=list)
    """Console messages of type error or warning, as ``type: text (url:line)``."""
    errors: list[str] = field(default_factory=list)
    """Uncaught exceptions thrown by the page's scripts."""
    requests: list[str] = field(default_factory=list)
    """URLs the page asked for besides the page itself and inline data: a stylesheet, script,
    font or image that is not inlined, or network access."""

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            where = message.location
            self.console.append(f"{message.type}: {message.text} "
                                f"({where.get('url', '')}:{where.get('lineNumber', '')})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(str(error))

    def on_request(self, request: Request) -> None:
        if not (request.is_navigation_request() or request.url.startswith(_INLINE_SCHEMES)):
            self.requests.append(request.url)

    def problems(self) -> list[str]:
        """Every console error and warning, uncaught exception and network request."""
        return ([*self.console, *(f"uncaught: {e}" for e in self.errors),
                 *(f"network request: {url}" for url in self.requests)])


@dataclass
class ReportPage:
    """A browser tab with its ``PageLog``."""

    page: Page
    log: PageLog

    def open(self, path: Path) -> None:
        """Load a file from disk, as a user double-clicking it would, and wait for its
        ``load`` event (every inline script has run by then)."""
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        """Save a PNG under ``ARTIFACTS``: the whole page, or only the element ``selector``
        matches; returns its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        if selector is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            self.page.locator(selector).first.screenshot(path=str(path))
        return path


@contextlib.contextmanager
def report_page(browser: Browser, *, width: int = 1400, height: int = 900) -> Iterator[ReportPage]:
    """A fresh tab (its own context: no state shared between tests) that logs its problems."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        log = PageLog()
        page.on("console", log.on_console)
        page.on("pageerror", log.on_page_error)
        page.on("request", log.on_request)
        yield ReportPage(page, log)
    finally:
        context.close()


def command_line_screenshot(url: str, out: Path) -> Path:
    """``chromium --headless --screenshot=OUT URL``, as a user types it (plus the flags a root
    CI needs), with Chromium's own window size; skip when no Chromium is installed."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([path, *CHROMIUM_FLAGS, f"--screenshot={out}", url], capture_output=True,
                   timeout=120, check=True)
    return out


@dataclass(frozen=True)
class Picture:
    """A decoded 8-bit RGB or RGBA PNG: ``rows`` of (r, g, b) pixels."""

    width: int
    height: int
    rows: list[list[tuple[int, int, int]]]

    def count(self, colour: tuple[int, int, int], tolerance: int = 24) -> int:
        """Pixels within ``tolerance`` of ``colour`` on each channel."""
        return sum(1 for row in self.rows for pixel in row
                   if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True)))


def read_png(path: Path) -> Picture:
    """Decode a PNG as Chromium writes it (8-bit RGB or RGBA, not interlaced) with zlib: the
    tests need no imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    chunks: dict[bytes, list[bytes]] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        chunks.setdefault(data[at + 4:at + 8], []).append(data[at + 8:at + 8 + length])
        at += 12 + length
    width, height, depth, kind, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and kind in (2, 6) and not interlace, "only 8-bit RGB(A) PNGs"
    size = 4 if kind == 6 else 3
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * size
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        kind_of_filter = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            if kind_of_filter == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind_of_filter == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind_of_filter == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind_of_filter == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                      else corner)) & 0xFF
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, size)])
        previous = line
    return Picture(width, height, rows)
