"""Sequence spaces that follow the traffic (issue 13, point 4): a new ISN where RFC 9293 allows
one starts a new sequence space or a new connection instance; where it does not, it stays a
finding and the model follows what the endpoints visibly did next.

Every case is a real capture: ``captures/linux`` (recorded by scripts/make_captures.py) for the
healthy ones, ``captures/crafted`` for the violations.
"""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at

from tcpcheck.engine import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

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
