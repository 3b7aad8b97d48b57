"""What a re-send of acknowledged data must carry.

- First copies of payload are kept a little after their ACK, so a re-send of acknowledged data
  with other bytes (an injection race) is ``retransmission-data-mismatch``; with the same bytes
  it is only a spurious retransmission.
"""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at
from segments import CLIENT, Ladder

from tcpcheck.engine import Analyzer, Job, analyze_jobs
from tcpcheck.model.connection import Connection
from tcpcheck.model.endpoint import ACKED_COPIES, ACKED_COPY_BYTES
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"
LINUX = load_profile("linux")
EVERY = Recording(all=True)
ESTABLISHED = ("ESTABLISHED", "ESTABLISHED")


def replay(lad: Ladder) -> Analyzer:
    analyzer = Analyzer(LINUX, start_ts=lad.segments[0].ts, recording=EVERY)
    for seg in lad.segments:
        analyzer.feed(seg)
    analyzer.finish()
    return analyzer


def states(analyzer: Analyzer) -> list[tuple[str, str]]:
    """(client, server) state after every segment of the ladder's one connection."""
    (timeline,) = analyzer.timelines
    return [(step.client_state, step.server_state) for step in timeline.steps]


def analyze(path: Path) -> AnalysisResult:
    return analyze_jobs([Job(str(path), LINUX)], EVERY)


def finding(result: AnalysisResult | Analyzer, rule: str):
    (found,) = [f for f in result.findings if f.rule == rule]
    return found


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
    assert (mismatch.frame, mismatch.expected, mismatch.observed) == (
        7, "the same bytes as frame 5", "different bytes from seq 21")
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_a_resend_of_acknowledged_data_with_the_same_bytes_is_only_a_spurious_retransmission():
    a = replay(resent_after_the_ack(b"I" * 43, b"I" * 43))
    assert rules_at(a.findings, 1) == [("spurious-retransmission", 7)]
    assert states(a)[2:] == [ESTABLISHED] * 5


def test_first_copies_kept_after_the_ack_stay_within_their_budget():
    lad = Ladder().handshake()
    for _ in range(3 * ACKED_COPIES):
        lad.data("c", 1000)
        lad.ack("s")
    first = lad.segments[0]
    conn = Connection(0, LINUX, CLIENT, False, first)
    for seg in lad.segments:
        conn.apply(seg, seg.sport == CLIENT[1])
    kept = conn.client.snd.acked
    assert conn.client.snd.sent is None
    assert len(kept) <= ACKED_COPIES
    assert sum(len(payload) for _, payload, _, _ in kept) <= ACKED_COPY_BYTES
    # The newest acknowledged data is what a race re-sends: it is kept.
    assert kept[-1][0] == conn.client.snd.max - 1000
