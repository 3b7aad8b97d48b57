from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tcpcheck.engine import Analyzer
from tcpcheck.profiles import load_profile
from tcpcheck.result import Finding
from tcpcheck.segment import Segment
from tcpcheck.timeline import Recording

needs_test_bed = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("tcpdump") is None,
    reason="recording a capture needs root (network namespaces, raw sockets) and tcpdump")
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def recorded(scenario: str, out: Path) -> Path:
    """``out`` freshly recorded by the scripts' ``scenario`` (scripts/forged_captures.py),
    as ``make captures`` records it; the test is skipped when a busy machine upset the
    scenario's timing."""
    sys.path.insert(0, str(SCRIPTS))
    import forged_captures  # noqa: F401  scripts/ is not a package: registers its scenarios
    import make_captures

    try:
        make_captures.SCENARIOS[scenario](out)
    except make_captures.ScenarioError as exc:
        pytest.skip(f"the scenario could not be recorded: {exc}")
    return out


def run_segments(segments: Iterable[Segment], profile: str = "linux", *,
                 timelines: bool = False) -> Analyzer:
    """Replay segments through the whole engine (tracker, model, checks); with ``timelines``,
    keeping every connection's timeline (``analyzer.timelines``)."""
    segments = list(segments)
    analyzer = Analyzer(load_profile(profile), start_ts=segments[0].ts if segments else 0,
                        recording=Recording(all=True) if timelines else None)
    for seg in segments:
        analyzer.feed(seg)
    analyzer.finish()
    return analyzer


# Info findings about where the capture cut a connection: most ladders stop before the close.
CAPTURE_EDGES = frozenset({"capture-started-midstream", "capture-ended-midstream"})


def rules_at(findings: Iterable[Finding], min_severity: int = 2, *,
             edges: bool = False) -> list[tuple[str, int]]:
    """(rule, frame) of every finding at or above a severity, sorted; without the capture-edge
    info findings unless ``edges``."""
    return sorted((f.rule, f.frame) for f in findings if f.severity >= min_severity
                  and (edges or f.rule not in CAPTURE_EDGES))


@pytest.fixture
def run():
    return run_segments


# The browser tests' Chromium and tab (tests/browser.py), imported only when a test asks for
# them: Playwright is a test dependency the other tests do not need. Module scope, not session:
# while Playwright's sync API runs, its event loop is the thread's running loop, and pyshark
# (the Wireshark agreement tests, later in the run) cannot run its own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from browser import launch_chromium
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A report tab of 1400 x 900 in the module's Chromium."""
    from browser import report_page
    with report_page(chromium) as tab:
        yield tab
