"""Decoding records into Segments: every link type, IPv4/IPv6, and every way a frame is skipped."""

from __future__ import annotations

import random
import struct

import dpkt
import formats as F
import pytest

from tcpcheck.decode import SUPPORTED_LINKTYPES, DecodeCounters, Decoder, linktype_name
from tcpcheck.segment import ACK, PSH, SYN, Segment

PAYLOAD = b"GET / HTTP/1.1\r\n\r\n"
TS = 1_700_000_000_123_456_789


def decode_one(linktype: int, frame: bytes) -> tuple[Segment | None, DecodeCounters]:
    decoder = Decoder()
    segments = list(decoder.segments([(7, TS, linktype, frame)]))
    assert len(segments) <= 1
    assert decoder.counters.packets == 1
    return (segments[0] if segments else None), decoder.counters


def skipped_as(linktype: int, frame: bytes) -> dict[str, int]:
    seg, counters = decode_one(linktype, frame)
    assert seg is None
    assert counters.tcp == 0
    return counters.skipped()


def data_segment(payload: bytes = PAYLOAD, options: bytes = F.TS_OPTIONS, **kw) -> bytes:
    return F.tcp(40000, 443, 0xFFFFFF00, 12345, PSH | ACK, 501, options, payload, **kw)


def expected(src: str, dst: str, ip: bytes, payload: bytes = PAYLOAD,
             mac: bytes = F.MAC_B) -> Segment:
    """The segment ``data_segment()`` inside the IP packet ``ip`` decodes to: its header is
    the IP packet up to the payload, IP options and IPv6 extension headers included; ``mac``
    the frame's sender (``F.ethernet``'s source address)."""
    return Segment(7, TS, F.addr(src), 40000, F.addr(dst), 443, 0xFFFFFF00, 12345, PSH | ACK,
                   501, len(payload), F.TS_OPTIONS, payload, 0, ip[:len(ip) - len(payload)],
                   False, mac)


# --- every link type, both IP versions --------------------------------------------------------

@pytest.mark.parametrize("link", sorted(F.LINKS))
@pytest.mark.parametrize("version", [4, 6])
def test_every_link_type_decodes_to_the_same_segment(link: str, version: int) -> None:
    linktype, build = F.LINKS[link]
    ip = F.ipv4(data_segment()) if version == 4 else F.ipv6(data_segment())
    seg, counters = decode_one(linktype, build(ip))
    src, dst = (F.SRC4, F.DST4) if version == 4 else (F.SRC6, F.DST6)
    assert seg == expected(src, dst, ip, mac=SOURCE_MAC.get(linktype, b""))
    assert counters.tcp == 1 and counters.skipped() == {}


# The frame builders' sender: Ethernet's source is its second address, a cooked header's the
# one address it has. Link types with no 6-byte sender address leave ``Segment.mac`` empty.
SOURCE_MAC = {1: F.MAC_B, 113: F.MAC_A, 276: F.MAC_A}


@pytest.mark.parametrize(("linktype", "header"), [
    (113, struct.pack("!HHH8sH", 0, 1, 0, b"", 0x0800)),  # ARPHRD_NONE (tun): no address
    (276, struct.pack("!HHIHBB8sx", 0x0800, 0, 2, 65534, 0, 0, b"")[:-1]),
    (113, struct.pack("!HHH8sH", 0, 32, 8, b"ib-addr!", 0x0800)),  # 8 of IPoIB's 20 bytes
])
def test_a_cooked_header_without_a_six_byte_sender_gives_no_mac(linktype: int,
                                                                header: bytes) -> None:
    seg, _ = decode_one(linktype, header + F.ipv4(data_segment()))
    assert seg is not None and seg.mac == b""


def test_every_supported_link_type_has_a_test_builder() -> None:
    assert {lt for lt, _ in F.LINKS.values()} | {228, 229} == set(SUPPORTED_LINKTYPES)


@pytest.mark.parametrize(("linktype", "version"), [(228, 4), (229, 6)])
def test_linktype_ipv4_and_ipv6_are_raw_ip(linktype: int, version: int) -> None:
    ip = F.ipv4(data_segment()) if version == 4 else F.ipv6(data_segment())
    seg, _ = decode_one(linktype, ip)
    assert seg is not None and len(seg.src) == (4 if version == 4 else 16)


