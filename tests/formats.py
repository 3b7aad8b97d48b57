"""Builders for test captures: TCP/IP packets, frames for every link type, every container.

Packets are assembled with ``struct`` so that a test can make any field wrong on purpose;
``tests/test_decode.py`` cross-checks the results against dpkt's own parser.
"""

from __future__ import annotations

import gzip
import ipaddress
import struct
from collections.abc import Iterable, Sequence

# --- TCP / IP -------------------------------------------------------------------------------

SRC4, DST4 = "192.0.2.1", "198.51.100.2"
SRC6, DST6 = "2001:db8::1", "2001:db8:ffff::2"
# Linux's SYN options in a data packet's shape: NOP NOP Timestamps (12 bytes) -- and the
# 20-byte SYN set: MSS, SACK permitted, timestamps, NOP, window scale.
TS_OPTIONS = bytes.fromhex("0101080a0001e2400000a4b1")
SYN_OPTIONS = bytes.fromhex("020405b40402080a0001e240000000000103030a")


def addr(text: str) -> bytes:
    """A packed address from its text form."""
    return ipaddress.ip_address(text).packed


def tcp(sport: int = 40000, dport: int = 80, seq: int = 1000, ack: int = 2000,
        flags: int = 0x18, win: int = 502, options: bytes = b"", payload: bytes = b"",
        data_offset: int | None = None) -> bytes:
    """A TCP header (+ options, padded to 32 bits with EOL) and payload; checksum left 0."""
    options += b"\0" * (-len(options) % 4)
    off = data_offset if data_offset is not None else 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0,
                       0) + options + payload


def with_checksum(segment: bytes, src: str = SRC4, dst: str = DST4) -> bytes:
    """A TCP segment from ``tcp()`` with its checksum filled in over the IPv4 pseudo-header
    (tcpcheck verifies SYN, FIN and RST checksums and drops a wrong one)."""
    out = bytearray(segment)
    pseudo = addr(src) + addr(dst) + struct.pack("!HH", 6, len(out))
    words = pseudo + bytes(out) + b"\0" * (len(out) % 2)
    total = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", out, 16, ~total & 0xFFFF)
    return bytes(out)


def ipv4(segment: bytes, src: str = SRC4, dst: str = DST4, proto: int = 6,
         options: bytes = b"", total_length: int | None = None, frag: int = 0x4000,
         ihl: int | None = None, ident: int = 1) -> bytes:
    """An IPv4 packet around ``segment``; ``frag`` is the flags/offset field (DF by default)."""
    options += b"\0" * (-len(options) % 4)
    hl = 20 + len(options)
    ihl = ihl if ihl is not None else hl // 4
    tot = total_length if total_length is not None else hl + len(segment)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ident, frag, 64, proto, 0,
                       addr(src), addr(dst)) + options + segment


# IPv6 extension headers, as (next-header number, header bytes without the next-header byte
# that ipv6() fills in). Lengths follow each header's own rule.
def hop_by_hop(body: bytes = b"\x01\x04\0\0\0\0") -> tuple[int, bytes]:
    """Hop-by-hop options (a PadN by default): (len + 1) * 8 bytes."""
    return _generic_ext(0, body)


def routing(body: bytes = b"\0\0\0\0\0\0") -> tuple[int, bytes]:
    return _generic_ext(43, body)


def destination_options(body: bytes = b"\x01\x04\0\0\0\0") -> tuple[int, bytes]:
    return _generic_ext(60, body)


def fragment(offset: int = 0, more: bool = False, ident: int = 7) -> tuple[int, bytes]:
    """Fragment header: 8 bytes; offset in 8-byte units."""
    return 44, struct.pack("!BHI", 0, (offset << 3) | more, ident)


