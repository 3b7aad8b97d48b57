"""Make a big capture by repeating a classic pcap file, each round later than the last.

``--rounds 10`` of the 1 M-packet bench capture give the 10 M-packet file the memory target
of issue 16 is measured on. Each round is the input's records with their timestamps shifted
by the input's duration plus ``--gap`` seconds per round before it, so rounds never overlap:
the same four-tuples come round again after a quiet minute, which a TCP stack does too (port
reuse after TIME_WAIT). Frames keep their bytes; only the record headers' seconds change.

Only classic pcap (either byte order, micro- or nanosecond timestamps) is read; convert a
pcapng first (``editcap -F pcap``).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
           b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
"""Classic pcap magic numbers (micro- and nanosecond) and their byte order."""
GLOBAL_HEADER = 24
RECORD_HEADER = 16
CHUNK = 1 << 20


def _records(data: memoryview, order: str) -> tuple[int, int, list[int]]:
    """First and last whole seconds of the records, and each record's header offset."""
    unpack = struct.Struct(order + "IIII").unpack_from
    offsets = []
    pos, end = GLOBAL_HEADER, len(data)
    while pos + RECORD_HEADER <= end:
        offsets.append(pos)
        pos += RECORD_HEADER + unpack(data, pos)[2]
    if not offsets:
        raise ValueError("the capture has no records")
    return unpack(data, offsets[0])[0], unpack(data, offsets[-1])[0], offsets


def make(source: Path, out: Path, rounds: int, gap: int) -> int:
    """Write ``rounds`` shifted copies of ``source`` to ``out``; returns the record count."""
    data = memoryview(source.read_bytes())
    order = _MAGICS.get(bytes(data[:4]))
    if order is None:
        raise ValueError(f"{source}: not a classic pcap file (convert it with editcap -F pcap)")
    first, last, offsets = _records(data, order)
    step = last - first + 1 + gap
    seconds = struct.Struct(order + "I")
    partial = out.with_name(out.name + ".partial")
    with open(partial, "wb") as fh:
        fh.write(data[:GLOBAL_HEADER])
        body = bytearray(data[GLOBAL_HEADER:offsets[-1] + RECORD_HEADER
                              + struct.unpack_from(order + "I", data, offsets[-1] + 8)[0]])
        for n in range(rounds):
            if n:
                for pos in offsets:
                    at = pos - GLOBAL_HEADER
                    seconds.pack_into(body, at, seconds.unpack_from(body, at)[0] + step)
            fh.write(body)
    os.replace(partial, out)
    return len(offsets) * rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a classic pcap file, e.g. /tmp/bench.pcap")
    parser.add_argument("out", type=Path, help="the file to write, e.g. /tmp/big10.pcap")
    parser.add_argument("--rounds", type=int, default=10, help="copies of the source (10)")
    parser.add_argument("--gap", type=int, default=60,
                        help="quiet seconds between two rounds (60)")
    args = parser.parse_args()
    if args.rounds < 1 or args.gap < 0:
        parser.error("--rounds must be at least 1 and --gap at least 0")
    try:
        records = make(args.source, args.out, args.rounds, args.gap)
    except (OSError, ValueError) as exc:
        print(f"make_big_capture: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {records:,} records in {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
