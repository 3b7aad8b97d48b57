"""One packet captured twice is one packet: twins across a sequence-rewriting middlebox, and a
whole trace repeated in one file.

**Twins.** A capture taken on both sides of a firewall that randomises sequence numbers (Cisco
PIX/ASA does by default) holds each packet twice: the same IP packet (addresses, ports, IP ID,
flags, payload) once before and once after the firewall, its sequence number (the rewritten
host's direction) or acknowledgment number (the other direction), or both, shifted by a
constant offset per connection and direction. Fed to the model as they are, the two copies are
two connections' worth of sequence numbers in one: hundreds of ``seq-out-of-window``,
``synack-bad-ack``... A twin is told from a retransmission by its numbers: a retransmission
keeps its sequence number (offset 0), and its acknowledgment number unless what arrived
meanwhile moved it forward.

What pairs two segments: captured less than ``WINDOW_NS`` apart, the same four-tuple, flags,
payload length and bytes, and (IPv4) IP ID; sequence or acknowledgment number different. The
first pair of a connection must prove itself: a different sequence number (a retransmission
keeps its own, and may carry a newer ACK under the same IP ID on stacks that reuse it) and an
IPv4 IP ID that is not 0 (a numbered packet: stacks give each packet its own, Linux sends some
SYN-ACKs and RSTs with 0) or, without one (IPv6, ID 0), a SYN, whose ISN offset is random;
and offsets that are 0 or at least ``NEAR``.
Later pairs of the connection must then show the same offsets (``TwinRun.role``), which is what
lets the other host's segments pair on their ACK alone, and IPv6 pure ACKs: the same bytes with
a different ACK a moment later is otherwise a second ACK. A connection whose only twins differ
in their ACK (the rewritten host's segments captured once, the other host's twice) is therefore
not recognised, nor are copies whose addresses or ports differ (NAT between the capture points:
two connections, each judged on its own).

**Which copy is kept.** The two copies of a pair were captured at two points, P1 (where the
connection's first pair's first copy was seen) and P2. The connection is followed at one of
them, consistently for both directions: a P1 copy of a client segment carries the client's P1
sequence numbers and the server's P1 acknowledgment numbers, so the server's segments must be
P1 copies too. Which point: the one that sees both directions. A capture on both sides of a
firewall may have one side's traffic once only (``packet-c.cap``: one point has 10.10.0.2's
segments only), and a segment captured once cannot be set aside. So a
connection's pairs wait (``HOLD`` segments, ``HOLD_NS`` at most) for the first segment of the
other direction: a single copy decides for the point whose numbers it continues (its ACK
covers that point's sequence numbers, its sequence number is that point's ACK); a pair of the
other direction means both points see everything, and P1, the first seen, is kept. The kept
copy may be the second of its pair to arrive (the server's SYN-ACK seen first at the other
point, ACKing the client's rewritten ISN): the set-aside copy then follows the kept one, so the
tracker always knows the connection when a copy reaches it.

Set-aside copies reach the tracker marked ``COPY_TWIN``: packets of their connection, not
applied to the model; each connection that had some gets one ``double-capture-point`` finding
with the offsets (folded per capture and host like every artefact).

**A repeated trace.** A file holding the same trace twice (two captures concatenated) jumps
back in time to its first segment and repeats it byte for byte. A segment captured earlier
than one before it that is the capture's first segment exactly (time stamp, headers, payload)
starts a repeat: it and every segment up to the time the capture had reached are set aside,
never fed to the tracker (their connections may be long gone). The first is passed on marked
``COPY_REPEAT`` so the finding ``capture-repeated`` is anchored at it.

Segments are held back ``WINDOW_NS`` to 2 ``WINDOW_NS`` of capture time to see a twin coming;
the order of the segments of one connection is kept, and the time goes on as in the file.
``tcpcheck sniff`` does not look for twins: a held segment waits for a later one to be
captured, which on a quiet link would hold back its findings indefinitely.
"""

from __future__ import annotations

from collections.abc import Iterator

from tcpcheck.duplicates import WINDOW_NS, Direction
from tcpcheck.model import events as ev
from tcpcheck.model.attribution import ttl_of
from tcpcheck.model.seqnum import MASK, sdiff
from tcpcheck.segment import ACK, COPY_REPEAT, COPY_TWIN, SYN, Segment

