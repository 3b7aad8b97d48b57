"""Write large flood captures fast, from real Linux frames (for ``make bench-flood`` and tests).

Every frame is a copy of a frame of ``captures/linux/close-client-first.pcap`` (a real Linux
client 192.0.2.1 talking to a real Linux server 192.0.2.2:8000) with only the source address,
source port, sequence/acknowledgment numbers and timestamp rewritten, and both checksums
computed again, so tcpcheck sees ordinary, correctly summed segments:

* ``write_syn_flood``: one SYN per connection (frame 1, the client's SYN with its MSS, SACK,
  timestamps and window-scale options) from spoofed sources in 198.51.100.0/24 and every port
  from 1024 up, to one or a few targets, at a steady rate; nothing answers;
* ``write_open_connections``: complete handshakes (frames 1-3) and a request and its ACK
  (frames 4-5) per connection, none of them ever closed.

Classic pcap, microsecond timestamps, Ethernet link type, as tcpdump writes it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "captures" / "linux" / "close-client-first.pcap"
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
_RECORD = struct.Struct("<IIII")
_ETH = 14  # the template's IPv4 header starts here and is 20 bytes long
_TCP = _ETH + 20
FLOOD_SOURCES = bytes([198, 51, 100, 0])  # a /24 of documentation addresses
FIRST_PORT = 1024


def template_frames() -> list[bytes]:
    """The frames of the template capture, in order (frame 1 is the client's SYN)."""
    return [frame for _, frame in template_records()]


def template_records() -> list[tuple[int, bytes]]:
    """The template capture's records: (microseconds after its first, frame), in order."""
    data = TEMPLATE.read_bytes()
    records, offset, first = [], 24, None
    while offset < len(data):
        sec, usec, caplen, _ = _RECORD.unpack_from(data, offset)
        ts_us = sec * 1_000_000 + usec
        first = ts_us if first is None else first
        records.append((ts_us - first, data[offset + 16:offset + 16 + caplen]))
        offset += 16 + caplen
    return records


def _ones_sum(data: bytes) -> int:
    """The ones'-complement sum of 16-bit words (2^16 = 1 mod 0xFFFF, as tcpcheck's decoder)."""
    if len(data) % 2:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def rewrite(frame: bytes, src: bytes | None, sport: int | None, dst: bytes | None,
            dport: int | None, seq: int, ack: int) -> bytes:
    """``frame`` with new addresses/ports (None keeps the template's), sequence and ACK
    numbers, and correct IP and TCP checksums."""
    buf = bytearray(frame)
    if src is not None:
        buf[_ETH + 12:_ETH + 16] = src
    if dst is not None:
        buf[_ETH + 16:_ETH + 20] = dst
    if sport is not None:
        buf[_TCP:_TCP + 2] = sport.to_bytes(2, "big")
    if dport is not None:
        buf[_TCP + 2:_TCP + 4] = dport.to_bytes(2, "big")
    struct.pack_into("!II", buf, _TCP + 4, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF)
    buf[_ETH + 10:_ETH + 12] = b"\0\0"
    buf[_ETH + 10:_ETH + 12] = (0xFFFF - _ones_sum(bytes(buf[_ETH:_TCP]))).to_bytes(2, "big")
    tcp_len = len(buf) - _TCP
    buf[_TCP + 16:_TCP + 18] = b"\0\0"
    pseudo = bytes(buf[_ETH + 12:_ETH + 20]) + bytes([0, 6]) + tcp_len.to_bytes(2, "big")
    total = _ones_sum(pseudo + bytes(buf[_TCP:]))
    buf[_TCP + 16:_TCP + 18] = ((0xFFFF - total) or 0xFFFF).to_bytes(2, "big")
    return bytes(buf)


def _write(path: Path, frames: Iterator[tuple[int, bytes]]) -> int:
    """Write ``(timestamp_us, frame)`` records as a pcap file; the number written."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(_PCAP_HEADER)
        for ts_us, frame in frames:
            out.write(_RECORD.pack(ts_us // 1_000_000, ts_us % 1_000_000, len(frame),
                                   len(frame)))
            out.write(frame)
            count += 1
    return count


def flood_source(n: int) -> tuple[bytes, int]:
    """The n-th spoofed (address, port): all 256 addresses at one port, then the next port."""
    return FLOOD_SOURCES[:3] + bytes([n % 256]), FIRST_PORT + n // 256


def write_syn_flood(path: Path, syns: int, *, targets: int = 1, rate: int = 50_000,
                    start_us: int = 1_795_278_679_000_000, then_s: float | None = None) -> int:
    """``syns`` SYNs, each opening its own connection, spread round-robin over ``targets``
    ports of the template's server (8000, 8001, ...), ``rate`` per second. With ``then_s``
    the capture goes on: the template's own connection, complete and closed as captured,
    ``then_s`` seconds after the last SYN, so the SYNs' answers were due before the capture
    ended (without it, they could still come: tcpcheck does not judge them)."""
    syn = template_frames()[0]
    step = max(1, 1_000_000 // rate)

    def frames() -> Iterator[tuple[int, bytes]]:
        for n in range(syns):
            src, sport = flood_source(n)
            yield start_us + n * step, rewrite(syn, src, sport, None, 8000 + n % targets,
                                               0x9E3779B9 * (n + 1), 0)
        if then_s is not None:
            later = start_us + (syns - 1) * step + round(then_s * 1_000_000)
            for offset_us, frame in template_records():
                yield later + offset_us, frame
    return _write(path, frames())


def write_open_connections(path: Path, connections: int,
                           start_us: int = 1_795_278_679_000_000) -> int:
    """``connections`` connections that open, exchange a request and its ACK, and never
    close: five frames each, one connection after the other, 20 µs apart."""
    syn, synack, ack, request, request_ack = template_frames()[:5]
    sent = len(request) - _TCP - 32  # the request's payload, after a 32-byte TCP header

    def frames() -> Iterator[tuple[int, bytes]]:
        ts = start_us
        for n in range(connections):
            src, sport = flood_source(n)
            c, s = 0x9E3779B9 * (n + 1), 0x7F4A7C15 * (n + 1)  # the two ISNs
            yield ts, rewrite(syn, src, sport, None, None, c, 0)
            yield ts + 20, rewrite(synack, None, None, src, sport, s, c + 1)
            yield ts + 40, rewrite(ack, src, sport, None, None, c + 1, s + 1)
            yield ts + 60, rewrite(request, src, sport, None, None, c + 1, s + 1)
            yield ts + 80, rewrite(request_ack, None, None, src, sport, s + 1, c + 1 + sent)
            ts += 100
    return _write(path, frames())
