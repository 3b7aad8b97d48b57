"""Edit a real classic pcap for a test: copy, drop or move frames; zero, corrupt or stale
checksums.

Classic pcap, as the bundled Linux captures are: a 24-byte file header, then records of a
16-byte header and the frame. The edits assume Ethernet + IPv4 with a 20-byte header, so TCP
starts at byte 34.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

TCP_CHECKSUM = 34 + 16  # offset of the TCP checksum in an Ethernet + IPv4 frame


def records(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The file header and every (record header, frame) of a little-endian classic pcap."""
    data = path.read_bytes()
    head, pos, out = data[:24], 24, []
    while pos < len(data):
        rec = data[pos:pos + 16]
        incl = struct.unpack_from("<I", rec, 8)[0]
        out.append((rec, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return head, out


def write_pcap(path: Path, head: bytes, recs: Iterable[tuple[bytes, bytes]]) -> Path:
    """Write a file header and records back out; returns ``path``."""
    path.write_bytes(head + b"".join(rec + frame for rec, frame in recs))
    return path


def with_duplicates(src: Path, out: Path, frames: set[int]) -> Path:
    """``src`` with each of ``frames`` (1-based) recorded twice in a row, byte for byte and
    with the same timestamp: what a SPAN or mirror port sends when it copies a packet twice."""
    head, recs = records(src)
    doubled = []
    for number, rec in enumerate(recs, start=1):
        doubled.append(rec)
        if number in frames:
            doubled.append(rec)
    return write_pcap(out, head, doubled)


def with_zero_checksums(src: Path, out: Path) -> Path:
    """``src`` with every TCP checksum set to 0, as trace sanitisers leave them."""
    head, recs = records(src)
    zeroed = [(rec, frame[:TCP_CHECKSUM] + b"\0\0" + frame[TCP_CHECKSUM + 2:])
              for rec, frame in recs]
    return write_pcap(out, head, zeroed)


def with_rewritten_addresses(src: Path, out: Path, mapping: dict[bytes, bytes]) -> Path:
    """``src`` with IPv4 addresses replaced (packed, old -> new) and the IP header checksum
    fixed but not the TCP one: what an anonymiser that forgets the pseudo-header leaves."""
    head, recs = records(src)
    rewritten = []
    for rec, frame in recs:
        ip = bytearray(frame[14:34])
        ip[12:16] = mapping.get(bytes(ip[12:16]), bytes(ip[12:16]))
        ip[16:20] = mapping.get(bytes(ip[16:20]), bytes(ip[16:20]))
        ip[10:12] = b"\0\0"
        total = sum(struct.unpack("!10H", bytes(ip)))
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        ip[10:12] = struct.pack("!H", ~total & 0xFFFF)
        rewritten.append((rec, frame[:14] + bytes(ip) + frame[34:]))
    return write_pcap(out, head, rewritten)


def with_corrupt_checksums(src: Path, out: Path, frames: set[int],
                           dropped: frozenset[int] = frozenset()) -> Path:
    """``src`` with the TCP checksum of each of ``frames`` (1-based) bit-flipped, as a link
    corrupts it, and the ``dropped`` frames left out (replies the corrupt segment never drew)."""
    head, recs = records(src)
    edited = []
    for number, (rec, frame) in enumerate(recs, start=1):
        if number in dropped:
            continue
        if number in frames:
            frame = (frame[:TCP_CHECKSUM] + bytes([frame[TCP_CHECKSUM] ^ 0x0F])
                     + frame[TCP_CHECKSUM + 1:])
        edited.append((rec, frame))
    return write_pcap(out, head, edited)


def without_frames(src: Path, out: Path, frames: set[int]) -> Path:
    """``src`` without ``frames`` (1-based): packets the capture point lost (later frames
    move up by one per frame removed)."""
    head, recs = records(src)
    return write_pcap(out, head, [rec for number, rec in enumerate(recs, start=1)
                                  if number not in frames])


def cut_after(src: Path, out: Path, frame: int) -> Path:
    """``src`` up to ``frame`` (1-based) and no further: a capture stopped right after it."""
    head, recs = records(src)
    return write_pcap(out, head, recs[:frame])


def joined(out: Path, first: Path, second: Path, *, after: float) -> Path:
    """``first``'s frames, then ``second``'s moved in time to begin ``after`` seconds after
    ``first``'s first frame: two captures of the same link recorded one after the other."""
    head, recs = records(first)
    _, later = records(second)
    shift = _micros(recs[0][0]) + round(after * 1_000_000) - _micros(later[0][0])
    assert _micros(later[0][0]) + shift > _micros(recs[-1][0]), "the two would interleave"
    moved = [(struct.pack("<II", *divmod(_micros(rec) + shift, 1_000_000)) + rec[8:], frame)
             for rec, frame in later]
    return write_pcap(out, head, [*recs, *moved])


def _micros(rec: bytes) -> int:
    sec, usec = struct.unpack_from("<II", rec)
    return sec * 1_000_000 + usec


def with_frame_moved(src: Path, out: Path, frame: int, after: int) -> Path:
    """``src`` with ``frame`` recorded after the later frame ``after`` instead, its timestamp
    unchanged: a capture point that saw the packet late (frames in between move up by one)."""
    assert after > frame
    head, recs = records(src)
    moved = recs[frame - 1]
    kept = [rec for number, rec in enumerate(recs, start=1) if number != frame]
    kept.insert(after - 1, moved)
    return write_pcap(out, head, kept)


def with_times(src: Path, out: Path, offsets: dict[int, float]) -> Path:
    """``src`` with each frame of ``offsets`` (1-based) recorded that many seconds after the
    first frame, microsecond pcap: the same packets sent on another timer's schedule."""
    head, recs = records(src)
    sec, usec = struct.unpack_from("<II", recs[0][0])
    start = sec * 1_000_000 + usec
    retimed = []
    for number, (rec, frame) in enumerate(recs, start=1):
        if number in offsets:
            at = start + round(offsets[number] * 1_000_000)
            rec = struct.pack("<II", *divmod(at, 1_000_000)) + rec[8:]
        retimed.append((rec, frame))
    return write_pcap(out, head, retimed)


def with_connection_copies(src: Path, out: Path, copies: int, *, gap: int = 1) -> Path:
    """``src`` (one IPv4 connection, its first frame from the client) recorded ``copies``
    times: copy ``k`` from client port + ``k``, with both ISNs moved by ``k * 1000000``, ``k *
    gap`` seconds later: the same hosts opening one connection after another, as a loopback
    capture of a test suite shows.

    A checksum the capture holds complete is updated for the new header (RFC 1624, eqn. 3);
    one that holds only the pseudo-header sum (checksum offload) stays as it is, as the
    pseudo-header has neither ports nor sequence numbers.
    """
    head, recs = records(src)
    client_port = struct.unpack_from("!H", recs[0][1], 34)[0]
    edited = []
    for k in range(copies):
        for rec, frame in recs:
            sec, usec, incl, orig = struct.unpack("<IIII", rec)
            edited.append((struct.pack("<IIII", sec + k * gap, usec, incl, orig),
                           _moved(frame, client_port, k)))
    return write_pcap(out, head, edited)


def _moved(frame: bytes, client_port: int, k: int) -> bytes:
    """``frame`` of copy ``k``: client port + ``k``, sequence and acknowledgment numbers
    + ``k * 1000000`` (the acknowledgment only when ACK is set)."""
    tcp = bytearray(frame[34:54])
    sport, dport, seq, ack = struct.unpack_from("!HHII", tcp, 0)
    shift = k * 1_000_000
    struct.pack_into("!HHI", tcp, 0, sport + k if sport == client_port else sport,
                     dport + k if dport == client_port else dport, (seq + shift) % 2**32)
    if tcp[13] & 0x10:
        struct.pack_into("!I", tcp, 8, (ack + shift) % 2**32)
    return _with_tcp_header(frame, tcp)


def _with_tcp_header(frame: bytes, tcp: bytearray) -> bytes:
    """``frame`` (Ethernet + IPv4) with its first 20 TCP header bytes replaced by ``tcp``, the
    checksum updated for the change (RFC 1624) when it was right before."""
    old = frame[34:54]
    if _complete_checksum(frame):
        checksum = struct.unpack_from("!H", tcp, 16)[0]
        total = ~checksum & 0xFFFF
        for before, after in zip(struct.unpack("!8H", old[:16]), struct.unpack("!8H", tcp[:16]),
                                 strict=True):
            total += (~before & 0xFFFF) + after
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        struct.pack_into("!H", tcp, 16, ~total & 0xFFFF)
    return frame[:34] + bytes(tcp) + frame[54:]


def with_seq_shift(src: Path, out: Path, frame: int, shift: int) -> Path:
    """``src`` with ``shift`` added to the TCP sequence number of ``frame`` (1-based)."""
    head, recs = records(src)
    edited = []
    for number, (rec, data) in enumerate(recs, start=1):
        if number == frame:
            tcp = bytearray(data[34:54])
            struct.pack_into("!I", tcp, 4, (struct.unpack_from("!I", tcp, 4)[0] + shift) % 2**32)
            data = _with_tcp_header(data, tcp)
        edited.append((rec, data))
    return write_pcap(out, head, edited)


def _complete_checksum(frame: bytes) -> bool:
    """Does the TCP checksum of this Ethernet + IPv4 frame (fully captured) check out?"""
    segment = frame[34:14 + struct.unpack_from("!H", frame, 16)[0]]
    pseudo = frame[26:34] + struct.pack("!HH", 6, len(segment))
    data = pseudo + segment + b"\0" * (len(segment) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def with_ip_fields(src: Path, out: Path, frame: int, *, ttl: int | None = None,
                   ip_id: int | None = None) -> Path:
    """``src`` with the TTL and/or IP ID of ``frame`` (Ethernet + IPv4) replaced and its IP
    header checksum recomputed; the TCP checksum does not cover either field."""
    head, recs = records(src)
    edited = []
    for number, (rec, data) in enumerate(recs, start=1):
        if number == frame:
            ip = bytearray(data[14:34])
            if ttl is not None:
                ip[8] = ttl
            if ip_id is not None:
                struct.pack_into("!H", ip, 4, ip_id)
            ip[10:12] = b"\0\0"
            total = sum(struct.unpack("!10H", bytes(ip)))
            while total > 0xFFFF:
                total = (total & 0xFFFF) + (total >> 16)
            struct.pack_into("!H", ip, 10, ~total & 0xFFFF)
            data = data[:14] + bytes(ip) + data[34:]
        edited.append((rec, data))
    return write_pcap(out, head, edited)


def as_raw_ip(src: Path, out: Path) -> Path:
    """``src`` (Ethernet) as a capture without link headers (LINKTYPE_RAW, 101): each frame's
    14-byte Ethernet header dropped, what a capture on a tunnel or ``-i any`` over one
    leaves."""
    head, recs = records(src)
    raw = head[:20] + struct.pack("<I", 101)
    stripped = [(rec[:8] + struct.pack("<II", *(n - 14 for n in struct.unpack_from("<II", rec, 8))),
                 frame[14:]) for rec, frame in recs]
    return write_pcap(out, raw, stripped)


def with_source_mac(src: Path, out: Path, frame: int, mac: bytes) -> Path:
    """``src`` (Ethernet) with ``frame``'s (1-based) source MAC replaced by ``mac``; no
    checksum covers it."""
    head, recs = records(src)
    return write_pcap(out, head, [(rec, data[:6] + mac + data[12:] if number == frame else data)
                                  for number, (rec, data) in enumerate(recs, start=1)])


def as_linux_sll(src: Path, out: Path) -> Path:
    """``src`` (Ethernet) as ``tcpdump -i any`` records it (LINKTYPE_LINUX_SLL, 113): each
    Ethernet header replaced by a cooked one holding the source MAC as the 6-byte "link-layer
    address of the sender" and the EtherType (packet type 0, ARPHRD_ETHER)."""
    head, recs = records(src)
    cooked = head[:20] + struct.pack("<I", 113)
    rebuilt = [(rec[:8] + struct.pack("<II", *(n + 2 for n in struct.unpack_from("<II", rec, 8))),
                struct.pack("!HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + frame[12:14] + frame[14:])
               for rec, frame in recs]
    return write_pcap(out, cooked, rebuilt)
