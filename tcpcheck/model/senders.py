"""Connection steps for the sender's side of a segment: what its state allows it to send
(RFC 9293 §3.10.1-§3.10.4, the user calls that make a TCP send).

A segment no state of its sender could have sent is an ``UnexpectedSegment``, unless the
capture point explains it: a segment the capture missed (the handshake's final ACK, a SYN) would
have made it legal. Where only the peer's next segment tells the two apart, the decision waits
for it (``EarlyText``).
"""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.seqnum import MASK
from tcpcheck.model.states import Input, State
from tcpcheck.options import SACK, find_option
from tcpcheck.segment import ACK, FIN, RST, SYN, Segment


class EarlyText:
    """Data or FIN a side sent from SYN-RECEIVED while the capture had not shown the handshake's
    final ACK reaching it: capture loss, unless the peer's next segment is that final ACK."""

    __slots__ = ("sender", "segments")

    def __init__(self, sender: Endpoint) -> None:
        self.sender = sender
        self.segments: list[tuple[int, int, str]] = []  # (frame, ts, "data" or "FIN")


class SenderSteps:
    """The sender-side steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _sent_after_reset(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """``a``'s peer accepted a reset from it, and ``a`` sends again.

        A SYN-ACK answering the very SYN ``a`` refused comes from a side in CLOSED, which has no
        TCB and so no SYN to acknowledge: RFC 9293 §3.10.7.1 lets a CLOSED TCP send only resets,
        and §3.3.2 has no CLOSED --SYN-ACK--> arc. No capture loss explains it: the refusal and
        the SYN-ACK came from the same side, in that order, for one ISN (a SYN-ACK sent before
        the reset and overtaken by it would sit just below the reset's sequence number).
        Anything else goes to ``_after_rst`` (data-after-rst).
        """
        clocks = a.teardown
        if (seg.flags & (SYN | ACK) == SYN | ACK and self.close == "refused"
                and b.snd.isn is not None
                and seg.ack == (b.snd.isn + 1 + b.snd.syn_data) & MASK
                and clocks.rst_seq & MASK != (seg.seq + 1) & MASK):
            self.events.append(ev.UnexpectedSegment(seg.frame, seg.ts, a.role, a.state.value,
                                                    "SYN-ACK", clocks.rst_frame))
            self._step(a, Input.SEND_SYN_ACK, seg)
            return
        self._after_rst(seg, a)

    def _sent_before_established(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """``a`` sends data or FIN from SYN-RECEIVED, its peer already ESTABLISHED.

        RFC 9293 §3.10.2 SEND in SYN-RECEIVED: "queue the data for transmission after entering
        ESTABLISHED state"; §3.10.4 CLOSE: a FIN is sent from SYN-RECEIVED only "if no SENDs
        have been issued and there is no pending data to send". Usually the capture just missed
        the final ACK (the model then takes ``a`` as ESTABLISHED): the peer's next segment
        decides (``_settle_early``). A TCP Fast Open server may answer the SYN's data before
        the handshake completes (RFC 7413 §4.2.2), so that case is left alone.
        """
        if b.snd.syn_data or not a.rtx.synacks or (not seg.plen and not a.snd.bytes):
            return
        early = self.early
        if early is None:
            early = self.early = EarlyText(a)
        early.segments.append((seg.frame, seg.ts, "data" if seg.plen else "FIN"))

    def _settle_early(self, seg: Segment, from_client: bool) -> None:
        """The first segment after early data or FIN (see ``_sent_before_established``).

        More text from the same side joins it. From the peer, only the handshake's own final
        ACK shows the early text was sent before the handshake completed: a pure ACK of the
        SYN-ACK alone, at the peer's first sequence number, without SACK blocks (a duplicate
        ACK for early text lost after the capture point would carry them). Anything else --
        an ACK covering the text, data crossing it -- is what a lost final ACK leaves.
        """
        early = self.early
        a = early.sender
        if (a is self.client) == from_client:
            if seg.plen or seg.flags & FIN:
                early.segments.append((seg.frame, seg.ts, "data" if seg.plen else "FIN"))
            return
        self.early = None
        b = self.server if a is self.client else self.client
        if (seg.flags & (SYN | FIN | RST | ACK) == ACK and not seg.plen
                and a.snd.isn is not None and b.snd.isn is not None
                and seg.ack == (a.snd.isn + 1) & MASK
                and seg.seq == (b.snd.isn + 1 + b.snd.syn_data) & MASK
                and not _carries_sack(seg.options)):
            for frame, ts, what in early.segments:
                self.events.append(ev.UnexpectedSegment(frame, ts, a.role, State.SYN_RCVD.value,
                                                        what, seg.frame))


def _carries_sack(options: bytes) -> bool:
    """Whether the option list holds SACK blocks (a cheap walk: rare segments only)."""
    return find_option(options, (SACK,)) is not None