def auth_header(icv: bytes = b"\0" * 12) -> tuple[int, bytes]:
    """Authentication header: (len + 2) * 4 bytes."""
    total = 12 + len(icv)
    assert total % 4 == 0
    return 51, struct.pack("!BHII", total // 4 - 2, 0, 0x100, 1) + icv


def _generic_ext(number: int, body: bytes) -> tuple[int, bytes]:
    total = 2 + len(body)
    assert total % 8 == 0, "extension header body must make the header a multiple of 8"
    return number, bytes([total // 8 - 1]) + body


def ipv6(segment: bytes, src: str = SRC6, dst: str = DST6, next_header: int = 6,
         ext: Sequence[tuple[int, bytes]] = (), payload_length: int | None = None) -> bytes:
    """An IPv6 packet; ``ext`` extension headers come first, then ``next_header``'s data."""
    chain = b""
    for i, (_, header) in enumerate(ext):
        nxt = ext[i + 1][0] if i + 1 < len(ext) else next_header
        chain += bytes([nxt]) + header
    first = ext[0][0] if ext else next_header
    plen = payload_length if payload_length is not None else len(chain) + len(segment)
    return struct.pack("!IHBB16s16s", 0x60000000, plen, first, 64, addr(src),
                       addr(dst)) + chain + segment


# --- link layers ----------------------------------------------------------------------------

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def _ethertype(ip: bytes) -> int:
    return 0x86DD if ip and ip[0] >> 4 == 6 else 0x0800


def ethernet(ip: bytes, vlans: Iterable[int] = (), ethertype: int | None = None,
             pad_to: int = 0) -> bytes:
    """An Ethernet frame; ``vlans`` are tag protocol ids (0x8100, 0x88a8, 0x9100), outer first.

    Each tag is its TPID (where the EtherType would be) then a TCI; ``pad_to`` adds the
    trailing padding of short frames (60 bytes on the wire without FCS).
    """
    header = MAC_A + MAC_B
    for i, tpid in enumerate(vlans):
        header += struct.pack("!HH", tpid, 100 + i)
    et = ethertype if ethertype is not None else _ethertype(ip)
    frame = header + struct.pack("!H", et) + ip
    return frame + b"\0" * max(0, pad_to - len(frame))


def sll(ip: bytes, protocol: int | None = None) -> bytes:
    """Linux cooked v1: packet type, ARPHRD_ETHER, address length, address (8), protocol."""
    proto = protocol if protocol is not None else _ethertype(ip)
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A, proto) + ip


def sll2(ip: bytes, protocol: int | None = None) -> bytes:
    """Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr."""
    proto = protocol if protocol is not None else _ethertype(ip)
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 4, 6, MAC_A) + ip


def null(ip: bytes, byteorder: str = "little", af: int | None = None) -> bytes:
    """BSD loopback: the AF value as a 32-bit int in the writer's byte order."""
    family = af if af is not None else (30 if ip[0] >> 4 == 6 else 2)
    return family.to_bytes(4, byteorder) + ip  # type: ignore[arg-type]


def loop(ip: bytes, af: int | None = None) -> bytes:
    """OpenBSD loopback: like NULL, in network byte order."""
    return null(ip, "big", 24 if af is None and ip[0] >> 4 == 6 else af)


def ppp_protocol(ip: bytes, compressed: bool = False) -> bytes:
    """The PPP protocol field for ``ip`` (0x0021 IPv4, 0x0057 IPv6), one byte when
    ``compressed`` (RFC 1661 §6.5)."""
    proto = 0x57 if ip and ip[0] >> 4 == 6 else 0x21
    return bytes([proto]) if compressed else struct.pack("!H", proto)


def ppp(ip: bytes, address_control: bool = True, compressed: bool = False) -> bytes:
    """PPP (RFC 1661), in HDLC-like framing (RFC 1662: 0xFF 0x03) unless not
    ``address_control``."""
    return (b"\xff\x03" if address_control else b"") + ppp_protocol(ip, compressed) + ip


def pppoe_session(ip: bytes) -> bytes:
    """A PPPoE session header (RFC 2516 §5.4: version/type, code 0, session 0x1234, length),
    then the PPP protocol field."""
    body = ppp_protocol(ip) + ip
    return struct.pack("!BBHH", 0x11, 0, 0x1234, len(body)) + body


def cisco_hdlc(ip: bytes, ethertype: int | None = None) -> bytes:
    """Cisco HDLC (RFC 1547 §4.3.1): unicast address 0x0F, control 0, an EtherType."""
    return struct.pack("!BBH", 0x0F, 0, _ethertype(ip) if ethertype is None else ethertype) + ip


# A Q.922 address of DLCI 100 (as routers number them): 2 bytes, EA bit set in the second.
Q922_DLCI_100 = bytes.fromhex("1841")


def frame_relay(ip: bytes, encapsulation: str = "ietf") -> bytes:
    """Frame Relay: Q.922 address then RFC 2427 (UI control, NLPID 0xCC/0x8E), RFC 2427 SNAP
    (control, pad, NLPID 0x80, OUI 0, EtherType) or Cisco's encapsulation (an EtherType)."""
    if encapsulation == "cisco":
        return Q922_DLCI_100 + struct.pack("!H", _ethertype(ip)) + ip
    if encapsulation == "snap":
        return Q922_DLCI_100 + b"\x03\x00\x80\0\0\0" + struct.pack("!H", _ethertype(ip)) + ip
    return Q922_DLCI_100 + b"\x03" + (b"\x8e" if ip[0] >> 4 == 6 else b"\xcc") + ip


def ipoib(ip: bytes) -> bytes:
    """IP over InfiniBand as Linux captures it: source and destination hardware addresses
    (20 bytes each: QPN and GID), the EtherType, 2 reserved bytes."""
    address = bytes.fromhex("00000550fe800000000000000010e000664ab451")
    return b"\0" * 20 + address + struct.pack("!HH", _ethertype(ip), 0) + ip


def arcnet(ip: bytes, linux: bool = True, rfc1051: bool = False) -> bytes:
    """ARCNET: source, destination, (Linux: a 2-byte offset), system code; RFC 1201 frames
    (IPv4 212, IPv6 0xC4) then a split flag 0 and a sequence number, RFC 1051 ones (IPv4
    240) nothing."""
    head = b"\xbe\x50" + (b"\xab\x08" if linux else b"")
    if rfc1051:
        return head + b"\xf0" + ip
    return head + (b"\xc4" if ip[0] >> 4 == 6 else b"\xd4") + b"\x00\x12\x34" + ip


def mpls(ip: bytes, labels: Iterable[int] = (16, 17)) -> bytes:
    """An MPLS label stack (RFC 3032), the S bit on the last entry, TTL 64."""
    stack = list(labels)
    return b"".join(struct.pack("!I", (label << 12) | ((i == len(stack) - 1) << 8) | 64)
                    for i, label in enumerate(stack)) + ip


def llc_snap(ip: bytes) -> bytes:
    """802.2 LLC with a SNAP header, OUI 0 and the EtherType (RFC 1042)."""
    return b"\xaa\xaa\x03\0\0\0" + struct.pack("!H", _ethertype(ip)) + ip


# Link-layer name -> (pcap link type, frame builder around an IP packet).
LINKS = {
    "ethernet": (1, ethernet),
    "vlan": (1, lambda ip: ethernet(ip, vlans=[0x8100])),
    "qinq": (1, lambda ip: ethernet(ip, vlans=[0x88A8, 0x8100])),
    "qinq-legacy": (1, lambda ip: ethernet(ip, vlans=[0x9100, 0x8100])),
    "sll": (113, sll),
    "sll2": (276, sll2),
    "raw": (101, lambda ip: ip),
    "raw-dlt12": (12, lambda ip: ip),
    "raw-dlt14": (14, lambda ip: ip),
    "null-le": (0, null),
    "null-be": (0, lambda ip: null(ip, "big")),
    "loop": (108, loop),
    "ppp": (9, ppp),
    "ppp-compressed": (9, lambda ip: ppp(ip, address_control=False, compressed=True)),
    "ppp-mpls": (9, lambda ip: b"\xff\x03\x02\x81" + mpls(ip)),
    "ppp-hdlc": (50, ppp),
    "ppp-hdlc-cisco": (50, cisco_hdlc),
    "pppoe": (51, pppoe_session),
    "ethernet-pppoe": (1, lambda ip: ethernet(pppoe_session(ip), ethertype=0x8864)),
    "ethernet-mpls": (1, lambda ip: ethernet(mpls(ip), ethertype=0x8847)),
    "ethernet-llc-snap": (1, lambda ip: ethernet(llc_snap(ip), ethertype=len(llc_snap(ip)))),
    "sll-llc-snap": (113, lambda ip: sll(llc_snap(ip), protocol=4)),
    "sll-ppp-hdlc": (113, lambda ip: sll(ppp(ip), protocol=7)),
    "sll2-ethernet": (276, lambda ip: sll2(ethernet(ip), protocol=3)),
    "ppp-pppd": (166, lambda ip: b"\x01\x03" + ppp_protocol(ip) + ip),
    "ppp-with-dir": (204, lambda ip: b"\x01" + ppp(ip)),
    "chdlc": (104, cisco_hdlc),
    "chdlc-with-dir": (205, lambda ip: b"\x00" + cisco_hdlc(ip)),
    "frelay": (107, frame_relay),
    "frelay-snap": (107, lambda ip: frame_relay(ip, "snap")),
    "frelay-cisco": (107, lambda ip: frame_relay(ip, "cisco")),
    "frelay-with-dir": (206, lambda ip: b"\x01" + frame_relay(ip)),
    "ipoib": (242, ipoib),
    "arcnet-linux": (129, arcnet),
    "arcnet-bsd": (7, lambda ip: arcnet(ip, linux=False)),
}


# --- containers -----------------------------------------------------------------------------

def pcap(records: Iterable[tuple[int, bytes]], linktype: int = 1, nanosecond: bool = False,
         big_endian: bool = False, snaplen: int = 262144) -> bytes:
    """A classic pcap file from (timestamp_ns, frame) pairs."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for ts, frame in records:
        sec, frac = divmod(ts, 1_000_000_000)
        out.append(struct.pack(e + "IIII", sec, frac if nanosecond else frac // 1000,
                               len(frame), len(frame)) + frame)
    return b"".join(out)


def pcap_record(ts: int, frame: bytes, caplen: int | None = None, big_endian: bool = False,
                orig_len: int | None = None) -> bytes:
    """One microsecond pcap record, with a header that may lie about its length."""
    sec, frac = divmod(ts, 1_000_000_000)
    return struct.pack(">IIII" if big_endian else "<IIII", sec, frac // 1000,
                       len(frame) if caplen is None else caplen,
                       len(frame) if orig_len is None else orig_len) + frame


def block(btype: int, body: bytes, big_endian: bool = False) -> bytes:
    """A pcapng block: type, total length, body padded to 32 bits, total length."""
    e = ">" if big_endian else "<"
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def option(code: int, value: bytes, big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb(big_endian: bool = False, version: tuple[int, int] = (1, 0)) -> bytes:
    """Section header block (section length unknown: -1)."""
    e = ">" if big_endian else "<"
    return block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, *version, -1), big_endian)


def idb(linktype: int = 1, tsresol: int | None = None, tsoffset: int | None = None,
        snaplen: int = 0, big_endian: bool = False) -> bytes:
    """Interface description block; options only when given (tsresol default is 6)."""
    e = ">" if big_endian else "<"
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), big_endian)
    if tsoffset is not None:
        opts += option(14, struct.pack(e + "q", tsoffset), big_endian)
    if opts:
        opts += option(0, b"", big_endian)
    return block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, big_endian)


def ts_units(ts_ns: int, tsresol: int = 6) -> int:
    """Nanoseconds to an interface's timestamp units (exact for the values tests use)."""
    if tsresol & 0x80:
        return (ts_ns << (tsresol & 0x7F)) // 1_000_000_000
    return ts_ns * 10 ** tsresol // 1_000_000_000


def epb(iface: int, units: int, frame: bytes, big_endian: bool = False,
        caplen: int | None = None, options: bytes = b"") -> bytes:
    """Enhanced packet block; ``units`` is the timestamp in the interface's resolution."""
    e = ">" if big_endian else "<"
    data = frame + b"\0" * (-len(frame) % 4)
    return block(6, struct.pack(e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF,
                                len(frame) if caplen is None else caplen, len(frame))
                 + data + options, big_endian)


def spb(frame: bytes, orig_len: int | None = None, big_endian: bool = False) -> bytes:
    """Simple packet block: interface 0, no timestamp."""
    e = ">" if big_endian else "<"
    return block(3, struct.pack(e + "I", len(frame) if orig_len is None else orig_len) + frame,
                 big_endian)


def obsolete_pb(iface: int, units: int, frame: bytes, big_endian: bool = False) -> bytes:
    """Obsolete packet block (type 2): 16-bit interface id and a drops counter."""
    e = ">" if big_endian else "<"
    return block(2, struct.pack(e + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF,
                                len(frame), len(frame)) + frame, big_endian)


def pcapng(records: Iterable[tuple[int, bytes]], linktype: int = 1, tsresol: int | None = None,
           big_endian: bool = False) -> bytes:
    """A one-interface pcapng file from (timestamp_ns, frame) pairs."""
    res = 6 if tsresol is None else tsresol
    return shb(big_endian) + idb(linktype, tsresol, big_endian=big_endian) + b"".join(
        epb(0, ts_units(ts, res), frame, big_endian) for ts, frame in records)


def gz(data: bytes) -> bytes:
    """gzip-compress a capture (mtime fixed so builds are reproducible)."""
    return gzip.compress(data, mtime=0)
