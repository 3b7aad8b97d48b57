from __future__ import annotations

from collections.abc import Iterable

import pytest

from tcpcheck.engine import Analyzer
from tcpcheck.profiles import load_profile
from tcpcheck.result import Finding
from tcpcheck.segment import Segment
from tcpcheck.timeline import Recording


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
