"""Connection tracking: instances per four-tuple, and memory bounded by open connections."""

from __future__ import annotations

from segments import Ladder

from tcpcheck.profiles import load_profile
from tcpcheck.segment import Segment
from tcpcheck.track import Tracker


def short_connection(port: int, start_s: float) -> list[Segment]:
    lad = Ladder(client_isn=1000 + port, server_isn=9000 + port)
    lad.ts += int(start_s * 1e9)
    lad.handshake()
    lad.data("c", 100)
    lad.data("s", 200)
    lad.close(first="c")
    return [seg._replace(sport=port) if seg.sport == 40000 else seg._replace(dport=port)
            for seg in lad.segments]


def test_closed_connections_are_dropped_after_time_wait_so_memory_stays_flat():
    finished = []
    tracker = Tracker(load_profile("linux"), finished.append)
    peak = 0
    for i in range(400):  # one connection a second for 400 s; TIME_WAIT is 60 s
        for seg in short_connection(20000 + i, float(i)):
            tracker.feed(seg)
        peak = max(peak, tracker.open_connections)
    assert peak <= 62  # those inside their TIME_WAIT, never all 400
    assert len(finished) >= 400 - 62
    tracker.close()
    assert len(finished) == 400 and tracker.open_connections == 0


def test_connection_ids_follow_order_of_appearance_like_tcp_stream():
    finished = []
    tracker = Tracker(load_profile("linux"), finished.append)
    for i in range(3):
        for seg in short_connection(30000 + i, float(i)):
            tracker.feed(seg)
    tracker.close()
    assert sorted(c.id for c in finished) == [0, 1, 2]
