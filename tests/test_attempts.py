"""Attempts end at a reset, and a Linux listener may defer accept (issue 17).

A SYN after the RST that refused (or ended) an attempt opens a new attempt even with the same
ISN: a new connection instance whose timers start afresh (RFC 9293 §3.10.7.3: the SYN-SENT side
"enter[s] the CLOSED state, delete[s] the TCB"). A Linux listener with TCP_DEFER_ACCEPT drops
the bare third ACK and resends its SYN-ACK at the deferral's last timeout: the linux profiles
(``bare_third_ack = "defer"``) know it; the RFC's does not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import rules_at
from pcap_edit import with_times, without_frames

from tcpcheck.pipeline import Job, analyze_files, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
DEFER = ROOT / "captures" / "linux" / "defer-accept.pcap"
RETRIED = ROOT / "captures" / "crafted" / "refused-retried-same-isn.pcap"
LINUX = load_profile("linux")
# defer-accept.pcap: 1 SYN, 2 SYN-ACK, 3 the client's bare ACK (dropped by the listener), 4 the
# SYN-ACK again 31.38 s later, 5 the client's ACK of it, 6-13 request, response, close.
RESENT_SYNACK = 4


def analyze(path: Path, profile: str = "linux") -> AnalysisResult:
    return analyze_files([str(path)], load_profile(profile))


def test_linux_listener_deferring_accept_resends_its_synack_at_31_s_without_a_warning():
    result = analyze(DEFER)
    assert rules_at(result.findings) == []
    assert {("retransmission", RESENT_SYNACK), ("deferred-accept", RESENT_SYNACK)} <= set(
        rules_at(result.findings, 1))
    assert [(c.client_state, c.server_state, c.close) for c in result.connections] == [
        ("TIME_WAIT", "CLOSED", "fin")]


def test_the_deferred_synack_names_the_dropped_ack_and_the_timeouts_that_stayed_silent():
    finding = next(f for f in analyze(DEFER).findings if f.rule == "deferred-accept")
    assert (finding.code, finding.severity.label, finding.side) == ("DG009", "info", "server")
    assert "31.383 s after frame 2" in finding.message
    assert "acknowledged it (frame 3)" in finding.message
    assert "4 SYN-ACK timeouts pass without sending" in finding.message
    assert "(1, 3, 7, 15, 31 s after frame 2)" in finding.expected
    assert finding.observed == "SYN-ACK again at timeout 5, +31.383 s"
    assert finding.reference == "profile linux bare_third_ack = defer; RFC 6298 §5.5"


def test_linux_legacy_defers_accept_the_same_way():
    assert rules_at(analyze(DEFER, "linux-legacy").findings) == []


def test_the_rfc_profile_still_calls_the_deferred_synack_a_late_timer():
    # RFC 6298 §5.4: when the timer expires, retransmit; a timer that fires four times in
    # silence is not the RFC's, whatever the listener waits for.
    result = analyze(DEFER, "rfc9293")
    assert rules_at(result.findings) == [("rto-backoff-violation", RESENT_SYNACK)]
    assert "deferred-accept" not in {f.rule for f in result.findings}


def test_a_late_synack_whose_bare_ack_the_capture_never_showed_is_still_a_late_timer(
        tmp_path):
    # Without frame 3 nothing shows the client had acknowledged the SYN-ACK: the listener
    # had nothing to defer, and its timer should have resent after 1 s.
    copy = without_frames(DEFER, tmp_path / "no-bare-ack.pcap", {3})
    result = analyze(copy)
    assert rules_at(result.findings) == [("rto-backoff-violation", RESENT_SYNACK - 1)]


def test_a_synack_resent_between_two_timeouts_of_the_deferral_is_still_a_late_timer(tmp_path):
    # Moved to +20 s (frames 4 and 5 together): the timeouts of a deferral fire at 1, 3, 7,
    # 15, 31 s after the SYN-ACK; 20 s is none of them, within the 25 % + 50 ms tolerance.
    copy = with_times(DEFER, tmp_path / "off-schedule.pcap",
                      {RESENT_SYNACK: 20.0, RESENT_SYNACK + 1: 20.00004})
    result = analyze(copy)
    assert rules_at(result.findings) == [("rto-backoff-violation", RESENT_SYNACK)]


def test_a_profile_file_can_turn_the_deferral_off(tmp_path):
    path = tmp_path / "strict.toml"
    path.write_text('base = "linux"\nbare_third_ack = "accept"\n')
    result = analyze_files([str(DEFER)], load_profile(str(path)))
    assert rules_at(result.findings) == [("rto-backoff-violation", RESENT_SYNACK)]
    assert replace(LINUX, bare_third_ack="accept") == replace(load_profile(str(path)),
                                                              name="linux")


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


GNUTELLA = ROOT.parent / "shared" / "wild" / "dev" / "ppa__ppa1e__gnutella.pcap"


@pytest.mark.skipif(not GNUTELLA.is_file(), reason="../shared/wild/dev not present")
def test_a_windows_connect_retried_after_refusals_keeps_its_syn_backoff():
    # A Windows XP client (wild/dev gnutella): port 3781 sends SYN 520, refused by 522, the
    # same SYN 523, refused by 524, the same SYN 549, unanswered, and again 677, 12.0 s later:
    # its third SYN, so 3 s << 2 (the windows profile), not the first timeout of a new timer.
    # Port 3908 does the same (1100, 1102, 1125, then 1203).
    result = analyze(GNUTELLA, "windows")
    late = {f.frame for f in result.findings if f.rule == "rto-backoff-violation"}
    assert late.isdisjoint({677, 1203})
    attempts = [(c.first_frame, c.close) for c in result.connections
                if c.client.endswith(":3781")]
    assert attempts == [(520, "refused"), (523, "refused"), (549, "refused")]


def test_the_clients_ack_of_the_resent_synack_is_its_reply_not_a_hole():
    # Frame 5 repeats the ACK of frame 3 because the SYN-ACK copy (4) lies below the
    # client's RCV.NXT (RFC 9293 §3.10.7.4): there is no data to have a hole in.
    finding = next(f for f in analyze(DEFER).findings if f.rule == "duplicate-ack")
    assert finding.frame == RESENT_SYNACK + 1
    assert "in reply to the server's segment at frame 4" in finding.message
    assert "hole" not in finding.expected


def test_the_ack_answering_a_synack_sent_again_for_a_retransmitted_syn_is_a_reply_too():
    # synack-loss.pcap: 5 the SYN-ACK answering the client's retransmitted SYN (4), 6 the
    # client's ACK of the timer's copy (3), 7 its ACK again, for 5.
    result = analyze(ROOT / "captures" / "linux" / "synack-loss.pcap")
    finding = next(f for f in result.findings if f.rule == "duplicate-ack" and f.frame == 7)
    assert "in reply to the server's segment at frame 5" in finding.message


def test_a_deferral_of_3_s_resends_at_the_second_timeout(tmp_path):
    # TCP_DEFER_ACCEPT 2 or 3 s is two timeouts (secs_to_retrans): the copy at +3 s, one
    # timeout (the 1 s one) having fired in silence. Frames 4 and 5 moved there.
    copy = with_times(DEFER, tmp_path / "defer-3s.pcap",
                      {RESENT_SYNACK: 3.02, RESENT_SYNACK + 1: 3.02004})
    result = analyze(copy)
    assert rules_at(result.findings) == []
    finding = next(f for f in result.findings if f.rule == "deferred-accept")
    assert finding.observed == "SYN-ACK again at timeout 2, +3.020 s"
    assert "1 SYN-ACK timeout pass" in finding.message


def test_a_deferral_longer_than_the_synack_retries_is_not_one_retry_too_many(tmp_path):
    # TCP_DEFER_ACCEPT 60 s is six timeouts, one more than tcp_synack_retries 5: Linux then
    # expires the request only after the deferral (syn_ack_recalc), and resends at +63 s.
    # Every frame from 4 on moved 32 s later.
    start = 31.382947 + 32
    offsets = {n: start + t for n, t in zip(range(4, 14), (
        0, 0.000038, 1.117237, 1.117257, 1.117346, 1.117352, 1.367515, 1.408018, 1.617715,
        1.617745), strict=True)}
    result = analyze(with_times(DEFER, tmp_path / "defer-60s.pcap", offsets))
    assert rules_at(result.findings) == []
    finding = next(f for f in result.findings if f.rule == "deferred-accept")
    assert finding.observed.startswith("SYN-ACK again at timeout 6, +63.")


def test_the_deferring_listener_stays_in_syn_received_until_the_ack_of_the_copy():
    # The copy at frame 4 shows the listener had dropped the bare ACK at frame 3: the model
    # takes that receipt back (from frame 3 on), and frame 5 completes the handshake.
    result = analyze_jobs([Job(str(DEFER), LINUX)], Recording(all=True))
    [timeline] = result.timelines
    servers = {n: timeline.step_at(n).server_state for n in (2, 3, 4, 5, 6)}
    assert servers == {2: "SYN_RCVD", 3: "SYN_RCVD", 4: "SYN_RCVD", 5: "ESTABLISHED",
                       6: "ESTABLISHED"}
    assert timeline.step_at(3).client_state == "ESTABLISHED"


def test_a_capture_ending_on_the_deferred_synack_blames_no_one(tmp_path):
    # Cut after frame 4: the listener is back in SYN-RECEIVED, but the client did its part
    # (frame 3): no handshake-incomplete, only the open connection at the capture's end.
    cut = without_frames(DEFER, tmp_path / "cut.pcap", set(range(5, 14)))
    result = analyze(cut)
    assert rules_at(result.findings) == []
    assert ("capture-ended-midstream", 4) in rules_at(result.findings, 1, edges=True)
    assert [(c.client_state, c.server_state) for c in result.connections] == [
        ("ESTABLISHED", "SYN_RCVD")]
