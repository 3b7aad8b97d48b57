"""Wrong TCP checksums: corrupt (bad-checksum, the receiver dropped the segment) or unusable
(unusable-checksum, the peer's reply proves the segment arrived). Real Linux captures, edited as
sanitisers, anonymisers and corrupting links leave them; both endpoints' states after every
segment."""

from __future__ import annotations

from pathlib import Path

from conftest import rules_at
from pcap_edit import (
    cut_after,
    joined,
    with_corrupt_checksums,
    with_rewritten_addresses,
    with_zero_checksums,
)

from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
LINUX = load_profile("linux")
# close-client-first.pcap is between 192.0.2.1 and 192.0.2.2; an anonymiser maps both.
ANONYMISED = {bytes([192, 0, 2, 1]): bytes([198, 51, 100, 7]),
              bytes([192, 0, 2, 2]): bytes([198, 51, 100, 9])}


def analyze(path: Path) -> AnalysisResult:
    return analyze_jobs([Job(str(path), LINUX)], Recording(all=True))


def ladder_states(result: AnalysisResult) -> list[tuple[int, str, str]]:
    (timeline,) = result.timelines
    return [(step.frame, step.client_state, step.server_state) for step in timeline.steps]


def findings(result: AnalysisResult) -> list[tuple[str, int, str]]:
    return sorted((f.rule, f.frame, f.severity.label) for f in result.findings)


# The original capture, frame by frame: SYN, SYN-ACK, ACK, request, ACK, answer, ACK, the
# client's FIN, the server's ACK and FIN, the client's last ACK.
HEALTHY = [(1, "SYN_SENT", "SYN_RCVD"), (2, "ESTABLISHED", "SYN_RCVD"),
           (3, "ESTABLISHED", "ESTABLISHED"), (4, "ESTABLISHED", "ESTABLISHED"),
           (5, "ESTABLISHED", "ESTABLISHED"), (6, "ESTABLISHED", "ESTABLISHED"),
           (7, "ESTABLISHED", "ESTABLISHED"), (8, "FIN_WAIT_1", "CLOSE_WAIT"),
           (9, "FIN_WAIT_2", "CLOSE_WAIT"), (10, "TIME_WAIT", "LAST_ACK"),
           (11, "TIME_WAIT", "CLOSED")]


def test_the_unedited_capture_is_the_reference_ladder():
    result = analyze(REAL / "close-client-first.pcap")
    assert findings(result) == []
    assert ladder_states(result) == HEALTHY


def test_stale_checksums_of_rewritten_addresses_are_one_unusable_checksum(tmp_path):
    stale = with_rewritten_addresses(REAL / "close-client-first.pcap", tmp_path / "anon.pcap",
                                     ANONYMISED)
    result = analyze(stale)
    assert findings(result) == [("unusable-checksum", 1, "info")]
    (finding,) = result.findings
    assert "stale" in finding.message and "frame 2" in finding.message
    # The SYN waits for the SYN-ACK, whose ACK proves it arrived; from then on the
    # connection's checksums, stale by the same amount, are taken as they are.
    assert ladder_states(result) == [(1, "CLOSED", "LISTEN"), *HEALTHY[1:]]


def test_all_zero_checksums_are_one_unusable_checksum_and_lose_no_state(tmp_path):
    zeroed = with_zero_checksums(REAL / "close-client-first.pcap", tmp_path / "zero.pcap")
    result = analyze(zeroed)
    assert findings(result) == [("unusable-checksum", 1, "info")]
    assert "a TCP checksum of 0" in result.findings[0].message
    # A zero field says it by itself: nothing waits for a reply.
    assert ladder_states(result) == HEALTHY


