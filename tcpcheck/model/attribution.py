"""Who really sent a segment, where the IP layer tells: the TTLs and IP IDs of each endpoint.

A firewall, IPS or censor that tears a connection down forges an RST in an endpoint's name. Its
TCP header can be exactly right (it saw the segments), but its IP header is its own: it leaves
with the injector's initial TTL from the injector's place on the path, and injectors build
the IP ID from the packet they answer. Weaver, Sommer and Paxson ("Detecting Forged TCP Reset
Packets", NDSS 2009) detect injected resets by such signals: a TTL unlike the claimed
sender's other packets, an IP ID outside its sequence or copying the peer's, and the claimed
sender carrying on as if nothing happened. Below IP, the link layer tells too where the
capture has it: an injector on the capture's LAN (or a router that originates the reset rather
than forwarding it) puts its own source MAC on the frame, where every segment of the real
sender came from one or a few (its own, or its last router's). One signal alone has innocent
causes: a route change moves every later TTL, a stack may send its resets from another socket
than the connection's (with the default TTL, and IP ID 0 on Linux), a busy host's IP ID counter
jumps, and a first-hop redundancy failover (VRRP, HSRP), ECMP or a link aggregation across
routers, or a span port mirroring several VLANs gives one sender's frames a new source MAC.
Two together are not explained by anything an endpoint does; like the paper, which prefers
"false negatives over false positives", tcpcheck never reports one signal alone.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.options import find_option


class IpTrail:
    """The IP headers an endpoint's segments arrived with on this connection: every TTL (or
    IPv6 hop limit) as a bit set, and its latest segment's headers and frame (the headers
    only, not the segment: a connection open to the end of the capture would keep its
    payload); and every link-layer source address they came from (``Segment.mac``).

    ``Connection.apply`` fills it in for every segment, inline: a method call per packet
    would cost more than the work it does.
    """

    __slots__ = ("ttls", "head", "before", "frame", "macs")

    def __init__(self) -> None:
        self.ttls = 0  # bit n set: a segment arrived with TTL n (``ttl_of``)
        self.head = b""  # ``Segment.header`` of the latest segment (empty: none yet)
        self.before = b""  # and of the one before it, for its IP ID sequence
        self.frame = 0
        self.macs: tuple[bytes, ...] = ()  # in the order first seen; usually one

    def usual(self) -> tuple[int, ...]:
        """The TTLs seen, ascending."""
        return tuple(n for n in range(256) if self.ttls >> n & 1)


class Forgery(NamedTuple):
    """Why a segment is taken as forged in its claimed sender's name."""

    ttl: int
    """Its TTL (or hop limit)."""
    sender_ttls: tuple[int, ...]
    """The TTLs every segment of the claimed sender arrived with."""
    ip_id: int
    copies_frame: int
    """The peer's segment whose nonzero IPv4 ID this one repeats (0: none)."""
    carried_on: int = 0
    """The claimed sender's next segment, which went on as if it had sent no reset (0: not
    needed, the IP ID told)."""
    signed: int = 0
    """The kind of the signature option (TCP-MD5 19, TCP-AO 29) the reset carries and its
    claimed sender's segments do not (0: none)."""
    sequence_frame: int = 0
    """The claimed sender's latest segment, whose IPv4 ID sequence this one's is far outside
    (0: not the signal)."""
    sequence_id: int = 0
    """That segment's IP ID."""
    mac: bytes = b""
    """Its link-layer source address, when none of the claimed sender's segments came from it
    (empty: not a signal)."""
    sender_macs: tuple[bytes, ...] = ()
    """The link-layer source addresses the claimed sender's segments came from (with ``mac``)."""


def ttl_of(head: bytes) -> int:
    """The TTL of an IPv4 header, the hop limit of an IPv6 one."""
    return head[8] if head[0] >> 4 == 4 else head[7]


def ip_id_of(head: bytes) -> int:
    """The IPv4 identification field; 0 for IPv6 (which has none outside fragments)."""
    return head[4] << 8 | head[5] if head[0] >> 4 == 4 else 0


def foreign_ttl(head: bytes, sender: IpTrail) -> bool:
    """Whether a segment with IP header ``head`` has a TTL none of ``sender``'s segments on
    this connection came with (False before any did)."""
    return bool(sender.ttls) and not sender.ttls >> ttl_of(head) & 1


