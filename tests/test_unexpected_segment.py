"""unexpected-segment: a segment its sender's state does not allow it to send (RFC 9293 §3.10),
unless capture loss explains it. Each test gives both endpoints' states after every segment."""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at, run_segments
from pcap_edit import with_frame_moved
from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.segment import ACK, RST, SYN, Segment
from tcpcheck.timeline import Recording

LINUX = load_profile("linux")
REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"
SACK_BLOCK = b"\x01\x01\x05\x0a" + (5101).to_bytes(4, "big") + (5201).to_bytes(4, "big")


def replay(segments: list[Segment]) -> Analyzer:
    return run_segments(segments, timelines=True)


def ladder_states(analyzer: Analyzer) -> list[tuple[int, str, str]]:
    """(frame, client state, server state) after every segment."""
    (timeline,) = analyzer.timelines
    return [(step.frame, step.client_state, step.server_state) for step in timeline.steps]


def unexpected(analyzer: Analyzer) -> list[int]:
    return [f.frame for f in analyzer.findings if f.rule == "unexpected-segment"]


def test_data_and_fin_sent_before_the_final_ack_are_unexpected_segments():
    # The server sends data and FIN, then the client's first ACK acknowledges only the
    # SYN-ACK: that ACK is the handshake's final one, so the server was still in SYN-RECEIVED.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.fin("s")
    lad.ack("c", ack=5001)
    a = replay(lad.segments)
    assert rules_at(a.findings) == [("unexpected-segment", 3), ("unexpected-segment", 4)]
    data, fin = (f for f in a.findings if f.rule == "unexpected-segment")
    assert (data.code, data.side, data.severity.label) == ("HS009", "server", "error")
    assert "data while still in SYN_RCVD" in data.message and "frame 5" in data.message
    assert fin.observed == "FIN in SYN_RCVD, before the handshake completed"
    assert "§3.10.2" in data.reference
    # The model reads frame 3 as a lost final ACK would leave it (the decision waits for the
    # client's next segment); the client ACKs neither the data nor the FIN.
    assert ladder_states(a) == [(1, "SYN_SENT", "SYN_RCVD"), (2, "ESTABLISHED", "SYN_RCVD"),
                                (3, "ESTABLISHED", "ESTABLISHED"),
                                (4, "CLOSE_WAIT", "FIN_WAIT_1"), (5, "CLOSE_WAIT", "FIN_WAIT_1")]


def test_data_acknowledged_after_a_final_ack_the_capture_missed_is_no_finding():
    # The final ACK was not captured; the server's banner is acknowledged: capture loss.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.ack("c")
    a = replay(lad.segments)
    assert rules_at(a.findings) == []
    assert ladder_states(a) == [(1, "SYN_SENT", "SYN_RCVD"), (2, "ESTABLISHED", "SYN_RCVD"),
                                (3, "ESTABLISHED", "ESTABLISHED"),
                                (4, "ESTABLISHED", "ESTABLISHED")]


def test_a_request_crossing_the_banner_after_a_missed_final_ack_is_no_finding():
    # The client's request carries ACK = the SYN-ACK only: it was sent before the banner
    # arrived, which a lost final ACK explains as well as an early banner does.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.data("c", 50, gap=0)
    a = replay(lad.segments)
    assert unexpected(a) == []
    assert ladder_states(a)[2:] == [(3, "ESTABLISHED", "ESTABLISHED"),
                                    (4, "ESTABLISHED", "ESTABLISHED")]


def test_a_duplicate_ack_with_sack_blocks_is_not_the_final_ack():
    # The final ACK was not captured and the banner's first segment was lost after the tap:
    # the client's duplicate ACK of the SYN-ACK carries a SACK block for the second one.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.data("s", 100)
    lad.ack("c", ack=5001)
    lad.segments[-1] = lad.segments[-1]._replace(options=SACK_BLOCK)
    a = replay(lad.segments)
    assert unexpected(a) == []


