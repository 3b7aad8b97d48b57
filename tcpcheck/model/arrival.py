"""RFC 9293 §3.10.7.4 SEGMENT ARRIVES, for the receiving endpoint: its checks by name.

The RFC checks an arriving segment in a fixed order, and an unacceptable segment changes
nothing in the receiver. Each function here is one of those steps; its docstring quotes the RFC
text it applies. Sequence positions are unwrapped (see ``tcpcheck.model.seqnum``).

``Connection.apply`` takes them in the RFC's order:

======================================== ===================================================
step                                     where
======================================== ===================================================
first: PAWS, then sequence acceptability ``paws_rejects``, ``segment_acceptable``
second: the RST bit (RFC 5961 §3)        ``rst_acceptability`` (SYN-SENT, CLOSED and LISTEN in
                                         ``ResetSteps._rst_verdict``)
fourth: the SYN bit (RFC 5961 §4)        ``syn_challenged``
fifth: the ACK field                     ``syn_received_ack_acceptable``, ``beyond_right_edge``
                                         (an ACK of a FIN); SEG.ACK > SND.NXT
                                         waits for the capture to tell (``snd.pending``)
sixth: the URG bit                       nothing to check: it changes no state
seventh and eighth: text, then FIN       ``fin_acceptable``; ``DataSteps``
======================================== ===================================================

SYN and RST segments are dispatched before PAWS, with the same outcome as the RFC's order: PAWS
exempts a reset (RFC 7323 §5.3, R1) and RFC 5961 gives it its own window test, and a SYN in a
synchronized state draws an ACK whether or not it is in the window.

The capture point is not the receiver: RCV.NXT lies somewhere between the receiver's latest
ACK and everything the sender sent, and window updates may be missing. Where the capture cannot
tell, a segment is taken as acceptable (``receive_next`` gives the lower bound).
"""

from __future__ import annotations

from enum import StrEnum

from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.model.states import SYNCHRONIZED, State


def paws_rejects(tsval: int, ts_recent: int | None, window: int = 0) -> bool:
    """First, PAWS where timestamps are in use (RFC 7323 §5.3, R1):

    "If there is a Timestamps option in the arriving segment, SEG.TSval < TS.Recent, TS.Recent
    is valid [...], then treat the arriving segment as not acceptable: Send an acknowledgment
    in reply [...] and drop the segment."

    ``ts_recent`` is the highest TSval the sender was seen to send: the receiver's TS.Recent
    can only be at or below it, so a TSval below it is the older of two reordered segments.
    ``window``: how many ticks behind TS.Recent the receiver still accepts (the profile's
    ``paws_window``; Linux's TCP_PAWS_WINDOW is 1).
    """
    return ts_recent is not None and window < (ts_recent - tsval) & MASK <= HALF


def segment_acceptable(seq: int, length: int, rcv_nxt: int, rcv_wnd: int) -> bool:
    """The sequence acceptability test (RFC 9293 §3.10.7.4, first), its four cases:

    ====== ======= ==================================================================
    length window  test
    ====== ======= ==================================================================
    0      0       SEG.SEQ = RCV.NXT
    0      >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0     0       not acceptable
    >0     >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
                   or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
    ====== ======= ==================================================================

    "If a segment's contents straddle the boundary between old and new, only the new parts
    are processed." ``length`` counts SYN and FIN, as SEG.LEN does.
    """
    if not rcv_wnd:
        return not length and seq == rcv_nxt
    end = rcv_nxt + rcv_wnd
    if rcv_nxt <= seq < end:
        return True
    return bool(length) and rcv_nxt <= seq + length - 1 < end


def receive_next(sender: Endpoint, receiver: Endpoint) -> int | None:
    """The receiver's RCV.NXT for the sender's sequence space, as far as the capture shows.

    Its latest ACK tells it, but once the receiver has received the sender's SYN, RCV.NXT is
    at least IRS + 1 (RFC 9293 §3.10.7.2: "Set RCV.NXT to SEG.SEQ+1, IRS is set to
    SEG.SEQ"), whatever a wrong ACK field says.
    """
    nxt = receiver.rcv.ack if receiver.rcv.ack is not None else sender.snd.una
    base = sender.snd.base
    if sender.snd.isn is not None and base is not None and receiver.state in SYNCHRONIZED:
        return base + 1 if nxt is None else max(nxt, base + 1)
    return nxt