@pytest.mark.parametrize("af", [2, 10, 23, 24, 28, 30])
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_null_loopback_accepts_every_af_value_in_either_byte_order(af: int,
                                                                    byteorder: str) -> None:
    ip = F.ipv4(data_segment()) if af == 2 else F.ipv6(data_segment())
    for linktype in (0, 108):
        seg, _ = decode_one(linktype, F.null(ip, byteorder, af))
        assert seg is not None


def test_segment_fields_are_plain_values() -> None:
    seg, _ = decode_one(1, F.ethernet(F.ipv4(data_segment())))
    assert type(seg) is Segment
    assert isinstance(seg.src, bytes) and isinstance(seg.options, bytes)
    assert isinstance(seg.payload, bytes) and isinstance(seg.ts, int)


# --- the fast path and the general path agree ---------------------------------------------------

@pytest.mark.parametrize("options", [b"", F.TS_OPTIONS, F.SYN_OPTIONS, b"\x01" * 40])
@pytest.mark.parametrize("payload", [b"", b"x", b"y" * 1448])
def test_fast_path_agrees_with_the_general_path(options: bytes, payload: bytes) -> None:
    ip = F.ipv4(data_segment(payload, options))
    fast, _ = decode_one(1, F.ethernet(ip))  # Ethernet + IPv4 IHL 5: the one-unpack path
    # The same packet through the general path: a VLAN tag is not read by the fast path.
    slow, _ = decode_one(1, F.ethernet(ip, vlans=[0x8100]))
    assert fast == slow
    assert fast is not None and fast.options == options and fast.payload == payload


def test_ipv4_options_are_skipped_via_ihl() -> None:
    rr = bytes([7, 7, 4, 0, 0, 0, 0])  # record route with room for one address, padded by ipv4()
    ip = F.ipv4(data_segment(), options=rr)
    seg, _ = decode_one(1, F.ethernet(ip))
    assert seg == expected(F.SRC4, F.DST4, ip)


def test_ethernet_padding_is_not_payload() -> None:
    # A pure ACK is 54 bytes + 12 of options; short frames get zero padding up to 60 bytes, and
    # a bare 40-byte IPv4 ACK certainly does.
    bare = F.ethernet(F.ipv4(F.tcp(flags=ACK)), pad_to=60)
    seg, _ = decode_one(1, bare)
    assert seg is not None and seg.plen == 0 and seg.payload == b""
    seg6, _ = decode_one(1, F.ethernet(F.ipv6(F.tcp(flags=ACK)), pad_to=100))
    assert seg6 is not None and seg6.plen == 0 and seg6.payload == b""


def test_tcp_options_are_kept_raw() -> None:
    syn = F.tcp(flags=SYN, options=F.SYN_OPTIONS)
    seg, _ = decode_one(1, F.ethernet(F.ipv4(syn)))
    assert seg is not None and seg.options == F.SYN_OPTIONS and seg.flags == SYN


def test_all_eight_flag_bits_and_full_width_fields() -> None:
    seg_bytes = F.tcp(65535, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0xFF, 65535)
    for linktype, frame in ((1, F.ethernet(F.ipv4(seg_bytes))), (101, F.ipv6(seg_bytes))):
        seg, _ = decode_one(linktype, frame)
        assert seg is not None
        assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.win) == (
            65535, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0xFF, 65535)