def test_a_server_answering_the_data_of_a_fast_open_syn_is_no_finding():
    # RFC 7413: a TFO server may send its answer before the handshake completes.
    lad = Ladder()
    lad.raw("c", SYN, 1000, 0, plen=20)
    lad.nxt["c"] = 1021
    lad.synack("s")
    lad.data("s", 100)
    lad.ack("c", ack=5001)
    a = replay(lad.segments)
    assert unexpected(a) == []


def test_a_one_sided_capture_of_a_server_sending_from_syn_received_is_no_finding():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.fin("s")
    a = replay(lad.segments)
    assert unexpected(a) == []


def test_a_bare_fin_from_syn_received_is_allowed():
    # RFC 9293 §3.10.4: CLOSE in SYN-RECEIVED with nothing sent sends a FIN.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.fin("s")
    lad.ack("c", ack=5001)
    a = replay(lad.segments)
    assert unexpected(a) == []


def test_synack_answering_a_refused_syn_is_an_unexpected_segment_and_changes_no_state():
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", RST | ACK, 0, 1001)  # refused: nothing listens
    lad.synack("s", gap=0.01)
    a = replay(lad.segments)
    # The SYN-ACK is this one error, not data-after-rst as well.
    assert rules_at(a.findings) == [("unexpected-segment", 3)]
    (finding,) = (f for f in a.findings if f.rule == "unexpected-segment")
    assert finding.side == "server" and "frame 2" in finding.message
    assert finding.observed == "a SYN-ACK from CLOSED"
    assert ladder_states(a) == [(1, "SYN_SENT", "SYN_RCVD"), (2, "CLOSED", "CLOSED"),
                                (3, "CLOSED", "CLOSED")]
    (timeline,) = a.timelines
    assert "UnexpectedInput" in timeline.step_at(3).observations


def test_a_synack_overtaken_by_the_reset_that_followed_it_is_no_unexpected_segment():
    # The server sent its SYN-ACK, then aborted (RST at ISN + 1); the reset overtook the
    # SYN-ACK before the capture point.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", RST | ACK, 5001, 1001)
    lad.synack("s", gap=0.00001)
    a = replay(lad.segments)
    assert unexpected(a) == []
    assert rules_at(a.findings) == []
    assert ladder_states(a)[1:] == [(2, "CLOSED", "CLOSED"), (3, "CLOSED", "CLOSED")]


def test_a_synack_answering_a_syn_the_capture_missed_is_no_unexpected_segment():
    # It acknowledges another ISN: a SYN the capture did not see, so capture loss explains it.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", RST | ACK, 0, 1001)
    lad.raw("s", SYN | ACK, 5000, 777, gap=1.0)
    a = replay(lad.segments)
    assert unexpected(a) == []


def test_a_healthy_handshake_exchange_and_close_have_no_unexpected_segment():
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.data("s", 300)
    lad.raw("c", ACK, lad.nxt["c"], lad.nxt["s"])
    lad.close()
    a = replay(lad.segments)
    assert unexpected(a) == []
    assert rules_at(a.findings) == []


def test_a_final_ack_the_tap_saw_after_the_answer_is_no_unexpected_segment(tmp_path):
    # close-client-first.pcap with the handshake's final ACK (3) recorded after the server's
    # answer: the request (now 3) carried the same ACK and completed the handshake first, so
    # the server's answer was sent from ESTABLISHED and the late pure ACK proves nothing.
    late = with_frame_moved(REAL / "close-client-first.pcap", tmp_path / "late-ack.pcap", 3, 6)
    result = analyze_jobs([Job(str(late), LINUX)], Recording(all=True))
    assert [f for f in result.findings if f.severity.label != "info"] == []
    (timeline,) = result.timelines
    assert [(s.frame, s.client_state, s.server_state) for s in timeline.steps] == [
        (1, "SYN_SENT", "SYN_RCVD"), (2, "ESTABLISHED", "SYN_RCVD"),
        *((frame, "ESTABLISHED", "ESTABLISHED") for frame in range(3, 8)),
        (8, "FIN_WAIT_1", "CLOSE_WAIT"), (9, "FIN_WAIT_2", "CLOSE_WAIT"),
        (10, "TIME_WAIT", "LAST_ACK"), (11, "TIME_WAIT", "CLOSED")]
