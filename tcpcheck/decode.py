"""Records to Segments: link layer, IPv4/IPv6 and the TCP header, and whether the frame is an
exact copy of one decoded just before (``tcpcheck.duplicates``), nothing more.

The common case -- Ethernet, IPv4 without options, TCP -- is one precompiled ``struct.Struct``
unpack at a fixed offset (style.md's hot-path table: an eager dpkt decode is ~4x slower).
Everything else (VLAN tags, cooked and loopback headers, the link layers ``tcpcheck.linktypes``
reads, IPv4 options, IPv6 extension headers, fragments, damaged headers) takes the slower general
path, which counts what it cannot decode
instead of raising: an observer must never stop on bad bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

from tcpcheck.duplicates import RecentFrames
from tcpcheck.linktypes import (
    ETH_IP4,
    ETH_IP6,
    LINK_FRAGMENT,
    LINK_READERS,
    MALFORMED,
    TRUNCATED,
    VJ_COMPRESSED,
    VJ_UNCOMPRESSED,
    cooked,
    ethernet_type,
    vj_uncompressed,
)
from tcpcheck.segment import CSUM_BAD, CSUM_OFFLOAD, CSUM_OK, CSUM_UNCHECKED, Record, Segment

# Link types we decode (pcap LINKTYPE_ numbers, https://www.tcpdump.org/linktypes.html): those
# read here, and those below IP that ``tcpcheck.linktypes`` reads (PPP, Cisco HDLC, ...).
SUPPORTED_LINKTYPES: dict[int, str] = {
    0: "NULL",  # BSD loopback, AF value in the writer's byte order
    1: "ETHERNET",
    12: "RAW",  # DLT_RAW on most systems; files from old libpcaps carry the DLT value
    14: "RAW",  # DLT_RAW on OpenBSD
    101: "RAW",  # LINKTYPE_RAW: IPv4 or IPv6, told apart by the version nibble
    108: "LOOP",  # OpenBSD loopback, AF value in network byte order
    113: "LINUX_SLL",
    228: "IPV4",
    229: "IPV6",
    276: "LINUX_SLL2",
    **{lt: name for lt, (name, _) in LINK_READERS.items()},
}

# Numbers rather than dpkt's names: importing dpkt takes longer than decoding 5,000 packets,
# and only an unsupported link type's error message needs it (``linktype_name``).
# BSD AF_INET6 differs per OS: 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS); 10 is Linux's
# and 23 Windows' (Npcap loopback). AF_INET is 2 everywhere.
_AF_INET = 2
_AF_INET6 = frozenset((10, 23, 24, 28, 30))
_TCP = 6
# IPv6 extension headers with the generic (len + 1) * 8 length: hop-by-hop, routing,
# destination options, mobility, HIP, shim6.
_IP6_EXT = frozenset((0, 43, 60, 135, 139, 140))
_IP6_FRAGMENT = 44
_IP6_AH = 51

# Ethernet + IPv4 (IHL 5) + TCP in one unpack starting at the EtherType (offset 12):
# ethertype, version/IHL, total length, flags/fragment offset, protocol, src, dst,
# sport, dport, seq, ack, data offset, flags, window. Pad bytes skip what we never read.
_FAST = struct.Struct("!HBxHxxHxBxx4s4sHHIIBBH")
_FAST_END = 54  # Ethernet 14 + IPv4 20 + TCP 20
_TCP_HDR = struct.Struct("!HHIIBBH")
_U16 = struct.Struct("!H")



@dataclass(slots=True)
class DecodeCounters:
    """What the decoder saw: every record lands in ``tcp`` or exactly one skip reason."""

    packets: int = 0
    tcp: int = 0
    non_ip: int = 0
    """Not IPv4/IPv6 (ARP, LLDP, ...), or a link type we do not decode."""
    non_tcp: int = 0
    """IP but not TCP (UDP, ICMP, ESP, no next header, ...), fragments of those included."""
    ip_fragment: int = 0
    """TCP inside an IP fragment (MF set or offset > 0), or a later piece of a packet the link
    layer split (ARCNET): not reassembled, not decoded."""
    truncated: int = 0
    """A header (link, IP, or TCP's fixed 20 bytes) is not fully captured."""
    malformed: int = 0
    """Impossible header values (IHL < 5, data offset < 5, lengths shorter than headers)."""
    vj_compressed: int = 0
    """TCP/IP headers a PPP link compressed (Van Jacobson, RFC 1144): deltas against the link's
    previous header of the connection, which cannot be decoded on their own."""

    def skipped(self) -> dict[str, int]:
        """The non-zero skip reasons, keyed as in ``CaptureSummary.skipped`` (``non-ip``...)."""
        out = {}
        for f in fields(self):
            if f.name not in ("packets", "tcp"):
                value = getattr(self, f.name)
                if value:
                    out[f.name.replace("_", "-")] = value
        return out


class Decoder:
    """Turns capture records into ``Segment``s, counting every record it cannot decode.

    One decoder per capture file; ``counters`` is up to date after each yielded segment.
    """

    def __init__(self, *, verify_checksums: bool = True) -> None:
        self.counters = DecodeCounters()
        # Without verification every segment counts as intact (Zeek's -C): for sanitised
        # traces whose checksums are all zero, or address-rewritten ones whose are stale.
        self._checked = 7 if verify_checksums else 0
        self.recent = RecentFrames()
        """The frames just decoded, to tell an exact copy of one (a capture artefact)."""

    def segments(self, records: Iterable[Record]) -> Iterator[Segment]:
        """Yield a Segment for every record that holds a decodable TCP segment, with ``copy``
        set on an exact copy of a recent frame (``tcpcheck.duplicates``)."""
        c = self.counters
        fast = _FAST.unpack_from
        slow = self.decode
        new = tuple.__new__  # skips the NamedTuple's Python-level __new__: ~18% faster here
        checked = self._checked  # the flags whose segments get their checksum verified
        recent = self.recent
        # The recent frames' dicts, as locals: most segments are only remembered, and doing
        # that here rather than in a call to ``recent.is_copy`` halves the cost of the
        # duplicate check. Read again whenever ``recent`` may have rotated them.
        fresh, fresh_ts, stale = recent.generations()
        until = recent.until
        for frame, ts, lt, buf in records:
            if lt == 1 and len(buf) >= _FAST_END:
                (et, vihl, tot, frag, proto, src, dst, sport, dport, seq, ack, off, flags,
                 win) = fast(buf, 12)
                if et == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF:
                    hl = (off >> 2) & 0x3C
                    end = 34 + hl
                    plen = tot - 20 - hl
                    # Any doubt (short data offset, short total length, options not
                    # captured) goes to the general path, which knows how to count it.
                    if hl >= 20 and plen >= 0 and len(buf) >= end:
                        c.packets += 1
                        c.tcp += 1
                        header = buf[14:end]
                        payload = buf[end:end + plen]
                        if frame >= until:
                            recent.advance(frame)
                            fresh, fresh_ts, stale = recent.generations()
                            until = recent.until
                        seg = new(Segment, (frame, ts, src, sport, dst, dport, seq, ack, flags,
                                            win, plen, buf[54:end], payload,
                                            checksum_state(src, dst, buf[34:end + plen],
                                                           hl + plen) if flags & checked else 0,
                                            header, False, buf[6:12]))
                        if header in fresh or header in stale:
                            if recent.is_copy(seg):
                                seg = seg._replace(copy=True)
                            fresh, fresh_ts, stale = recent.generations()
                        else:  # what ``recent.is_copy`` does with a header it has not seen
                            fresh[header] = payload
                            fresh_ts[header] = ts
                        yield seg
                        continue
            seg = slow((frame, ts, lt, buf))
            if seg is not None:
                if recent.is_copy(seg):
                    seg = seg._replace(copy=True)
                fresh, fresh_ts, stale = recent.generations()
                until = recent.until
                yield seg

    def decode(self, record: Record) -> Segment | None:
        """Decode one record (any link type), or count why not and return None."""
        c = self.counters
        c.packets += 1
        frame, ts, lt, buf = record
        et, off = _link(lt, buf)
        if et == ETH_IP4:
            seg = self._ipv4(frame, ts, buf, off, link_source(lt, buf))
        elif et == ETH_IP6:
            seg = self._ipv6(frame, ts, buf, off, link_source(lt, buf))
        elif et == TRUNCATED:
            c.truncated += 1
            return None
        elif et == MALFORMED:
            c.malformed += 1
            return None
        elif et == VJ_UNCOMPRESSED:
            seg = self._ipv4(frame, ts, vj_uncompressed(buf, off), off, b"")
        elif et == VJ_COMPRESSED:
            c.vj_compressed += 1
            return None
        elif et == LINK_FRAGMENT:
            c.ip_fragment += 1
            return None
        else:
            c.non_ip += 1
            return None
        if seg is not None:
            c.tcp += 1
        return seg

    def _ipv4(self, frame: int, ts: int, buf: bytes, off: int, mac: bytes) -> Segment | None:
        c = self.counters
        avail = len(buf) - off
        if avail < 20:
            c.truncated += 1
            return None
        vihl = buf[off]
        ihl = (vihl & 0x0F) * 4
        if vihl >> 4 != 4 or ihl < 20:
            c.malformed += 1
            return None
        if avail < ihl:
            c.truncated += 1
            return None
        tot = _U16.unpack_from(buf, off + 2)[0]
        if tot == 0:
            # TSO/GRO super-packets (and Linux BIG TCP) are captured before segmentation with
            # total length 0; like Wireshark, take the length from the frame.
            tot = avail
        if tot < ihl:
            c.malformed += 1
            return None
        if buf[off + 9] != _TCP:
            c.non_tcp += 1
            return None
        if _U16.unpack_from(buf, off + 6)[0] & 0x3FFF:  # MF flag or a fragment offset
            c.ip_fragment += 1
            return None
        return self._tcp(frame, ts, buf, off, off + ihl, tot - ihl,
                         buf[off + 12:off + 16], buf[off + 16:off + 20], mac)

    def _ipv6(self, frame: int, ts: int, buf: bytes, off: int, mac: bytes) -> Segment | None:
        c = self.counters
        size = len(buf)
        if size - off < 40:
            c.truncated += 1
            return None
        if buf[off] >> 4 != 6:
            c.malformed += 1
            return None
        paylen = _U16.unpack_from(buf, off + 4)[0]
        nxt = buf[off + 6]
        p = off + 40
        # Payload length 0 is a jumbogram or a GSO super-packet: the frame has the length.
        end = p + paylen if paylen or nxt == 59 else size
        while nxt != _TCP:
            if nxt in _IP6_EXT or nxt == _IP6_AH:
                if size < p + 2:
                    c.truncated += 1
                    return None
                hlen = (buf[p + 1] + 2) * 4 if nxt == _IP6_AH else (buf[p + 1] + 1) * 8
            elif nxt == _IP6_FRAGMENT:
                if size < p + 8:
                    c.truncated += 1
                    return None
                if _U16.unpack_from(buf, p + 2)[0] & 0xFFF9:  # offset > 0 or M flag set
                    # The fragment header names the protocol in every fragment; TCP or
                    # headers that may still lead to TCP count as a TCP fragment.
                    inner = buf[p]
                    if inner in (_TCP, _IP6_AH) or inner in _IP6_EXT:
                        c.ip_fragment += 1
                    else:
                        c.non_tcp += 1
                    return None
                hlen = 8  # an atomic fragment (offset 0, M clear): just skip the header
            else:  # ESP (50), no next header (59), UDP, ICMPv6, ...
                c.non_tcp += 1
                return None
            nxt = buf[p]
            p += hlen
            if p > end:
                c.malformed += 1
                return None
        return self._tcp(frame, ts, buf, off, p, end - p, buf[off + 8:off + 24],
                         buf[off + 24:off + 40], mac)

    def _tcp(self, frame: int, ts: int, buf: bytes, ip: int, p: int, seglen: int, src: bytes,
             dst: bytes, mac: bytes) -> Segment | None:
        """The TCP header at ``p`` of the IP packet at ``ip``; ``seglen`` is header + payload
        length per the IP header; ``mac`` the frame's link-layer source (``link_source``)."""
        c = self.counters
        if len(buf) - p < 20:
            c.truncated += 1
            return None
        sport, dport, seq, ack, off, flags, win = _TCP_HDR.unpack_from(buf, p)
        hl = (off >> 4) * 4
        if hl < 20 or seglen < hl:
            c.malformed += 1
            return None
        # Options cut by a small snaplen (68 or 96 bytes, old tcpdump defaults, cut a Linux
        # SYN's 20 bytes of options) keep what was captured: losing the segment would lose
        # the SYN, and with it the handshake. Option parsing stops at the cut.
        return Segment(frame, ts, src, sport, dst, dport, seq, ack, flags, win, seglen - hl,
                       buf[p + 20:p + hl], buf[p + hl:p + seglen],
                       checksum_state(src, dst, buf[p:p + seglen], seglen)
                       if flags & self._checked else 0,
                       buf[ip:p + hl], False, mac)


def checksum_state(src: bytes, dst: bytes, tcp: bytes, length: int) -> int:
    """Check a TCP checksum over the pseudo-header (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6).

    Only SYN, FIN and RST segments are checked: a few per connection are enough to see that a
    host's checksums are offloaded, and summing every payload would halve the decoder's speed.
    Offloaded checksums hold just the pseudo-header sum (Linux CHECKSUM_PARTIAL): the NIC
    completes them after the capture point. Sums use 2^16 = 1 (mod 0xFFFF): a big integer
    modulo 0xFFFF is the ones'-complement sum of its 16-bit words.
    """
    if len(tcp) < length:
        return CSUM_UNCHECKED  # cut by the snaplen
    pseudo = _pseudo_sum(src, dst, length)
    if _ones_sum(pseudo, tcp) == 0:
        return CSUM_OK
    if int.from_bytes(tcp[16:18], "big") % 0xFFFF == pseudo:
        return CSUM_OFFLOAD
    return CSUM_BAD


def checksum_residue(src: bytes, dst: bytes, tcp: bytes) -> int:
    """The ones'-complement sum over pseudo-header and the whole segment ``tcp``: 0 for a
    right checksum; the same non-zero value on every segment whose addresses were rewritten
    after its checksum was computed."""
    return _ones_sum(_pseudo_sum(src, dst, len(tcp)), tcp)


def _pseudo_sum(src: bytes, dst: bytes, length: int) -> int:
    return (int.from_bytes(src + dst, "big") + 6 + length) % 0xFFFF


def _ones_sum(pseudo: int, tcp: bytes) -> int:
    # 2^16 = 1 (mod 0xFFFF): a big integer modulo 0xFFFF is the sum of its 16-bit words.
    data = tcp if len(tcp) % 2 == 0 else tcp + b"\0"
    return (pseudo + int.from_bytes(data, "big")) % 0xFFFF


def link_source(lt: int, buf: bytes) -> bytes:
    """The 6-byte link-layer source address of a frame of link type ``lt``, or empty: an
    Ethernet frame's source (VLAN tags come after it); a Linux cooked header's "link-layer
    address of the sender" when its length field says 6 (SLL: length at 4, address at 6; SLL2:
    length at 11, address at 12; https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html,
    LINKTYPE_LINUX_SLL2.html). Other link types name no 6-byte sender."""
    if lt == 1:
        return buf[6:12] if len(buf) >= 12 else b""
    if lt == 113:
        return buf[6:12] if len(buf) >= 12 and buf[4:6] == b"\0\x06" else b""
    if lt == 276:
        return buf[12:18] if len(buf) >= 18 and buf[11] == 6 else b""
    return b""


def _link(lt: int, buf: bytes) -> tuple[int, int]:
    """(EtherType of the network layer, its offset), or a sentinel, for any link type."""
    if lt == 1:
        if len(buf) < 14:
            return TRUNCATED, 0
        return ethernet_type(buf, _U16.unpack_from(buf, 12)[0], 14)
    if lt == 113:
        if len(buf) < 16:
            return TRUNCATED, 0
        return cooked(buf, _U16.unpack_from(buf, 14)[0], 16)
    if lt == 276:
        if len(buf) < 20:
            return TRUNCATED, 0
        return cooked(buf, _U16.unpack_from(buf, 0)[0], 20)
    if lt in (101, 12, 14, 228, 229):
        if not buf:
            return TRUNCATED, 0
        version = buf[0] >> 4
        if version == 4:
            return ETH_IP4, 0
        if version == 6:
            return ETH_IP6, 0
        return MALFORMED, 0
    if lt in (0, 108):
        if len(buf) < 4:
            return TRUNCATED, 0
        # NULL stores the AF value in the writer's byte order, LOOP in network order, and
        # some writers get LOOP wrong: AF values are small, so the order that gives a small
        # number is the right one.
        af = int.from_bytes(buf[:4], "little")
        if af > 0xFFFF:
            af = int.from_bytes(buf[:4], "big")
        if af == _AF_INET:
            return ETH_IP4, 4
        if af in _AF_INET6:
            return ETH_IP6, 4
        return 0, 4
    reader = LINK_READERS.get(lt)
    if reader is not None:
        return reader[1](buf)
    return 0, 0  # a link type we do not decode: counted as non-IP


def _dpkt_linktype_names() -> dict[int, str]:
    import dpkt  # only here: see the note above _AF_INET

    names: dict[int, str] = {}
    for attr, value in vars(dpkt.pcap).items():
        if attr.startswith("DLT_") and isinstance(value, int):
            # setdefault, in definition order: where dpkt maps two names to one number the
            # first is the tcpdump.org name (253 is NETLINK, not BLUETOOTH_LINUX_MONITOR).
            names.setdefault(value, attr[4:])
    return names


def linktype_name(linktype: int) -> str:
    """A human name for a pcap link type number, e.g. ``LINUX_SLL2`` or ``USB_LINUX``."""
    return SUPPORTED_LINKTYPES.get(linktype) or _dpkt_linktype_names().get(linktype, "unknown")
