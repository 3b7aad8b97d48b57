"""A FIN a middlebox forged in the server's name, with a block page before it, is named; the
model follows the real endpoints: the client takes the FIN, the server never sent it.

captures/linux/injected-fin.pcap (made by scripts/forged_captures.py, described in
captures/linux/README.md): a real Linux connection captured at the client, through a router
namespace that forges 6, FIN+PSH+ACK with a 53-byte block page at the server's SND.NXT, with
the router's own TTL (64; the server's segments arrive forwarded with 63) and the IP ID of the
client's request (4), the segment it answers. The client's kernel takes page and FIN, its
application closes (7, FIN, ACK 55: past everything the server sent); the server answers that
"ACK of something not yet sent" with an ACK (8) and drops it, so the client's FIN is resent
(10); the server's real response (11, 1000 bytes at the forged page's sequence numbers) makes
the client, whose receiving side is closed, reset the connection (12).
"""

from __future__ import annotations

import struct
from pathlib import Path

from conftest import needs_test_bed, recorded, rules_at, run_segments
from pcap_edit import with_ip_fields, with_seq_shift, without_frames
from segments import CLIENT, SERVER, Ladder, stamped

from tcpcheck.pipeline import Job, analyze_files, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.segment import ACK, FIN, PSH, RST, Segment
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "linux" / "injected-fin.pcap"
LINUX = load_profile("linux")
FORGED = 6
CLIENT_ADDR, SERVER_ADDR = CLIENT[0], SERVER[0]


def analyze(path: Path):
    return analyze_files([str(path)], LINUX)


def test_forged_fin_with_a_block_page_is_named_and_neither_endpoint_blamed():
    result = analyze(CAPTURE)
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = [f for f in result.findings if f.rule == "injected-segment"]
    assert finding.severity.label == "warning"
    assert finding.side == "server"
    assert ("forged this FIN and the 53 bytes of text before it in the name of the server"
            in finding.message)
    assert ("TTL 64, the server's segments arrive with TTL 63; IP ID 0x3bff copies frame 4's"
            in finding.message)
    assert "the client, in ESTABLISHED, takes it" in finding.message


ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSED = "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED"
STATES_FROM_5 = [
    (5, ESTABLISHED, ESTABLISHED),
    (6, CLOSE_WAIT, ESTABLISHED),  # the client took the forged FIN; the server sent none
    (7, LAST_ACK, ESTABLISHED),  # its ACK is above the server's SND.NXT: dropped, FIN too
    (8, LAST_ACK, ESTABLISHED),
    (9, LAST_ACK, ESTABLISHED),
    (10, LAST_ACK, ESTABLISHED),  # the FIN again, dropped again
    (11, LAST_ACK, ESTABLISHED),
    (12, CLOSED, CLOSED),  # the client's reset on data beyond its closed receiving side
]


def states_from_frame_5(path: Path) -> list[tuple[int, str, str]]:
    result = analyze_jobs([Job(str(path), LINUX)], Recording(all=True))
    (timeline,) = result.timelines
    return [(s.frame, s.client_state, s.server_state) for s in timeline.steps][4:]


def test_states_follow_what_each_endpoint_really_received():
    assert states_from_frame_5(CAPTURE) == STATES_FROM_5


def test_the_server_s_answer_to_the_ack_of_the_forged_fin_is_the_reply_it_owed():
    # 7 acknowledges the forged FIN, above the server's SND.NXT: RFC 9293 §3.10.7.4 (fifth)
    # has the server "send an ACK, drop the segment", which 8 is; nothing is held against the
    # client for acknowledging what it received, nor against the server for its data at 11.
    result = analyze(CAPTURE)
    assert not [f for f in result.findings if f.rule in ("ack-unsent-data", "data-after-fin")]
    (conn,) = result.connections
    assert (conn.client_state, conn.server_state, conn.close) == ("CLOSED", "CLOSED", "reset")


def test_fin_with_the_server_s_own_ttl_is_the_server_s_and_its_later_data_is_after_its_fin(
        tmp_path):
    # The same FIN with TTL 63, as the server's own segments: nothing shows a third party, so
    # the FIN is the server's, and its response at 11 is data after its own FIN.
    path = with_ip_fields(CAPTURE, tmp_path / "own-ttl.pcap", FORGED, ttl=63)
    assert ("data-after-fin", 11) in rules_at(analyze(path).findings)
    assert "injected-segment" not in {f.rule for f in analyze(path).findings}


def test_a_forged_fin_whose_ip_id_tells_nothing_is_named_when_the_server_carries_on(tmp_path):
    # IP ID 0: the TTL alone holds the FIN, and the client's answer (7) behind it, until the
    # server's next segment: 8, at seq 1 with its own TTL, 103 µs later (past the handshake's
    # round trip): a sender of that FIN would be at seq 55.
    path = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    result = analyze(path)
    assert rules_at(result.findings) == [("injected-segment", FORGED)]
    [finding] = [f for f in result.findings if f.rule == "injected-segment"]
    assert ("TTL 64, the server's segments arrive with TTL 63; the server carried on at frame 8 "
            "with its own TTL, as if it had sent no FIN" in finding.message)
    # The client's answer (7), held back behind the FIN, is replayed after it: the states of
    # every frame are those of the unedited capture.
    assert states_from_frame_5(path) == STATES_FROM_5