def foreign_mac(mac: bytes, sender: IpTrail) -> bool:
    """Whether a segment from link-layer source ``mac`` came from an address none of
    ``sender``'s segments on this connection came from (False without a link-layer address,
    or before any segment of ``sender`` had one). A first signal only, like a foreign TTL: a
    VRRP/HSRP failover, ECMP or a LAG across routers, or a span port over several VLANs also
    give one sender's frames another source MAC."""
    return bool(mac) and bool(sender.macs) and mac not in sender.macs


def mac_evidence(mac: bytes, sender: IpTrail) -> tuple[bytes, tuple[bytes, ...]]:
    """``Forgery.mac`` and ``Forgery.sender_macs`` for a segment from ``mac``: both empty
    unless the MAC is foreign to ``sender``."""
    return (mac, sender.macs) if foreign_mac(mac, sender) else (b"", ())


def forged(head: bytes, sender: IpTrail, peer: IpTrail, mac: bytes = b"") -> Forgery | None:
    """The evidence, at once, that a segment with IP header ``head`` (from link-layer source
    ``mac``) was not sent by the endpoint whose segments made ``sender``, or None. Two signals
    are needed: a TTL the sender never used on this connection or a source MAC none of its
    segments came from (``foreign_mac``; both are named where both are foreign), and an IPv4
    ID that copies the ID of the peer's latest segment (the one an injector answers), or one
    far outside the sender's own IP ID sequence (``outside_sequence``) — 0 is excluded, as
    stacks send many packets with ID 0 (Linux does for its resets and SYN-ACKs). The other
    second signal, the sender carrying on, only its next segment shows
    (``tcpcheck.model.injection``)."""
    link, sender_macs = mac_evidence(mac, sender)
    if not link and not foreign_ttl(head, sender):
        return None
    ip_id = ip_id_of(head)
    if not ip_id:
        return None
    if peer.head and ip_id == ip_id_of(peer.head):
        return Forgery(ttl_of(head), sender.usual(), ip_id, peer.frame, mac=link,
                       sender_macs=sender_macs)
    if outside_sequence(ip_id, sender):
        return Forgery(ttl_of(head), sender.usual(), ip_id, 0,
                       sequence_frame=sender.frame, sequence_id=ip_id_of(sender.head),
                       mac=link, sender_macs=sender_macs)
    return None


IP_ID_SPAN = 2048
"""How far past a sender's latest IPv4 ID its next one may be: Linux counts per connection (one
per segment), Windows per host, so other connections' packets come between."""


def outside_sequence(ip_id: int, sender: IpTrail) -> bool:
    """Is ``ip_id`` far outside the IPv4 ID sequence of ``sender``'s last two segments (both
    numbered, the later one within ``IP_ID_SPAN`` after the earlier)? A stack's own reset
    continues it; an injector numbers its packets its own way."""
    if not sender.head or not sender.before:
        return False
    latest, earlier = ip_id_of(sender.head), ip_id_of(sender.before)
    if not latest or not earlier or not 0 < (latest - earlier) % 65536 <= IP_ID_SPAN:
        return False
    return not 0 < (ip_id - latest) % 65536 <= IP_ID_SPAN


SIGNATURE_KINDS = frozenset({19, 29})
"""TCP options that sign a segment: TCP-MD5 (RFC 2385) and TCP-AO (RFC 5925)."""


def signature_of(options: bytes) -> int:
    """The kind of the first signature option in raw TCP ``options`` (0: none)."""
    at = find_option(options, SIGNATURE_KINDS)
    return 0 if at is None else options[at]


def tcp_options_of(head: bytes) -> bytes | None:
    """The TCP options of ``Segment.header`` (None when an IPv6 extension header hides
    them)."""
    if head[0] >> 4 == 4:
        tcp = (head[0] & 0x0F) * 4
    elif head[6] == 6:
        tcp = 40
    else:
        return None
    return head[tcp + 20:tcp + (head[tcp + 12] >> 4) * 4]


def foreign_signature(options: bytes, sender: IpTrail) -> int:
    """A signature option (``SIGNATURE_KINDS``) in a reset's ``options`` that ``sender``'s
    latest segment did not carry: its kind, else 0. A connection is signed throughout or not
    at all (RFC 2385 §2.0: every segment), so a reset signed on an unsigned connection was
    not made by the stack that sent the rest; a receiver that has no key drops it (Linux
    counts TCPMD5Unexpected) and the claimed sender carries on (RFC 9293 §3.10.7 would have
    it reset)."""
    kind = signature_of(options)
    if not kind or not sender.head:
        return 0
    theirs = tcp_options_of(sender.head)
    return kind if theirs is not None and signature_of(theirs) != kind else 0
