"""The fuzzer's inputs: real captures as seeds, mutated at three levels (``scripts/fuzz.py``).

- records: drop, duplicate, swap, splice in records of another seed, shift timestamps;
- header fields of real frames: any TCP or IP header field (seq, ack, flags, window, data
  offset, option kinds and lengths, total length, IHL, protocol, fragment bits), with the TCP
  checksum recomputed most of the time so SYN, FIN and RST segments are not simply dropped;
- the written container (pcap in either byte order and time unit, pcapng, either one
  gzip-compressed): odd header fields (snaplen, link type, ``if_tsresol``, ``if_tsoffset``),
  then bit flips, interesting values, inserts, deletes, truncation, splices of its bytes.

``make_mutant(seed, i, ...)`` is a pure function of its arguments: iteration ``i`` of seed
``seed`` is the same input on every machine.
"""

from __future__ import annotations

import gzip
import random
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from tcpcheck.sources import CaptureError, open_capture

MAX_SEED_RECORDS = 80
"""A longer seed is cut to its first and last records: the handshake and the close, where
most of the state machine is, and a short input keeps each iteration a few milliseconds."""
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFE, 0xFF)
_INTERESTING_32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


class Rec(NamedTuple):
    """One capture record: timestamp in nanoseconds, link type, frame bytes."""

    ts_ns: int
    linktype: int
    data: bytes


# ------------------------------------------------------------------ seeds


def load_seeds(folders: Iterable[Path]) -> list[list[Rec]]:
    """Every readable capture under ``folders``, as records (long ones cut, see above)."""
    seeds = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in (".pcap", ".pcapng", ".cap", ".gz"):
                continue
            try:
                with open_capture(str(path)) as capture:
                    records = [Rec(ts, lt, data) for _, ts, lt, data in capture.records()]
            except CaptureError:
                continue
            if len(records) > MAX_SEED_RECORDS:
                half = MAX_SEED_RECORDS // 2
                records = records[:half] + records[-half:]
            if records:
                seeds.append(records)
    return seeds


# ------------------------------------------------------------------ record and field mutations


def _tcp_offset(data: bytes, linktype: int) -> tuple[int, int] | None:
    """(IP header offset, TCP header offset) of an Ethernet/IPv4 or IPv6 TCP frame."""
    if linktype != 1 or len(data) < 14:
        return None
    ip = 14
    ethertype = struct.unpack_from("!H", data, 12)[0]
    if ethertype == 0x0800 and len(data) >= ip + 20 and data[ip + 9] == 6:
        tcp = ip + (data[ip] & 0x0F) * 4
    elif ethertype == 0x86DD and len(data) >= ip + 40 and data[ip + 6] == 6:
        tcp = ip + 40
    else:
        return None
    return (ip, tcp) if len(data) >= tcp + 20 else None


def _fix_checksum(frame: bytearray, ip: int, tcp: int) -> None:
    """Recompute the TCP checksum of the frame (IPv4 or IPv6 pseudo-header)."""
    if frame[ip] >> 4 == 4:
        length = struct.unpack_from("!H", frame, ip + 2)[0] - (tcp - ip)
        addresses = bytes(frame[ip + 12:ip + 20])
    else:
        length = struct.unpack_from("!H", frame, ip + 4)[0]
        addresses = bytes(frame[ip + 8:ip + 40])
    if length < 20 or tcp + length > len(frame):
        return
    frame[tcp + 16:tcp + 18] = b"\0\0"
    words = addresses + struct.pack("!HH", 6, length) + bytes(frame[tcp:tcp + length])
    words += b"\0" * (len(words) % 2)
    total = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", frame, tcp + 16, ~total & 0xFFFF)


# (offset from the TCP header, struct format) of the TCP header's fields
_TCP_FIELDS = ((4, "!I"), (8, "!I"), (12, "!B"), (13, "!B"), (14, "!H"), (18, "!H"))
# ... and of the IPv4 header's: total length, flags/fragment offset, TTL, protocol, IHL/version
_IP4_FIELDS = ((2, "!H"), (6, "!H"), (9, "!B"), (0, "!B"))


def _field_value(rng: random.Random, fmt: str, old: int) -> int:
    bits = struct.calcsize(fmt) * 8
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(_INTERESTING_32) & ((1 << bits) - 1)
    if choice < 0.6:
        return (old + rng.choice((-1, 1)) * rng.randint(1, 1 << min(bits - 1, 16))) % (1 << bits)
    return rng.getrandbits(bits)


