"""The bare loops ``make bench`` measures tcpcheck against do the reading tcpcheck does: on a
real capture they find every TCP segment the decoder finds, or the floor would be a cheat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tcpcheck.decode import Decoder
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
BARE_LOOP = ROOT / "bench" / "bare_loop.py"
# Ethernet, IPv4 without options: every TCP segment is one the loops can unpack.
CAPTURES = [ROOT / "captures" / "linux" / name
            for name in ("bulk-loss.pcap", "close-client-first.pcap", "rst-abort.pcap")]


def _decoded_tcp(path: Path) -> int:
    decoder = Decoder()
    with open_capture(str(path)) as capture:
        for _ in decoder.segments(capture.records()):
            pass
    return decoder.counters.tcp


@pytest.mark.parametrize("mode", [[], ["--dpkt"]], ids=["bare", "dpkt"])
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_the_bench_loops_count_every_tcp_segment_tcpcheck_decodes(path, mode):
    out = subprocess.run([sys.executable, str(BARE_LOOP), *mode, str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert int(out) == _decoded_tcp(path) > 0


def test_make_bench_has_the_bare_loop_rows_and_their_ratio():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run_bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    tools = [tool for tool, _ in run_bench.commands(Path("x.pcap"), skip_tshark=True)]
    # (the --jobs row, on a machine of several cores, is tests/test_jobs.py's)
    assert [tool for tool in tools if not tool.startswith("tcpcheck --jobs")] == [
        "tcpcheck", "bare loop", "dpkt + struct"]
    assert ("bare loop", "0.5") in run_bench.RATIOS
