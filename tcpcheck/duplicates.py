"""Exact duplicate frames: one IP packet captured twice, a capture artefact, not traffic.

A SPAN or mirror port that copies both the ingress and the egress of a port, a capture on two
interfaces of a bridge, or ``tcpdump -i any`` on a host with a bridge records some packets
twice. The copy was never sent: feeding it to the model would show a retransmission, a
duplicate ACK or a timer firing 0 s after the original.

What counts as a copy: the same IP packet, byte for byte (IP header with its ID and TTL, TCP
header with its checksum, payload), captured less than ``WINDOW_NS`` after the original.
Nothing is ignored, not even the TTL: a copy whose TTL is one lower was recorded behind a
router, at a second capture point (a different matter from a duplicated frame). The link
layer is not compared: a mirror may add or strip a VLAN tag.

Identical bytes can also be two real transmissions, and those must reach the model. Stacks
give every IPv4 packet a new IP ID (Linux a per-socket counter, Windows a global one), so a
sender whose ID is not 0 and differs from its previous segment's never repeats itself. For the
others -- IPv6 has no ID, Linux sends SYN-ACKs and TIME_WAIT ACKs with ID 0, macOS its RSTs,
crafted traces often give every packet one ID -- a repeat may be a second reply:

- to a segment of the peer captured between the two (a retransmitted SYN draws a second,
  identical SYN-ACK: captures/linux/synack-loss.pcap, frames 3 and 5, IP ID 0);
- to two segments of the peer captured since the sender's previous segment that each draw
  this same reply: identical RSTs answering segments to a closed port, identical duplicate
  ACKs answering out-of-order data (a tap near the host sees both triggers first).

Where that is unclear the repeat goes to the model: a missed copy is at worst a retransmission
note (and ``timers.DUPLICATE_NS`` keeps it from being a timer finding), while a real segment
taken for a copy would be lost to every rule.

Memory is bounded: only the segments of the last ``RECENT`` to ``2 * RECENT`` frames are
remembered, whichever their connection (editcap -d compares against the last 5 frames; a
mirror's copy follows the original within microseconds). The span is counted in frame numbers,
not in segments remembered, so what is remembered of one connection does not depend on which
other connections were decoded: ``--jobs`` decodes each connection in one process only.
"""

from __future__ import annotations

import itertools
import struct
from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.segment import ACK, FIN, SYN, Segment

WINDOW_NS = 1_000_000
"""A copy comes within microseconds of its original; 1 ms is far shorter than any
retransmission timer (Linux's floor is 200 ms, FreeBSD's 30 ms: see ``timers.DUPLICATE_NS``)."""
RECENT = 256
"""Frames whose segments are remembered at least (up to twice as many)."""


Direction = tuple[bytes, int, bytes, int]
"""(source address, source port, destination address, destination port)."""
_TCP = struct.Struct("!HHIIBB")
_U16 = struct.Struct("!H")
_AH = 51
_FRAGMENT = 44


