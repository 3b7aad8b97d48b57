"""Issue 13's false alarms, each reduced to the smallest reproduction of its real pattern.

Every test states what an RFC 9293 receiver model must report: no error or warning where the
endpoints behaved correctly, the new finding's slug where issue 13 names one, and, where it
matters, both endpoints' states. The patterns come from real traffic: the captures in
``captures/linux`` (``reuse-challenge-ack`` and ``synack-new-isn-after-restart`` were recorded
for this), the 1 M-packet ``make bench`` capture (reproduced here as segment ladders with its
numbers' shape), and the field captures in ``../shared/oracle/dev``.

A test marked ``xfail(strict=True)`` fails on today's model; its reason says what the model
does wrong. Strict, so it turns into a failure the moment the model is fixed, and then the
marker must go.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from conftest import rules_at, run_segments
from pcap_edit import with_duplicates, with_zero_checksums
from segments import Ladder

from tcpcheck.engine import Analyzer
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.segment import ACK, RST, SYN, Segment
from tcpcheck.timeline import Recording, Timeline

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "captures" / "linux"
CRAFTED = ROOT / "captures" / "crafted"
ORACLE = ROOT.parent / "shared" / "oracle" / "dev"
LINUX = load_profile("linux")
EVERY = Recording(all=True)

needs_oracle = pytest.mark.skipif(not ORACLE.is_dir(), reason="../shared/oracle/dev not present")


def issue13(what_is_wrong_today: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"issue 13: {what_is_wrong_today}")


# ------------------------------------------------------------------------------ helpers


def replay(segments: Iterable[Segment]) -> Analyzer:
    """Replay segments through the whole engine, keeping every connection's timeline."""
    return run_segments(segments, timelines=True)


def analyze(path: Path) -> AnalysisResult:
    return analyze_jobs([Job(str(path), LINUX)], EVERY)


def timeline_of(timelines: Iterable[Timeline], frame: int) -> Timeline:
    """The timeline (connection instance) that ``frame`` belongs to."""
    return next(t for t in timelines if t.step_at(frame) is not None)


def states_at(timelines: Iterable[Timeline], frame: int) -> tuple[str, str]:
    """(client, server) state right after ``frame`` was applied."""
    step = timeline_of(timelines, frame).step_at(frame)
    assert step is not None
    return step.client_state, step.server_state


def final_states(timelines: Iterable[Timeline], frame: int) -> tuple[str, str]:
    """(client, server) state once the connection ``frame`` belongs to was finished."""
    timeline = timeline_of(timelines, frame)
    return timeline.final_client_state, timeline.final_server_state


def assert_healthy_from_the_synack(lad: Ladder) -> None:
    """The server's SYN-ACK, the handshake's end, a request, its answer and a client-first
    close: no error or warning, and both sides end as such a close leaves them."""
    lad.synack("s")
    lad.ack("c")
    lad.data("c", 100)
    lad.ack("s")
    lad.data("s", 300)
    lad.ack("c")
    lad.close()
    a = replay(lad.segments)
    assert rules_at(a.findings) == []
    assert final_states(a.timelines, lad.segments[-1].frame) == ("TIME_WAIT", "CLOSED")


def path_of(timeline: Timeline, side: str) -> list[str]:
    """The states one side went through, each run of repeats collapsed into one."""
    states = [getattr(step, f"{side}_state") for step in timeline.steps]
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def ts_option(tsval: int, tsecr: int = 0) -> bytes:
    """NOP NOP Timestamps, Linux's layout on every segment after the SYN."""
    return b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)


def syn_options(wscale: int, tsval: int, tsecr: int = 0) -> bytes:
    """Linux's SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale."""
    return (b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", tsval, tsecr)
            + b"\x01\x03\x03" + bytes([wscale]))


def amend(lad: Ladder, options: bytes, **fields: int) -> Segment:
    """Give the ladder's latest segment these options (and fields); return it."""
    lad.segments[-1] = lad.segments[-1]._replace(options=options, **fields)
    return lad.segments[-1]


