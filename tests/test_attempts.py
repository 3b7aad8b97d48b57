"""Attempts end at a reset (issue 17).

A SYN after the RST that refused (or ended) an attempt opens a new attempt even with the same
ISN: a new connection instance whose timers start afresh (RFC 9293 §3.10.7.3: the SYN-SENT side
"enter[s] the CLOSED state, delete[s] the TCB").
"""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult

ROOT = Path(__file__).resolve().parent.parent
RETRIED = ROOT / "captures" / "crafted" / "refused-retried-same-isn.pcap"


def analyze(path: Path, profile: str = "linux") -> AnalysisResult:
    return analyze_files([str(path)], load_profile(profile))


def test_a_refused_connect_retried_with_the_same_isn_is_three_attempts_each_refused():
    result = analyze(RETRIED)
    assert rules_at(result.findings) == []
    assert rules_at(result.findings, 1) == [("connection-reset", 2), ("connection-reset", 4),
                                            ("connection-reset", 6)]
    assert [(c.first_frame, c.close) for c in result.connections] == [
        (1, "refused"), (3, "refused"), (5, "refused")]


def test_a_retried_refused_syn_is_no_retransmission_and_no_reused_isn():
    rules = {f.rule for f in analyze(RETRIED, "rfc9293").findings}
    assert rules.isdisjoint({"retransmission", "rto-backoff-violation", "syn-isn-changed",
                             "isn-weak", "time-wait-reuse", "syn-retries-exceeded"})