def test_a_corrupt_fin_that_draws_no_reply_is_bad_checksum_and_changes_nothing(tmp_path):
    # The server's FIN (10) is corrupted on the link: the client never acknowledges it.
    corrupt = with_corrupt_checksums(REAL / "close-client-first.pcap", tmp_path / "fin.pcap",
                                     {10}, dropped=frozenset({11}))
    result = analyze(corrupt)
    assert rules_at(result.findings) == [("bad-checksum", 10)]
    assert ladder_states(result) == [*HEALTHY[:9], (10, "FIN_WAIT_2", "CLOSE_WAIT")]


def test_a_stale_syn_the_capture_ends_on_in_a_trace_proven_anonymised_is_not_bad_checksum(
        tmp_path):
    # An anonymised trace whose first connection's replies prove its checksums stale, ending
    # on another connection's SYN (stale too) before its SYN-ACK was due: nothing says that
    # SYN was corrupt (issue 17: the end of the capture is not evidence).
    stale = with_rewritten_addresses(REAL / "close-client-first.pcap", tmp_path / "anon.pcap",
                                     ANONYMISED)
    syn = cut_after(with_rewritten_addresses(REAL / "rst-abort.pcap", tmp_path / "anon2.pcap",
                                             ANONYMISED), tmp_path / "syn.pcap", 1)
    result = analyze(joined(tmp_path / "both.pcap", stale, syn, after=5.0))
    assert [f.rule for f in result.findings if f.severity.label != "info"] == []
    assert ("unusable-checksum", 1, "info") in findings(result)


def test_a_reset_with_a_wrong_checksum_is_dropped(tmp_path):
    # No reply can prove a reset arrived: with nothing else wrong in the connection, it is
    # corrupt, and both sides stay where they were.
    corrupt = with_corrupt_checksums(REAL / "rst-abort.pcap", tmp_path / "rst.pcap", {8})
    result = analyze(corrupt)
    assert ("bad-checksum", 8, "warning") in findings(result)
    assert ladder_states(result)[-1] == (8, "ESTABLISHED", "ESTABLISHED")


def test_a_zeroed_reset_in_a_trace_proven_sanitised_is_applied(tmp_path):
    zeroed = with_zero_checksums(REAL / "rst-abort.pcap", tmp_path / "zero-rst.pcap")
    result = analyze(zeroed)
    assert rules_at(result.findings) == []
    assert ("unusable-checksum", 1, "info") in findings(result)
    assert ladder_states(result)[-1] == (8, "CLOSED", "CLOSED")
    assert result.connections[0].close == "reset"


def test_segments_captured_behind_a_held_one_are_counted_once(tmp_path):
    stale = with_rewritten_addresses(REAL / "close-client-first.pcap", tmp_path / "anon.pcap",
                                     ANONYMISED)
    (conn,) = analyze(stale).connections
    assert conn.packets == 11


def test_unanswered_syns_stale_by_the_same_amount_are_unusable_not_corrupt(tmp_path):
    # syn-retries.pcap anonymised: no reply ever comes, but the six SYNs' checksums are all
    # wrong by the same amount, which a link's random corruption does not do.
    stale = with_rewritten_addresses(REAL / "syn-retries.pcap", tmp_path / "anon.pcap",
                                     ANONYMISED)
    result = analyze(stale)
    assert rules_at(result.findings) == []
    (finding,) = (f for f in result.findings if f.rule == "unusable-checksum")
    assert finding.frame == 1 and "frame 2" in finding.message
    assert [f.frame for f in result.findings if f.rule == "half-open"] == [1]
    assert ladder_states(result)[-1] == (6, "SYN_SENT", "SYN_RCVD")
    assert result.connections[0].server_state == "LISTEN"  # nothing shows the SYN arrived


def test_a_corrupt_fin_resent_intact_before_any_reply_stays_bad_checksum():
    # The crafted capture's real pattern: a FIN corrupted on the link, no reply, then the
    # retransmission timer's intact copy, which the server acknowledges.
    result = analyze(ROOT / "captures" / "crafted" / "bad-checksum.pcap")
    assert rules_at(result.findings) == [("bad-checksum", 7)]
    assert "unusable-checksum" not in {f.rule for f in result.findings}
