"""What the peer's ACK proves about the capture, and what a re-send of acknowledged data must
carry.

- An ACK that covers a hole below the sender's highest sequence captured shows the receiver got
  bytes the capture never showed: ``ack-unseen-segment`` at the ACK (Wireshark's ACKed segment
  that wasn't captured), once per hole, with the hole's range. If the bytes show up within a
  round trip, the capture point saw them late (reordering): out-of-order, nothing lost.
- First copies of payload are kept a little after their ACK (as digests), so a re-send of
  acknowledged data with other bytes (an injection race) is ``retransmission-data-mismatch``;
  with the same bytes it is only a spurious retransmission.

The capture-loss patterns are real captures with frames removed or moved (``pcap_edit``).
"""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at, run_segments
from pcap_edit import with_frame_moved, without_frames
from segments import CLIENT, Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.model.connection import Connection
from tcpcheck.model.endpoint import ACKED_DIGESTS
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"
LINUX = load_profile("linux")
EVERY = Recording(all=True)
ESTABLISHED = ("ESTABLISHED", "ESTABLISHED")


def replay(lad: Ladder) -> Analyzer:
    return run_segments(lad.segments, timelines=True)


def states(analyzer: Analyzer) -> list[tuple[str, str]]:
    """(client, server) state after every segment of the ladder's one connection."""
    (timeline,) = analyzer.timelines
    return [(step.client_state, step.server_state) for step in timeline.steps]


def analyze(path: Path) -> AnalysisResult:
    return analyze_jobs([Job(str(path), LINUX)], EVERY)


def finding(result: AnalysisResult | Analyzer, rule: str):
    (found,) = [f for f in result.findings if f.rule == rule]
    return found


# ---------------------------------------------------------------------- holes below the ACK
#
# no-sack.pcap, frames 98-101: the client's segments at 91225, 92673 and 94121 (1448 bytes
# each), then the server's ACK 95569 covering all three. Nothing is lost there.


def test_a_segment_the_capture_lost_below_the_highest_is_ack_unseen_segment_at_its_ack(tmp_path):
    lost = without_frames(REAL / "no-sack.pcap", tmp_path / "lost.pcap", {99})
    result = analyze(lost)
    # Frame 101, the server's ACK, is frame 100 once 99 is gone.
    assert ("ack-unseen-segment", 100) in rules_at(result.findings, 1)
    unseen = finding(result, "ack-unseen-segment")
    assert (unseen.expected, unseen.observed) == (
        "the client's segments from seq 92673 up to 94121 in the capture before ACK 95569",
        "none of seq 92673 up to 94121 captured")
    assert rules_at(result.findings) == []


def test_a_segment_captured_after_the_ack_of_it_is_out_of_order_not_lost(tmp_path):
    late = with_frame_moved(REAL / "no-sack.pcap", tmp_path / "late.pcap", 99, after=101)
    result = analyze(late)
    rules = rules_at(result.findings, 1)
    assert "ack-unseen-segment" not in {rule for rule, _ in rules}
    assert ("out-of-order", 101) in rules
    assert rules_at(result.findings) == []


def test_the_unmodified_capture_has_no_ack_unseen_segment():
    rules = {f.rule for f in analyze(REAL / "no-sack.pcap").findings}
    assert "ack-unseen-segment" not in rules


def test_bytes_in_flight_when_a_capture_began_are_not_ack_unseen_segment(tmp_path):
    # no-sack.pcap from frame 481: the server's ACK 379633 comes first, then the client's
    # segments from 443345 on. The 63712 bytes between were sent before the capture began
    # (capture-started-midstream says so); the server's later ACKs of them are no capture loss.
    midstream = without_frames(REAL / "no-sack.pcap", tmp_path / "mid.pcap", set(range(1, 481)))
    rules = {f.rule for f in analyze(midstream).findings}
    assert "capture-started-midstream" in rules
    assert "ack-unseen-segment" not in rules


def test_an_ack_covering_a_hole_the_capture_never_fills_is_reported_once():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)  # bytes 5-8 never captured
    lad.ack("s")
    lad.data("c", 4)
    lad.ack("s")  # covers the hole again, and more: nothing new about the hole
    a = replay(lad)
    assert rules_at(a.findings, 1) == [("ack-unseen-segment", 6)]
    assert states(a)[2:] == [ESTABLISHED] * 6


def test_bytes_an_ack_above_the_highest_already_reported_are_not_reported_again_as_a_hole():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.ack("s", ack=lad.isn["c"] + 13)  # above the highest captured: 5-12 unseen so far
    lad.data("c", 4, seq=lad.isn["c"] + 13)  # starts at the ACK: 5-12 were sent, not captured
    lad.ack("s")  # covers 5-12 again: the same bytes, already reported
    a = replay(lad)
    assert rules_at(a.findings, 1) == [("ack-unseen-segment", 5)]
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_each_hole_an_ack_covers_is_its_own_finding_with_its_range():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)  # hole 5-8
    lad.data("c", 4, seq=lad.nxt["c"] + 2)  # hole 13-14
    lad.ack("s")
    a = replay(lad)
    assert [(f.rule, f.frame, f.observed) for f in a.findings
            if f.rule == "ack-unseen-segment"] == [
        ("ack-unseen-segment", 7, "none of seq 5 up to 9 captured"),
        ("ack-unseen-segment", 7, "none of seq 13 up to 15 captured")]
    assert rules_at(a.findings) == []
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_an_ack_into_a_hole_reports_the_part_it_covers_and_the_rest_stays_a_hole():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 8)  # hole 5-12
    lad.ack("s", ack=lad.isn["c"] + 9)  # the receiver had 5-8: the capture missed them
    # 9-12 within a round trip: the rest of the hole, reordered on the way.
    lad.data("c", 4, seq=lad.isn["c"] + 9, gap=0.00001)
    lad.ack("s")
    a = replay(lad)
    assert rules_at(a.findings, 1) == [("ack-unseen-segment", 6), ("out-of-order", 7)]
    assert finding(a, "ack-unseen-segment").observed == "none of seq 5 up to 9 captured"
    assert states(a)[2:] == [ESTABLISHED] * 6


