"""Connection steps for the ACKs a receiver owes for data (RFC 9293 §3.8.6.3, RFC 5681 §4.2):
within the profile's delayed-ACK maximum for in-order data (``ACK_DATA``), at once for data
that fills a hole (``ACK_HOLE``: "an immediate ACK should be generated when a segment arrives
that fills in all or part of a gap in the sequence space").

Timing alone proves nothing at the tap: an ACK lost between the receiver and the tap, segments
queued in a bloated uplink carrying the ACK numbers of when they were built, TSO bursts — all
make a late or stale ACK on healthy traffic. So a receiver is judged only on its own word, its
timestamps (RFC 7323, negotiated):

- a sample data segment D whose TSval is above every earlier TSval of its sender: "TS.Recent
  [is updated] only for SEG.SEQ =< Last.ACK.sent" (RFC 7323 §4.3), so only D, or a segment its
  sender sent after D, can set the receiver's TS.Recent to TSval(D) or more, and only once
  the receiver has acknowledged up to that segment's SEG.SEQ, which is at or past D's start;
- the sender sends nothing below its highest sequence after D (no retransmission, no probe: a
  retransmission of older data, stamped later, would set TS.Recent without D);
- a segment S of the receiver whose TSecr is TSval(D) or more therefore had D: its ACK field
  (RCV.NXT) must cover D. When it does not, and S was sent past the allowance after D (the
  round trip both ways, the slack, and for in-order data the profile's ``delayed_ack_max``),
  the ACK was withheld: ``ack-withheld`` at D.

One sample per direction at a time (like RTT sampling): a new one is taken once the receiver's
ACK covers the last, so the hot path pays two comparisons per segment. Without timestamps, or
with another option layout than Linux's (NOP, NOP, timestamps and nothing else, where a new
TSval is known to be above every earlier one), data is not judged.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind, ReplyOutcome
from tcpcheck.model.peer_options import TS_LAYOUT
from tcpcheck.model.seqnum import HALF, MASK, unwrap
from tcpcheck.options import parse_options
from tcpcheck.segment import ACK, RST, SYN, Segment


class AckSample(NamedTuple):
    """Data ``segment`` (D) of one side (``client``: the client's), whose ACK its peer owes:
    up to ``end``, unwrapped, above the peer's latest ACK ``floor`` then."""

    kind: ReplyKind
    client: bool
    segment: Segment
    end: int
    floor: int
    tsval: int


class DataAckSteps:
    """The data-ACK steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _sample_ack(self, seg: Segment, a: Endpoint, b: Endpoint, end: int,
                    kind: ReplyKind) -> None:
        """Take ``a``'s data ``seg`` (its text ends at ``end``) as the sample its peer ``b``
        owes an ACK for, if it can be judged: timestamps in force, Linux's option layout, a
        TSval above every earlier one of ``a`` (set by this very segment), and ``b``'s latest
        ACK known."""
        client = a is self.client
        wait = self.ack_wait
        if wait is not None and wait[0 if client else 1] is not None:
            return  # one sample at a time
        raw = seg.options
        if (len(raw) != 12 or raw[:4] != TS_LAYOUT or a.opts.ts_max_frame != seg.frame
                or b.rcv.ack is None or self.negotiated is None or not self.negotiated[2]):
            return
        self._set_wait(wait or (None, None), client,
                       AckSample(kind, client, seg, end, b.rcv.ack, a.opts.ts_max))

    def _drop_sample(self, a: Endpoint) -> None:
        """``a`` sent below its highest sequence (a retransmission, a probe): its stamp could
        set the peer's TS.Recent without the sample's data, which proves nothing any more."""
        wait = self.ack_wait
        if wait is not None:
            self._set_wait(wait, a is self.client, None)

    def _ack_waited(self, seg: Segment, from_client: bool) -> None:
        """``seg`` comes from the side that owes an ACK for the sample of its peer's data (if
        one is waiting): covering it settles it; past the allowance, with a TSecr showing the
        data had arrived, not covering it is the ACK withheld."""
        wait = self.ack_wait
        sample = wait[1] if from_client else wait[0]
        if sample is None:
            return
        flags = seg.flags
        if (flags & (RST | SYN) or not flags & ACK
                or (seg.ack - sample.end) & MASK < HALF):  # it covers the data: settled
            self._set_wait(wait, not from_client, None)
            return
        ack = unwrap(seg.ack, sample.end)
        owing = self.client if from_client else self.server
        delaying = owing if sample.kind is ReplyKind.ACK_DATA else None
        if seg.ts - sample.segment.ts <= self._allowance(delaying) or ack < sample.floor:
            return  # sent before the data reached it, perhaps; or another sequence space
        tsecr = parse_options(seg.options).tsecr if seg.options else None
        if tsecr is None or (tsecr - sample.tsval) & MASK >= HALF:
            return  # nothing shows the data had arrived when it sent this
        self._set_wait(wait, not from_client, None)
        self._withheld(sample, seg, ack, tsecr)

    def _set_wait(self, wait: tuple, client: bool, sample: AckSample | None) -> None:
        wait = (sample, wait[1]) if client else (wait[0], sample)
        self.ack_wait = None if wait == (None, None) else wait

    def _withheld(self, sample: AckSample, seg: Segment, ack: int, tsecr: int) -> None:
        data = sample.segment
        sender, receiver = ((self.client, self.server) if sample.client
                            else (self.server, self.client))
        start = sender.rel(sample.end - data.plen)
        hole = sample.kind is ReplyKind.ACK_HOLE
        self.events.append(ev.ReplyOwed(
            # No reply_frame: ``seg`` is the evidence that the ACK was withheld, not an answer.
            data.frame, data.ts, receiver.role, sample.kind, ReplyOutcome.MISSING, None,
            f"<SEQ=SND.NXT><ACK={sender.rel(sample.end)}><CTL=ACK>",
            f"frame {seg.frame}, {(seg.ts - data.ts) / 1e9:.3f} s after the data, acknowledged "
            f"only {sender.rel(ack)}, though its TSecr {tsecr} echoes the data's TSval "
            f"{sample.tsval} or a later one (RFC 7323 §4.3: TS.Recent is updated only for "
            "SEG.SEQ =< Last.ACK.sent), and the data was never sent again",
            f"{data.plen} bytes at seq {start}" + (", filling a hole" if hole else ""),
            "RFC 5681 §4.2 (an immediate ACK)" if hole else
            f"RFC 9293 §3.8.6.3; the {receiver.profile.name} profile's delayed_ack_max "
            f"{receiver.profile.delayed_ack_max:g} s", receiver.profile))
