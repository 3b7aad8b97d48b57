"""Connection steps for a segment whose TCP checksum is wrong: corrupt, or unusable.

RFC 9293 §3.1: a receiver discards a segment whose checksum is wrong, so the model must not
apply a corrupt one. But a capture's checksums can be unusable while the packets on the wire were
fine: sanitised traces zero them, address-rewritten (anonymised) traces leave them stale. Only
the peer's reply tells the two apart: a reply whose ACK covers the segment's sequence space (or
answers its SYN) proves the segment arrived. So the segment is held back, with whatever the
capture shows after it, until that reply or its absence decides (``Held``); the connection is
then replayed in capture order. A copy the sender re-sends with a good checksum before any such
reply shows the first one was corrupt (a real retransmission after a real drop).
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.segment import ACK, CSUM_BAD, CSUM_UNCHECKED, FIN, RST, SYN, Segment

# Segments held back behind one with a bad checksum before it counts as corrupt without a
# reply: a few round trips' worth of a one-sided or silent exchange, bounded per connection.
MAX_HELD = 64


class Unusable(NamedTuple):
    """What a reply proved about a connection's wrong checksums: all zero (a sanitised trace),
    or stale. Rewriting the addresses without fixing the checksums shifts every checksum of the
    connection by the same ones'-complement amount (both directions: the pseudo-header sums the
    two addresses), so a stale checksum leaves the same ``residue`` on each segment."""

    zero: bool
    residue: int | None


class Held:
    """A segment with a wrong checksum, and the segments captured after it, awaiting the
    peer's reply."""

    __slots__ = ("seg", "from_client", "end", "later")

    def __init__(self, seg: Segment, from_client: bool) -> None:
        self.seg = seg
        self.from_client = from_client
        # The raw sequence number a reply's ACK must reach to prove the segment arrived.
        self.end = (seg.seq + seg.plen + bool(seg.flags & SYN) + bool(seg.flags & FIN)) & MASK
        self.later: list[tuple[Segment, bool]] = []


class ChecksumSteps:
    """The checksum steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _wrong_checksum(self, seg: Segment, from_client: bool) -> bool:
        """A segment whose checksum is neither right nor the offload pattern: True if it is
        held back (or dropped), False if the model applies it now.

        Once a reply proved one of the connection's checksums unusable, its other checksums
        wrong the same way (all zero, or stale by the same residue) say nothing either, and
        their segments are applied. Otherwise a reset, which occupies no sequence space and so
        draws no reply that could prove it arrived, is dropped as corrupt; any other segment
        waits for the peer's reply.
        """
        proof = self.unusable
        if proof is not None and (_checksum_field(seg) == 0 if proof.zero
                                  else _residue(seg) == proof.residue):
            return False
        if seg.flags & RST:
            self.events.append(ev.BadChecksum(seg.frame, seg.ts,
                                              "client" if from_client else "server"))
            return True
        self.held = Held(seg, from_client)
        return True

    def _hold_back(self, seg: Segment, from_client: bool) -> bool:
        """``seg`` arrives while a segment with a wrong checksum is held: True if ``seg`` is
        held back behind it, False if the held one was settled and ``seg`` goes on."""
        held = self.held
        if from_client != held.from_client:
            if seg.flags & ACK and (seg.ack - held.end) & MASK < HALF:
                self._settle_held(seg.frame)
                return False
        elif (seg.seq == held.seg.seq and seg.csum != CSUM_BAD
              and seg.flags & (SYN | FIN) == held.seg.flags & (SYN | FIN)):
            # The sender re-sent it intact before any reply: the first copy was corrupt.
            self._settle_held(None)
            return False
        if len(held.later) >= MAX_HELD:
            self._settle_held(None)
            return False
        held.later.append((seg, from_client))
        return True

    def _settle_held(self, reply_frame: int | None) -> None:
        """Decide about the held segment: it arrived (``reply_frame`` proves it) or it was
        corrupt and its receiver dropped it. Then replay what the capture showed after it."""
        held = self.held
        self.held = None
        seg = held.seg
        side = "client" if held.from_client else "server"
        if reply_frame is None:
            self.events.append(ev.BadChecksum(seg.frame, seg.ts, side))
        else:
            zero = _checksum_field(seg) == 0
            if self.unusable is None:
                self.events.append(ev.UnusableChecksum(seg.frame, seg.ts, side, reply_frame,
                                                       zero))
            self.unusable = Unusable(zero, None if zero else _residue(seg))
            self.packets -= 1  # counted when it was captured
            self.apply(seg._replace(csum=CSUM_UNCHECKED), held.from_client)
        for later, from_client in held.later:
            self.apply(later, from_client)


def _checksum_field(seg: Segment) -> int | None:
    """The TCP checksum field as captured (None: the headers were not kept)."""
    header = seg.header
    if not header:
        return None
    at = len(header) - 20 - len(seg.options) + 16
    return int.from_bytes(header[at:at + 2], "big")


def _residue(seg: Segment) -> int | None:
    """The ones'-complement sum over pseudo-header and segment, as ``decode.checksum_state``
    computes it: 0 for a right checksum, and the same non-zero value on every segment of a
    connection whose addresses were rewritten (None: the segment was not captured whole)."""
    header = seg.header
    if not header or len(seg.payload) < seg.plen:
        return None
    tcp = header[len(header) - 20 - len(seg.options):] + seg.payload
    pseudo = (int.from_bytes(seg.src + seg.dst, "big") + 6 + len(tcp)) % 0xFFFF
    return (pseudo + int.from_bytes(tcp if len(tcp) % 2 == 0 else tcp + b"\0", "big")) % 0xFFFF
