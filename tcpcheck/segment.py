"""The decoded TCP segment: the one value that flows from decode to the model.

A NamedTuple rather than a frozen dataclass: it is built once per packet on the hot path,
and tuple construction is several times cheaper than a frozen dataclass ``__init__``.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import NamedTuple

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80

CSUM_UNCHECKED, CSUM_OK, CSUM_OFFLOAD, CSUM_BAD = 0, 1, 2, 3

# What ``Segment.copy`` says: not a copy, an exact copy of a recent frame (``True`` from the
# decoder), a twin captured at a second capture point, a repeated trace's first frame
# (``tcpcheck.twins``). Plain ints, as the decoder builds a Segment per packet.
COPY_NONE, COPY_EXACT, COPY_TWIN, COPY_REPEAT = 0, 1, 2, 3

_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"),
               (URG, "URG"), (ECE, "ECE"), (CWR, "CWR"))

# A capture record as every source yields it: (frame_number, timestamp_ns, link_type, bytes).
# frame_number is 1-based over every record in the file, exactly Wireshark's frame.number.
Record = tuple[int, int, int, bytes]


class Segment(NamedTuple):
    """One TCP segment as seen on the wire."""

    frame: int
    """1-based frame number over every record of the capture (Wireshark's frame.number)."""
    ts: int
    """Capture timestamp in integer nanoseconds since the epoch."""
    src: bytes
    """Source address, packed (4 bytes for IPv4, 16 for IPv6)."""
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    """TCP flag bits (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)."""
    win: int
    """The raw (unscaled) window field."""
    plen: int
    """Payload length from the IP header, not the captured length."""
    options: bytes
    """Raw TCP option bytes (empty when the header is 20 bytes)."""
    payload: bytes
    """Payload bytes as captured; may be shorter than ``plen`` with a small snaplen."""
    csum: int = 0
    """TCP checksum as captured: ``CSUM_UNCHECKED``, ``CSUM_OK``, ``CSUM_OFFLOAD`` or
    ``CSUM_BAD``. Only SYN, FIN and RST segments are checked (see ``tcpcheck.decode``)."""
    header: bytes = b""
    """The IP and TCP headers as captured (IP options and IPv6 extension headers included):
    with ``payload``, the bytes an exact-duplicate check compares (``tcpcheck.duplicates``).
    Empty for a segment rebuilt from a packed lone SYN, unless its headers were kept
    (``tcpcheck.lone_syn.pack_lone``)."""
    copy: int = COPY_NONE
    """A capture artefact, not a segment sent: ``COPY_EXACT`` (True), an exact copy of a frame
    captured just before (``tcpcheck.duplicates``), set by the decoder; ``COPY_TWIN``, the copy
    set aside of a packet captured at two points, ``COPY_REPEAT``, the first frame of a repeat
    of the trace (``tcpcheck.twins``)."""
    mac: bytes = b""
    """The link-layer source address, where the capture has one of 6 bytes: an Ethernet
    frame's (VLAN-tagged too), a Linux cooked header's (SLL, SLL2); empty for raw IP, PPP,
    loopback and the other link types, and for a SYN rebuilt from a packed lone SYN unless its
    headers were kept (``tcpcheck.lone_syn.pack_lone``). Evidence of who put the segment on the
    wire (``tcpcheck.model.attribution``)."""


def flag_names(flags: int) -> str:
    """Render flag bits the way Wireshark's info column does: ``SYN, ACK``."""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    return ", ".join(names) if names else "none"


def format_address(addr: bytes) -> str:
    """Packed IPv4/IPv6 address to its text form."""
    if len(addr) == 4:
        # The same dotted quad as ``ipaddress``, in a sixth of the time: every connection's
        # row and findings name both endpoints. IPv6 keeps ``ipaddress``, whose text of
        # IPv4-mapped addresses differs from inet_ntop's.
        return socket.inet_ntop(socket.AF_INET, addr)
    return str(ipaddress.ip_address(addr))


def format_mac(mac: bytes) -> str:
    """A link-layer address as Wireshark writes ``eth.src`` without name resolution:
    ``02:00:00:00:00:99``."""
    return mac.hex(":")


def format_endpoint(addr: bytes, port: int) -> str:
    """``192.0.2.1:80`` for IPv4, ``[2001:db8::1]:80`` for IPv6."""
    text = format_address(addr)
    return f"[{text}]:{port}" if len(addr) == 16 else f"{text}:{port}"
