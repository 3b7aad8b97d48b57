"""Both endpoints' states after every segment (h11's test_state.py style), for the RFC 9293
paths a healthy connection takes: what the transition table must produce, step by step."""

from __future__ import annotations

from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.profiles import load_profile
from tcpcheck.timeline import Recording

SYN_SENT, SYN_RCVD, ESTABLISHED = "SYN_SENT", "SYN_RCVD", "ESTABLISHED"
FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT = "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT"
LAST_ACK, TIME_WAIT, CLOSED = "LAST_ACK", "TIME_WAIT", "CLOSED"


def states_after_each_segment(lad: Ladder) -> list[tuple[str, str]]:
    analyzer = Analyzer(load_profile("linux"), start_ts=lad.segments[0].ts,
                        recording=Recording(all=True))
    for seg in lad.segments:
        analyzer.feed(seg)
    analyzer.finish()
    (timeline,) = analyzer.timelines
    return [(step.client_state, step.server_state) for step in timeline.steps]


def test_three_way_handshake():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, SYN_RCVD),  # the SYN: sent, and received by the listener
        (ESTABLISHED, SYN_RCVD),  # the SYN-ACK: the client is synchronized
        (ESTABLISHED, ESTABLISHED),  # the ACK of the SYN-ACK
    ]


def test_client_closes_first_and_ends_in_time_wait():
    lad = Ladder().handshake()
    lad.fin("c")
    lad.ack("s")
    lad.fin("s")
    lad.ack("c")
    assert states_after_each_segment(lad)[3:] == [
        (FIN_WAIT_1, CLOSE_WAIT),
        (FIN_WAIT_2, CLOSE_WAIT),
        (TIME_WAIT, LAST_ACK),
        (TIME_WAIT, CLOSED),
    ]


def test_a_fin_that_also_acknowledges_the_peers_fin_is_a_passive_close():
    # The server's FIN acknowledges the client's: it had received it, so it sent its FIN from
    # CLOSE_WAIT (LAST_ACK), and the client goes FIN_WAIT_2 and TIME_WAIT on that one segment.
    lad = Ladder().handshake()
    lad.fin("c")
    lad.fin("s")
    lad.ack("c")
    assert states_after_each_segment(lad)[3:] == [
        (FIN_WAIT_1, CLOSE_WAIT),
        (TIME_WAIT, LAST_ACK),
        (TIME_WAIT, CLOSED),
    ]


def test_an_accepted_reset_closes_both_sides():
    lad = Ladder().handshake()
    lad.rst("c")
    assert states_after_each_segment(lad)[3:] == [(CLOSED, CLOSED)]
