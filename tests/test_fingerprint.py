"""Which stack sent a SYN or SYN-ACK (tcpcheck.fingerprint), against the signatures of the
bundled profiles.

The Windows, macOS, FreeBSD, Cisco and old-Linux segments are crafted from a real one: the
first SYN (and the SYN-ACK, frame 2) of captures/linux/close-client-first.pcap, read with
scapy, given the TTL, DF bit, window and options a stack's published signature names (each
value cited in the profile TOML it tests), written back to a pcap and decoded by tcpcheck's
own decoder, exactly as ``analyze`` would read it. Only Linux runs here, so these are the
published values, not those stacks' own packets; the Linux segments are all real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.utils import rdpcap, wrpcap

from tcpcheck.decode import Decoder
from tcpcheck.fingerprint import Fingerprints, StackMatch, signature_key
from tcpcheck.segment import ACK, RST, SYN, Segment, format_address
from tcpcheck.signatures import SegmentKind, Signature, WindowTerm
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
LINUX_CAPTURES = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
HANDSHAKE = ROOT / "captures" / "linux" / "close-client-first.pcap"
WILD = ROOT.parent / "shared" / "wild" / "dev"
FINGERPRINTS = Fingerprints.bundled()
LINUX = ("linux", "linux-legacy")

NOP = ("NOP", None)
SOK = ("SAckOK", b"")
EOL = ("EOL", None)


def decode(path: Path) -> list[Segment]:
    with open_capture(str(path)) as capture:
        return list(Decoder().segments(capture.records()))


def crafted(tmp_path: Path, *, synack: bool = False, ttl: int, window: int, options: list,
            df: bool = True, flags: str | None = None) -> Segment:
    """The real SYN (or SYN-ACK) of HANDSHAKE with another stack's TTL, DF, window and
    options, its lengths and checksums recomputed, as tcpcheck decodes it."""
    packet = rdpcap(str(HANDSHAKE))[1 if synack else 0]
    ip, tcp = packet[IP], packet[TCP]
    ip.ttl, ip.flags = ttl, "DF" if df else 0
    tcp.window, tcp.options = window, options
    if flags is not None:
        tcp.flags = flags
    del ip.len, ip.chksum, tcp.dataofs, tcp.chksum
    path = tmp_path / "crafted.pcap"
    wrpcap(str(path), [packet.__class__(bytes(packet))])
    (seg,) = decode(path)
    return seg


def identify(seg: Segment) -> StackMatch | None:
    return FINGERPRINTS.identify(seg)


# -- Windows ---------------------------------------------------------------------------------


def test_a_windows_xp_syn_is_windows(tmp_path):
    """p0f.fp s:win:Windows:XP: *:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0."""
    seg = crafted(tmp_path, ttl=128, window=65535, options=[("MSS", 1460), NOP, NOP, SOK])
    match = identify(seg)
    assert match == StackMatch(("windows",), "Windows XP / Server 2003",
                               "TTL 128 (initial 128), DF, window 65535, MSS 1460, NOP, NOP, "
                               "SACK_PERM")


def test_a_windows_7_syn_is_windows(tmp_path):
    """p0f.fp s:win:Windows:7 or 8: *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0, seen
    15 hops away (TTL 113)."""
    seg = crafted(tmp_path, ttl=113, window=8192,
                  options=[("MSS", 1460), NOP, ("WScale", 8), NOP, NOP, SOK])
    match = identify(seg)
    assert match is not None
    assert (match.profiles, match.label) == (("windows",), "Windows Vista-10 / Server 2008-2016")
    assert match.evidence.startswith("TTL 113 (initial 128), DF, window 8192, MSS 1460, NOP, WS 8")


def test_a_windows_10_syn_is_windows(tmp_path):
    seg = crafted(tmp_path, ttl=128, window=64240,
                  options=[("MSS", 1460), NOP, ("WScale", 8), NOP, NOP, SOK])
    match = identify(seg)
    assert match is not None
    assert (match.profiles, match.label) == (("windows",),
                                             "Windows 10 1709+ / 11 / Server 2019-2022")


def test_a_windows_7_synack_is_windows(tmp_path):
    """p0f.fp [tcp:response] s:win:Windows:7 or 8: 8192,8:mss,nop,ws,nop,nop,sok."""
    seg = crafted(tmp_path, synack=True, ttl=128, window=8192,
                  options=[("MSS", 1460), NOP, ("WScale", 8), NOP, NOP, SOK])
    match = identify(seg)
    assert match is not None and match.profiles == ("windows",)


def test_a_windows_xp_synack_with_timestamp_zero_is_named_by_its_quirk(tmp_path):
    """p0f.fp s:win:Windows:XP 65535,0:mss,nop,nop,ts:df,id+,ts1- (ts1-: its TSval is 0)."""
    options = [("MSS", 1460), NOP, NOP, ("Timestamp", (0, 12345))]
    xp = identify(crafted(tmp_path, synack=True, ttl=128, window=65535, options=options))
    options[-1] = ("Timestamp", (777, 12345))
    newer = identify(crafted(tmp_path, synack=True, ttl=128, window=65535, options=options))
    assert xp is not None and newer is not None
    assert xp.label == "Windows XP / Server 2003 (timestamps)"
    assert "TS val 0" in xp.evidence
    assert newer.label == "Windows (NT kernel, timestamps)"
    assert xp.profiles == newer.profiles == ("windows",)


def test_a_windows_layout_from_a_ttl_64_host_is_not_windows(tmp_path):
    seg = crafted(tmp_path, ttl=64, window=8192,
                  options=[("MSS", 1460), NOP, ("WScale", 8), NOP, NOP, SOK])
    assert identify(seg) is None


# -- macOS, FreeBSD, Cisco IOS, old Linux ----------------------------------------------------


def test_a_macos_syn_is_macos(tmp_path):
    """p0f.fp s:unix:Mac OS X:10.x: *:64:0:*:65535,1:mss,nop,ws,nop,nop,ts,sok,eol+1."""
    seg = crafted(tmp_path, ttl=64, window=65535, options=[
        ("MSS", 1460), NOP, ("WScale", 6), NOP, NOP, ("Timestamp", (974183915, 0)), SOK, EOL])
    match = identify(seg)
    assert match is not None
    assert (match.profiles, match.label) == (("macos",), "macOS / iOS")
    assert match.evidence.endswith("TS, SACK_PERM, EOL")


def test_a_macos_synack_is_macos(tmp_path):
    seg = crafted(tmp_path, synack=True, ttl=64, window=65535, options=[
        ("MSS", 1460), NOP, ("WScale", 6), NOP, NOP, ("Timestamp", (5, 6)), SOK, EOL])
    match = identify(seg)
    assert match is not None and (match.profiles, match.label) == (("macos",), "macOS / iOS")


def test_a_freebsd_syn_is_bsd(tmp_path):
    """p0f.fp s:unix:FreeBSD:9.x: *:64:0:*:65535,6:mss,nop,ws,sok,ts."""
    seg = crafted(tmp_path, ttl=64, window=65535,
                  options=[("MSS", 1460), NOP, ("WScale", 6), SOK, ("Timestamp", (1, 0))])
    match = identify(seg)
    assert match is not None and (match.profiles, match.label) == (("bsd",), "FreeBSD")


def test_a_synack_layout_macos_and_freebsd_share_names_both(tmp_path):
    """p0f.fp [tcp:response]: both answer a SYN with only MSS and WS with 65535,mss,nop,ws."""
    seg = crafted(tmp_path, synack=True, ttl=64, window=65535,
                  options=[("MSS", 1460), NOP, ("WScale", 6)])
    match = identify(seg)
    assert match is not None and match.profiles == ("bsd", "macos")


def test_a_cisco_ios_syn_is_held_to_the_rfc(tmp_path):
    seg = crafted(tmp_path, ttl=255, window=4128, options=[("MSS", 536)], df=False)
    match = identify(seg)
    assert match is not None and (match.profiles, match.label) == (("rfc-bounds",), "Cisco IOS")


def test_a_linux_2_6_syn_with_a_four_mss_window_is_held_to_the_rfc(tmp_path):
    """p0f.fp s:unix:Linux:2.6.x mss*4: a 3 s initial RTO that neither Linux profile has."""
    seg = crafted(tmp_path, ttl=64, window=4 * 1460, options=[
        ("MSS", 1460), SOK, ("Timestamp", (1, 0)), NOP, ("WScale", 7)])
    match = identify(seg)
    assert match is not None
    assert (match.profiles, match.label) == (("rfc-bounds",), "Linux 2.4-2.6.38")


# -- real Linux ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LINUX_CAPTURES, ids=lambda p: p.name)
def test_every_linux_syn_and_synack_in_the_real_captures_is_linux(path):
    handshakes = [seg for seg in decode(path) if seg.flags & SYN and not seg.flags & RST]
    assert handshakes
    for seg in handshakes:
        match = identify(seg)
        assert match is not None, f"frame {seg.frame} not identified"
        assert match.profiles == LINUX, f"frame {seg.frame}: {match}"


def test_linux_with_timestamps_sack_or_window_scaling_off_is_still_linux():
    """captures/linux/handshake-options-off.pcap: the client turns two or all three of the
    options off with sysctl before each connection; server and client are both Linux."""
    handshakes = [seg for seg in decode(ROOT / "captures" / "linux" / "handshake-options-off.pcap")
                  if seg.flags & SYN]
    labels = [identify(seg).label for seg in handshakes]  # type: ignore[union-attr]
    off = ["timestamps and SACK off", "timestamps and window scaling off",
           "SACK and window scaling off", "timestamps, SACK and window scaling off"]
    assert labels == [f"Linux 3.x-6.x ({what})" for what in off for _ in ("syn", "synack")]
    assert all(identify(seg).profiles == LINUX for seg in handshakes)  # type: ignore[union-attr]


def test_syns_retransmitted_on_a_doubling_timer_are_linux_with_linux_legacy_as_alternative():
    """captures/linux/syn-doubling.pcap: tcp_syn_linear_timeouts = 0, SYNs at 0, +1, +3 s."""
    syns = [seg for seg in decode(ROOT / "captures" / "linux" / "syn-doubling.pcap")
            if seg.flags & (SYN | ACK) == SYN]
    assert len(syns) == 3
    matches = [identify(seg) for seg in syns]
    assert all(m is not None and (m.profiles, m.label) == (LINUX, "Linux 3.x-6.x")
               for m in matches)


# -- what identify refuses -------------------------------------------------------------------


def test_a_syn_whose_options_a_snaplen_cut_is_not_identified():
    (syn, *_) = decode(HANDSHAKE)
    assert identify(syn) is not None
    assert identify(syn._replace(options=syn.options[:13])) is None


@pytest.mark.parametrize("options", [
    bytes.fromhex("020005b4"),              # MSS with length 0
    bytes.fromhex("020505b4000101"),        # MSS with length 5, not a word multiple
    bytes.fromhex("020405b4040a0000"),      # SACK-permitted of length 10
    bytes.fromhex("020405b4fe300000"),      # an option running past the end
    bytes.fromhex("ffffffffffffffff"),      # garbage
], ids=["mss-length-0", "mss-length-5", "sok-length-10", "past-the-end", "garbage"])
def test_a_syn_with_garbage_options_is_not_identified(options):
    (syn, *_) = decode(HANDSHAKE)
    assert identify(syn._replace(options=options)) is None


def test_only_a_syn_or_synack_with_its_ip_header_is_identified():
    syn, synack, ack, *_ = decode(HANDSHAKE)
    assert identify(synack) is not None
    assert identify(ack) is None
    assert identify(syn._replace(flags=SYN | RST)) is None
    assert identify(syn._replace(header=b"")) is None  # a lone SYN rebuilt from its packing


def test_a_synack_is_matched_against_synack_signatures_only():
    only_syn = Fingerprints([_signature("a", SegmentKind.SYN)])
    syn, synack, *_ = decode(HANDSHAKE)
    assert only_syn.identify(syn) is not None
    assert only_syn.identify(synack) is None
    assert synack.flags & ACK


# -- ambiguity -------------------------------------------------------------------------------


def _signature(profile: str, segment: SegmentKind = SegmentKind.BOTH, name: str = "x",
               window: tuple[WindowTerm, ...] = ()) -> Signature:
    return Signature(name, profile, segment, 64, ("mss", "sok", "ts", "nop", "ws"),
                     window=window, source="test")


def test_the_most_specific_signature_wins():
    fingerprints = Fingerprints([_signature("linux", name="any window"),
                                 _signature("bsd", name="exact", window=(WindowTerm(64240),))])
    (syn, *_) = decode(HANDSHAKE)
    assert syn.win == 64240
    match = fingerprints.identify(syn)
    assert match is not None and (match.label, match.profiles) == ("exact", ("bsd",))


def test_equally_specific_signatures_of_one_profile_give_the_first_listed():
    fingerprints = Fingerprints([_signature("linux", name="first"),
                                 _signature("linux", name="second")])
    (syn, *_) = decode(HANDSHAKE)
    match = fingerprints.identify(syn)
    assert match is not None and match.label == "first"


def test_equally_specific_signatures_of_different_profiles_give_none():
    fingerprints = Fingerprints([_signature("linux"), _signature("bsd")])
    (syn, *_) = decode(HANDSHAKE)
    assert fingerprints.identify(syn) is None


# -- real-world captures ---------------------------------------------------------------------

WILD_HOSTS = [
    # (capture, host, SYN or SYN-ACK, profiles, label): what wild/README.md and the capture say
    ("ppa__ppa1e__http.cap", "145.254.160.237", SYN, ("windows",), "Windows XP / Server 2003"),
    ("ppa__aurora.pcapng", "192.168.100.206", SYN, ("windows",), "Windows XP / Server 2003"),
    ("ppa__http_google.pcapng", "172.16.16.128", SYN, ("windows",),
     "Windows Vista-10 / Server 2008-2016"),
    ("atk__Lateral_Movement__LM_rdp_sharprdp.pcapng", "192.168.56.1", SYN, ("windows",),
     "Windows 10 1709+ / 11 / Server 2019-2022"),
    ("tcpd__tests__ssh.pcap", "202.108.87.165", SYN, ("macos",), "macOS / iOS"),
    ("ppa__weather_broken.pcapng", "172.16.16.154", SYN, ("macos",), "macOS / iOS"),
    ("pl__pcaps__SSHv2.cap", "10.0.0.1", SYN, ("rfc-bounds",), "Cisco IOS"),
    ("pl__pcaps__LDP_adjacency.cap", "10.0.0.6", SYN | ACK, ("rfc-bounds",), "Cisco IOS"),
    ("ppa__mail_sender_server_2.pcapng", "172.16.16.221", SYN, LINUX, "Linux 3.x-6.x"),
    ("tcpd__tests__dns_tcp.pcap", "192.168.1.11", SYN, LINUX, "Linux 3.x-6.x"),
    ("tcpd__tests__mptcp-aa-v1.pcap", "192.168.125.165", SYN | ACK, LINUX,
     "Linux 5.6-6.x (Multipath TCP)"),
]


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/wild/dev not present")
@pytest.mark.parametrize(("name", "host", "flags", "profiles", "label"), WILD_HOSTS,
                         ids=[f"{row[0]}-{row[1]}" for row in WILD_HOSTS])
def test_real_world_hosts_are_identified_as_their_sources_say(name, host, flags, profiles,
                                                                label):
    first = next(seg for seg in decode(WILD / name)
                 if format_address(seg.src) == host and seg.flags & (SYN | ACK) == flags)
    match = identify(first)
    assert match is not None and (match.profiles, match.label) == (profiles, label)


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/wild/dev not present")
def test_bgp_speakers_with_a_ttl_of_one_are_not_guessed():
    """BGP daemons set the TTL of their sessions themselves (1 for a directly connected
    eBGP peer): from TTL 1 no initial TTL can be guessed, whatever the option layout."""
    syns = [seg for seg in decode(WILD / "tcpd__tests__bgp-4byte-asn.pcap")
            if seg.flags & SYN and not seg.flags & ACK]
    assert syns and all(identify(seg) is None for seg in syns)


def test_the_bundled_signatures_are_read_once():
    assert Fingerprints.bundled() is Fingerprints.bundled()


def test_syns_differing_only_in_their_tsval_share_a_signature_key_and_its_match(tmp_path):
    # HostProfiles identifies each distinct key once: the key must hold everything identify
    # reads, and a TSval only as zero or not (XP's quirk).
    def key(window: int, tsval: int):
        return signature_key(crafted(tmp_path, ttl=64, window=window, options=[
            ("MSS", 1460), SOK, ("Timestamp", (tsval, 0)), NOP, ("WScale", 7)]))

    assert key(64240, 1) == key(64240, 987654321)
    assert key(64240, 1) != key(64240, 0)
    assert key(64240, 1) != key(65535, 1)
    for path in LINUX_CAPTURES:
        firsts = {}
        for seg in decode(path):
            if seg.flags & SYN and not seg.flags & RST:
                match = identify(seg)
                assert firsts.setdefault(signature_key(seg), match) == match, (path, seg.frame)
