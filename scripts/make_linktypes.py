"""Build ``captures/linktypes/``: real Linux captures re-encapsulated in other link layers.

Each capture is a real one from ``captures/linux/`` (Ethernet) whose frames keep their IP
packets, timestamps and order byte for byte; only the link header in front of each packet
changes, to the one a PPP, Cisco HDLC, Frame Relay, IP over InfiniBand or ARCNET interface
would have captured. Frame N is the same packet as frame N of the original, so tcpcheck must
report exactly the original's connections and findings, and ``tshark`` must decode the same TCP
frames (``tests/test_linktypes.py`` checks both).

The link headers, by LINKTYPE_ number (https://www.tcpdump.org/linktypes.html):

- ``ppp`` (9): address 0xFF, control 0x03, protocol 0x0021 / 0x0057 (RFC 1661, RFC 1662).
- ``ppp-vj`` (9): protocol and address/control compressed (one byte, RFC 1661 §6.5-6.6), every
  IPv4 packet sent as Van Jacobson "uncompressed TCP" (protocol 0x2F, the IP protocol field
  replaced by connection number 0, RFC 1144 §3.2), as a compressor does for a packet it does
  not compress.
- ``pppoe`` (51): a PPPoE session header (RFC 2516 §5.4), then PPP protocol.
- ``chdlc`` (104): Cisco HDLC, address 0x0F, control 0, EtherType (RFC 1547 §4.3.1).
- ``frelay`` (107): Q.922 address of DLCI 100, UI control 0x03, NLPID 0xCC / 0x8E (RFC 2427).
- ``ipoib`` (242): 20-byte source and destination hardware addresses, EtherType, reserved.
- ``arcnet`` (129, Linux): source, destination, 2-byte offset, system code 212 / 0xC4, split
  flag 0, sequence number (RFC 1201, and RFC 2497 for IPv6).
- ``arcnet-bsd`` (7): as ``arcnet`` without the offset.

Usage: ``python scripts/make_linktypes.py [--out DIR]`` (``make crafted`` runs it).
"""

from __future__ import annotations

import argparse
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    "ipv4": ROOT / "captures" / "linux" / "reply-paws.pcap",
    "ipv6": ROOT / "captures" / "linux" / "close-client-first-ipv6.pcap",
}
DEFAULT_OUT = ROOT / "captures" / "linktypes"


def _v6(ip: bytes) -> bool:
    return ip[0] >> 4 == 6


def _ethertype(ip: bytes) -> bytes:
    return b"\x86\xdd" if _v6(ip) else b"\x08\x00"


def _ppp(ip: bytes) -> bytes:
    return b"\xff\x03" + (b"\x00\x57" if _v6(ip) else b"\x00\x21") + ip


def _ppp_vj(ip: bytes) -> bytes:
    return b"\x2f" + ip[:9] + b"\x00" + ip[10:]


def _pppoe(ip: bytes) -> bytes:
    body = (b"\x00\x57" if _v6(ip) else b"\x00\x21") + ip
    return struct.pack("!BBHH", 0x11, 0, 0x1234, len(body)) + body


def _chdlc(ip: bytes) -> bytes:
    return b"\x0f\x00" + _ethertype(ip) + ip


def _frelay(ip: bytes) -> bytes:
    return b"\x18\x41\x03" + (b"\x8e" if _v6(ip) else b"\xcc") + ip


def _ipoib(ip: bytes) -> bytes:
    source = bytes.fromhex("00000548fe800000000000000010e000664ab450")
    destination = bytes.fromhex("00000550fe800000000000000010e000664ab451")
    return source + destination + _ethertype(ip) + b"\0\0" + ip


def _arcnet_code(ip: bytes) -> bytes:
    return (b"\xc4" if _v6(ip) else b"\xd4") + b"\x00\x00\x01"


def _arcnet(ip: bytes) -> bytes:
    return b"\x01\x02\x00\x00" + _arcnet_code(ip) + ip


def _arcnet_bsd(ip: bytes) -> bytes:
    return b"\x01\x02" + _arcnet_code(ip) + ip


# Name -> (LINKTYPE_ number, link header builder, the sources it is made from).
LINKS: dict[str, tuple[int, Callable[[bytes], bytes], tuple[str, ...]]] = {
    "ppp": (9, _ppp, ("ipv4", "ipv6")),
    "ppp-vj": (9, _ppp_vj, ("ipv4",)),
    "pppoe": (51, _pppoe, ("ipv4",)),
    "chdlc": (104, _chdlc, ("ipv4", "ipv6")),
    "frelay": (107, _frelay, ("ipv4", "ipv6")),
    "ipoib": (242, _ipoib, ("ipv4", "ipv6")),
    "arcnet": (129, _arcnet, ("ipv4", "ipv6")),
    "arcnet-bsd": (7, _arcnet_bsd, ("ipv4",)),
}


def _records(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """(16-byte record header, Ethernet frame) of every record of a little-endian
    microsecond pcap of Ethernet frames (what tcpdump wrote in captures/linux)."""
    data = path.read_bytes()
    magic, linktype = data[:4], struct.unpack_from("<I", data, 20)[0]
    if magic != b"\xd4\xc3\xb2\xa1" or linktype != 1:
        raise SystemExit(f"{path}: not a little-endian microsecond Ethernet pcap")
    pos = 24
    while pos < len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        yield data[pos:pos + 16], data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen


def reencapsulated(source: Path, linktype: int, build: Callable[[bytes], bytes]) -> bytes:
    """``source`` with every Ethernet header replaced by ``build``'s link header."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for header, frame in _records(source):
        ts_sec, ts_usec, caplen, length = struct.unpack("<IIII", header)
        if frame[12:14] not in (b"\x08\x00", b"\x86\xdd") or caplen != length:
            raise SystemExit(f"{source}: a frame that is not whole IP over Ethernet")
        packet = build(frame[14:])
        out.append(struct.pack("<IIII", ts_sec, ts_usec, len(packet), len(packet)) + packet)
    return b"".join(out)


def build_all() -> dict[str, bytes]:
    """File name -> contents of every capture this script makes."""
    return {f"{name}-{version}.pcap": reencapsulated(SOURCES[version], linktype, build)
            for name, (linktype, build, versions) in LINKS.items() for version in versions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in build_all().items():
        (args.out / name).write_bytes(data)
        print(args.out / name)


if __name__ == "__main__":
    main()