@pytest.mark.parametrize("seed", range(5))
def test_decoder_agrees_with_dpkt(seed: int) -> None:
    """dpkt as an independent parser for packets built by dpkt itself."""
    rng = random.Random(seed)
    records, frames = [], []
    for i in range(200):
        opts = rng.choice([b"", F.TS_OPTIONS, F.SYN_OPTIONS])
        # dpkt does not derive the data offset from opts: set it, or options become payload.
        tcp = dpkt.tcp.TCP(sport=rng.randrange(65536), dport=rng.randrange(65536),
                           seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32),
                           flags=rng.randrange(256), win=rng.randrange(65536),
                           off=5 + len(opts) // 4, opts=opts,
                           data=bytes(rng.randrange(256) for _ in range(rng.randrange(60))))
        if rng.random() < 0.5:
            ip = dpkt.ip.IP(src=F.addr(F.SRC4), dst=F.addr(F.DST4), p=6, data=tcp)
            eth_type = dpkt.ethernet.ETH_TYPE_IP
        else:
            ip = dpkt.ip6.IP6(src=F.addr(F.SRC6), dst=F.addr(F.DST6), nxt=6, hlim=64, data=tcp,
                              plen=len(bytes(tcp)))
            eth_type = dpkt.ethernet.ETH_TYPE_IP6
        frame = bytes(dpkt.ethernet.Ethernet(src=F.MAC_A, dst=F.MAC_B, type=eth_type, data=ip))
        records.append((i + 1, i, 1, frame))
        frames.append(frame)
    segments = list(Decoder().segments(records))
    assert len(segments) == len(frames)
    for seg, frame in zip(segments, frames, strict=True):
        tcp = dpkt.ethernet.Ethernet(frame).data.data
        assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.win) == (
            tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, tcp.win)
        assert (seg.options, seg.payload, seg.plen) == (tcp.opts, tcp.data, len(tcp.data))
    assert any(seg.options for seg in segments) and any(seg.payload for seg in segments)


# --- IPv6 extension headers ---------------------------------------------------------------------

@pytest.mark.parametrize("chain", [
    [F.hop_by_hop()],
    [F.routing()],
    [F.destination_options()],
    [F.fragment(0, False)],  # an atomic fragment: not a fragment at all
    [F.auth_header()],
    [F.hop_by_hop(), F.destination_options(), F.routing(), F.fragment(), F.auth_header(),
     F.destination_options(b"\x01" + bytes([12]) + b"\0" * 12)],
], ids=["hop-by-hop", "routing", "dest-opts", "atomic-fragment", "ah", "all"])
def test_ipv6_extension_headers_are_skipped(chain: list[tuple[int, bytes]]) -> None:
    ip = F.ipv6(data_segment(), ext=chain)
    seg, _ = decode_one(1, F.ethernet(ip))
    assert seg == expected(F.SRC6, F.DST6, ip)


@pytest.mark.parametrize(("offset", "more"), [(0, True), (185, True), (185, False)])
def test_ipv6_fragment_is_counted_not_decoded(offset: int, more: bool) -> None:
    frame = F.ethernet(F.ipv6(data_segment(), ext=[F.fragment(offset, more)]))
    assert skipped_as(1, frame) == {"ip-fragment": 1}


def test_ipv6_fragment_of_udp_is_non_tcp() -> None:
    frame = F.ipv6(b"\0" * 16, next_header=17, ext=[F.fragment(0, True)])
    assert skipped_as(101, frame) == {"non-tcp": 1}


@pytest.mark.parametrize("next_header", [50, 59, 17, 58], ids=["esp", "no-next", "udp", "icmp6"])
def test_ipv6_non_tcp(next_header: int) -> None:
    assert skipped_as(101, F.ipv6(b"\0" * 24, next_header=next_header)) == {"non-tcp": 1}


def test_ipv6_extension_headers_longer_than_the_payload_are_malformed() -> None:
    frame = F.ipv6(data_segment(), ext=[F.hop_by_hop()], payload_length=4)
    assert skipped_as(101, frame) == {"malformed": 1}


def test_ipv6_extension_header_cut_by_snaplen_is_truncated() -> None:
    frame = F.ipv6(data_segment(), ext=[F.hop_by_hop(), F.routing()])
    assert skipped_as(101, frame[:41]) == {"truncated": 1}


# --- IPv4 fragments, lengths, truncation, malformed --------------------------------------------

@pytest.mark.parametrize("frag", [0x2000, 0x0010, 0x2010, 0x0001], ids=[
    "first-fragment-MF", "last-fragment-offset", "middle-fragment", "offset-1"])
def test_ipv4_fragments_are_counted_not_decoded(frag: int) -> None:
    frame = F.ethernet(F.ipv4(data_segment(), frag=frag))
    assert skipped_as(1, frame) == {"ip-fragment": 1}


def test_ipv4_fragment_of_udp_is_non_tcp() -> None:
    assert skipped_as(101, F.ipv4(b"\0" * 16, proto=17, frag=0x2000)) == {"non-tcp": 1}


