"""Header prediction (``tcpcheck.model.prediction``) is an optimisation, never a second model:
every capture gives the same report, to the byte, with the fast path on and off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpcheck.decode import Decoder
from tcpcheck.engine import Analyzer, combine
from tcpcheck.pipeline import analyze_records
from tcpcheck.profiles import load_profile
from tcpcheck.report.jsondoc import render_json
from tcpcheck.result import AnalysisResult
from tcpcheck.sources import CaptureError, open_capture
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p for p in (ROOT / "captures").rglob("*.pcap*") if p.is_file())
WILD = ROOT.parent / "shared" / "wild" / "dev"
ORACLE = ROOT.parent / "shared" / "oracle" / "dev"
LINUX = load_profile("linux")


def _analyse(path: Path, *, fast_path: bool, recording: Recording | None = None
             ) -> AnalysisResult:
    with open_capture(str(path)) as capture:
        analyzer = Analyzer(LINUX, input_name=path.name, recording=recording,
                            fast_path=fast_path)
        summary = analyze_records(capture, analyzer, Decoder())
    return combine([(summary, analyzer)])


def _same_json_both_ways(path: Path) -> None:
    fast = render_json(_analyse(path, fast_path=True))
    full = render_json(_analyse(path, fast_path=False))
    assert fast == full, f"{path.name}: the fast path changed the report"


def test_the_bundled_captures_include_bulk_transfers_the_fast_path_takes():
    # The comparison below is only worth something on traffic the fast path handles.
    names = {p.name for p in BUNDLED}
    assert {"bulk-loss.pcap", "bulk-heavy-loss.pcap", "ipv6-bulk-loss.pcap"} <= names
    assert len(BUNDLED) > 50


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_on_and_off_give_the_same_json_on_every_bundled_capture(path):
    _same_json_both_ways(path)


@pytest.mark.parametrize("path", [p for p in BUNDLED if p.parent.name == "linux"],
                         ids=lambda p: p.name)
def test_fast_path_on_and_off_give_the_same_timelines_on_the_real_captures(path):
    # Every segment's states and the replies owed, not only how each connection ended.
    every = Recording(all=True)
    fast = _analyse(path, fast_path=True, recording=every)
    full = _analyse(path, fast_path=False, recording=every)
    assert fast.timelines == full.timelines
    assert fast.connections == full.connections


@pytest.mark.skipif(not (WILD.is_dir() and ORACLE.is_dir()),
                    reason="../shared/wild/dev or ../shared/oracle/dev not present")
def test_fast_path_on_and_off_give_the_same_json_on_captures_from_the_wild():
    paths = sorted(p for folder in (WILD, ORACLE) for p in folder.iterdir()
                   if p.suffix in (".pcap", ".pcapng", ".cap"))
    read = 0
    for path in paths:
        try:
            _same_json_both_ways(path)
        except CaptureError:
            continue  # not a capture tcpcheck reads (an unsupported link type): no report
        read += 1
    assert read > 100
