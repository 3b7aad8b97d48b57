"""The analysis loop's speed measures change no result and leave the process as they found it.

``analyze_records`` feeds segments with ``Analyzer.feed_all`` and lets full garbage
collections come rarely while it runs (``pipeline._rare_full_collections``).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tcpcheck.decode import Decoder
from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import FULL_COLLECTION_EVERY, analyze_records
from tcpcheck.profiles import load_profile
from tcpcheck.result import Finding
from tcpcheck.sources import open_capture

LINUX_CAPTURES = Path(__file__).resolve().parent.parent / "captures" / "linux"


def _fields(findings: list[Finding]) -> list[tuple]:
    return [(f.rule, f.connection, f.frame, f.message, f.fingerprint) for f in findings]


@pytest.mark.parametrize("name", ["bulk-loss.pcap", "time-wait-reuse.pcap", "syn-flood.pcap"])
def test_feed_all_finds_what_feeding_each_segment_finds(name):
    with open_capture(str(LINUX_CAPTURES / name)) as capture:
        segments = list(Decoder().segments(capture.records()))
    one_by_one = Analyzer(load_profile("linux"), start_ts=segments[0].ts)
    for seg in segments:
        one_by_one.feed(seg)
    one_by_one.finish()
    all_at_once = Analyzer(load_profile("linux"), start_ts=segments[0].ts)
    all_at_once.feed_all(segments)
    all_at_once.finish()
    assert one_by_one.findings
    assert _fields(all_at_once.findings) == _fields(one_by_one.findings)
    assert all_at_once.connections == one_by_one.connections


def test_full_collections_are_rare_during_an_analysis_and_as_before_after_it():
    before = gc.get_threshold()
    during = []  # the thresholds each time a finding is reported, i.e. inside the analysis
    analyzer = Analyzer(load_profile("linux"),
                        on_finding=lambda _: during.append(gc.get_threshold()))
    with open_capture(str(LINUX_CAPTURES / "bulk-loss.pcap")) as capture:
        analyze_records(capture, analyzer, Decoder())
    assert during
    assert all(t == (before[0], before[1], max(before[2], FULL_COLLECTION_EVERY))
               for t in during)
    assert gc.get_threshold() == before