def test_df_flag_alone_is_not_a_fragment() -> None:
    seg, _ = decode_one(1, F.ethernet(F.ipv4(data_segment(), frag=0x4000)))
    assert seg is not None


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("link", ["ethernet", "sll", "raw"])
def test_snaplen_truncated_payload_keeps_plen_from_ip_header(version: int, link: str) -> None:
    payload = b"z" * 1000
    ip = (F.ipv4 if version == 4 else F.ipv6)(data_segment(payload))
    linktype, build = F.LINKS[link]
    frame = build(ip)
    cut = frame[:len(frame) - 900]  # 100 payload bytes captured of 1000
    seg, counters = decode_one(linktype, cut)
    assert seg is not None, counters
    assert seg.plen == 1000
    assert seg.payload == payload[:100]


@pytest.mark.parametrize("version", [4, 6])
def test_tcp_fixed_header_not_fully_captured_is_truncated(version: int) -> None:
    ip = (F.ipv4 if version == 4 else F.ipv6)(data_segment())
    fixed_end = (20 if version == 4 else 40) + 20
    for cut in (fixed_end - 1, fixed_end - 20, 10):
        assert skipped_as(101, ip[:cut]) == {"truncated": 1}, cut


@pytest.mark.parametrize("version", [4, 6])
def test_options_cut_by_snaplen_keep_the_segment_with_the_captured_options(version: int) -> None:
    syn = F.tcp(flags=SYN, options=F.SYN_OPTIONS)
    ip = (F.ipv4 if version == 4 else F.ipv6)(syn)
    fixed_end = (20 if version == 4 else 40) + 20
    seg, counters = decode_one(101, ip[:fixed_end + 6])
    assert seg is not None and seg.flags == SYN
    assert seg.options == F.SYN_OPTIONS[:6] and seg.plen == 0
    assert counters.skipped() == {}


@pytest.mark.parametrize(("frame", "reason"), [
    (F.ethernet(b"")[:10], "truncated"),
    (F.ethernet(F.ipv4(data_segment()), vlans=[0x8100])[:15], "truncated"),
    (F.ethernet(F.ipv4(data_segment()))[:30], "truncated"),
    (F.ethernet(F.ipv4(data_segment(), ihl=4)), "malformed"),
    (F.ethernet(F.ipv4(data_segment(), total_length=30)), "malformed"),
    (F.ethernet(F.ipv4(data_segment(), total_length=45)), "malformed"),  # < IP + TCP headers
    (F.ethernet(F.ipv4(data_segment(data_offset=4))), "malformed"),
    (F.ethernet(F.ipv6(data_segment(data_offset=2))), "malformed"),
    (F.ethernet(F.ipv6(data_segment(), payload_length=10)), "malformed"),
    (F.ethernet(F.ipv6(data_segment())[:20], ethertype=0x0800), "malformed"),  # version 6
], ids=["short-ethernet", "short-vlan", "short-ip", "ihl-4", "total-below-ihl",
        "total-below-tcp", "data-offset-4", "ipv6-data-offset-2", "ipv6-payload-short",
        "version-mismatch"])
def test_impossible_or_cut_headers_are_counted(frame: bytes, reason: str) -> None:
    assert skipped_as(1, frame) == {reason: 1}


def test_raw_ip_with_a_bad_version_is_malformed() -> None:
    assert skipped_as(101, b"\x50" + b"\0" * 39) == {"malformed": 1}


def test_zero_ipv4_total_length_takes_the_frame_length() -> None:
    # TSO/GRO super-packets are captured before segmentation with total length 0.
    ip = F.ipv4(data_segment(), total_length=0)
    seg, _ = decode_one(1, F.ethernet(ip))
    assert seg == expected(F.SRC4, F.DST4, ip)


# --- link layers below IP (tcpcheck.linktypes) -------------------------------------------------

def test_van_jacobson_uncompressed_tcp_decodes_with_its_protocol_field_put_back() -> None:
    # RFC 1144 §3.2: an UNCOMPRESSED_TCP packet is the whole TCP/IP header with the IP
    # protocol field replaced by the connection number (here 5).
    ip = F.ipv4(data_segment())
    slot = ip[:9] + b"\x05" + ip[10:]
    seg, counters = decode_one(9, b"\xff\x03\x00\x2f" + slot)
    assert seg == expected(F.SRC4, F.DST4, ip, mac=b"")
    assert counters.skipped() == {}


