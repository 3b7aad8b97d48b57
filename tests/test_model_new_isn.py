"""Sequence spaces that follow the traffic (issue 13, point 4): a new ISN where RFC 9293 allows
one starts a new sequence space or a new connection instance; where it does not, it stays a
finding and the model follows what the endpoints visibly did next.

Every case is a real capture: ``captures/linux`` (recorded by scripts/make_captures.py) for the
healthy ones, ``captures/crafted`` for the violations.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from conftest import CAPTURE_EDGES, rules_at, run_segments
from pcap_edit import records, write_pcap
from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.segment import ACK, SYN
from tcpcheck.timeline import Recording
from tcpcheck.track import Tracker

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
CRAFTED = ROOT / "captures" / "crafted"
LINUX = load_profile("linux")


def analyze(path: Path) -> AnalysisResult:
    return analyze_jobs([Job(str(path), LINUX)], Recording(all=True))


def ladder(result: AnalysisResult) -> list[tuple[int, int, str, str]]:
    """(frame, connection, client state, server state) after every segment, in frame order."""
    return sorted((step.frame, timeline.connection, step.client_state, step.server_state)
                  for timeline in result.timelines for step in timeline.steps)


def test_synack_with_a_new_isn_answering_the_retransmitted_syn_after_a_restart():
    # 1 SYN, 2 SYN-ACK ISN A (dropped after the tap), 3 SYN again, 4 SYN-ACK ISN B from the
    # restarted listener (RFC 9293 §3.10.7.4: a passive OPEN in SYN-RECEIVED returns to
    # LISTEN), 5 ACK of B + 1: one connection, the server's sequence space restarted at B.
    result = analyze(REAL / "synack-new-isn-after-restart.pcap")
    assert rules_at(result.findings) == []
    est = ("ESTABLISHED", "ESTABLISHED")
    assert ladder(result) == [
        (1, 0, "SYN_SENT", "SYN_RCVD"),
        (2, 0, "ESTABLISHED", "SYN_RCVD"),
        (3, 0, "ESTABLISHED", "SYN_RCVD"),  # SYN-ACK A was lost after the capture point
        (4, 0, "ESTABLISHED", "SYN_RCVD"),
        (5, 0, *est), (6, 0, *est), (7, 0, *est), (8, 0, *est), (9, 0, *est),
        (10, 0, "FIN_WAIT_1", "CLOSE_WAIT"),
        (11, 0, "FIN_WAIT_2", "CLOSE_WAIT"),
        (12, 0, "TIME_WAIT", "LAST_ACK"),
        (13, 0, "TIME_WAIT", "CLOSED"),
    ]
    # Relative numbers follow the new ISN: the server's data starts at 1, as in Wireshark.
    steps = {step.frame: step for step in result.timelines[0].steps}
    assert (steps[4].seq, steps[5].ack, steps[8].seq, steps[9].ack) == (0, 1, 1, 53)


def test_synack_retransmitted_with_a_new_isn_and_no_new_syn_stays_synack_isn_changed():
    # 2 SYN-ACK ISN A, 3 the client's ACK of A + 1 (lost after the tap), 4 SYN-ACK ISN B with
    # no SYN in between: nothing ended the first attempt, so B is a retransmission that
    # changed its ISN, and the client (ESTABLISHED) keeps the connection in A's space.
    result = analyze(CRAFTED / "synack-isn-changed.pcap")
    assert rules_at(result.findings) == [("synack-isn-changed", 4)]
    steps = {step.frame: step for step in result.timelines[0].steps}
    assert (steps[6].ack, steps[7].seq) == (1, 1)


def test_new_isn_without_a_new_syn_is_a_finding_and_the_model_follows_the_client(tmp_path):
    # The restart capture without the client's SYN retransmission (its frame 3): nothing shows
    # the first attempt ended, so SYN-ACK B (now frame 3) is a SYN-ACK retransmitted with a
    # new ISN. The client never acknowledged A and acknowledges B + 1 (frame 4): the model
    # follows B, and the one finding is the changed ISN, with no cascade behind it.
    head, recs = records(REAL / "synack-new-isn-after-restart.pcap")
    edited = write_pcap(tmp_path / "no-retried-syn.pcap", head, recs[:2] + recs[3:])
    result = analyze(edited)
    assert rules_at(result.findings) == [("synack-isn-changed", 3)]
    est = ("ESTABLISHED", "ESTABLISHED")
    assert ladder(result) == [
        (1, 0, "SYN_SENT", "SYN_RCVD"), (2, 0, "ESTABLISHED", "SYN_RCVD"),
        (3, 0, "ESTABLISHED", "SYN_RCVD"),
        (4, 0, *est), (5, 0, *est), (6, 0, *est), (7, 0, *est), (8, 0, *est),
        (9, 0, "FIN_WAIT_1", "CLOSE_WAIT"), (10, 0, "FIN_WAIT_2", "CLOSE_WAIT"),
        (11, 0, "TIME_WAIT", "LAST_ACK"), (12, 0, "TIME_WAIT", "CLOSED"),
    ]


def test_tfo_fallback_answered_with_a_new_isn_restarts_the_server_s_sequence_space():
    # The TCP Fast Open fallback of test_model_false_alarms: 1 SYN with 100 bytes, 2 SYN-ACK
    # ISN 5000 acking only the SYN (lost after the tap), 3 the SYN again without data, 4
    # SYN-ACK ISN 900000, 5 its ACK, 6 the 100 bytes again (first sent on the SYN).
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.raw("c", SYN, 1000, 0, plen=100)
    lad.nxt["c"] = 1001
    lad.synack("s")
    lad.syn("c", gap=1.0)
    lad.isn["s"] = 900_000
    lad.synack("s")
    lad.ack("c")
    lad.data("c", 100)
    lad.ack("s")
    analyzer = Analyzer(LINUX, start_ts=lad.segments[0].ts, recording=Recording(all=True))
    for seg in lad.segments:
        analyzer.feed(seg)
    analyzer.finish()
    assert rules_at(analyzer.findings) == []
    (timeline,) = analyzer.timelines
    est = ("ESTABLISHED", "ESTABLISHED")
    assert [(s.frame, s.seq, s.ack, s.client_state, s.server_state) for s in timeline.steps] == [
        (1, 0, None, "SYN_SENT", "SYN_RCVD"), (2, 0, 1, "ESTABLISHED", "SYN_RCVD"),
        (3, 0, None, "ESTABLISHED", "SYN_RCVD"), (4, 0, 1, "ESTABLISHED", "SYN_RCVD"),
        (5, 1, 1, *est), (6, 1, 1, *est), (7, 1, 101, *est),
    ]


# ------------------------------------------------------------------------------ reused tuple


def test_challenge_ack_and_the_rst_answering_it_belong_to_the_old_connection():
    # captures/linux/reuse-challenge-ack.pcap: 1-7 the first connection, whose client then
    # forgot it; 8 its new SYN (ISN Y) on the same tuple; 9 the server's challenge ACK from
    # the old connection (RFC 5961 §4); 10 the client's RST at SEG.ACK of 9, sent from
    # SYN-SENT (RFC 9293 §3.10.7.3), exactly the old connection's RCV.NXT, so it ends it; 11
    # the SYN retransmission finds only the listener.
    result = analyze(REAL / "reuse-challenge-ack.pcap")
    assert rules_at(result.findings) == []
    est = ("ESTABLISHED", "ESTABLISHED")
    assert ladder(result) == [
        (1, 0, "SYN_SENT", "SYN_RCVD"), (2, 0, "ESTABLISHED", "SYN_RCVD"),
        (3, 0, *est), (4, 0, *est), (5, 0, *est), (6, 0, *est), (7, 0, *est),
        (8, 1, "SYN_SENT", "LISTEN"),  # the SYN reached the old connection, not the listener
        (9, 0, *est),  # the challenge ACK: no duplicate ACK, it answers the SYN
        (10, 0, "CLOSED", "CLOSED"),
        (11, 1, "SYN_SENT", "SYN_RCVD"),
        (12, 1, "ESTABLISHED", "SYN_RCVD"),
        (13, 1, *est), (14, 1, *est), (15, 1, *est), (16, 1, *est), (17, 1, *est),
        (18, 1, "FIN_WAIT_1", "CLOSE_WAIT"), (19, 1, "FIN_WAIT_2", "CLOSE_WAIT"),
        (20, 1, "TIME_WAIT", "LAST_ACK"), (21, 1, "TIME_WAIT", "CLOSED"),
    ]
    assert [(f.rule, f.frame, f.connection) for f in result.findings] == [
        ("connection-reset", 10, 0), ("retransmission", 11, 1)]
    reset = result.findings[0]
    assert (reset.observed, reset.side) == ("RST from the new attempt in SYN-SENT", "client")
    assert "answered its SYN with an ACK (RFC 5961 §4)" in reset.message
    rows = {c.id: (c.first_frame, c.last_frame, c.packets, c.close) for c in result.connections}
    assert rows == {0: (1, 10, 9, "reset"), 1: (8, 21, 12, "fin")}


def test_syn_retransmitted_10_ms_after_the_rst_keeps_linux_s_rearmed_timer():
    # Frame 11 comes 10 ms after the RST of frame 10: Linux rearms its SYN timer to
    # TCP_TIMEOUT_MIN after answering an unacceptable ACK in SYN-SENT with RST
    # (tcp_rcv_synsent_state_process). A stack that keeps its timer (syn_rst_rearm = 0)
    # would have waited the initial RTO of 1 s.
    kept = replace(LINUX, syn_rst_rearm=0.0)
    result = analyze_jobs([Job(str(REAL / "reuse-challenge-ack.pcap"), kept)])
    assert rules_at(result.findings) == [("rto-backoff-violation", 11)]
    assert "rto-backoff-violation" not in {
        f.rule for f in analyze(REAL / "reuse-challenge-ack.pcap").findings}


def test_syn_after_the_client_reset_its_attempt_opens_a_new_instance_with_the_same_isn():
    # SYN X, SYN-ACK A, the client's RST at X + 1 (its attempt is over at the server), and
    # the same SYN X again: a new instance, answered with ISN B; the repeated ISN is the
    # same attempt retried, not a weak ISN shared by two connections.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.synack("s")
    lad.rst("c", seq=1001, with_ack=False)
    lad.syn("c", gap=0.01)
    lad.isn["s"] = 900_000
    lad.synack("s")
    lad.ack("c")
    a = run_segments(lad.segments)
    assert [(f.rule, f.frame, f.connection) for f in a.findings
            if f.rule not in CAPTURE_EDGES] == [("connection-reset", 3, 0)]
    rows = {c.id: (c.first_frame, c.last_frame, c.client_state, c.server_state, c.close)
            for c in a.connections}
    assert rows == {0: (1, 3, "CLOSED", "CLOSED", "reset"),
                    1: (4, 6, "ESTABLISHED", "ESTABLISHED", "open")}


def test_syn_retried_right_after_an_rst_from_syn_sent_in_the_same_connection():
    # zeek's tcp-syn-then-ack-then-rst pattern, then Linux's retry: 2 an ACK that does not
    # acknowledge the SYN, 3 the client's <SEQ=SEG.ACK><CTL=RST> from SYN-SENT (its receiver
    # does not take it, RFC 5961), 4 the SYN again 10 ms later, on the rearmed timer.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", ACK, 5000, 1000)
    lad.rst("c", seq=1000, with_ack=False)
    lad.syn("c", gap=0.01)
    lad.synack("s")
    lad.ack("c")
    assert rules_at(run_segments(lad.segments).findings) == []
    kept = Analyzer(replace(LINUX, syn_rst_rearm=0.0), start_ts=lad.segments[0].ts)
    for seg in lad.segments:
        kept.feed(seg)
    kept.finish()
    assert rules_at(kept.findings) == [("rto-backoff-violation", 4)]


def test_a_held_old_connection_is_still_tracked_until_the_rst_settles_it():
    # reuse-challenge-ack's pattern as a ladder: between the new SYN and the RST that settles
    # the old connection, both instances of the tuple are open (a live view counts both).
    lad = Ladder(client_isn=1000, server_isn=5000).handshake()
    lad.data("c", 45)
    lad.ack("s")
    old_client_next = lad.nxt["c"]
    lad.syn("c", seq=700_000, gap=0.5)
    lad.raw("s", ACK, lad.nxt["s"], old_client_next)  # the challenge ACK
    lad.rst("c", seq=old_client_next, with_ack=False)
    lad.syn("c", seq=700_000, gap=0.01)
    finished = []
    tracker = Tracker(LINUX, finished.append, lone_syns=False)
    counts = []
    for seg in lad.segments:
        tracker.feed(seg)
        counts.append((tracker.open_connections, tracker.state_counts()))
    assert counts[5:] == [
        (2, {"ESTABLISHED": 1, "SYN_SENT": 1}),
        (2, {"ESTABLISHED": 1, "SYN_SENT": 1}),
        (2, {"CLOSED": 1, "SYN_SENT": 1}),  # settled, finalised with the next segment
        (1, {"SYN_SENT": 1}),
    ]
    assert [conn.id for conn in finished] == [0]
