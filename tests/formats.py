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
