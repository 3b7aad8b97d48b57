"""Connection steps for the resets a receiver owes (RFC 9293 §3.10.7.1, §3.10.7.2, §3.10.7.4
fifth), and their settlement: split from ``tcpcheck.model.replies``, whose ``Owed`` and
``ReplySteps`` they share (a mixin of ``Connection`` beside ``ReplySteps``).

- "<SEQ=SEG.ACK><CTL=RST>" for an unacceptable ACK in SYN-RECEIVED and for an ACK-bearing
  segment on a four-tuple the receiver reset;
- "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>" for a segment without ACK there, judged only when
  a reset answers it (a listener drops such a segment silently).
"""

from __future__ import annotations

from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind, ReplyOutcome
from tcpcheck.model.replies import Owed
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import State
from tcpcheck.segment import ACK, FIN, SYN, Segment


class ResetReplySteps:
    """The reset-reply steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _owe_reset(self, kind: ReplyKind, seg: Segment, a: Endpoint, b: Endpoint, reason: str,
                   reference: str) -> None:
        """``b`` owes "<SEQ=SEG.ACK><CTL=RST>" for ``a``'s segment ``seg`` (it carries ACK)."""
        if b.snd.max is None:
            return
        ack = unwrap(seg.ack, b.snd.max)
        self._owe(Owed(kind, seg, b is self.client, (ack, ack), None, reason,
                       reference))

    def _to_no_connection(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """``a`` sends on a four-tuple ``b`` reset: ``b`` has no connection there (RFC 9293
        §3.10.7.1, CLOSED: "An incoming segment not containing a RST causes a RST to be sent in
        response"; a listener on the port answers an ACK the same way, §3.10.7.2): "If the ACK
        bit is on, <SEQ=SEG.ACK><CTL=RST>"; "If the ACK bit is off, sequence number zero is
        used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>". One at a time. Only ``b``'s host
        speaking to ``a``'s on another connection shows it silent (``host_spoke``): ``b`` sends
        nothing on this one; and only for an ACK-bearing segment, which a listener answers
        too (one without ACK it drops, §3.10.7.2): the second form is judged only when a reset
        answers it."""
        clocks = b.teardown
        if (b.state is not State.CLOSED or clocks is None or not clocks.rst_frame
                or b.snd.max is None
                or any(owed.kind is ReplyKind.RESET_CLOSED for owed in self.owed)):
            return
        reason = f"a segment on the four-tuple it reset at frame {clocks.rst_frame}"
        if not seg.flags & ACK:
            if a.snd.max is None:
                return
            flags = seg.flags
            end = (unwrap(seg.seq, a.snd.max) + seg.plen + (1 if flags & SYN else 0)
                   + (1 if flags & FIN else 0))
            self._owe(Owed(ReplyKind.RESET_CLOSED, seg, b is self.client, (0, 0), (end, end),
                           reason, "RFC 9293 §3.10.7.1"))
            return
        ack = unwrap(seg.ack, b.snd.max)
        self._owe(Owed(ReplyKind.RESET_CLOSED, seg, b is self.client, (ack, ack),
                       None, reason, "RFC 9293 §3.10.7.1, §3.10.7.2"))
        if self.watch_hosts is not None:
            self.watch_hosts(self, seg)

    def host_spoke(self, seg: Segment) -> bool:
        """The host that owes a reset here sent ``seg`` to the peer's host on another
        connection: past the allowance, the reset it owes is missing. True while one is still
        owed."""
        kept: list[Owed] = []
        for owed in self.owed:
            waited = seg.ts - owed.segment.ts
            if (owed.kind is ReplyKind.RESET_CLOSED and owed.ack is None
                    and waited > self._allowance()):
                self._record(owed, ReplyOutcome.MISSING, None,
                             f"no reset in {waited / 1e9:.3f} s, while its host sent frame "
                             f"{seg.frame} to the peer's host on another connection")
            else:
                kept.append(owed)
        self.owed = tuple(kept)
        return any(owed.kind is ReplyKind.RESET_CLOSED for owed in kept)

    def _settle_reset(self, owed: Owed, seg: Segment) -> None:
        if owed.ack is not None:
            self._settle_reset_ack(owed, seg)
            return
        seq = unwrap(seg.seq, owed.seq[0])
        observed = f"frame {seg.frame}: <SEQ={self._sides(owed)[0].rel(seq)}><CTL=RST>"
        outcome = ReplyOutcome.ANSWERED if seq == owed.seq[0] else ReplyOutcome.WRONG
        if outcome is ReplyOutcome.WRONG and owed.kind is ReplyKind.RESET_CLOSED:
            # A host without a connection has only SEG.ACK to build its reset from: another
            # number comes from state the capture does not show (it still had the connection).
            outcome = ReplyOutcome.UNJUDGED
        if outcome is ReplyOutcome.ANSWERED:
            self.answers = (seg.frame, owed.segment.frame)
        self._record(owed, outcome, seg, observed)

    def _settle_reset_ack(self, owed: Owed, seg: Segment) -> None:
        """The reset for a segment without ACK: a host with no connection builds it from
        that segment alone, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (a synchronized one drops
        such a segment, a listener too), so other numbers are WRONG."""
        sender = self._sides(owed)[1]
        end = owed.ack[0]
        ack = unwrap(seg.ack, end)
        has_ack = bool(seg.flags & ACK)
        observed = (f"frame {seg.frame}: <SEQ={seg.seq}>"
                    + (f"<ACK={sender.rel(ack)}><CTL=RST,ACK>" if has_ack else "<CTL=RST>"))
        if seg.seq == 0 and has_ack and ack == end:
            self.answers = (seg.frame, owed.segment.frame)
            self._record(owed, ReplyOutcome.ANSWERED, seg, observed)
        else:
            self._record(owed, ReplyOutcome.WRONG, seg, observed)
