"""Connection steps for a segment whose TCP checksum is wrong: corrupt, or unusable.

RFC 9293 §3.1: a receiver discards a segment whose checksum is wrong, so the model must not
apply a corrupt one. But a capture's checksums can be unusable while the packets on the wire were
fine: sanitised traces zero them, address-rewritten (anonymised) traces leave them stale. A
checksum field of 0 says so by itself (corruption does not write zeros; sanitisers do). A stale
one is told from a corrupt one by the peer's reply: a reply whose ACK covers the segment's
sequence space (or answers its SYN) proves the segment arrived. So that segment is held back,
with whatever the capture shows after it, until the reply or its absence decides (``Held``);
the connection is then replayed in capture order. A copy the sender re-sends with a good
checksum before any such reply shows the first one was corrupt (a real retransmission after a
real drop).
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.decode import checksum_residue
from tcpcheck.model import events as ev
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.segment import ACK, CSUM_BAD, CSUM_UNCHECKED, FIN, RST, SYN, Segment

# Segments held back behind one with a bad checksum before it counts as corrupt without a
# reply: a few round trips' worth of a one-sided or silent exchange, bounded per connection.
MAX_HELD = 64
# The evidence of a held segment whose reply the capture ended too early to show, in a trace
# another connection of which proved its checksums stale.
PENDING = "pending"


class Unusable(NamedTuple):
    """A connection whose checksums were named unusable, and the residue a reply proved its
    stale ones leave. Rewriting the addresses without fixing the checksums shifts every
    checksum of the connection by the same ones'-complement amount (both directions: the
    pseudo-header sums the two addresses), so each stale checksum leaves the same residue."""

    residue: int | None
    """None: only all-zero checksums were seen so far."""


class Held:
    """A segment with a wrong checksum, and the segments captured after it, awaiting the
    peer's reply."""

    __slots__ = ("seg", "from_client", "end", "residue", "later")

    def __init__(self, seg: Segment, from_client: bool) -> None:
        self.seg = seg
        self.from_client = from_client
        self.residue = _residue(seg)
        # The raw sequence number a reply's ACK must reach to prove the segment arrived.
        self.end = (seg.seq + seg.plen + bool(seg.flags & SYN) + bool(seg.flags & FIN)) & MASK
        self.later: list[tuple[Segment, bool]] = []


class ChecksumSteps:
    """The checksum steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _wrong_checksum(self, seg: Segment, from_client: bool) -> bool:
        """A segment whose checksum is neither right nor the offload pattern: True if it is
        held back (or dropped), False if the model applies it now.

        A checksum field of 0 is a sanitised trace's, applied at once. Once a reply proved one
        of the connection's checksums stale, the others stale by the same residue are too.
        Otherwise a reset, which occupies no sequence space and so draws no reply that could
        prove it arrived, is dropped as corrupt; any other segment waits for the peer's reply.
        """
        side = "client" if from_client else "server"
        if _checksum_field(seg) == 0:
            if self.unusable is None:
                self.unusable = Unusable(None)
                self.events.append(ev.UnusableChecksum(seg.frame, seg.ts, side, "zero", None))
            return False
        proof = self.unusable
        if proof is not None and proof.residue is not None and _residue(seg) == proof.residue:
            return False
        if seg.flags & RST:
            self.events.append(ev.BadChecksum(seg.frame, seg.ts, side))
            return True
        self.held = Held(seg, from_client)
        return True

    def holds_syn(self, seg: Segment, from_client: bool) -> bool:
        """Is ``seg`` (a SYN) a copy of the SYN held back for its checksum? Then it is this
        connection's SYN again, retransmitted, not a new connection's."""
        held = self.held
        return (held is not None and held.from_client == from_client
                and held.seg.seq == seg.seq and bool(held.seg.flags & SYN))

    def _hold_back(self, seg: Segment, from_client: bool) -> bool:
        """``seg`` arrives while a segment with a wrong checksum is held: True if ``seg`` is
        held back behind it, False if the held one was settled and ``seg`` goes on."""
        held = self.held
        if from_client != held.from_client:
            if seg.flags & ACK and (seg.ack - held.end) & MASK < HALF:
                self._settle_held(seg.frame, "reply")
                return False
        elif (seg.seq == held.seg.seq and seg.csum != CSUM_BAD
              and seg.flags & (SYN | FIN) == held.seg.flags & (SYN | FIN)):
            # The sender re-sent it intact before any reply: the first copy was corrupt.
            self._settle_held(None, "")
            return False
        if (seg.csum == CSUM_BAD and held.residue is not None
                and _residue(seg) == held.residue):
            # Wrong by the same amount twice: systematic (rewritten addresses), not a link's
            # random corruption, which would match by chance once in 65535.
            self._settle_held(seg.frame, "repeated")
            return False
        if len(held.later) >= MAX_HELD:
            self._settle_held(None, "")
            return False
        held.later.append((seg, from_client))
        return True

    def _settle_held(self, evidence_frame: int | None, evidence: str) -> None:
        """Decide about the held segment: its checksum is unusable (``evidence_frame`` shows it:
        a ``reply`` covering it, or a ``repeated`` residue) and it is applied, or it was corrupt
        (None) and its receiver dropped it, or (``PENDING``) the capture ended before the reply
        was due, so nothing tells, and it is not applied: it changes nothing. Then replay what
        the capture showed after it, in capture order."""
        held = self.held
        self.held = None
        seg = held.seg
        side = "client" if held.from_client else "server"
        if evidence == PENDING:
            pass  # the capture ended first: neither corrupt nor proven to have arrived
        elif evidence_frame is None:
            self.events.append(ev.BadChecksum(seg.frame, seg.ts, side))
        else:
            if self.unusable is None:
                self.events.append(ev.UnusableChecksum(seg.frame, seg.ts, side, evidence,
                                                       evidence_frame))
            self.unusable = Unusable(held.residue)
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
    """``decode.checksum_residue`` of the segment (None: it was not captured whole)."""
    header = seg.header
    if not header or len(seg.payload) < seg.plen:
        return None
    return checksum_residue(seg.src, seg.dst,
                            header[len(header) - 20 - len(seg.options):] + seg.payload)