@pytest.mark.parametrize("frame", [b"\xff\x03\x00\x2d" + bytes.fromhex("0b1c05a0") * 3,
                                   b"\x2d\x0b\x1c\x05\xa0\x40"])
def test_van_jacobson_compressed_tcp_is_counted_as_such(frame: bytes) -> None:
    assert skipped_as(9, frame) == {"vj-compressed": 1}


def test_arcnet_rfc1051_frames_have_no_fragmentation_header() -> None:
    ip = F.ipv4(data_segment())
    for linktype, linux in ((129, True), (7, False)):
        seg, _ = decode_one(linktype, F.arcnet(ip, linux=linux, rfc1051=True))
        assert seg == expected(F.SRC4, F.DST4, ip, mac=b"")


def test_arcnet_bsd_exception_frame_repeats_the_header_and_later_fragments_are_skipped() -> None:
    ip = F.ipv4(data_segment())
    # RFC 1201 §2.1: split flag 0xFF, then system code, the real split flag, sequence number.
    exception = b"\xbe\x50\xd4\xff\xff\xff\xd4\x00\x12\x34" + ip
    seg, _ = decode_one(7, exception)
    assert seg == expected(F.SRC4, F.DST4, ip, mac=b"")
    later_piece = b"\xbe\x50\xd4\x02\x12\x34" + b"\0" * 40  # flag 2: second fragment
    assert skipped_as(7, later_piece) == {"ip-fragment": 1}


@pytest.mark.parametrize(("linktype", "frame"), [
    (104, bytes.fromhex("8f008035") + b"\0" * 18),  # Cisco SLARP keepalive
    (9, bytes.fromhex("ff03c021") + b"\x09\x01\x00\x08" + b"\0" * 4),  # LCP echo request
    (9, bytes.fromhex("ff030281") + bytes.fromhex("00010140") + b"\0" * 20),  # MPLS, no IP
    (107, bytes.fromhex("18410381") + b"\0" * 20),  # NLPID 0x81: Q.933 signalling
    (107, bytes.fromhex("18410380000000c0") + b"\0" * 20),  # SNAP with another OUI
    (242, b"\0" * 40 + bytes.fromhex("08060000") + b"\0" * 28),  # IPoIB ARP
    (129, bytes.fromhex("be50ab08f1") + b"\0" * 28),  # ARCNET RFC 1051 ARP
    (113, F.sll(b"\x42\x42\x03" + b"\0" * 40, protocol=4)),  # LLC spanning tree
])
def test_what_links_carry_besides_ip_is_non_ip(linktype: int, frame: bytes) -> None:
    assert skipped_as(linktype, frame) == {"non-ip": 1}


@pytest.mark.parametrize("link", ["ppp", "pppoe", "chdlc", "frelay", "frelay-snap", "ipoib",
                                  "arcnet-linux", "arcnet-bsd", "ethernet-mpls",
                                  "ethernet-llc-snap", "sll-llc-snap"])
def test_link_headers_cut_by_the_snaplen_are_truncated(link: str) -> None:
    linktype, build = F.LINKS[link]
    frame = build(F.ipv4(data_segment()))
    header = len(frame) - len(F.ipv4(data_segment()))
    for cut in range(header):
        reason = skipped_as(linktype, frame[:cut])
        assert reason in ({"truncated": 1}, {"non-ip": 1}), (cut, reason)
    assert skipped_as(linktype, frame[:header - 1]) == {"truncated": 1}


# --- not IP, not TCP ------------------------------------------------------------------------------

def test_arp_and_other_ethertypes_are_non_ip() -> None:
    arp = F.ethernet(b"\0\x01\x08\x00\x06\x04\0\x01" + b"\0" * 20, ethertype=0x0806)
    lldp = F.ethernet(b"\0" * 30, ethertype=0x88CC, vlans=[0x8100])
    llc = F.ethernet(b"\xaa\xaa\x03" + b"\0" * 40, ethertype=46)  # 802.3 length field
    for frame in (arp, lldp, llc):
        assert skipped_as(1, frame) == {"non-ip": 1}
    assert skipped_as(113, F.sll(b"\0" * 28, protocol=0x0806)) == {"non-ip": 1}
    assert skipped_as(276, F.sll2(b"\0" * 28, protocol=0x0806)) == {"non-ip": 1}
    assert skipped_as(0, F.null(b"\0" * 28, af=7)) == {"non-ip": 1}


