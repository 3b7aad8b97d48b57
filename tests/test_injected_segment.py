"""A reset a middlebox forged in the server's name is named, and not held against the server.

captures/linux/injected-rst.pcap (made by scripts/forged_captures.py, described in
captures/linux/README.md): a real Linux connection, captured at the client, through a router
namespace whose scapy forges 8, an RST+ACK at the server's SND.NXT with the router's own TTL
(64; the server's segments arrive forwarded with 63) and the IP ID of the client's frame 7.
The real server carries on (9, data); the client's kernel, reset, answers it with a bare RST
(10). The negative cases are copies of that file with frame 8's IP header edited (and its
header checksum fixed), so that it carries one signal or none.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import needs_test_bed, recorded, rules_at
from pcap_edit import (
    as_linux_sll,
    as_raw_ip,
    records,
    with_ip_fields,
    with_source_mac,
    without_frames,
    write_pcap,
)

from tcpcheck import cli
from tcpcheck.model.attribution import (
    IpTrail,
    foreign_mac,
    foreign_signature,
    foreign_ttl,
    forged,
    ip_id_of,
    signature_of,
    ttl_of,
)
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "linux" / "injected-rst.pcap"
LINUX = load_profile("linux")
FORGED = 8


def analyze(path: Path):
    return analyze_files([str(path)], LINUX)


def test_forged_rst_with_foreign_ttl_is_named_and_server_not_blamed():
    result = analyze(CAPTURE)
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = [f for f in result.findings if f.rule == "injected-segment"]
    assert finding.severity.label == "warning"
    assert ("TTL 64, the server's segments arrive with TTL 63; IP ID 0x662e copies frame 7's"
            in finding.message)
    # Nothing else about the server: no data-after-rst for 9, no reset of its own at 8.
    assert [f.rule for f in result.findings if f.side == "server"] == ["injected-segment"]
    [conn] = result.connections
    assert (conn.client_state, conn.server_state, conn.close) == ("CLOSED", "CLOSED", "reset")


def test_client_reset_by_the_forged_rst_answers_the_server_s_data_without_a_finding():
    # 10 is the client's kernel answering 9 with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1):
    # what a reset receiver must do, so no rule may fire on it.
    assert not [f for f in analyze(CAPTURE).findings if f.frame == 10]


def test_injected_segment_reads_the_same_in_json_and_sarif(tmp_path):
    out_json, out_sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    run = CliRunner().invoke(cli.main, ["analyze", str(CAPTURE), "--format", f"json:{out_json}",
                                        "--format", f"sarif:{out_sarif}", "--fail-on", "never",
                                        "-q"])
    assert run.exit_code == 0, run.output
    [finding] = json.loads(out_json.read_text())["findings"]
    assert (finding["rule"], finding["code"], finding["frame"]) == ("injected-segment", "RS005",
                                                                    FORGED)
    [result] = json.loads(out_sarif.read_text())["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("RS005", "warning")
    assert "IP ID 0x662e copies frame 7's" in result["message"]["text"]


def test_rst_with_the_server_s_own_ttl_is_the_server_s_reset(tmp_path):
    # The same RST with TTL 63, as the server's own segments: nothing shows a third party, so
    # the reset is the server's, and its data at 9 is data after its own RST.
    path = with_ip_fields(CAPTURE, tmp_path / "own-ttl.pcap", FORGED, ttl=63)
    result = analyze(path)
    assert rules_at(result.findings) == [("data-after-rst", 9)]
    assert ("connection-reset", FORGED) in rules_at(result.findings, 1)


def test_forged_rst_is_named_by_the_server_carrying_on_when_its_ip_id_tells_nothing(tmp_path):
    # IP ID 0 (as Linux sends its resets): the TTL alone waits for the server's next segment,
    # 9, data with the server's own TTL 100 ms later, as if it had sent no reset: the RST race.
    path = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    result = analyze(path)
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = result.findings
    assert ("TTL 64, the server's segments arrive with TTL 63; the server carried on at frame 9 "
            "with its own TTL" in finding.message)


def test_foreign_ttl_alone_is_not_enough(tmp_path):
    # The same reset (TTL 64, IP ID 0) with nothing from the server after it: one signal (a
    # reset sent from another socket with the default TTL looks so) is never an injection.
    edited = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    path = without_frames(edited, tmp_path / "ttl-only.pcap", {9, 10})
    result = analyze(path)
    assert rules_at(result.findings) == []
    assert ("connection-reset", FORGED) in rules_at(result.findings, 1)


def test_forged_rst_is_named_at_once_by_an_ip_id_far_outside_the_server_s_sequence(tmp_path):
    # The server numbers its segments 0x5209, 0x520a (5, 6), one per segment as Linux does per
    # connection; a reset with TTL 64 and IP ID 0x1234 is neither its next nor a copy of the
    # client's: forged, with nothing from the server after it to wait for.
    edited = with_ip_fields(CAPTURE, tmp_path / "far-id.pcap", FORGED, ip_id=0x1234)
    result = analyze(without_frames(edited, tmp_path / "far-id-alone.pcap", {9, 10}))
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = result.findings
    assert ("IP ID 0x1234 is far outside the server's own sequence (its latest segment, frame "
            "6, had 0x520a)" in finding.message)


def test_the_server_s_next_ip_id_with_a_foreign_ttl_is_not_enough(tmp_path):
    # 0x520b continues the server's sequence: a reset from its own socket after a route
    # change would look so, and the TTL alone is one signal.
    edited = with_ip_fields(CAPTURE, tmp_path / "next-id.pcap", FORGED, ip_id=0x520B)
    result = analyze(without_frames(edited, tmp_path / "next-id-alone.pcap", {9, 10}))
    assert rules_at(result.findings) == []


def test_a_suspect_reset_stays_the_server_s_when_the_client_speaks_next(tmp_path):
    # Without the server's data (9), the next segment is the client's (10): nothing shows the
    # server carrying on, so the reset with the foreign TTL is read as the server's own.
    edited = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    result = analyze(without_frames(edited, tmp_path / "client-next.pcap", {9}))
    assert rules_at(result.findings) == []
    assert ("connection-reset", FORGED) in rules_at(result.findings, 1)


def ipv4_header(ttl: int, ip_id: int) -> bytes:
    return bytes([0x45, 0, 0, 40]) + ip_id.to_bytes(2, "big") + bytes([0x40, 0, ttl, 6]) + bytes(30)


def test_ttl_and_copied_ip_id_are_each_needed_and_ip_id_0_copies_nothing():
    server, client = IpTrail(), IpTrail()
    server.ttls = 1 << 63
    client.head, client.frame = ipv4_header(64, 0x1234), 7
    assert forged(ipv4_header(64, 0x1234), server, client) is not None
    assert forged(ipv4_header(63, 0x1234), server, client) is None  # the server's own TTL
    assert forged(ipv4_header(64, 0x1235), server, client) is None  # its own IP ID
    client.head = ipv4_header(64, 0)
    assert forged(ipv4_header(64, 0), server, client) is None  # Linux's resets carry ID 0


def test_over_ipv6_the_hop_limit_is_the_ttl_and_no_ip_id_can_second_it():
    # IPv6 has no IP ID outside fragment headers: only the sender carrying on can.
    server, client = IpTrail(), IpTrail()
    server.ttls = 1 << 63
    head = bytes([0x60, 0, 0, 0, 0, 20, 6, 64]) + bytes(52)
    client.head, client.frame = head, 7
    assert (ttl_of(head), ip_id_of(head)) == (64, 0)
    assert foreign_ttl(head, server)
    assert forged(head, server, client) is None


@needs_test_bed
def test_a_freshly_made_forged_reset_capture_is_named_the_same_way(tmp_path):
    result = analyze(recorded("injected-rst", tmp_path / "injected-rst.pcap"))
    assert [rule for rule, _ in rules_at(result.findings)] == ["injected-segment"]
    assert not [f for f in result.findings if f.rule == "data-after-rst"]


def with_md5_option(src: Path, out: Path, frame: int, *, ttl: int) -> Path:
    """``src`` with ``frame`` given the TTL ``ttl``, IP ID 0 and a TCP-MD5 option (a 16-byte
    digest, RFC 2385), rebuilt with its checksums by scapy."""
    from scapy.layers.l2 import Ether

    head, recs = records(src)
    edited = []
    for number, (rec, data) in enumerate(recs, start=1):
        if number == frame:
            packet = Ether(data)
            packet["IP"].ttl, packet["IP"].id = ttl, 0
            packet["TCP"].options = [*packet["TCP"].options, (19, b"\x5a" * 16)]
            del packet["IP"].len, packet["IP"].chksum, packet["TCP"].chksum
            packet["TCP"].dataofs = None
            data = bytes(packet)
            rec = rec[:8] + struct.pack("<II", len(data), len(data))
        edited.append((rec, data))
    return write_pcap(out, head, edited)


def test_a_reset_signed_with_tcp_md5_on_an_unsigned_connection_is_forged_and_dropped(tmp_path):
    # Frame 8 with the server's own TTL (63) and IP ID 0, so the IP header tells nothing, but
    # a TCP-MD5 signature none of the server's segments carry (suricata-verify's
    # security-4710-01 evasion): the server carrying on at 9 is the second signal, and the
    # client, with no key for the signature, drops it (RFC 2385 §2.0).
    signed = with_md5_option(CAPTURE, tmp_path / "md5.pcap", FORGED, ttl=63)
    result = analyze(signed)
    assert [(f.rule, f.frame) for f in result.findings
            if f.severity.label != "info"] == [("injected-segment", FORGED)]
    (finding,) = [f for f in result.findings if f.rule == "injected-segment"]
    assert "TCP-MD5 signature (option 19)" in finding.message
    assert "having no key for its signature" in finding.message


def test_a_signature_the_sender_always_carries_is_not_foreign():
    md5 = bytes([19, 18]) + b"\0" * 16
    trail = IpTrail()
    trail.head = ipv4_header(64, 1)[:20] + struct.pack("!HHIIBBHHH", 1, 2, 0, 0, 0x90, 0x10, 0, 0,
                                                  0) + md5
    assert foreign_signature(bytes([1, 1]) + md5, trail) == 0
    trail.head = ipv4_header(64, 1)[:20] + struct.pack("!HHIIBBHHH", 1, 2, 0, 0, 0x50, 0x10, 0, 0,
                                                  0)
    assert foreign_signature(bytes([1, 1]) + md5, trail) == 19
    assert signature_of(bytes([2, 4, 5, 0xB4, 0, 19])) == 0  # after the end of options


SHARED_4710 = ROOT.parent / "shared" / "oracle" / "dev" / "suricata-verify__security-4710-01.pcap"


@pytest.mark.skipif(not SHARED_4710.exists(), reason="../shared/oracle/dev is not here")
def test_suricata_s_md5_reset_evasion_is_an_injected_segment_and_nothing_else():
    # The client's RST at 4 carries a TCP-MD5 option its other segments lack; it then sends
    # its request (5) and the server, which dropped the RST, answers. Its final RST (12)
    # answers the server's retransmitted FIN, which the client never acknowledged: nothing
    # shows it was in TIME_WAIT, so that is not missing-time-wait either.
    result = analyze(SHARED_4710)
    assert [(f.rule, f.frame) for f in result.findings if f.severity.label != "info"] == [
        ("injected-segment", 4)]


# captures/linux/injected-rst-mac.pcap (scripts/forged_captures.py, captures/linux/README.md):
# the same connection, but the forger is a device on the client's LAN, MAC 02:00:00:00:00:99,
# that copies the server's TTL as the client sees it (63): 8, RST+ACK at the server's SND.NXT
# with the IP ID of the client's frame 7. Every segment of the real server arrives from the
# router's MAC 02:00:00:00:00:fe. The server carries on (9), the client's kernel resets it (10).
MAC_CAPTURE = ROOT / "captures" / "linux" / "injected-rst-mac.pcap"
ROUTER_MAC = bytes.fromhex("0200000000fe")


def test_forged_rst_from_a_foreign_mac_with_the_server_s_ttl_is_named_and_server_not_blamed():
    result = analyze(MAC_CAPTURE)
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = [f for f in result.findings if f.rule == "injected-segment"]
    assert finding.severity.label == "warning"
    assert ("sent from MAC 02:00:00:00:00:99, the server's segments come from "
            "02:00:00:00:00:fe; IP ID 0x5386 copies frame 7's" in finding.message)
    assert "TTL" not in finding.observed  # the TTL is the server's own: not evidence
    assert [f.rule for f in result.findings if f.side == "server"] == ["injected-segment"]
    assert not [f for f in result.findings if f.frame == 10]
    [conn] = result.connections
    assert (conn.client_state, conn.server_state, conn.close) == ("CLOSED", "CLOSED", "reset")


def test_the_mac_evidence_reads_the_same_in_json_and_sarif(tmp_path):
    out_json, out_sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    run = CliRunner().invoke(cli.main, ["analyze", str(MAC_CAPTURE), "--format",
                                        f"json:{out_json}", "--format", f"sarif:{out_sarif}",
                                        "--fail-on", "never", "-q"])
    assert run.exit_code == 0, run.output
    [finding] = json.loads(out_json.read_text())["findings"]
    assert (finding["rule"], finding["frame"]) == ("injected-segment", FORGED)
    assert "MAC 02:00:00:00:00:fe" in finding["expected"]
    assert "sent from MAC 02:00:00:00:00:99" in finding["observed"]
    [result] = json.loads(out_sarif.read_text())["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("RS005", "warning")
    assert "sent from MAC 02:00:00:00:00:99" in result["message"]["text"]


def test_a_reset_from_the_server_s_own_mac_and_ttl_is_the_server_s_reset(tmp_path):
    # Frame 8 from the router's MAC, as the server's segments: its copied IP ID alone is one
    # signal, so it is the server's reset and its data at 9 is data after its own RST.
    path = with_source_mac(MAC_CAPTURE, tmp_path / "own-mac.pcap", FORGED, ROUTER_MAC)
    result = analyze(path)
    assert rules_at(result.findings) == [("data-after-rst", 9)]
    assert ("connection-reset", FORGED) in rules_at(result.findings, 1)


def test_a_foreign_mac_alone_is_not_enough(tmp_path):
    # IP ID 0 (as Linux sends its resets) and nothing from the server after the reset: a MAC
    # the server's segments never came from is one signal (a VRRP failover looks so).
    edited = with_ip_fields(MAC_CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    result = analyze(without_frames(edited, tmp_path / "mac-only.pcap", {9, 10}))
    assert rules_at(result.findings) == []
    assert ("connection-reset", FORGED) in rules_at(result.findings, 1)


def test_a_foreign_mac_is_seconded_by_the_server_carrying_on_from_its_own_mac(tmp_path):
    # IP ID 0 tells nothing; the server's data at 9, from the router's MAC and 119 ms later,
    # shows it never sent the reset.
    result = analyze(with_ip_fields(MAC_CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0))
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = result.findings
    assert ("sent from MAC 02:00:00:00:00:99, the server's segments come from 02:00:00:00:00:fe; "
            "the server carried on at frame 9" in finding.message)


def test_a_server_carrying_on_from_another_mac_is_no_second_signal(tmp_path):
    # The server's data at 9 from the forger's MAC too: the server's traffic moved to another
    # first hop (a failover), which explains the reset's MAC as well, so it is the server's.
    edited = with_ip_fields(MAC_CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    moved = with_source_mac(edited, tmp_path / "moved.pcap", 9, bytes.fromhex("020000000099"))
    result = analyze(moved)
    assert rules_at(result.findings) == [("data-after-rst", 9)]


def test_a_foreign_ttl_and_a_foreign_mac_are_both_named(tmp_path):
    path = with_ip_fields(MAC_CAPTURE, tmp_path / "ttl-64.pcap", FORGED, ttl=64)
    [finding] = analyze(path).findings
    assert ("TTL 64, the server's segments arrive with TTL 63; sent from MAC 02:00:00:00:00:99, "
            "the server's segments come from 02:00:00:00:00:fe; IP ID 0x5386 copies frame 7's"
            in finding.message)


def test_without_link_headers_the_captures_read_as_before(tmp_path):
    # No MAC to compare: the LAN forger's reset, with the server's TTL, is the server's (as
    # tcpcheck read it before MACs were evidence), and the TTL still names injected-rst's.
    lan = analyze(as_raw_ip(MAC_CAPTURE, tmp_path / "lan.pcap"))
    assert rules_at(lan.findings) == [("data-after-rst", 9)]
    router = analyze(as_raw_ip(CAPTURE, tmp_path / "router.pcap"))
    assert rules_at(router.findings) == [("injected-segment", FORGED)]
    assert "MAC" not in router.findings[0].message


def test_a_linux_cooked_capture_names_the_forger_s_mac_the_same_way(tmp_path):
    # The same frames with a Linux cooked (SLL) header, as ``tcpdump -i any`` records them: the
    # sender's link-layer address is the Ethernet source MAC.
    result = analyze(as_linux_sll(MAC_CAPTURE, tmp_path / "any.pcap"))
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    assert "sent from MAC 02:00:00:00:00:99" in result.findings[0].message


def test_a_forged_fin_with_the_server_s_ttl_is_named_by_its_foreign_mac(tmp_path):
    # captures/linux/injected-fin.pcap's forged FIN and block page (6) given the server's TTL,
    # 63, and a MAC none of the server's frames came from: the MAC and frame 4's IP ID name it
    # (with the TTL alone the server would be blamed for data after its FIN at 11).
    fin = ROOT / "captures" / "linux" / "injected-fin.pcap"
    own_ttl = with_ip_fields(fin, tmp_path / "ttl-63.pcap", 6, ttl=63)
    path = with_source_mac(own_ttl, tmp_path / "lan.pcap", 6, bytes.fromhex("020000000099"))
    result = analyze(path)
    assert [(f.rule, f.frame) for f in result.findings
            if f.severity.label != "info"] == [("injected-segment", 6)]
    [finding] = [f for f in result.findings if f.rule == "injected-segment"]
    assert finding.observed.startswith("sent from MAC 02:00:00:00:00:99, the server's segments "
                                       "come from ")
    assert "IP ID 0x3bff copies frame 4's" in finding.observed


def test_a_mac_is_foreign_only_against_a_sender_with_known_macs():
    server = IpTrail()
    assert not foreign_mac(b"\2\0\0\0\0\x99", server)  # no segment of the server yet
    server.macs = (ROUTER_MAC,)
    assert foreign_mac(b"\2\0\0\0\0\x99", server)
    assert not foreign_mac(ROUTER_MAC, server)
    assert not foreign_mac(b"", server)  # a frame without a link-layer address


@needs_test_bed
def test_a_freshly_made_lan_forger_capture_is_named_by_its_mac(tmp_path):
    result = analyze(recorded("injected-rst-mac", tmp_path / "injected-rst-mac.pcap"))
    assert [rule for rule, _ in rules_at(result.findings)] == ["injected-segment"]
    assert "sent from MAC 02:00:00:00:00:99" in result.findings[0].message
