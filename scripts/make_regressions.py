"""Build the regression captures in ``tests/regressions/`` from the real Linux captures.

Each capture here is a real one from ``captures/linux/`` with a few bytes of its TCP options
changed, or rewritten as pcapng with a changed header: the bytes that once crashed tcpcheck. The
TCP checksum is recomputed after an option edit, so the model takes the segment as sent rather
than dropping it as corrupt (RFC 9293 §3.1) -- the crash was in what a *valid* segment carrying
such options does. ``tests/regressions/README.md``
says what each file holds and what crashed; ``tests/test_regressions.py`` checks that this script
still writes the committed files byte for byte and runs them through every report.

Captures the fuzzer found (``make fuzz``) are committed as found, not made here.

Usage: ``python scripts/make_regressions.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "captures" / "linux"
DEFAULT_OUT = ROOT / "tests" / "regressions"

_PCAP_HEADER = 24
_RECORD = struct.Struct("<IIII")  # ts_sec, ts_usec, incl_len, orig_len (little-endian pcap)
_ETHERNET = 14
_WSCALE, _SACK_PERMITTED = 3, 4


@dataclass(frozen=True, slots=True)
class OptionEdit:
    """Set one byte of one TCP option in one frame: ``at`` counts from the option's kind byte
    (1 is its length byte, 2 its first value byte)."""

    frame: int
    """1-based frame number in the source capture."""
    kind: int
    at: int
    value: int


@dataclass(frozen=True, slots=True)
class Regression:
    name: str
    source: str
    """A file name in ``captures/linux/``."""
    edits: tuple[OptionEdit, ...] = ()
    tsresol: int | None = None
    """Rewrite the capture as pcapng whose interface says this ``if_tsresol``, its timestamps
    still counted in microseconds (as the source's are)."""


REGRESSIONS = (
    # RFC 7323 §2.3 caps the shift at 14; 15 is the first value past it.
    Regression("wscale-15", "close-client-first.pcap", (OptionEdit(1, _WSCALE, 2, 15),)),
    # The largest shift a byte can carry, on both SYNs: the timeline overflowed its 64-bit
    # window column (65535 << 255).
    Regression("wscale-255", "close-client-first.pcap",
               (OptionEdit(1, _WSCALE, 2, 255), OptionEdit(2, _WSCALE, 2, 255))),
    # Frame 5 is the server's second retransmitted SYN-ACK; a SACK-permitted length of 40 runs 20
    # bytes past the end of its 20-byte option area. The ACK in frame 6 then crashed the model.
    Regression("synack-sack-past-header", "synack-loss.pcap",
               (OptionEdit(5, _SACK_PERMITTED, 1, 40),)),
    # Microsecond counts read as seconds: the first timestamp is 1.7e24 ns, past the 64-bit
    # nanoseconds the timeline kept its times in (an OverflowError in html and show).
    Regression("pcapng-tsresol-seconds", "close-client-first.pcap", tsresol=0),
)


def build(regression: Regression, sources: Path = SOURCES) -> bytes:
    """The regression capture's bytes: its source with the edits applied."""
    data = bytearray((sources / regression.source).read_bytes())
    offsets = _record_offsets(data)
    for edit in regression.edits:
        _edit_option(data, offsets[edit.frame - 1], edit)
    if regression.tsresol is not None:
        return _pcapng(data, offsets, regression.tsresol)
    return bytes(data)


def _pcapng(data: bytearray, offsets: list[int], tsresol: int) -> bytes:
    """The records as a little-endian pcapng: section header, one Ethernet interface with
    ``if_tsresol`` = ``tsresol``, an enhanced packet block per record with the pcap's
    timestamp in microseconds."""
    linktype = struct.unpack_from("<I", data, 20)[0]
    option = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    blocks = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
              _block(1, struct.pack("<HHI", linktype, 0, 0) + option)]
    for start in offsets:
        sec, usec, caplen, wirelen = _RECORD.unpack_from(data, start - _RECORD.size)
        units = sec * 1_000_000 + usec
        blocks.append(_block(6, struct.pack("<IIIII", 0, units >> 32, units & 0xFFFFFFFF,
                                            caplen, wirelen) + data[start:start + caplen]))
    return b"".join(blocks)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _record_offsets(data: bytearray) -> list[int]:
    """Where each record's frame starts (the sources are little-endian classic pcap)."""
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "a little-endian microsecond pcap"
    offsets, pos = [], _PCAP_HEADER
    while pos < len(data):
        length = _RECORD.unpack_from(data, pos)[2]
        offsets.append(pos + _RECORD.size)
        pos += _RECORD.size + length
    return offsets


def _edit_option(data: bytearray, frame: int, edit: OptionEdit) -> None:
    """Apply ``edit`` to the Ethernet/IPv4/TCP frame at ``frame``; recompute the checksum."""
    ip = frame + _ETHERNET
    assert data[ip] >> 4 == 4, "an IPv4 frame"
    tcp = ip + (data[ip] & 0x0F) * 4
    tcp_len = struct.unpack_from("!H", data, ip + 2)[0] - (tcp - ip)
    options_end = tcp + (data[tcp + 12] >> 4) * 4
    pos = tcp + 20
    while data[pos] != edit.kind:
        pos += 1 if data[pos] == 1 else data[pos + 1]
        assert pos < options_end, f"frame {edit.frame} has no option {edit.kind}"
    data[pos + edit.at] = edit.value
    struct.pack_into("!H", data, tcp + 16, 0)
    pseudo = bytes(data[ip + 12:ip + 20]) + struct.pack("!HH", 6, tcp_len)
    struct.pack_into("!H", data, tcp + 16, _checksum(pseudo + bytes(data[tcp:tcp + tcp_len])))


def _checksum(words: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``words``."""
    if len(words) % 2:
        words += b"\0"
    total = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for regression in REGRESSIONS:
        suffix = ".pcap" if regression.tsresol is None else ".pcapng"
        path = args.out / f"{regression.name}{suffix}"
        path.write_bytes(build(regression))
        print(path)


if __name__ == "__main__":
    main()
