"""Connection tracking: instances per four-tuple, and memory bounded by open connections."""

from __future__ import annotations

import pytest
from segments import Ladder

from tcpcheck.lone_syn import PORTS, pack_lone, unpack_lone
from tcpcheck.profiles import load_profile
from tcpcheck.segment import CWR, ECE, PSH, SYN, Segment
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


def _lone_and_modelled(syn: Segment, end: int):
    """A SYN left alone until the capture ends at ``end``, finished by the tracker (packed),
    and by the full model."""
    from tcpcheck.model.connection import Connection
    lone: list = []
    tracker = Tracker(load_profile("linux"), lone.append)
    assert tracker.feed(syn) is None  # kept packed: nothing for the model to note yet
    tracker.pass_by(end)  # another connection's segment, captured at the end
    tracker.close()
    model = Connection(0, load_profile("linux"), (syn.src, syn.sport), False, syn)
    model.apply(syn, True)
    model.finish(end)
    return lone[0], model


@pytest.mark.parametrize("flags", [SYN, SYN | ECE | CWR, SYN | PSH], ids=["syn", "ecn", "psh"])
@pytest.mark.parametrize("options", [b"", bytes.fromhex(
    "020405b40402080a9f05cfcd000000000103030a")], ids=["no-options", "linux-options"])
@pytest.mark.parametrize(("after", "judged"), [(0, False), (3_000_000_000, True)],
                         ids=["capture-ends-on-it", "capture-goes-on-3s"])
def test_a_lone_syn_finishes_exactly_as_the_model_would(flags, options, after, judged):
    syn = Segment(7, 1_700_000_000_000_000_000, bytes([192, 0, 2, 10]), 40000,
                  bytes([198, 51, 100, 20]), 80, 123456, 999, flags, 64240, 0, options, b"", 1)
    lone, model = _lone_and_modelled(syn, syn.ts + after)
    [event] = lone.events
    assert event.unjudged is not judged  # judged only once its answer was due (1 s)
    assert lone.keys == ((syn.src, 40000, syn.dst, 80), (syn.dst, 80, syn.src, 40000))
    for name in ("id", "client_key", "first_frame", "last_frame", "start_ts",
                 "end_ts", "packets", "midstream", "events", "finished"):
        assert getattr(lone, name) == getattr(model, name), name
    assert lone.close_kind() == model.close_kind() == "half-open"
    for side in ("client", "server"):
        for name in ("state", "bytes", "syns"):
            assert getattr(getattr(lone, side), name) == getattr(getattr(model, side), name)


def test_a_syn_the_model_has_something_to_say_about_is_not_kept_packed():
    tracker = Tracker(load_profile("linux"), lambda c: None)
    base = Segment(1, 1, bytes([192, 0, 2, 10]), 40000, bytes([198, 51, 100, 20]), 80, 5, 0,
                   SYN, 64240, 0, b"", b"", 1)
    assert tracker.feed(base) is None
    zero_isn = tracker.feed(base._replace(frame=2, sport=40001, seq=0))
    offloaded = tracker.feed(base._replace(frame=3, sport=40002, seq=9, csum=2))
    with_data = tracker.feed(base._replace(frame=4, sport=40003, seq=10, plen=5,
                                           payload=b"hello"))
    reused_isn = tracker.feed(base._replace(frame=5, sport=40004))
    assert [e.__class__.__name__ for e in zero_isn.events] == ["IsnWeak"]
    assert offloaded is not None and with_data is not None
    assert [e.__class__.__name__ for e in reused_isn.events] == ["IsnWeak"]
    assert tracker.open_connections == 5


def test_the_answer_to_a_lone_syn_finds_its_connection_under_the_same_id():
    lad = Ladder()
    lad.handshake()
    finished: list = []
    tracker = Tracker(load_profile("linux"), finished.append)
    assert tracker.feed(lad.segments[0]) is None
    conn = tracker.feed(lad.segments[1])
    assert conn.id == 0 and conn.packets == 2 and conn.server.rtx.synacks == 1
    assert tracker.feed(lad.segments[2]) is conn
    assert tracker.open_connections == 1


def test_a_lone_syn_idle_past_the_timeout_is_finalised_as_half_open():
    finished: list = []
    tracker = Tracker(load_profile("linux"), finished.append, idle_timeout=10)
    lonely = Ladder(client_isn=1)
    lonely.syn("c")
    later = short_connection(41000, 30.0)
    for seg in [*lonely.segments, *later]:
        tracker.feed(seg)
    [conn] = finished
    assert (conn.id, conn.close_kind(), conn.client.state.value) == (0, "half-open",
                                                                      "SYN_SENT")
    assert [e.__class__.__name__ for e in conn.events] == ["HalfOpen"]
    assert tracker.open_connections == 1


def test_a_lone_syn_packed_with_its_headers_comes_back_with_its_mac_too():
    # Its TTL and MAC are the client's first evidence of who sends in its name
    # (``tcpcheck.model.attribution``): kept together, or neither when headers are not kept.
    lad = Ladder()
    lad.handshake()
    syn = lad.segments[0]._replace(header=bytes(40), mac=b"\2\0\0\0\0\1")
    key = syn.src + syn.dst + PORTS.pack(syn.sport, syn.dport)
    assert unpack_lone(key, pack_lone(7, syn, True)) == syn
    bare = unpack_lone(key, pack_lone(7, syn, False))
    assert (bare.header, bare.mac) == (b"", b"")
    assert bare == syn._replace(header=b"", mac=b"")
