"""Every state change goes through the transition table; an input it has no transition for is
an observation (``UnexpectedInput``), never silence, and healthy Linux traffic has none."""

from __future__ import annotations

from pathlib import Path

import pytest
from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
LINUX = load_profile("linux")
EVERY = Recording(all=True)


def observations(timelines) -> list[tuple[int, str]]:
    return [(step.frame, name) for timeline in timelines for step in timeline.steps
            for name in step.observations]


# Real captures today's model still reads wrong (issue 14). Strict: the marker must go the
# moment the model reads them right.
MODEL_MISTAKES: dict[str, str] = {}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=MODEL_MISTAKES[name]))
    if name in MODEL_MISTAKES else name
    for name in sorted(p.name for p in (ROOT / "captures" / "linux").glob("*.pcap"))])
def test_no_real_linux_capture_produces_an_unexpected_input(name):
    result = analyze_jobs([Job(str(ROOT / "captures" / "linux" / name), LINUX)], EVERY)
    assert [o for o in observations(result.timelines) if o[1] == "UnexpectedInput"] == []


def test_a_fin_from_a_side_the_peer_reset_is_recorded_not_dropped():
    # The client accepted the server's RST (CLOSED), then sends a FIN: CLOSED has no SEND_FIN.
    lad = Ladder().handshake()
    lad.rst("s")
    fin = lad.fin("c")
    analyzer = Analyzer(LINUX, start_ts=lad.segments[0].ts, recording=EVERY)
    for seg in lad.segments:
        analyzer.feed(seg)
    analyzer.finish()
    assert (fin.frame, "UnexpectedInput") in observations(analyzer.timelines)