def beyond_right_edge(seq: int, right_edge: int | None, snd_nxt: int) -> bool:
    """A zero-length segment the sequence acceptability test surely rejects (RFC 9293
    §3.10.7.4, first: "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"; Linux also takes SEG.SEQ =
    RCV.NXT+RCV.WND): it starts past the highest right edge the receiver was seen to
    advertise, and out of its sender's sequence (``snd_nxt``, the highest position seen), so
    no window update the capture missed explains it. Unknown edge: not beyond.
    """
    return right_edge is not None and seq > right_edge and seq != snd_nxt


class RstVerdict(StrEnum):
    """What a receiver does with a reset (RFC 5961 §3.2)."""

    EXACT = "exact"  # it resets the connection
    INEXACT = "inexact"  # in the window but not RCV.NXT: a challenge ACK
    OUTSIDE = "outside"  # silently dropped
    IGNORED = "ignored"  # no synchronized state to judge it by


def rst_acceptability(seq: int, rcv_nxt: int, highest: int, right_edge: int,
                      fin_received: bool) -> RstVerdict:
    """Second, check the RST bit, in a synchronized state (RFC 9293 §3.10.7.4, RFC 5961 §3.2):

    "1) If the RST bit is set and the sequence number is outside the current receive window,
    silently drop the segment. 2) If the RST bit is set and the sequence number exactly
    matches the next expected sequence number (RCV.NXT), then TCP MUST reset the connection.
    3) If the RST bit is set and the sequence number does not exactly match the next expected
    sequence value, yet is within the current receive window, TCP MUST send an
    acknowledgment (challenge ACK)."

    RCV.NXT lies between ``rcv_nxt`` (the
    receiver's latest ACK) and ``highest`` (everything the sender sent): the capture cannot
    tell where, so any of those is exact. Once the receiver has the peer's FIN
    (``fin_received``), Linux also takes RCV.NXT - 1 as exact (tcp_reset_check).
    """
    if rcv_nxt <= seq <= highest or (seq == rcv_nxt - 1 and fin_received):
        return RstVerdict.EXACT
    if rcv_nxt - 1 <= seq < right_edge:
        return RstVerdict.INEXACT
    return RstVerdict.OUTSIDE


def syn_challenged(seq: int, sender: Endpoint, receiver: Endpoint) -> bool:
    """Fourth, check the SYN bit, in a synchronized state (RFC 9293 §3.10.7.4, RFC 5961 §4.2):

    "If the SYN bit is set, irrespective of the sequence number, TCP endpoints MUST send a
    'challenge ACK' to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending
    the acknowledgment, TCP implementations MUST drop the unacceptable segment and stop
    processing further."

    For a SYN with a new ISN from a sender past SYN-SENT (it abandoned this connection and
    opens another on the tuple): a retransmission of the SYN the receiver already holds, and
    a new ISN still inside the sender's own handshake, are the handshake's to judge.
    """
    return (receiver.state in SYNCHRONIZED and sender.snd.isn is not None
            and seq != sender.snd.isn and sender.state is not State.SYN_SENT)


def syn_received_ack_acceptable(ack: int, iss: int, snd_nxt: int) -> bool:
    """Fifth, check the ACK field, in SYN-RECEIVED (RFC 9293 §3.10.7.4):

    "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state [...]. If the segment
    acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST> and send
    it." SND.UNA is still ISS here: the ACK must cover the SYN and nothing unsent.
    """
    return iss < ack <= snd_nxt


def fin_acceptable(seq: int, end: int, plen: int, rcv_nxt: int | None,
                   right_edge: int | None, snd_nxt: int | None) -> bool:
    """Whether a segment carrying a first FIN passes the acceptability test, as far as the
    capture can tell (RFC 9293 §3.10.7.4, first, then eighth: "If the FIN bit is set, signal
    the user 'connection closing' [...] advance RCV.NXT over the FIN").

    ``seq``..``end`` is its text, the FIN at ``end``. The receiver's RCV.NXT is at least its
    latest ACK (``rcv_nxt``): a segment wholly below it is old. Its window may reach past the
    highest right edge the capture saw it advertise (a window update not captured), so a FIN
    alone counts as beyond the window only when it is also out of its sender's sequence
    (``snd_nxt``, the sender's highest position seen): an in-sequence FIN closes the stream
    the receiver has been taking. Linux takes a FIN right at the edge of a full window
    (tcp_sequence: SEG.SEQ =< RCV.NXT + RCV.WND), so only past it is outside. Where the
    capture cannot tell, the segment is acceptable: say less, not more.
    """
    if rcv_nxt is not None and end + 1 < rcv_nxt:
        return False
    return bool(plen) or right_edge is None or seq <= right_edge or seq == snd_nxt
