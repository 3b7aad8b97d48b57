"""The ACKs a receiver owes for data (issue 14; ``tcpcheck.model.data_acks``): within the
profile's delayed-ACK maximum for in-order data (RFC 9293 §3.8.6.3), at once for data filling a
hole (RFC 5681 §4.2). Judged only on the receiver's own word: a later segment whose TSecr echoes
the data's TSval (RFC 7323 §4.3: TS.Recent moves only for SEG.SEQ =< Last.ACK.sent), yet whose
ACK does not cover the data, which its sender never sent again. Timing alone (a late ACK, an
ACK lost before the tap) is never enough. Every test gives both endpoints' states after every
segment. The real-traffic counterpart is captures/crafted/ack-withheld-data.pcap.
"""

from __future__ import annotations

from conftest import rules_at, run_segments
from owed_replies import replay_segments, settled
from segments import Ladder, stamped

EST = ("ESTABLISHED", "ESTABLISHED")
OPENING = [("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"), EST]




def request_with_stale_acks(echo: int = 4) -> Ladder:
    """Handshake, the client's request (4), then two server segments that do not cover it:
    an ACK at once (5) and data a second later (6), its TSecr echoing frame ``echo``."""
    lad = Ladder().handshake()
    lad.data("c", 100)  # 4: seq 1001..1101
    lad.ack("s", ack=lad.isn["c"] + 1)  # 5: still ACK 1001
    lad._emit("s", 0x10, lad.nxt["s"], lad.isn["c"] + 1, plen=10, gap=1.0)  # 6
    return lad


def test_a_segment_echoing_the_datas_timestamp_without_acking_it_withholds_the_ack():
    events, states = replay_segments(stamped(request_with_stale_acks(), {6: 4}))
    assert settled(events) == [("ack-data", "missing", 4, None)]
    assert "TSecr 104 echoes the data's TSval 104" in events[0].observed
    assert states == [*OPENING, EST, EST, EST]
    found = run_segments(stamped(request_with_stale_acks(), {6: 4})).findings
    assert rules_at(found) == [("ack-withheld", 4)]


def test_a_stale_ack_whose_tsecr_predates_the_data_proves_nothing():
    # TSecr 103 is the handshake's ACK: the request may not have arrived when it was sent.
    events, states = replay_segments(stamped(request_with_stale_acks(), {5: 3, 6: 3}))
    assert settled(events) == []
    assert states == [*OPENING, EST, EST, EST]


def test_without_timestamps_a_late_ack_of_data_is_not_judged():
    events, states = replay_segments(request_with_stale_acks().segments)
    assert settled(events) == []
    assert states == [*OPENING, EST, EST, EST]


def test_data_sent_again_may_be_what_the_tsecr_echoes_so_nothing_is_withheld():
    lad = request_with_stale_acks()
    lad.segments.pop()  # the server's data comes after the client's retransmission
    lad.data("c", 100, seq=lad.isn["c"] + 1, gap=0.3)  # 6: the request again
    lad._emit("s", 0x10, lad.nxt["s"], lad.isn["c"] + 1, plen=10, gap=0.7)  # 7
    events, states = replay_segments(stamped(lad))
    assert settled(events) == []
    assert states == [*OPENING, EST, EST, EST, EST]


def test_an_ack_covering_the_data_in_time_owes_nothing_more():
    lad = Ladder().handshake()
    lad.data("c", 100)  # 4
    lad.ack("s")  # 5: ACK 1101
    lad.data("s", 10, gap=1.0)  # 6
    events, states = replay_segments(stamped(lad))
    assert settled(events) == []
    assert states == [*OPENING, EST, EST, EST]


def test_data_filling_the_hole_the_ack_points_at_owes_an_immediate_ack():
    lad = Ladder().handshake()
    lad.data("c", 100)  # 4: 1001..1101
    lad.data("c", 100, seq=lad.nxt["c"] + 100)  # 5: 1201..1301, a hole before it
    lad.ack("s", ack=lad.isn["c"] + 101)  # 6: ACK 1101, pointing at the hole
    lad.data("c", 100, seq=lad.isn["c"] + 101, gap=0.3)  # 7: fills it
    lad._emit("s", 0x10, lad.nxt["s"], lad.isn["c"] + 101, plen=10, gap=0.5)  # 8: ACK 1101
    events, states = replay_segments(stamped(lad))
    assert settled(events) == [("ack-hole", "missing", 7, None)]
    assert states == [*OPENING, EST, EST, EST, EST, EST]
    assert ("ack-withheld", 7) in rules_at(run_segments(stamped(lad)).findings)