class RecentFrames:
    """The last segments captured, by their IP and TCP header bytes, in two generations, each
    the segments of ``RECENT`` consecutive frame numbers: when a frame of the next span comes
    the newer becomes the older and the older is dropped (cheaper per segment than evicting
    one at a time; a bytes object caches its hash, so looking in both costs one hash).

    Only atoms are kept (capture times, payloads), never a ``Segment`` or another tuple: the
    dicts then stay untracked by the garbage collector, while remembered tuples would be
    promoted through its generations by the million and make full collections costly (it
    cost 10 % of the analysis time when this kept Segments).
    """

    __slots__ = ("_new", "_old", "_new_ts", "_old_ts", "until")

    def __init__(self) -> None:
        self._new: dict[bytes, bytes] = {}  # header -> payload
        self._old: dict[bytes, bytes] = {}
        self._new_ts: dict[bytes, int] = {}  # header -> capture time
        self._old_ts: dict[bytes, int] = {}
        self.until = RECENT
        """The first frame number past the newer generation's span: ``advance`` before
        remembering a segment of that frame or a later one."""

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    def generations(self) -> tuple[dict[bytes, bytes], dict[bytes, int], dict[bytes, bytes]]:
        """(newer header -> payload, newer header -> capture time, older header -> payload):
        for the decoder's hot path, which remembers a header not in either generation itself
        (exactly as ``is_copy`` does) and calls ``advance`` for a frame past ``until``."""
        return self._new, self._new_ts, self._old

    def advance(self, frame: int) -> None:
        """Make the newer generation the span of ``frame`` (at or past ``until``): the newer
        becomes the older, or both are forgotten when a whole span passed without a
        segment."""
        if frame >= self.until + RECENT:
            self._old, self._old_ts = {}, {}
        else:
            self._old, self._old_ts = self._new, self._new_ts
        self._new, self._new_ts = {}, {}
        self.until = (frame // RECENT + 1) * RECENT

    def is_copy(self, seg: Segment) -> bool:
        """Remember ``seg``; True when it is an exact copy of a recent segment (which stays
        the one remembered)."""
        header = seg.header
        if not header:
            return False  # a segment built, not captured: nothing to compare
        if seg.frame >= self.until:
            self.advance(seg.frame)
        new = self._new
        payload = new.get(header)
        if payload is None:
            payload = self._old.get(header)
            if payload is None:
                new[header] = seg.payload
                self._new_ts[header] = seg.ts
                return False
        first_ts = self._new_ts.get(header)
        if first_ts is None:  # not `or`: a capture time of 0 is a time
            first_ts = self._old_ts[header]
        if (seg.ts - first_ts < WINDOW_NS and seg.payload == payload
                and not self._may_be_resent(header)):
            return True
        # A later send of the same bytes: compare with it from now on, as the newest.
        for headers in (self._old, self._old_ts, new, self._new_ts):
            headers.pop(header, None)
        new[header] = seg.payload
        self._new_ts[header] = seg.ts
        return False

    def _may_be_resent(self, header: bytes) -> bool:
        """Can the segment remembered under ``header`` and its repeat be two transmissions?

        Not when the sender numbers its packets: IPv4 with an IP ID that is not 0 and not the
        ID of its previous segment (crafted traces often give every packet the same ID).
        Otherwise yes when a segment of the peer was captured between the two (a
        retransmitted SYN draws a second SYN-ACK), or when two segments of the peer that draw
        this same reply were captured since the sender's previous segment (two segments
        arriving at a host with no connection draw two identical RSTs, two out-of-order
        segments two identical duplicate ACKs, and a tap near the host sees both triggers
        first).
        """
        repeat = _Head.of(header)
        sender = repeat.direction
        peer = (sender[2], sender[3], sender[0], sender[1])
        after_first = True
        between = triggers = 0
        previous_id = None
        for other in itertools.chain(reversed(self._new), reversed(self._old)):
            if other == header:
                after_first = False
                continue
            head = _Head.of(other)
            if head.direction == peer:
                if after_first:
                    between += 1
                else:
                    triggers += repeat.answers(head)
            elif head.direction == sender and not after_first:
                previous_id = head.ip_id  # what came before it was answered already
                break
        if repeat.ip_id and previous_id is not None and previous_id != repeat.ip_id:
            return False
        return between > 0 or triggers >= 2


class _Head(NamedTuple):
    """What ``_may_be_resent`` reads of an IP and TCP header (as the decoder accepted it)."""

    direction: Direction
    ip_id: int | None
    """None for IPv6."""
    seq: int
    ack: int | None
    """None without the ACK flag."""
    length: int
    """Sequence space taken: payload, SYN and FIN."""

    @classmethod
    def of(cls, header: bytes) -> _Head:
        if header[0] >> 4 == 4:
            src, dst, p = header[12:16], header[16:20], (header[0] & 0x0F) * 4
            size, ip_id = _U16.unpack_from(header, 2)[0], _U16.unpack_from(header, 4)[0]
        else:
            src, dst, p, nxt = header[8:24], header[24:40], 40, header[6]
            size, ip_id = 40 + _U16.unpack_from(header, 4)[0], None
            while nxt != 6:  # IPv6 extension headers, as the decoder skipped them
                length = 8 if nxt == _FRAGMENT else (
                    (header[p + 1] + 2) * 4 if nxt == _AH else (header[p + 1] + 1) * 8)
                nxt, p = header[p], p + length
        sport, dport, seq, ack, _, flags = _TCP.unpack_from(header, p)
        length = max(size - len(header), 0) + bool(flags & SYN) + bool(flags & FIN)
        return cls((src, sport, dst, dport), ip_id, seq, ack if flags & ACK else None, length)

    def answers(self, trigger: _Head) -> bool:
        """Can this segment be its sender's reply to ``trigger``? A segment that takes no
        sequence space (a pure ACK) draws no reply; one the reply's ACK field does not cover
        although it starts at or below it would have moved that ACK field."""
        if not trigger.length:
            return False
        if self.ack is None:
            return True  # an RST answering a segment to a connection the host does not have
        start = (self.ack - trigger.seq) & MASK  # how far the ACK field is past its start
        return not (start < HALF and start < trigger.length)


class Copies:
    """A run of duplicate frames in one connection: how many from each side, and the first.

    The run goes on while the segments it copies follow each other: it ends when two
    segments in a row are not copied (a capture that doubles everything is one run; copies
    here and there are one run each, each a finding at its own frame)."""

    __slots__ = ("frame", "ts", "side", "client", "server", "uncopied")

    def __init__(self, frame: int, ts: int, side: str) -> None:
        self.frame = frame
        self.ts = ts
        self.side = side
        self.client = 0
        self.server = 0
        self.uncopied = 0  # segments since the last copy

    def add(self, from_client: bool) -> None:
        """One more copy, sent (originally) by the client or the server."""
        self.uncopied = 0
        if from_client:
            self.client += 1
        else:
            self.server += 1

    def ends_at_original(self) -> bool:
        """A segment that is not a copy came: True when it ends the run."""
        self.uncopied += 1
        return self.uncopied >= 2

    def event(self) -> ev.DuplicateFrames:
        """The run's one observation."""
        return ev.DuplicateFrames(self.frame, self.ts, self.side, self.client + self.server,
                                  self.client, self.server)