# ------------------------------------------------------------------------------ close


def test_crossing_fins_take_the_server_through_fin_wait_1_and_closing_never_close_wait():
    # The real simultaneous close on loopback: the server's FIN carries ack = the client's
    # FIN's seq, so the server had not received that FIN when it sent its own.
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.fin("c")
    lad.fin("s", ack=lad.nxt["c"] - 1)
    lad.ack("s")
    lad.ack("c")
    a = replay(lad.segments)
    (timeline,) = a.timelines
    assert rules_at(a.findings) == []
    assert path_of(timeline, "server") == [
        "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    assert path_of(timeline, "client") == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "CLOSING", "TIME_WAIT"]


# ------------------------------------------------------------------------------ reordered ACKs


def bulk_with_timestamps(segments: int = 4) -> Ladder:
    """A handshake with timestamps and window scale 7 on both SYNs, then the server sends
    ``segments`` MSS-sized segments (TSval 1000, echoing the client's 317)."""
    lad = Ladder()
    lad.syn("c")
    amend(lad, syn_options(7, 317))
    lad.synack("s")
    amend(lad, syn_options(7, 1000, 317))
    lad.ack("c")
    # A window like its later ACKs' (Linux's 14,000-odd << 7): the Ladder's default 64,240
    # << 7 would make the first of them a genuine shrink.
    amend(lad, ts_option(317, 1000), win=14000)
    for _ in range(segments):
        lad.data("s", 1448)
        amend(lad, ts_option(1000, 317))
    return lad


def test_older_pure_ack_reordered_behind_a_newer_one_is_no_paws_regression():
    # make bench, frames 965588 and 965664-965667: two interleaved ACK streams of one Linux
    # receiver; the newer ACK (TSval 318) reaches the capture before older ones (TSval 317).
    lad = bulk_with_timestamps()
    server_isn_next = lad.isn["s"] + 1
    lad.ack("c")
    amend(lad, ts_option(318, 1000))
    for covered in (1, 2, 3):
        lad.ack("c", ack=server_isn_next + covered * 1448)
        amend(lad, ts_option(317, 1000))
    a = replay(lad.segments)
    assert rules_at(a.findings) == []


def test_older_ack_reordered_behind_a_newer_one_is_no_window_shrink():
    # make bench, frames 979764 and 979811 (also 991108/991109, 1004032/1004072): same ACK,
    # the later-captured one has TSval one tick lower, staler SACK blocks and a smaller window.
    lad = bulk_with_timestamps()
    lad.ack("c")
    amend(lad, ts_option(451, 1000), win=14437)
    # 5 ms later, well past the handshake's round trip: only its older TSval shows it is old.
    lad.ack("c", gap=0.005)
    amend(lad, ts_option(450, 1000), win=14263)
    a = replay(lad.segments)
    assert rules_at(a.findings) == []


def test_same_tick_acks_reordered_on_the_host_are_no_window_shrink():
    # A regenerated make bench capture, frames 761198 and 761212: the same ACK and TSval, the
    # later-captured one with staler SACK blocks and a smaller window, 39 us later. Two ACKs
    # stamped in one tick: the capture cannot tell which was sent first.
    lad = bulk_with_timestamps()
    lad.ack("c")
    amend(lad, ts_option(451, 1000), win=14121)
    lad.ack("c", gap=0.005)
    amend(lad, ts_option(451, 1000), win=14073)
    assert rules_at(replay(lad.segments).findings) == []


def test_a_smaller_window_in_a_later_tick_is_still_a_window_shrink():
    lad = bulk_with_timestamps()
    lad.ack("c")
    amend(lad, ts_option(451, 1000), win=14121)
    shrunk = lad.ack("c", gap=0.005)
    amend(lad, ts_option(452, 1000), win=4000)
    assert rules_at(replay(lad.segments).findings) == [("window-shrink", shrunk.frame)]


# ------------------------------------------------------------------------------ handshake timers


def test_synack_timer_copy_just_before_the_answer_to_a_retransmitted_syn_is_no_violation():
    # The first SYN-ACK is lost after the capture point; 1 s later the server's SYN-ACK timer
    # fires at the moment the client's retransmitted SYN arrives, and the server answers that
    # SYN too: two SYN-ACKs 0.000 s apart, the second an answer, not a timer retransmission.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s", gap=0.00002)
    lad.synack("s", gap=1.0)
    lad.syn("c", gap=0.000004)
    lad.synack("s", gap=0.000004)
    lad.ack("c", gap=0.00002)
    lad.data("c", 100)
    lad.ack("s")
    lad.close()
    a = replay(lad.segments)
    assert "rto-backoff-violation" not in {f.rule for f in a.findings}
    assert rules_at(a.findings) == []
    assert final_states(a.timelines, lad.segments[-1].frame) == ("TIME_WAIT", "CLOSED")


def test_synack_timer_copy_right_after_the_answer_to_a_retransmitted_syn_is_no_violation():
    # The bench's 69 rto-backoff-violation warnings: the same race with the answer to the
    # client's retransmitted SYN first and the timer's copy 0.000 s after it.
    lad = Ladder()
    lad.syn("c")
    lad.synack("s", gap=0.00002)
    lad.syn("c", gap=1.0)
    lad.synack("s", gap=0.000004)
    lad.synack("s", gap=0.000002)
    lad.ack("c", gap=0.00002)
    lad.ack("c", gap=0.000004)
    a = replay(lad.segments)
    assert "rto-backoff-violation" not in {f.rule for f in a.findings}


# ------------------------------------------------------------------------------ reused tuple


def test_rst_at_seg_ack_answering_a_challenge_ack_on_a_reused_tuple_is_no_error():
    # captures/linux/reuse-challenge-ack.pcap: 8 new SYN on a tuple the server still holds,
    # 9 challenge ACK with the old connection's numbers, 10 RST seq = SEG.ACK of 9.
    result = analyze(REAL / "reuse-challenge-ack.pcap")
    assert [f for f in result.findings if f.severity.label == "error"] == []
    assert "rst-out-of-window" not in {f.rule for f in result.findings}
    # 9 and 10 belong to the old connection, which the RST ends on both sides; the new one
    # opens with the SYN retransmission and closes normally.
    assert timeline_of(result.timelines, 10) is timeline_of(result.timelines, 7)
    assert final_states(result.timelines, 10) == ("CLOSED", "CLOSED")
    assert final_states(result.timelines, 21) == ("TIME_WAIT", "CLOSED")


def test_syn_retransmitted_right_after_answering_a_challenge_ack_with_rst_is_no_backoff_violation():
    # Frame 11, 10 ms after the RST of frame 10.
    result = analyze(REAL / "reuse-challenge-ack.pcap")
    assert "rto-backoff-violation" not in {f.rule for f in result.findings}


# ------------------------------------------------------------------------------ second ISN


def test_synack_with_a_new_isn_after_a_server_restart_starts_a_new_sequence_space():
    # captures/linux/synack-new-isn-after-restart.pcap: 2 SYN-ACK (ISN A, lost), 3 SYN
    # retransmission, 4 SYN-ACK from the restarted listener with ISN B, 5 ACK of B + 1.
    result = analyze(REAL / "synack-new-isn-after-restart.pcap")
    assert rules_at(result.findings) == []
    assert states_at(result.timelines, 5) == ("ESTABLISHED", "ESTABLISHED")
    assert final_states(result.timelines, 13) == ("TIME_WAIT", "CLOSED")


def test_new_synack_after_the_client_reset_its_attempt_starts_a_new_sequence_space():
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.synack("s")
    lad.rst("c", seq=1001, with_ack=False)  # the client abandons the attempt
    # It retries with the same ISN, as Linux does after an RST in SYN-SENT
    # (reuse-challenge-ack.pcap, frames 10-11); the server's first request is gone.
    lad.syn("c", gap=0.01)
    lad.isn["s"] = 900_000
    assert_healthy_from_the_synack(lad)


def test_tfo_fallback_syn_retried_without_data_answered_with_a_new_isn_is_healthy():
    # SYN with 100 bytes of data; its SYN-ACK (ISN 5000, acking only the SYN) is lost after
    # the capture point; the client retries the SYN without data and the server, whose first
    # request is gone, answers with ISN 900000; the client then sends the 100 bytes.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.raw("c", SYN, 1000, 0, plen=100)
    lad.nxt["c"] = 1001
    lad.synack("s")
    lad.syn("c", gap=1.0)
    lad.isn["s"] = 900_000
    assert_healthy_from_the_synack(lad)


# ------------------------------------------------------------------------------ unacceptable
# segments change nothing in their receiver


@needs_oracle
def test_out_of_window_final_ack_leaves_the_server_in_syn_received():
    # firewall-tcp-session-stream-out-of-window: 3 ACK+PSH at seq ISN + 1 + 100000, far
    # beyond the server's 256-byte window (RFC 9293 §3.10.7.4: drop it, send an ACK).
    result = analyze(ORACLE / "suricata-verify__firewall-tcp-session-stream-out-of-window.pcap")
    assert states_at(result.timelines, 3) == ("ESTABLISHED", "SYN_RCVD")
    assert ("seq-out-of-window", 3) in rules_at(result.findings)


@needs_oracle
def test_injected_rst_and_fin_the_peer_ignored_do_not_end_the_connection():
    # bug-3286-02-linux-evasion: 2 injected RST+ACK and 3 FIN+ACK before the real SYN-ACK;
    # the Linux client answers with RST (4) and then completes the handshake with 5.
    result = analyze(ORACLE / "suricata-verify__bug-3286-02-linux-evasion.pcap")
    assert [f for f in result.findings if f.severity.label == "error"] == []
    assert states_at(result.timelines, 6) == ("ESTABLISHED", "ESTABLISHED")
    assert states_at(result.timelines, 10) == ("ESTABLISHED", "ESTABLISHED")


def test_syn_with_a_new_isn_to_a_syn_received_server_draws_a_challenge_ack_not_a_new_connection():
    # RFC 9293 §3.10.7.4 (fourth, with RFC 5961 §4): a SYN in SYN-RECEIVED gets a challenge
    # ACK and changes nothing; here the server answers with exactly that ACK (frame 4).
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.synack("s")
    lad.syn("c", seq=777_777, gap=0.2)
    lad.raw("s", ACK, 5001, 1001)
    a = replay(lad.segments)
    assert len(a.timelines) == 1
    assert states_at(a.timelines, 3)[1] == "SYN_RCVD"
    assert states_at(a.timelines, 4)[1] == "SYN_RCVD"


def test_rst_at_the_clients_isn_does_not_reset_a_responder_that_received_its_syn():
    # zeek's tcp-syn-then-ack-then-rst: the responder answers the SYN with a bare ACK of the
    # ISN itself (not ISN + 1); the client, in SYN-SENT, replies <SEQ=SEG.ACK><CTL=RST>
    # (RFC 9293 §3.10.7.3), i.e. seq = its ISN. Having received the SYN the responder's
    # RCV.NXT is ISN + 1, so that RST is outside its window and changes nothing there; the
    # reply leaves the client in SYN-SENT, as the RFC says (Linux retransmits its SYN next).
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", ACK, 5000, 1000)
    lad.rst("c", seq=1000, with_ack=False)
    a = replay(lad.segments)
    client, server = states_at(a.timelines, 3)
    assert client == "SYN_SENT"
    assert server != "CLOSED"


def test_the_reset_syn_sent_owes_an_unacceptable_ack_is_no_rst_finding():
    # The same exchange: that RST is the reply RFC 9293 §3.10.7.3 prescribes, so neither
    # rst-seq-not-exact (which blames a sender that guessed near RCV.NXT) nor rst-out-of-window
    # is its sender's; it is a reset the receiver ignored.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", ACK, 5000, 1000)
    lad.rst("c", seq=1000, with_ack=False)
    findings = [(f.rule, f.frame) for f in replay(lad.segments).findings]
    assert ("connection-reset", 3) in findings
    assert not {"rst-seq-not-exact", "rst-out-of-window"} & {rule for rule, _ in findings}


# ------------------------------------------------------------------------------ segments a
# sender's state does not allow: unexpected-segment


def test_synack_from_a_side_that_refused_the_syn_is_an_unexpected_segment():
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.raw("s", RST | ACK, 0, 1001)  # refused: nothing listens
    lad.synack("s", gap=0.01)  # the same side now "accepts" the SYN it refused
    a = replay(lad.segments)
    assert ("unexpected-segment", 3) in rules_at(a.findings)


def test_data_and_fin_from_a_server_still_in_syn_received_are_unexpected_segments():
    # An IDS-evasion pattern: the server sends data and FIN before the handshake completed;
    # the client's first ACK (frame 5) covers only the SYN-ACK, so no ACK was lost before it.
    lad = Ladder(client_isn=1000, server_isn=5000)
    lad.syn("c")
    lad.synack("s")
    lad.data("s", 100)
    lad.fin("s")
    lad.ack("c", ack=5001)
    a = replay(lad.segments)
    found = rules_at(a.findings)
    assert ("unexpected-segment", 3) in found
    assert ("unexpected-segment", 4) in found


def test_bare_rst_at_seg_ack_from_a_host_without_the_connection_is_not_an_abort():
    # The server lost the connection (a reboot) while the client idled; the client's next
    # segment draws <SEQ=SEG.ACK><CTL=RST>, the answer of a host with no TCB.
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.data("c", 100, gap=30.0)
    lad.rst("s", seq=lad.nxt["s"], with_ack=False)
    a = replay(lad.segments)
    (reset,) = (f for f in a.findings if f.frame == lad.segments[-1].frame)
    # Today: "server ... reset the connection while the client was in ESTABLISHED". The
    # finding must instead say what the RST shows: the server had no connection.
    assert "no connection" in reset.message
    assert final_states(a.timelines, lad.segments[-1].frame) == ("CLOSED", "CLOSED")


# ------------------------------------------------------------------------------ capture
# artefacts


def test_exact_duplicate_frames_are_a_capture_artefact_not_retransmissions(tmp_path):
    # close-client-first.pcap with the SYN (1), the request (4) and the client's FIN (8) each
    # copied, byte for byte and same IP ID, right after themselves: the copies become frames
    # 2, 6 and 11 of 14.
    doubled = with_duplicates(REAL / "close-client-first.pcap", tmp_path / "span.pcap",
                              {1, 4, 8})
    result = analyze(doubled)
    found = rules_at(result.findings, 1)
    assert {("duplicate-frame", 2), ("duplicate-frame", 6), ("duplicate-frame", 11)} <= set(found)
    assert not {"retransmission", "spurious-retransmission"} & {f.rule for f in result.findings}
    assert rules_at(result.findings) == []
    assert final_states(result.timelines, 14) == ("TIME_WAIT", "CLOSED")


def test_all_zero_checksums_with_replies_proving_arrival_lose_no_segment(tmp_path):
    zeroed = with_zero_checksums(REAL / "close-client-first.pcap", tmp_path / "sanitised.pcap")
    result = analyze(zeroed)
    assert rules_at(result.findings) == []
    assert final_states(result.timelines, 11) == ("TIME_WAIT", "CLOSED")


@needs_oracle
@pytest.mark.parametrize("name", ["arkime__http-tcp-seq-issue", "arkime__no-syn-ack"])
def test_stale_checksums_contradicted_by_the_peers_replies_are_no_bad_checksum(name):
    result = analyze(ORACLE / f"{name}.pcap")
    assert "bad-checksum" not in {f.rule for f in result.findings}
    assert [f for f in result.findings if f.severity.label == "error"] == []


def test_ignore_checksums_applies_segments_whatever_their_checksum():
    proc = subprocess.run(
        [sys.executable, "-m", "tcpcheck", "analyze", "--ignore-checksums", "--format", "json",
         str(CRAFTED / "bad-checksum.pcap")], capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert "bad-checksum" not in {f["rule"] for f in json.loads(proc.stdout)["findings"]}


# ------------------------------------------------------------------------------ holes and
# re-sent data


def test_ack_covering_a_hole_below_the_highest_sequence_is_ack_unseen_segment():
    # eve-payload-05-tcp-data-gap's shape: 4 bytes, 4 bytes never captured, 4 bytes, then the
    # server's ACK covering all twelve.
    lad = Ladder().handshake()
    lad.data("c", 4)
    lad.data("c", 4, seq=lad.nxt["c"] + 4)
    lad.ack("s")
    a = replay(lad.segments)
    assert ("ack-unseen-segment", 6) in rules_at(a.findings, 1)
    assert rules_at(a.findings) == []


@needs_oracle
@pytest.mark.parametrize(("name", "ack_frame"), [
    ("suricata-verify__eve-payload-05-tcp-data-gap", 7),
    ("arkime__tcp-reassembly-synthetic", 53),  # the tcp-gap connection (port 40005)
])
def test_field_capture_hole_below_the_highest_ack_is_ack_unseen_segment(name, ack_frame):
    result = analyze(ORACLE / f"{name}.pcap")
    assert ("ack-unseen-segment", ack_frame) in rules_at(result.findings, 1)


def test_resend_of_acknowledged_data_with_different_bytes_is_a_data_mismatch():
    # qi_internet_SYNACK_curl_jsonip's race: an injected response is acknowledged, then the
    # genuine one arrives at the same sequence number with other bytes.
    lad = Ladder().handshake()
    lad.data("c", 50)
    injected = lad.data("s", 43)
    lad.segments[-1] = injected._replace(payload=b"I" * 43)
    lad.ack("c")
    genuine = lad.data("s", 43, seq=injected.seq)
    lad.segments[-1] = genuine._replace(payload=b"G" * 43)
    a = replay(lad.segments)
    assert ("retransmission-data-mismatch", genuine.frame) in rules_at(a.findings)


@needs_oracle
def test_field_capture_injection_race_is_a_data_mismatch():
    result = analyze(ORACLE / "zeek__tcp-qi_internet_SYNACK_curl_jsonip.pcap")
    assert ("retransmission-data-mismatch", 9) in rules_at(result.findings)


# ------------------------------------------------------------------------------ options


def test_window_scale_above_14_is_window_scale_too_large():
    # RFC 7323 §2.3: a shift above 14 is used as 14, and it is worth a warning.
    lad = Ladder()
    lad.syn("c")
    amend(lad, syn_options(15, 100))
    lad.synack("s")
    amend(lad, syn_options(7, 500, 100))
    lad.ack("c")
    amend(lad, ts_option(100, 500))
    a = replay(lad.segments)
    assert ("window-scale-too-large", 1) in rules_at(a.findings)


def test_a_shift_above_14_on_a_synack_the_syn_did_not_ask_for_is_only_unsolicited():
    # RFC 7323 §2.2: without Window Scale on the SYN neither side scales, so the SYN-ACK's
    # shift of 15 is ignored whole, never used as 14.
    lad = Ladder()
    lad.syn("c")
    amend(lad, b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 100, 0))
    lad.synack("s")
    amend(lad, syn_options(15, 500, 100))
    lad.ack("c")
    amend(lad, ts_option(100, 500))
    a = replay(lad.segments)
    assert rules_at(a.findings) == [("synack-options-unsolicited", 2)]