HOLD = 64
"""Segments of a connection with twins held at most while its kept point is undecided."""
HOLD_NS = 1_000_000_000
"""Capture time a connection's segments are held at most while its kept point is undecided."""

NEAR = 1 << 16
"""A connection's first twins are offset by at least this much (or 0) in both numbers: a
randomised ISN is that far with odds of 1 in 32,768, while the same payload sent again close by
under an IP ID that never changes (crafted traces give every packet one) is not a twin."""

_NEVER = 1 << 64
"""Past every capture time."""
_Key = bytes
"""IPv4 total length and IP ID, IPv6 flow label (low bits) and payload length: what the copies
of a twin share at a fixed place in their IP headers."""


class TwinRun:
    """The twins of one connection (one four-tuple, either direction): offsets, the point kept,
    the evidence, and the segments held until the point is decided."""

    __slots__ = ("direction", "seq_offset", "ack_offset", "first", "twin", "count", "keep",
                 "held", "last")

    def __init__(self, first: Segment, twin: Segment) -> None:
        self.direction: Direction = (first.src, first.sport, first.dst, first.dport)
        self.seq_offset = (twin.seq - first.seq) & MASK
        """P2 - P1 of the sequence numbers of ``direction``'s sender."""
        self.ack_offset = _ack_offset(first, twin)
        """P2 - P1 of the sequence numbers of ``direction``'s receiver."""
        self.first = first
        self.twin = twin
        self.count = 0
        self.keep = 0
        """The point kept: 1, 2, or 0 while undecided."""
        self.held: list[Segment] = []
        self.last = (first, twin)
        """The latest pair (P1 copy, P2 copy), which a single of the other direction is
        compared with."""

    def role(self, a: Segment, b: Segment) -> int:
        """The point ``a`` (its twin ``b`` captured after it) was captured at: 1 or 2, or 0
        when their offsets are not this connection's."""
        ds, da = (b.seq - a.seq) & MASK, _ack_offset(a, b)
        if (a.src, a.sport, a.dst, a.dport) == self.direction:
            forward = (self.seq_offset, self.ack_offset)
        else:  # the receiver's numbers are the sender's
            forward = (self.ack_offset, self.seq_offset)
        if (ds, da) == forward:
            return 1
        if (ds, da) == (-forward[0] & MASK, -forward[1] & MASK):
            return 2
        return 0

    def closer(self, single: Segment) -> int:
        """The point whose numbers ``single`` (sent by the peer of the last pair's sender)
        continues: its ACK near that point's sequence numbers, its sequence number near that
        point's ACK."""
        distances = []
        for copy in self.last:
            distance = 0
            if single.flags & ACK:
                distance += abs(sdiff(single.ack, copy.seq))
            if copy.flags & ACK:
                distance += abs(sdiff(single.seq, copy.ack))
            distances.append(distance)
        return 2 if distances[1] < distances[0] else 1

    def event(self, client: tuple[bytes, int]) -> ev.DoubleCapture:
        """The connection's one observation, for the connection whose client is ``client``
        (address, port): offsets from the kept copies' numbers to the set-aside ones'."""
        sign = 1 if self.keep != 2 else -1
        sender = (sign * self.seq_offset) & MASK
        receiver = (sign * self.ack_offset) & MASK
        from_client = self.direction[:2] == client
        kept, aside = (self.first, self.twin) if self.keep != 2 else (self.twin, self.first)
        return ev.DoubleCapture(
            self.first.frame, self.first.ts, "client" if from_client else "server", self.count,
            kept.frame, aside.frame, sender if from_client else receiver,
            receiver if from_client else sender, ttl_of(kept.header), ttl_of(aside.header))


class Repeat:
    """A repeat of the trace: where it starts, the frame it repeats, how far time jumped back."""

    __slots__ = ("start", "original", "jump", "end")

    def __init__(self, start: Segment, original: Segment, end: int) -> None:
        self.start = start
        self.original = original
        self.jump = end - start.ts
        self.end = end
        """The latest capture time before the repeat: the repeat lasts until then."""

    def event(self, side: str) -> ev.CaptureRepeated:
        return ev.CaptureRepeated(self.start.frame, self.start.ts, side, self.original.frame,
                                  self.jump / 1e9)


