"""The floor ``make bench`` compares tcpcheck with: read every record, unpack one header.

What any Python tool that looks at TCP headers must do at least, written as plainly as
possible: read the pcap (or pcapng) file in large chunks, walk its records, and unpack the
Ethernet + IPv4 + TCP header of each with one precompiled ``struct`` call. No decoding of
other link types, no options, no state: the number this prints is the count of records
whose header it could unpack, to keep the work from being optimised away.

    python bench/bare_loop.py FILE            # this loop (a plain buffered reader)
    python bench/bare_loop.py --dpkt FILE     # dpkt's pcap/pcapng Reader + the same unpack

tcpcheck's target (issue 16) is half this loop's packets/s in one process.
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO

# EtherType, version/IHL, IPv4 total length, protocol, addresses, ports, seq, ack, data
# offset, flags, window: the fields a TCP analysis reads, from offset 12 of the frame.
HEADER = struct.Struct("!HBxHxxxxxBxx4s4sHHIIBBH")
HEADER_END = 54
CHUNK = 1 << 20
_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
                b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}
_PCAPNG = b"\x0a\x0d\x0d\x0a"
_EPB = 6


def pcap_frames(f: BinaryIO, order: str) -> Iterator[tuple[int, bytes]]:
    """Every record of a pcap file: (timestamp in µs, frame bytes)."""
    rec = struct.Struct(order + "III4x")
    buf = f.read(CHUNK)[24:]
    pos = 0
    while True:
        n = len(buf)
        while pos + 16 <= n:
            sec, usec, caplen = rec.unpack_from(buf, pos)
            end = pos + 16 + caplen
            if end > n:
                break
            yield sec * 1_000_000 + usec, buf[pos + 16:end]
            pos = end
        chunk = f.read(CHUNK)
        if not chunk:
            return
        buf = buf[pos:] + chunk
        pos = 0


def pcapng_frames(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Every Enhanced Packet Block of a pcapng file: (timestamp in the interface's units,
    frame bytes); one section's byte order."""
    buf = f.read(CHUNK)
    order = "<" if buf[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    head = struct.Struct(order + "II")
    epb = struct.Struct(order + "III")
    pos = 0
    while True:
        n = len(buf)
        while pos + 12 <= n:
            btype, total = head.unpack_from(buf, pos)
            end = pos + total
            if end > n:
                break
            if btype == _EPB:
                hi, lo, caplen = epb.unpack_from(buf, pos + 12)
                yield (hi << 32) | lo, buf[pos + 28:pos + 28 + caplen]
            pos = end
        chunk = f.read(CHUNK)
        if not chunk:
            return
        buf = buf[pos:] + chunk
        pos = 0


def bare(path: str) -> int:
    with open(path, "rb") as f:
        magic = f.read(4)
        f.seek(0)
        if magic == _PCAPNG:
            frames = pcapng_frames(f)
        elif magic in _PCAP_MAGICS:
            frames = pcap_frames(f, _PCAP_MAGICS[magic])
        else:
            raise SystemExit(f"{path}: not a pcap or pcapng file")
        return count(frames)


def with_dpkt(path: str) -> int:
    import dpkt

    with open(path, "rb") as f:
        magic = f.read(4)
        f.seek(0)
        reader = dpkt.pcapng.Reader(f) if magic == _PCAPNG else dpkt.pcap.Reader(f)
        return count(reader)


def count(frames: Iterable[tuple[float | int, bytes]]) -> int:
    unpack = HEADER.unpack_from
    tcp = 0
    for _ts, buf in frames:
        if len(buf) >= HEADER_END:
            et, vihl, _, proto, *_ = unpack(buf, 12)
            if et == 0x0800 and vihl == 0x45 and proto == 6:
                tcp += 1
    return tcp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--dpkt", action="store_true",
                        help="read the records with dpkt's reader instead")
    args = parser.parse_args(argv)
    print((with_dpkt if args.dpkt else bare)(args.file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
