"""bench/make_big_capture.py: rounds of one capture, each later than the last, analyse as
rounds of the same connections."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import make_big_capture  # noqa: E402 - bench/ is not a package

SOURCE = ROOT / "captures" / "linux" / "close-client-first.pcap"


def times(path: Path) -> list[int]:
    with open_capture(str(path)) as capture:
        return [record[1] for record in capture.records()]


def test_three_rounds_repeat_every_record_each_round_a_gap_after_the_last(tmp_path):
    out = tmp_path / "big.pcap"
    assert make_big_capture.make(SOURCE, out, rounds=3, gap=60) == 3 * len(times(SOURCE))
    one, big = times(SOURCE), times(out)
    n = len(one)
    assert big[:n] == one
    for k in (1, 2):
        shift = big[k * n] - one[0]
        assert shift >= k * 60 * 10**9 and shift % 10**9 == 0
        assert big[k * n:(k + 1) * n] == [t + shift for t in one]
        assert big[k * n] - big[k * n - 1] > 60 * 10**9


def test_each_round_analyses_as_the_same_connections_again(tmp_path):
    out = tmp_path / "big.pcap"
    make_big_capture.make(SOURCE, out, rounds=2, gap=60)
    once = analyze_files([str(SOURCE)], load_profile("linux"))
    twice = analyze_files([str(out)], load_profile("linux"))
    rows = [(c.client, c.server, c.packets, c.close) for c in once.connections]
    assert [(c.client, c.server, c.packets, c.close) for c in twice.connections] == rows * 2


def test_a_pcapng_source_is_refused_with_a_reason(tmp_path):
    source = tmp_path / "x.pcapng"
    source.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
    with pytest.raises(ValueError, match="not a classic pcap"):
        make_big_capture.make(source, tmp_path / "out.pcap", rounds=2, gap=60)
