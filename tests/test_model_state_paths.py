"""Both endpoints' states after every segment (h11's test_state.py style), for the RFC 9293
paths a healthy connection takes: what the transition table must produce, step by step."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import rules_at, run_segments
from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.segment import ACK, FIN, RST
from tcpcheck.timeline import Recording

REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"
LINUX = load_profile("linux")
EVERY = Recording(all=True)

SYN_SENT, SYN_RCVD, ESTABLISHED = "SYN_SENT", "SYN_RCVD", "ESTABLISHED"
FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT = "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT"
LAST_ACK, TIME_WAIT, CLOSED = "LAST_ACK", "TIME_WAIT", "CLOSED"
CLOSING, LISTEN = "CLOSING", "LISTEN"


def replay(lad: Ladder) -> Analyzer:
    return run_segments(lad.segments, timelines=True)


def states_after_each_segment(lad: Ladder) -> list[tuple[str, str]]:
    (timeline,) = replay(lad).timelines
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


def test_simultaneous_open_takes_both_sides_through_syn_sent_and_syn_received():
    # RFC 9293 §3.5, Figure 12. The server's SYN carries no ACK: it had not received the
    # client's SYN when it sent it, so it opened actively (LISTEN -> SYN_SENT; the capture
    # assumed a listener), and the client's SYN reached it just before the client's SYN-ACK.
    lad = Ladder()
    lad.syn("c")
    lad.syn("s")
    lad.synack("c")
    lad.synack("s")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, LISTEN),  # revised by frame 2: the SYN was still in flight
        (SYN_RCVD, SYN_SENT),
        (SYN_RCVD, ESTABLISHED),  # the client's SYN, then its SYN-ACK
        (ESTABLISHED, ESTABLISHED),
    ]


def test_simultaneous_open_where_the_second_opener_acknowledges_first():
    lad = Ladder()
    lad.syn("c")
    lad.syn("s")
    lad.synack("s")  # its ACK shows the client's SYN reached it before
    lad.synack("c")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, LISTEN),
        (SYN_RCVD, SYN_SENT),
        (ESTABLISHED, SYN_RCVD),
        (ESTABLISHED, ESTABLISHED),
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


def test_server_closes_first_and_ends_in_time_wait():
    lad = Ladder().handshake()
    lad.close("s")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, SYN_RCVD),
        (ESTABLISHED, SYN_RCVD),
        (ESTABLISHED, ESTABLISHED),
        (CLOSE_WAIT, FIN_WAIT_1),
        (CLOSE_WAIT, FIN_WAIT_2),
        (LAST_ACK, TIME_WAIT),
        (CLOSED, TIME_WAIT),
    ]


def test_crossing_fins_take_both_sides_through_closing():
    # RFC 9293 §3.6, Figure 13. The server's FIN acknowledges only the client's data, not its
    # FIN: it was sent from ESTABLISHED, so the server is never in CLOSE_WAIT; the client's
    # FIN reaches it when the server's ACK covers it (frame 6).
    lad = Ladder().handshake()
    lad.fin("c")
    lad.fin("s", ack=lad.nxt["c"] - 1)
    lad.ack("s")
    lad.ack("c")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, SYN_RCVD),
        (ESTABLISHED, SYN_RCVD),
        (ESTABLISHED, ESTABLISHED),
        (FIN_WAIT_1, ESTABLISHED),  # revised by frame 5: the FIN was still in flight
        (CLOSING, FIN_WAIT_1),
        (TIME_WAIT, CLOSING),  # its ACK covers the client's FIN: it arrived first
        (TIME_WAIT, TIME_WAIT),
    ]


def test_a_crossed_fin_reaches_its_receiver_before_the_peers_next_segment():
    # The real simultaneous close on loopback (captures/linux/simultaneous-close.pcap, frames
    # 8-11): the client's FIN crossed the server's; the server's ACK of it (frame 6 here) is
    # the next thing the client receives, and the server's FIN, sent earlier, came first.
    lad = Ladder().handshake()
    lad.fin("s")
    lad.fin("c", ack=lad.nxt["s"] - 1)
    lad.ack("s")
    lad.ack("c")
    assert states_after_each_segment(lad)[3:] == [
        (ESTABLISHED, FIN_WAIT_1),  # revised by frame 5: the FIN was still in flight
        (FIN_WAIT_1, CLOSING),
        (TIME_WAIT, CLOSING),  # the server's FIN, then this ACK of the client's
        (TIME_WAIT, TIME_WAIT),
    ]


def test_crossing_fins_in_the_real_loopback_capture():
    result = analyze_jobs([Job(str(REAL / "simultaneous-close.pcap"), LINUX)], EVERY)
    (timeline,) = result.timelines
    assert [(s.frame, s.client_state, s.server_state) for s in timeline.steps][7:] == [
        (8, ESTABLISHED, FIN_WAIT_1),
        (9, FIN_WAIT_1, CLOSING),
        (10, TIME_WAIT, CLOSING),
        (11, TIME_WAIT, TIME_WAIT),
    ]
    assert [f.rule for f in result.findings if f.severity.label != "info"] == []


def test_a_refused_syn_closes_both_sides():
    lad = Ladder()
    lad.syn("c")
    lad.raw("s", RST | ACK, 0, lad.nxt["c"])
    assert states_after_each_segment(lad) == [(SYN_SENT, SYN_RCVD), (CLOSED, CLOSED)]


def test_an_abort_from_established_closes_both_sides():
    lad = Ladder().handshake()
    lad.data("c", 10)
    lad.rst("s")
    assert states_after_each_segment(lad)[3:] == [(ESTABLISHED, ESTABLISHED), (CLOSED, CLOSED)]


def test_a_reset_from_syn_sent_closes_a_receiver_that_stays_silent():
    # An ACK without SYN reaches the client in SYN-SENT, which answers <SEQ=SEG.ACK><CTL=RST>
    # (RFC 9293 §3.10.7.3) and stays there. The server sends nothing more: nothing
    # contradicts the reset, so it took it (settled at the end of the capture).
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", FIN | ACK, 7777, 1001)
    lad.rst("c", seq=1001, with_ack=False)
    (timeline,) = replay(lad).timelines
    assert [(s.client_state, s.server_state) for s in timeline.steps] == [
        (SYN_SENT, SYN_RCVD), (SYN_SENT, SYN_RCVD), (SYN_SENT, SYN_RCVD)]
    assert (timeline.final_client_state, timeline.final_server_state) == (SYN_SENT, CLOSED)


def test_a_reset_from_syn_sent_that_its_receiver_visibly_ignored_changes_nothing():
    # suricata-verify bug-3286-02: a forged FIN in the server's name reaches the client in
    # SYN-SENT, which answers with RST at SEG.ACK; the server then completes the handshake.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", FIN | ACK, 7777, 1001)
    lad.rst("c", seq=1001, with_ack=False)
    lad.synack("s")
    lad.ack("c")
    assert states_after_each_segment(lad) == [
        (SYN_SENT, SYN_RCVD),
        (SYN_SENT, SYN_RCVD),  # SYN-SENT drops a segment with neither SYN nor RST
        (SYN_SENT, SYN_RCVD),  # the RST waits for what the server does next
        (ESTABLISHED, SYN_RCVD),  # the server goes on: it was not reset
        (ESTABLISHED, ESTABLISHED),
    ]


# ------------------------------------------------------------------------------ an unacceptable
# segment changes nothing in its receiver (RFC 9293 §3.10.7.4: "If an incoming segment is not
# acceptable, an acknowledgment should be sent in reply [...] After sending the
# acknowledgment, drop the unacceptable segment and return.")

FAR = 10_000_000  # beyond any window a Ladder advertises


def into_syn_received(lad: Ladder) -> None:
    lad.syn("c")
    lad.synack("s")


def into_established(lad: Ladder) -> None:
    lad.handshake()


def into_fin_wait_1(lad: Ladder) -> None:
    lad.handshake()
    lad.fin("c")


def into_fin_wait_2(lad: Ladder) -> None:
    into_fin_wait_1(lad)
    lad.ack("s")


def into_last_ack(lad: Ladder) -> None:
    into_fin_wait_2(lad)
    lad.fin("s")


def into_closing(lad: Ladder) -> None:
    lad.handshake()
    lad.fin("c")
    lad.fin("s", ack=lad.nxt["c"] - 1)
    lad.ack("s")


SYNCHRONIZED_STATES = pytest.mark.parametrize(("reach", "receiver", "state"), [
    (into_syn_received, "s", SYN_RCVD),
    (into_established, "s", ESTABLISHED),
    (into_established, "c", ESTABLISHED),
    (into_fin_wait_1, "c", FIN_WAIT_1),
    (into_fin_wait_1, "s", CLOSE_WAIT),
    (into_fin_wait_2, "c", FIN_WAIT_2),
    (into_fin_wait_2, "s", CLOSE_WAIT),
    (into_last_ack, "c", TIME_WAIT),
    (into_last_ack, "s", LAST_ACK),
    (into_closing, "s", CLOSING),
])


def receiver_state(lad: Ladder, receiver: str) -> str:
    client, server = states_after_each_segment(lad)[-1]
    return client if receiver == "c" else server


@SYNCHRONIZED_STATES
def test_a_reset_outside_the_window_leaves_the_receiver_unchanged(reach, receiver, state):
    lad = Ladder()
    reach(lad)
    assert receiver_state(lad, receiver) == state
    sender = Ladder.peer(receiver)
    lad.raw(sender, RST | ACK, lad.nxt[sender] + FAR, lad.nxt[receiver])
    assert receiver_state(lad, receiver) == state


@pytest.mark.parametrize(("reach", "receiver", "state"), [
    (into_established, "s", ESTABLISHED),
    (into_established, "c", ESTABLISHED),
    (into_fin_wait_2, "c", FIN_WAIT_2),  # (in FIN_WAIT_1 the data's ACK would end it)
])
@pytest.mark.parametrize("where", ["beyond the window", "below RCV.NXT"])
def test_a_fin_outside_the_window_leaves_the_receiver_unchanged(reach, receiver, state, where):
    lad = Ladder()
    reach(lad)
    sender = Ladder.peer(receiver)
    lad.data(sender, 100)
    lad.ack(receiver)
    assert receiver_state(lad, receiver) == state
    seq = lad.nxt[sender] + FAR if where == "beyond the window" else lad.nxt[sender] - 50
    lad.raw(sender, FIN | ACK, seq, lad.nxt[receiver])
    analyzer = replay(lad)
    assert receiver_state(lad, receiver) == state
    assert ("seq-out-of-window", lad.segments[-1].frame) in rules_at(analyzer.findings)


@pytest.mark.parametrize(("reach", "receiver", "state"), [
    (into_fin_wait_1, "c", FIN_WAIT_1),
    (into_last_ack, "s", LAST_ACK),
])
def test_an_ack_of_the_fin_outside_the_window_leaves_the_receiver_unchanged(
        reach, receiver, state):
    lad = Ladder()
    reach(lad)
    sender = Ladder.peer(receiver)
    lad.raw(sender, ACK, lad.nxt[sender] + FAR, lad.nxt[receiver])
    assert receiver_state(lad, receiver) == state
    lad.ack(sender)  # the real ACK of the FIN, in the window, still moves it
    assert receiver_state(lad, receiver) != state


def test_a_syn_with_a_new_isn_leaves_a_syn_received_receiver_unchanged():
    lad = Ladder(client_isn=1000, server_isn=5000)
    into_syn_received(lad)
    lad.syn("c", seq=777_777, gap=0.2)
    assert states_after_each_segment(lad)[-1] == (ESTABLISHED, SYN_RCVD)


def test_a_crossed_fin_that_arrives_after_its_receiver_reset_changes_nothing():
    # suricata-verify tcp-fastopen-11 (frames 23-28): the server's FIN crosses the client's,
    # then the server resets; the client's FIN, still in flight, reaches a closed endpoint,
    # which answers with a reset and stays CLOSED: no transition, and no unexpected input.
    lad = Ladder().handshake()
    lad.fin("c")
    lad.fin("s", ack=lad.nxt["c"] - 1)
    lad.rst("s")
    lad.rst("c", with_ack=False)
    analyzer = replay(lad)
    (timeline,) = analyzer.timelines
    assert [(s.client_state, s.server_state) for s in timeline.steps][3:] == [
        (FIN_WAIT_1, ESTABLISHED),
        (CLOSING, FIN_WAIT_1),
        (CLOSED, CLOSED),
        (CLOSED, CLOSED),
    ]
    assert [o for s in timeline.steps for o in s.observations if o == "UnexpectedInput"] == []