class Twins:
    """The stream of segments with twins and repeats marked (see the module's docstring)."""

    def __init__(self) -> None:
        # Recent segments by their twin key, in two generations of WINDOW_NS each.
        self._new: dict[_Key, Segment] = {}
        self._old: dict[_Key, Segment] = {}
        self._until = 0
        self._held: list[Segment] = []  # the newer generation's segments, held back
        self._older: list[Segment] = []  # the older generation's
        self._points: dict[int, tuple[int, int]] = {}  # frame -> (point, twin's frame)
        self._after: dict[int, Segment] = {}  # kept copy's frame -> set-aside copy to follow
        self._runs: dict[Direction, TwinRun] = {}
        self._undecided: dict[Direction, TwinRun] = {}  # the runs whose point is not kept yet
        self._ready: list[Segment] = []
        self._first: Segment | None = None
        self._latest = _NEVER
        """The latest capture time seen (``_NEVER`` before the first segment)."""
        self.repeat: Repeat | None = None

    @property
    def held_since(self) -> int:
        """The capture time of the earliest segment still held back (past every time when
        none is)."""
        firsts = [held[0].ts for held in (self._older, self._held) if held]
        firsts += [run.held[0].ts for run in self._undecided.values() if run.held]
        return min(firsts, default=_NEVER)

    def run_of(self, seg: Segment) -> TwinRun | None:
        """The twins of ``seg``'s connection (``seg`` a copy set aside; None once forgotten)."""
        return self._runs.get(_connection(seg))

    def forget(self, run: TwinRun) -> None:
        """``run``'s connection is over (and reported): what is kept is for open ones."""
        key = _connection(run.first)
        if self._runs.get(key) is run:
            del self._runs[key]

    def filter(self, segments: Iterator[Segment]) -> Iterator[Segment]:
        """``segments`` in order, set-aside copies marked, a repeated trace left out.

        Segments are held in two generations of ``WINDOW_NS`` each, as their twin keys are: a
        segment captured past the newer one's span lets the older one out (no later segment
        can be a twin of those). What runs for every segment is written out here, with locals
        and a Segment's fields by index, as in the decoder.
        """
        ready = self._ready
        pair = self._pair
        latest = self._latest
        new, until, held = self._new, self._until, self._held
        remember, recall = new.setdefault, self._old.get
        for seg in segments:
            ts = seg[1]
            if ts > latest:
                latest = ts
            elif ts < latest or self.repeat is not None:  # not just the same time again
                if self._first is None:  # ``latest`` starts past every time
                    self._first = seg
                    latest = ts
                else:
                    self._latest = latest
                    if self._repeats(seg):
                        yield from ready
                        ready.clear()
                        new, held = self._new, self._held
                        remember, recall = new.setdefault, self._old.get
                        continue
            if ts >= until:
                out = self._older
                if ts < until + WINDOW_NS:
                    self._old, self._older = new, held
                else:  # a whole span without a segment: both generations go
                    out = out + held
                    self._old, self._older = {}, []
                new, held, until = {}, [], ts + WINDOW_NS
                self._new, self._held, self._until = new, held, until
                remember, recall = new.setdefault, self._old.get
                if self._runs or self._points:
                    for earlier in out:
                        self._release(earlier)
                    yield from ready
                    ready.clear()
                else:
                    yield from out
            header = seg[14]
            if header and not seg[15]:  # a captured segment that is not an exact copy
                # IPv4 total length and IP ID (IPv6: flow label and payload length): the same
                # in both twins; ``_pair`` compares the rest.
                key = header[2:6]
                earlier = remember(key, seg)  # one lookup for the usual new key
                if earlier is not seg:
                    new[key] = seg
                    pair(earlier, seg)
                else:
                    earlier = recall(key)
                    if earlier is not None:
                        pair(earlier, seg)
            held.append(seg)
        self._latest = latest
        self._drain()
        for run in list(self._undecided.values()):
            self._decide(run, 1)
        yield from ready
        ready.clear()

    def _drain(self) -> None:
        """Let every segment held back for its twin out to ``_ready``; forget them."""
        for seg in self._older + self._held:
            self._release(seg)
        self._old, self._older, self._new, self._held = {}, [], {}, []

    def _repeats(self, seg: Segment) -> bool:
        """Is ``seg`` (captured before the latest segment) part of a repeat of the trace, and
        so left out? Starts one when it is the capture's first segment again: what was held
        back and the repeat's marker go to ``_ready``."""
        repeat = self.repeat
        if repeat is not None:
            return seg.ts <= repeat.end
        first = self._first
        if (first is None or seg.ts == self._latest or seg.ts != first.ts
                or seg.header != first.header or seg.payload != first.payload):
            return False
        self.repeat = Repeat(seg, first, self._latest)
        self._drain()
        self._ready.append(seg._replace(copy=COPY_REPEAT))
        return True

    def _pair(self, a: Segment, b: Segment) -> None:
        """Mark ``a`` and ``b`` (same twin key, ``b`` the later) as twins when they are (see
        the module's docstring)."""
        if (not 0 <= b.ts - a.ts <= WINDOW_NS or a.frame in self._points
                or (a.src, a.sport, a.dst, a.dport, a.flags, a.plen)
                != (b.src, b.sport, b.dst, b.dport, b.flags, b.plen)
                or a.payload != b.payload or (a.seq == b.seq and _ack_offset(a, b) == 0)):
            return
        key = _connection(a)
        run = self._runs.get(key)
        role = run.role(a, b) if run is not None else 0
        if not role:
            if a.seq == b.seq:
                return  # a retransmission that carries a newer ACK, if it is not a twin
            if not (len(a.src) == 4 and a.header[4:6] != b"\0\0") and not a.flags & SYN:
                return  # neither numbered nor a SYN: the same bytes may be sent twice
            if any(0 < abs(sdiff(offset, 0)) < NEAR
                   for offset in ((b.seq - a.seq) & MASK, _ack_offset(a, b))):
                return  # the same bytes sent again nearby, under one IP ID (a crafted trace)
            if run is not None and not run.keep:
                self._decide(run, 1)
            run = self._runs[key] = self._undecided[key] = TwinRun(a, b)
            role = 1
        run.count += 1
        self._points[a.frame] = (role, b.frame)
        self._points[b.frame] = (3 - role, a.frame)
        run.last = (a, b) if role == 1 else (b, a)
        if not run.keep and (a.src, a.sport) != run.direction[:2]:
            self._decide(run, 1)  # both points see both directions: the first seen is kept

    def _release(self, seg: Segment) -> None:
        """``seg`` leaves the window: to ``_ready`` (marked if set aside), or held."""
        run = self._runs.get(_connection(seg)) if self._runs else None
        if run is None:
            self._ready.append(seg)
            return
        if not run.keep:
            if seg.frame not in self._points and (seg.src, seg.sport) != run.direction[:2]:
                self._decide(run, run.closer(seg))
            elif not run.held or (len(run.held) < HOLD
                                  and seg.ts - run.held[0].ts < HOLD_NS):
                run.held.append(seg)
                return
            else:
                self._decide(run, 1)
        self._out(seg, run)

    def _decide(self, run: TwinRun, keep: int) -> None:
        """Keep ``run``'s copies of point ``keep`` from now on; let its held segments out."""
        run.keep = keep
        self._undecided.pop(_connection(run.first), None)
        held, run.held = run.held, []
        for seg in held:
            self._out(seg, run)

    def _out(self, seg: Segment, run: TwinRun) -> None:
        """``seg`` to ``_ready``, marked set aside when it is a copy of the point not kept,
        after its kept twin."""
        point, twin = self._points.pop(seg.frame, (0, 0))
        if point and point != run.keep:
            if twin in self._points:  # the kept copy is still to come
                self._after[twin] = seg._replace(copy=COPY_TWIN)
                return
            seg = seg._replace(copy=COPY_TWIN)
        self._ready.append(seg)
        follower = self._after.pop(seg.frame, None) if self._after else None
        if follower is not None:
            self._ready.append(follower)


def _ack_offset(a: Segment, b: Segment) -> int:
    """How far ``b``'s ACK field is from ``a``'s (0 without the ACK flag: a SYN's ACK field
    means nothing)."""
    return (b.ack - a.ack) & MASK if a.flags & ACK else 0


def _connection(seg: Segment) -> Direction:
    """The four-tuple of ``seg``'s connection, the same in both directions."""
    forward = (seg.src, seg.sport, seg.dst, seg.dport)
    backward = (seg.dst, seg.dport, seg.src, seg.sport)
    return min(forward, backward)