def test_a_foreign_ttl_alone_does_not_make_a_fin_forged(tmp_path):
    # The same FIN (TTL 64, IP ID 0) with nothing from the server after it: one signal is never
    # an injection. The FIN is the server's, held against it as such (it lacks the timestamps
    # both SYNs negotiated); the client's FIN (7), acknowledging it, takes the server from
    # FIN-WAIT-1 to TIME-WAIT.
    edited = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    path = without_frames(edited, tmp_path / "ttl-only.pcap", {8, 9, 10, 11, 12})
    result = analyze(path)
    assert rules_at(result.findings) == [("option-not-negotiated", FORGED)]
    (conn,) = result.connections
    assert (conn.client_state, conn.server_state) == ("LAST_ACK", "TIME_WAIT")


def test_a_suspect_fin_is_the_server_s_when_its_next_segment_counts_the_fin(tmp_path):
    # IP ID 0 again, and the server's ACK (8) moved to seq 55, past the FIN, as its sender's
    # would be: the FIN is the server's own, and its data at 11 is data after its FIN.
    edited = with_ip_fields(CAPTURE, tmp_path / "id-0.pcap", FORGED, ip_id=0)
    path = with_seq_shift(edited, tmp_path / "counted.pcap", 8, 54)
    findings = analyze(path).findings
    assert "injected-segment" not in {f.rule for f in findings}
    assert ("data-after-fin", 11) in rules_at(findings)


@needs_test_bed
def test_a_freshly_made_forged_fin_capture_is_named_the_same_way(tmp_path):
    result = analyze(recorded("injected-fin", tmp_path / "injected-fin.pcap"))
    assert [rule for rule, _ in rules_at(result.findings)] == ["injected-segment"]
    assert not [f for f in result.findings if f.rule in ("ack-unsent-data", "data-after-fin")]


def with_ip_headers(segments: list[Segment], forged: int, copies: int) -> list[Segment]:
    """``segments`` with IPv4 and TCP headers: the client's with TTL 64, the server's with 63,
    each side's IP ID counting up from its own base; frame ``forged`` instead with TTL 64 and
    the IP ID of frame ``copies``, as an injector answering that frame makes it."""
    next_id = {CLIENT_ADDR: 0x1000, SERVER_ADDR: 0x8000}
    ids: dict[int, int] = {}
    out = []
    for seg in segments:
        if seg.frame == forged:
            ttl, ip_id = 64, ids[copies]
        else:
            ttl, ip_id = (64 if seg.src == CLIENT_ADDR else 63), next_id[seg.src]
            next_id[seg.src] += 1
        ids[seg.frame] = ip_id
        tcp = struct.pack("!HHIIBBHHH", seg.sport, seg.dport, seg.seq, seg.ack,
                          (20 + len(seg.options)) // 4 << 4, seg.flags, seg.win, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(seg.options) + seg.plen, ip_id,
                         0x4000, ttl, 6, 0, seg.src, seg.dst)
        out.append(seg._replace(header=ip + tcp + seg.options))
    return out


def test_data_the_receiver_sends_with_its_ack_of_a_forged_fin_is_dropped_and_owes_nothing():
    # The client takes the forged FIN (6) and, half-closed, still sends 10 bytes (8) with the
    # ACK of it. The server drops 8 whole ("send an ACK, drop the segment"), so it owes no ACK
    # of those bytes, only the ACK its reply 9 is; its own data (10) resets the client (11).
    lad = Ladder().handshake()
    lad.data("c", 45)
    lad.ack("s")
    s_nxt, c_nxt = lad.nxt["s"], lad.nxt["c"]
    lad.raw("s", FIN | PSH | ACK, s_nxt, c_nxt, plen=53)
    lad.raw("c", ACK, c_nxt, s_nxt + 54)
    lad.raw("c", PSH | ACK, c_nxt, s_nxt + 54, plen=10)
    lad.raw("s", ACK, s_nxt, c_nxt)
    lad.raw("s", PSH | ACK, s_nxt, c_nxt, plen=1000, gap=0.3)
    lad.raw("c", RST, c_nxt, 0)
    segments = with_ip_headers(stamped(lad), forged=6, copies=4)
    analyzer = run_segments(segments, timelines=True)
    (timeline,) = analyzer.timelines
    assert [(s.client_state, s.server_state) for s in timeline.steps][5:] == [
        ("CLOSE_WAIT", "ESTABLISHED"),
        ("CLOSE_WAIT", "ESTABLISHED"),
        ("CLOSE_WAIT", "ESTABLISHED"),
        ("CLOSE_WAIT", "ESTABLISHED"),
        ("CLOSE_WAIT", "ESTABLISHED"),
        ("CLOSED", "CLOSED"),
    ]
    assert rules_at(analyzer.findings) == [("injected-segment", 6)]


def test_a_forged_fin_outside_the_window_is_named_and_dropped_by_its_receiver():
    lad = Ladder().handshake()
    lad.data("c", 45)
    lad.ack("s")
    s_nxt, c_nxt = lad.nxt["s"], lad.nxt["c"]
    lad.raw("s", FIN | ACK, s_nxt + 1_000_000, c_nxt)  # far beyond the client's window
    lad.ack("c")  # the ACK the client owes for an unacceptable segment
    lad.data("s", 100, gap=0.3)
    lad.ack("c")
    analyzer = run_segments(with_ip_headers(stamped(lad), forged=6, copies=4), timelines=True)
    (timeline,) = analyzer.timelines
    assert {(s.client_state, s.server_state) for s in timeline.steps[3:]} == {
        ("ESTABLISHED", "ESTABLISHED")}
    assert rules_at(analyzer.findings) == [("injected-segment", 6)]
    [finding] = [f for f in analyzer.findings if f.rule == "injected-segment"]
    assert "the client, in ESTABLISHED, drops it (it fails the acceptability test)" in (
        finding.message)