def mutate_field(rng: random.Random, records: list[Rec]) -> str:
    """Change one header field (or option byte) of one TCP frame."""
    candidates = [i for i, r in enumerate(records) if _tcp_offset(r.data, r.linktype)]
    if not candidates:
        return "field: no TCP frame"
    index = rng.choice(candidates)
    rec = records[index]
    ip, tcp = _tcp_offset(rec.data, rec.linktype)  # type: ignore[misc]
    frame = bytearray(rec.data)
    options_end = min(len(frame), tcp + (frame[tcp + 12] >> 4) * 4)
    where = rng.random()
    if where < 0.3 and options_end > tcp + 20:
        # An option byte: kinds and lengths are where parsers go wrong.
        pos = rng.randrange(tcp + 20, options_end)
        frame[pos] = rng.choice((*_INTERESTING, 2, 3, 4, 5, 8, 10, 40, rng.getrandbits(8)))
        what = f"option byte {pos - tcp}"
    elif where < 0.8 or frame[ip] >> 4 != 4:
        offset, fmt = rng.choice(_TCP_FIELDS)
        old = struct.unpack_from(fmt, frame, tcp + offset)[0]
        struct.pack_into(fmt, frame, tcp + offset, _field_value(rng, fmt, old))
        what = f"tcp+{offset}"
    else:
        offset, fmt = rng.choice(_IP4_FIELDS)
        old = struct.unpack_from(fmt, frame, ip + offset)[0]
        struct.pack_into(fmt, frame, ip + offset, _field_value(rng, fmt, old))
        what = f"ip+{offset}"
    if rng.random() < 0.8:
        _fix_checksum(frame, ip, tcp)
    records[index] = rec._replace(data=bytes(frame))
    return f"field: frame {index + 1} {what}"


def mutate_records(rng: random.Random, records: list[Rec], seeds: Sequence[list[Rec]]) -> str:
    """Drop, duplicate, swap or splice whole records, or move one in time."""
    op = rng.randrange(5)
    i = rng.randrange(len(records))
    if op == 0 and len(records) > 1:
        del records[i]
        return f"records: drop {i + 1}"
    if op == 1:
        records.insert(rng.randrange(len(records) + 1), records[i])
        return f"records: duplicate {i + 1}"
    if op == 2:
        j = rng.randrange(len(records))
        records[i], records[j] = records[j], records[i]
        return f"records: swap {i + 1} {j + 1}"
    if op == 3:
        other = rng.choice(seeds)
        start = rng.randrange(len(other))
        part = other[start:start + rng.randint(1, 8)]
        records[i:i] = part
        return f"records: splice {len(part)} at {i + 1}"
    step = rng.choice((-1, 1)) * rng.choice((1, 1000, 10**9, 10**12, 1 << 62))
    records[i] = records[i]._replace(ts_ns=max(0, records[i].ts_ns + step))
    return f"records: move {i + 1} by {step} ns"


# ------------------------------------------------------------------ containers