def test_unknown_link_type_is_non_ip() -> None:
    # pcapng files may mix in interfaces we cannot decode: their records are counted, not fatal.
    assert skipped_as(147, F.ethernet(F.ipv4(data_segment()))) == {"non-ip": 1}


@pytest.mark.parametrize("proto", [1, 17, 47, 50, 41])
def test_ipv4_non_tcp(proto: int) -> None:
    assert skipped_as(1, F.ethernet(F.ipv4(b"\0" * 20, proto=proto))) == {"non-tcp": 1}


# --- counters -----------------------------------------------------------------------------------

def test_counters_account_for_every_record_and_skipped_names_the_reasons() -> None:
    good = F.ethernet(F.ipv4(data_segment()))
    frames = [good, good, F.ethernet(b"\0" * 28, ethertype=0x0806),
              F.ethernet(F.ipv4(b"\0" * 8, proto=17)), F.ethernet(F.ipv4(data_segment(),
                                                                           frag=0x2000)),
              good[:40], F.ethernet(F.ipv4(data_segment(data_offset=3)))]
    decoder = Decoder()
    segments = list(decoder.segments((i + 1, i, 1, f) for i, f in enumerate(frames)))
    assert [s.frame for s in segments] == [1, 2]
    c = decoder.counters
    assert (c.packets, c.tcp) == (7, 2)
    assert c.skipped() == {"non-ip": 1, "non-tcp": 1, "ip-fragment": 1, "truncated": 1,
                           "malformed": 1}
    assert Decoder().counters.skipped() == {}


def test_counters_are_current_while_iterating() -> None:
    good = F.ethernet(F.ipv4(data_segment()))
    decoder = Decoder()
    for n, _ in enumerate(decoder.segments((i + 1, i, 1, good) for i in range(5)), 1):
        assert decoder.counters.packets == decoder.counters.tcp == n


def test_decode_single_record() -> None:
    decoder = Decoder()
    seg = decoder.decode((3, TS, 101, F.ipv6(data_segment())))
    assert seg is not None and seg.frame == 3
    assert decoder.decode((4, TS, 1, b"")) is None
    assert decoder.counters.packets == 2 and decoder.counters.skipped() == {"truncated": 1}


# --- hostile bytes --------------------------------------------------------------------------------

def test_never_raises_on_random_or_cut_frames() -> None:
    rng = random.Random(9293)
    seeds = [(lt, build(ip)) for lt, build in F.LINKS.values()
             for ip in (F.ipv4(data_segment()), F.ipv4(data_segment(), options=b"\x01" * 8),
                        F.ipv6(data_segment(), ext=[F.hop_by_hop(), F.fragment()]))]
    linktypes = [lt for lt, _ in F.LINKS.values()] + [228, 229, 9999]
    records = []
    for i in range(20000):
        linktype, seed = rng.choice(seeds)
        frame = bytearray(seed)
        for _ in range(rng.randrange(4)):  # flip a few bytes
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        if rng.random() < 0.3:
            frame = frame[:rng.randrange(len(frame) + 1)]
        if rng.random() < 0.05:
            frame = bytearray(rng.randbytes(rng.randrange(80)))
        if rng.random() < 0.1:
            linktype = rng.choice(linktypes)
        records.append((i + 1, i, linktype, bytes(frame)))
    decoder = Decoder()
    segments = list(decoder.segments(records))
    c = decoder.counters
    assert c.packets == len(records)
    assert c.tcp == len(segments)
    assert c.tcp + sum(c.skipped().values()) == c.packets
    assert len(c.skipped()) == 5  # every reason was reached
    for seg in segments:
        assert 0 <= seg.plen <= 65535 and len(seg.payload) <= seg.plen
        assert len(seg.options) <= 40  # shorter than the data offset says when cut
        assert len(seg.src) == len(seg.dst) in (4, 16)


def test_linktype_names() -> None:
    assert linktype_name(1) == "ETHERNET"
    assert linktype_name(276) == "LINUX_SLL2"
    assert linktype_name(253) == "NETLINK"
    assert linktype_name(201) == "BLUETOOTH_HCI_H4_WITH_PHDR"
    assert linktype_name(60000) == "unknown"
    assert linktype_name(104) == "C_HDLC"
    assert linktype_name(242) == "IPOIB"