def test_a_segment_captured_after_an_ack_into_its_hole_fills_the_whole_hole():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 8)  # hole 5-12
    lad.ack("s", ack=lad.isn["c"] + 9)  # the receiver had 5-8
    lad.data("c", 8, seq=lad.isn["c"] + 5, gap=0.00001)  # 5-12, seen late by the capture
    lad.ack("s")
    a = replay(lad)
    assert rules_at(a.findings, 1) == [("out-of-order", 7)]
    assert states(a)[2:] == [ESTABLISHED] * 6


def test_a_hole_filled_long_after_the_ack_of_it_is_ack_unseen_and_a_spurious_retransmission():
    # The capture lost the first copy; the sender's timer resent it after the receiver had
    # acknowledged it: both findings are true, each about its own frame.
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)
    lad.ack("s")
    lad.data("c", 4, seq=lad.isn["c"] + 5, gap=0.3)
    a = replay(lad)
    assert rules_at(a.findings, 1) == [("ack-unseen-segment", 6),
                                       ("spurious-retransmission", 7)]
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_a_hole_the_receiver_does_not_acknowledge_is_network_loss_not_capture_loss():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)  # lost before the capture point and the receiver
    lad.ack("s", ack=lad.isn["c"] + 5)
    lad.data("c", 4, seq=lad.isn["c"] + 5, gap=0.3)
    lad.ack("s")
    a = replay(lad)
    assert "ack-unseen-segment" not in {f.rule for f in a.findings}
    assert states(a)[2:] == [ESTABLISHED] * 6


# ---------------------------------------------------------------------- first copies after the ACK


def resent_after_the_ack(first: bytes, again: bytes) -> Ladder:
    """The server's 43 bytes, the client's ACK of them, then 43 bytes at the same seq."""
    lad = Ladder().handshake()
    lad.data("c", 50)
    sent = lad.data("s", 43)
    lad.segments[-1] = sent._replace(payload=first)
    lad.ack("c")
    resent = lad.data("s", 43, seq=sent.seq, gap=0.2)
    lad.segments[-1] = resent._replace(payload=again)
    return lad


def test_a_resend_of_acknowledged_data_with_other_bytes_is_a_data_mismatch():
    a = replay(resent_after_the_ack(b"I" * 43, b"I" * 20 + b"G" * 23))
    mismatch = finding(a, "retransmission-data-mismatch")
    # Acknowledged, the first copy is known by its digest: the whole copy is named.
    assert (mismatch.frame, mismatch.expected, mismatch.observed) == (
        7, "the same bytes as frame 5", "different bytes in seq 1 up to 44")
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_a_resend_of_acknowledged_data_with_the_same_bytes_is_only_a_spurious_retransmission():
    a = replay(resent_after_the_ack(b"I" * 43, b"I" * 43))
    assert rules_at(a.findings, 1) == [("spurious-retransmission", 7)]
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_a_resend_covering_part_of_an_acknowledged_copy_is_not_compared():
    # Only a digest of the acknowledged copy is left: a part of it cannot be checked, and
    # silence is the safe answer.
    lad = resent_after_the_ack(b"I" * 43, b"G" * 43)
    resent = lad.segments[-1]
    lad.segments[-1] = resent._replace(plen=20, payload=b"G" * 20)
    a = replay(lad)
    assert "retransmission-data-mismatch" not in {f.rule for f in a.findings}


def test_an_unacknowledged_first_copy_is_still_compared_byte_for_byte():
    lad = Ladder().handshake()
    lad.data("c", 50)
    sent = lad.data("s", 43)
    lad.segments[-1] = sent._replace(payload=b"I" * 43)
    resent = lad.data("s", 43, seq=sent.seq, gap=0.3)
    lad.segments[-1] = resent._replace(payload=b"I" * 20 + b"G" * 23)
    a = replay(lad)
    assert finding(a, "retransmission-data-mismatch").observed == "different bytes from seq 21"


def test_acknowledged_first_copies_are_kept_as_a_bounded_number_of_digests():
    lad = Ladder().handshake()
    for _ in range(3 * ACKED_DIGESTS):
        lad.data("c", 1000)
        lad.ack("s")
    conn = Connection(0, LINUX, CLIENT, False, lad.segments[0])
    for seg in lad.segments:
        conn.apply(seg, seg.sport == CLIENT[1])
    kept = conn.client.snd.acked
    assert conn.client.snd.sent is None
    assert len(kept) == ACKED_DIGESTS
    # No payload is held, and the newest acknowledged copy (what a race re-sends) is kept.
    assert all(isinstance(part, int) for copy in kept for part in copy)
    assert kept[-1][:2] == (conn.client.snd.max - 1000, conn.client.snd.max)


def test_a_new_isn_starts_without_the_old_spaces_holes_and_first_copies():
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)  # a hole at 5-8
    lad.ack("s", ack=lad.isn["c"] + 5)  # the first 4 bytes acknowledged: a digest kept
    conn = Connection(0, LINUX, CLIENT, False, lad.segments[0])
    for seg in lad.segments:
        conn.apply(seg, seg.sport == CLIENT[1])
    client = conn.client
    assert client.snd.gaps and client.snd.acked and client.snd.sent
    client.open_sequence(lad.isn["c"] + 6)  # a new ISN, overlapping the old positions
    assert (client.snd.gaps, client.snd.acked, client.snd.sent) == ((), (), None)