def write_pcap(records: Sequence[Rec], *, nano: bool, big_endian: bool,
               snaplen: int = 262144, linktype: int | None = None) -> bytes:
    """Classic pcap; ``linktype`` overrides the records' in the file header."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    network = records[0].linktype if linktype is None else linktype
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, network)]
    for rec in records:
        sec, frac = divmod(rec.ts_ns, 10**9)
        frac = frac if nano else frac // 1000
        out.append(struct.pack(order + "IIII", sec & 0xFFFFFFFF, frac, len(rec.data),
                               len(rec.data)) + rec.data)
    return b"".join(out)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def write_pcapng(records: Sequence[Rec], *, tsresol: int = 9, tsoffset: int | None = None,
                 snaplen: int = 0) -> bytes:
    """Section header, one interface per link type, then EPBs; timestamps are written in
    nanoseconds whatever ``tsresol`` (``if_tsresol``) and ``tsoffset`` (``if_tsoffset``) say."""
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    options = struct.pack("<HHB3x", 9, 1, tsresol)
    if tsoffset is not None:
        options += struct.pack("<HHq", 14, 8, tsoffset)
    options += struct.pack("<HH", 0, 0)
    interfaces: dict[int, int] = {}
    for rec in records:
        if rec.linktype not in interfaces:
            interfaces[rec.linktype] = len(interfaces)
            out.append(_block(1, struct.pack("<HHI", rec.linktype & 0xFFFF, 0, snaplen)
                              + options))
        ts = rec.ts_ns & 0xFFFFFFFFFFFFFFFF
        out.append(_block(6, struct.pack("<IIIII", interfaces[rec.linktype], ts >> 32,
                                         ts & 0xFFFFFFFF, len(rec.data), len(rec.data))
                          + rec.data))
    return b"".join(out)


def serialize(rng: random.Random, records: Sequence[Rec]) -> tuple[bytes, str]:
    """The records in a container chosen at random, its header fields sometimes odd (snaplen,
    link type, timestamp resolution and offset); (bytes, file suffix)."""
    single = len({r.linktype for r in records}) == 1
    odd = rng.random() < 0.25
    if single and rng.random() < 0.6:
        snaplen = rng.choice((0, 1, 68, 65535, 0xFFFFFFFF, rng.getrandbits(32)))
        linktype = rng.choice((0, 101, 113, 276, 0x03FFFFFF, rng.getrandbits(32)))
        data = write_pcap(records, nano=rng.random() < 0.3, big_endian=rng.random() < 0.2,
                          snaplen=snaplen if odd else 262144,
                          linktype=linktype if odd and rng.random() < 0.3 else None)
        suffix = ".pcap"
    else:
        tsresol = rng.choice((0, 1, 3, 6, 10, 19, 0x80, 0x8A, 0xBF, 0xFF, rng.getrandbits(8)))
        tsoffset = rng.choice((1, -1, 1 << 40, (1 << 63) - 1, -(1 << 63),
                               rng.getrandbits(64) - (1 << 63)))
        data = write_pcapng(records, tsresol=tsresol if odd else 9,
                            tsoffset=tsoffset if odd and rng.random() < 0.5 else None,
                            snaplen=rng.choice((0, 1, 68, 0xFFFFFFFF)) if odd else 0)
        suffix = ".pcapng"
    if rng.random() < 0.15:
        data, suffix = gzip.compress(data, mtime=0), suffix + ".gz"
    return data, suffix


# ------------------------------------------------------------------ byte mutations


def mutate_bytes(rng: random.Random, data: bytes, seeds_bytes: Sequence[bytes]) -> tuple[bytes,
                                                                                          str]:
    """One byte-level change anywhere in the written file."""
    if not data:
        return data, "bytes: empty"
    buf = bytearray(data)
    op = rng.randrange(7)
    pos = rng.randrange(len(buf))
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            p = rng.randrange(len(buf))
            buf[p] ^= 1 << rng.randrange(8)
        return bytes(buf), "bytes: bit flips"
    if op == 1:
        buf[pos] = rng.choice(_INTERESTING)
        return bytes(buf), f"bytes: set {pos}"
    if op == 2:
        buf[pos:pos] = rng.randbytes(rng.choice((1, 2, 4, 16, 100)))
        return bytes(buf), f"bytes: insert at {pos}"
    if op == 3:
        del buf[pos:pos + rng.choice((1, 2, 4, 16, 100))]
        return bytes(buf), f"bytes: delete at {pos}"
    if op == 4:
        return bytes(buf[:pos]), f"bytes: truncate at {pos}"
    if op == 5:
        length = rng.randint(1, 64)
        buf[pos:pos] = buf[pos:pos + length]
        return bytes(buf), f"bytes: repeat {length} at {pos}"
    other = rng.choice(seeds_bytes)
    start = rng.randrange(len(other))
    buf[pos:pos + rng.randint(0, 64)] = other[start:start + rng.randint(1, 256)]
    return bytes(buf), f"bytes: splice at {pos}"


def make_mutant(seed: int, iteration: int, seeds: Sequence[list[Rec]],
                seeds_bytes: Sequence[bytes]) -> tuple[bytes, str, list[str]]:
    """Iteration ``iteration``'s input: (bytes, file suffix, the mutations applied)."""
    rng = random.Random(f"{seed}:{iteration}")
    records = list(rng.choice(seeds))
    steps = []
    for _ in range(rng.randint(0, 3)):
        steps.append(mutate_field(rng, records))
    if rng.random() < 0.4:
        steps.append(mutate_records(rng, records, seeds))
    data, suffix = serialize(rng, records)
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 3)):
            data, step = mutate_bytes(rng, data, seeds_bytes)
            steps.append(step)
    return data, suffix, steps
