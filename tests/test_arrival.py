"""The receiver's arrival checks (RFC 9293 §3.10.7.4, RFC 7323 §5.3), one rule at a time."""

from __future__ import annotations

import pytest

from tcpcheck.model.arrival import (
    RstVerdict,
    beyond_right_edge,
    fin_acceptable,
    paws_rejects,
    receive_next,
    rst_acceptability,
    segment_acceptable,
    syn_challenged,
    syn_received_ack_acceptable,
)
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.states import State


@pytest.mark.parametrize(("seq", "length", "window", "acceptable"), [
    (100, 0, 0, True),     # zero length, zero window: only SEG.SEQ = RCV.NXT
    (101, 0, 0, False),
    (99, 0, 10, False),    # zero length, open window: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    (109, 0, 10, True),
    (110, 0, 10, False),
    (100, 1, 0, False),    # data into a zero window is never acceptable
    (95, 10, 10, True),    # straddles the left edge: its new part is processed
    (90, 10, 10, False),   # wholly old
    (109, 5, 10, True),    # starts inside the window
    (110, 5, 10, False),   # wholly beyond it
])
def test_the_four_case_acceptability_table(seq, length, window, acceptable):
    assert segment_acceptable(seq, length, 100, window) is acceptable


def test_paws_rejects_only_a_tsval_older_than_the_senders_highest_modulo_2_32():
    assert paws_rejects(450, 451)
    assert not paws_rejects(451, 451)
    assert not paws_rejects(452, 451)
    assert not paws_rejects(5, 0xFFFF_FFF0)  # wrapped: newer
    assert paws_rejects(0xFFFF_FFF0, 5)
    assert not paws_rejects(1, None)  # no timestamp seen yet: nothing to compare with


def test_paws_window_tolerates_that_many_ticks_behind_and_no_more():
    assert not paws_rejects(450, 451, window=1)
    assert paws_rejects(449, 451, window=1)
    assert not paws_rejects(0xFFFF_FFFF, 0, window=1)  # one tick behind, across the wrap


def test_rcv_nxt_is_at_least_irs_plus_one_once_the_syn_was_received():
    client, server = Endpoint("client", State.SYN_SENT), Endpoint("server", State.SYN_RCVD)
    client.open_sequence(1000)
    server.rcv.ack = 1000  # a wrong ACK of the ISN itself
    assert receive_next(client, server) == 1001
    server.rcv.ack = 1500
    assert receive_next(client, server) == 1500
    listener = Endpoint("server", State.LISTEN)  # has not received the SYN
    assert receive_next(client, listener) == 1000


@pytest.mark.parametrize(("seq", "end", "plen", "rcv_nxt", "edge", "acceptable"), [
    (100, 100, 0, 100, 1000, True),      # a FIN at RCV.NXT
    (1000, 1000, 0, 100, 1000, True),    # at the right edge of a full window (Linux takes it)
    (1001, 1001, 0, 100, 1000, False),   # past the highest right edge, out of sequence
    (1500, 1500, 0, 100, 1000, True),    # past it but in sequence: a window update not seen
    (50, 50, 0, 100, 1000, False),       # wholly below what the receiver acknowledged
    (99, 99, 0, 100, 1000, True),        # its FIN acknowledged already: a retransmission
    (40, 90, 50, 100, 1000, False),      # text and FIN wholly old
    (90, 140, 50, 100, 1000, True),      # straddles RCV.NXT: its new part is processed
    (2000, 2050, 50, 100, 1000, True),   # text beyond the window is the text step's to judge
    (5000, 5000, 0, None, None, True),   # the capture cannot tell: acceptable
])
def test_a_first_fin_is_unacceptable_only_where_the_capture_proves_it(
        seq, end, plen, rcv_nxt, edge, acceptable):
    assert fin_acceptable(seq, end, plen, rcv_nxt, edge, snd_nxt=1500) is acceptable


def test_the_handshakes_final_ack_must_cover_the_syn_and_nothing_unsent():
    assert syn_received_ack_acceptable(5001, 5000, 5001)
    assert not syn_received_ack_acceptable(5000, 5000, 5001)  # SEG.ACK =< SND.UNA (ISS)
    assert not syn_received_ack_acceptable(5002, 5000, 5001)  # SEG.ACK > SND.NXT


def test_a_syn_with_a_new_isn_is_challenged_only_by_a_synchronized_receiver():
    client = Endpoint("client", State.ESTABLISHED)
    client.open_sequence(1000)
    server = Endpoint("server", State.SYN_RCVD)
    assert syn_challenged(777_777, client, server)
    assert not syn_challenged(1000, client, server)  # its own SYN again: a retransmission
    assert not syn_challenged(777_777, client, Endpoint("server", State.LISTEN))
    opener = Endpoint("client", State.SYN_SENT)  # a new ISN within its own handshake
    opener.open_sequence(1000)
    assert not syn_challenged(777_777, opener, server)


def test_a_zero_length_segment_is_surely_unacceptable_only_past_the_highest_right_edge():
    assert beyond_right_edge(1001, 1000, snd_nxt=1200)
    assert not beyond_right_edge(1000, 1000, snd_nxt=1200)  # a full window: Linux takes it
    assert not beyond_right_edge(1200, 1000, snd_nxt=1200)  # in sequence: an update not seen
    assert not beyond_right_edge(5_000_000, None, snd_nxt=1200)  # the edge is unknown


@pytest.mark.parametrize(("seq", "fin_received", "verdict"), [
    (1000, False, RstVerdict.EXACT),     # RCV.NXT as the receiver's latest ACK shows it
    (1200, False, RstVerdict.EXACT),     # RCV.NXT as far as everything the sender sent
    (1201, False, RstVerdict.INEXACT),   # in the window, not RCV.NXT: a challenge ACK
    (999, False, RstVerdict.INEXACT),
    (999, True, RstVerdict.EXACT),       # Linux: RCV.NXT - 1 once the peer's FIN arrived
    (5000, False, RstVerdict.OUTSIDE),   # past the window: silently dropped
    (900, False, RstVerdict.OUTSIDE),
])
def test_a_reset_is_exact_challenged_or_dropped_as_rfc_5961_says(seq, fin_received, verdict):
    assert rst_acceptability(seq, 1000, 1200, 3000, fin_received) is verdict
