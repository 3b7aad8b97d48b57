"""The reference model, driven through the engine with hand-built segments."""

from __future__ import annotations

from conftest import rules_at, run_segments
from segments import Ladder

from tcpcheck.segment import ACK, FIN, PSH, SYN

TOP = 2**32


def states(analyzer):
    (conn,) = analyzer.connections
    return conn.client_state, conn.server_state


def test_normal_open_data_and_close_is_silent_and_ends_in_time_wait_for_the_active_closer():
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.data("s", 500)
    lad.ack("c")
    lad.close(first="s")
    a = run_segments(lad.segments)
    assert a.findings == []
    assert states(a) == ("CLOSED", "TIME_WAIT")
    assert a.connections[0].close == "fin"


def test_simultaneous_close_takes_both_sides_through_closing_to_time_wait():
    lad = Ladder().handshake()
    lad.fin("c")
    lad.fin("s", ack=lad.nxt["c"] - 1)  # sent before the client's FIN arrived
    lad.ack("c")
    lad.ack("s")
    a = run_segments(lad.segments)
    assert a.findings == []
    assert states(a) == ("TIME_WAIT", "TIME_WAIT")


def test_three_segment_close_with_merged_fin_ack_is_silent():
    lad = Ladder().handshake()
    lad.fin("c")
    lad.fin("s")  # FIN+ACK acknowledging the client's FIN
    lad.ack("c")
    a = run_segments(lad.segments)
    assert a.findings == []
    assert states(a) == ("TIME_WAIT", "CLOSED")


def test_half_close_with_data_flowing_the_other_way_is_silent():
    lad = Ladder().handshake()
    lad.data("c", 50)
    lad.fin("c")
    lad.ack("s")
    for _ in range(4):
        lad.data("s", 1000)
        lad.ack("c")
    lad.fin("s")
    lad.ack("c")
    a = run_segments(lad.segments)
    assert a.findings == []
    assert states(a) == ("TIME_WAIT", "CLOSED")


def test_simultaneous_open_is_silent():
    lad = Ladder()
    lad.syn("c")
    lad.syn("s")
    lad.synack("c")
    lad.synack("s")
    lad.data("c", 10)
    lad.ack("s")
    lad.close()
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == []
    assert states(a) == ("TIME_WAIT", "CLOSED")


def test_retransmitted_syn_with_new_isn_is_flagged():
    lad = Ladder()
    lad.syn("c")
    lad.syn("c", seq=777_777, gap=1.0)
    lad.synack("s")
    lad.ack("c")
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("syn-isn-changed", 2)]
    (f,) = (f for f in a.findings if f.rule == "syn-isn-changed")
    assert "777777" in f.observed and "1000" in f.expected


def test_syn_with_new_isn_after_the_stack_gave_up_is_a_new_attempt():
    lad = Ladder()
    lad.syn("c")
    lad.syn("c", seq=777_777, gap=200.0)  # beyond Linux's 131 s give-up time
    lad.synack("s")
    lad.ack("c")
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == [("half-open", 1)]
    assert len(a.connections) == 2


def test_synack_with_wrong_ack_is_flagged_and_the_client_reset_is_accepted():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s", ack=1000 + 50)
    lad.rst("c", seq=1000 + 50, with_ack=False)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("synack-bad-ack", 2)]
    assert rules_at(a.findings, 1) == [("connection-reset", 3), ("synack-bad-ack", 2)]


def test_final_handshake_ack_below_the_server_isn_plus_one_is_flagged():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c", ack=5000)
    a = run_segments(lad.segments)
    assert ("handshake-bad-ack", 3) in rules_at(a.findings)


def test_data_without_ack_flag_is_flagged():
    lad = Ladder().handshake()
    lad.raw("c", PSH, lad.nxt["c"], 0, plen=10)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("missing-ack-flag", 4)]


def test_reset_without_ack_is_not_missing_the_ack_flag():
    lad = Ladder().handshake()
    lad.rst("c", with_ack=False)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []


def test_syn_fin_is_an_invalid_flag_combination():
    lad = Ladder().handshake()
    lad.raw("c", SYN | FIN | ACK, lad.nxt["c"], lad.nxt["s"])
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("invalid-flag-combination", 4)]


def test_ack_of_unsent_data_is_an_error_only_when_the_peer_later_sends_below_it():
    lad = Ladder().handshake()
    lad.data("s", 1000)
    lad.ack("c", ack=5001 + 3000)
    lad.data("s", 500)  # starts at 6001: the server never sent 6001..8001
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("ack-unsent-data", 5)]
    (f,) = [f for f in a.findings if f.rule == "ack-unsent-data"]
    assert "ACK 3001" in f.message and "1001" in f.message


def test_ack_above_a_capture_hole_is_capture_loss_not_an_error():
    lad = Ladder().handshake()
    lad.data("s", 1000)
    lad.nxt["s"] += 1000  # the capture misses the server's next 1000 bytes
    lad.ack("c")
    lad.data("s", 500)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []
    assert rules_at(a.findings, 1) == [("ack-unseen-segment", 5)]


def test_ack_of_unsent_data_is_detected_across_the_sequence_wrap():
    lad = Ladder(server_isn=TOP - 600)
    lad.handshake()
    lad.data("s", 1000)  # crosses the wrap
    lad.ack("c", ack=lad.nxt["s"] + 2000)
    lad.data("s", 100)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("ack-unsent-data", 5)]


def test_data_transfer_across_the_wrap_in_both_directions_is_silent():
    lad = Ladder(client_isn=TOP - 1500, server_isn=TOP - 700)
    lad.handshake()
    for _ in range(4):
        lad.data("c", 1000)
        lad.ack("s")
        lad.data("s", 1000)
        lad.ack("c")
    lad.close()
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == []


def test_data_after_fin_is_flagged():
    lad = Ladder().handshake()
    lad.fin("c")
    lad.data("c", 100)
    a = run_segments(lad.segments)
    assert ("data-after-fin", 5) in rules_at(a.findings)


def test_retransmitted_fin_at_another_sequence_number_is_flagged():
    lad = Ladder().handshake()
    fin_seq = lad.nxt["c"]
    lad.fin("c")
    lad.fin("c", seq=fin_seq + 10, gap=0.2)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("fin-seq-changed", 5)]


def test_rst_answering_a_retransmitted_fin_in_time_wait_is_missing_time_wait():
    lad = Ladder().handshake()
    lad.close(first="c")
    server_fin = lad.nxt["s"] - 1
    lad.fin("s", seq=server_fin, gap=0.2)
    lad.rst("c", with_ack=False)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("missing-time-wait", 9)]


def test_re_acking_a_retransmitted_fin_in_time_wait_is_silent():
    lad = Ladder().handshake()
    lad.close(first="c")
    lad.fin("s", seq=lad.nxt["s"] - 1, gap=0.2)
    lad.ack("c")
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []


def test_rst_to_a_fin_after_time_wait_expired_is_silent():
    lad = Ladder().handshake()
    lad.close(first="c")
    lad.fin("s", seq=lad.nxt["s"] - 1, gap=61.0)  # Linux TIME_WAIT is 60 s
    lad.rst("c", with_ack=False)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []


def test_reopening_a_time_wait_tuple_with_a_lower_isn_is_missing_time_wait():
    lad = Ladder(client_isn=100_000)
    lad.handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.close(first="c")
    lad.syn("c", seq=50, gap=5.0)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("missing-time-wait", 10)]
    # The capture ends on that SYN: its answer could still come, so it is not half-open.
    assert rules_at(a.findings, 1) == [("missing-time-wait", 10)]


def test_reopening_a_time_wait_tuple_with_a_higher_isn_is_allowed_by_rfc_6191():
    lad = Ladder(client_isn=100_000)
    lad.handshake()
    lad.close(first="c")
    lad.syn("c", seq=9_000_000, gap=5.0)
    lad.synack("s", seq=123)
    lad.ack("c")
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []
    assert ("time-wait-reuse", 8) in rules_at(a.findings, 1)
    assert len(a.connections) == 2


def test_reopening_the_tuple_after_time_wait_expired_says_nothing():
    lad = Ladder(client_isn=100_000)
    lad.handshake()
    lad.close(first="c")
    lad.syn("c", seq=50, gap=61.0)
    lad.synack("s", seq=123)
    lad.ack("c")
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == []
    assert len(a.connections) == 2


def test_in_window_reset_is_accepted_and_closes_both_sides():
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.rst("s")
    a = run_segments(lad.segments)
    assert states(a) == ("CLOSED", "CLOSED")
    (f,) = a.findings
    assert f.rule == "connection-reset" and "accepts" in f.message


def test_out_of_window_reset_is_ignored_by_the_receiver_and_flagged():
    lad = Ladder().handshake()
    lad.rst("s", seq=lad.nxt["s"] + 10_000_000)
    a = run_segments(lad.segments)
    # Possibly forged: neither side is taken to have closed.
    assert states(a) == ("ESTABLISHED", "ESTABLISHED")
    assert rules_at(a.findings) == [("rst-out-of-window", 4)]


def test_refused_connection_is_reported_as_refused():
    lad = Ladder()
    lad.syn("c")
    lad.raw("s", 0x14, 0, lad.nxt["c"])  # RST+ACK
    a = run_segments(lad.segments)
    assert a.connections[0].close == "refused"
    assert rules_at(a.findings, 1) == [("connection-reset", 2)]


def test_keepalive_probe_is_a_keepalive_not_a_retransmission():
    lad = Ladder().handshake()
    lad.data("c", 100)
    lad.ack("s")
    lad.data("c", 1, seq=lad.nxt["c"] - 1, gap=7200, advance=False)
    lad.ack("s")
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == [("keepalive", 6)]


def test_reordered_segment_filling_a_hole_within_one_handshake_rtt_is_not_a_retransmission():
    lad = Ladder().handshake()  # 0.2 ms from SYN to the final ACK
    first = lad.nxt["c"]
    lad.data("c", 100, seq=first + 100)
    lad.data("c", 100, seq=first, gap=0.00005)
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == [("out-of-order", 5)]


def test_hole_filled_after_an_rto_is_a_retransmission():
    lad = Ladder().handshake()
    first = lad.nxt["c"]
    lad.data("c", 100, seq=first + 100)
    lad.data("c", 100, seq=first, gap=0.3)
    a = run_segments(lad.segments)
    assert rules_at(a.findings, 1) == [("retransmission", 5)]


def test_connection_picked_up_mid_stream_is_marked_and_checked():
    lad = Ladder().handshake()
    lad.segments.clear()
    lad.data("c", 100)
    lad.ack("s")
    lad.data("s", 200)
    lad.ack("c")
    lad.close()
    a = run_segments(lad.segments)
    (conn,) = a.connections
    assert conn.midstream
    assert conn.client == "192.0.2.10:40000"
    assert rules_at(a.findings, 1) == []
    assert states(a) == ("TIME_WAIT", "CLOSED")


def test_half_open_syn_is_info_and_the_server_state_is_not_guessed():
    # An unanswered SYN is no endpoint's violation (the client retried on its timer; nothing
    # shows the SYN ever reached the server): reported, but below the warning gate.
    lad = Ladder()
    lad.syn("c")
    lad.syn("c", gap=1.0)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []
    (half_open,) = (f for f in a.findings if f.rule == "half-open")
    assert (half_open.rule, half_open.frame, half_open.severity.label) == ("half-open", 1,
                                                                          "info")
    assert states(a) == ("SYN_SENT", "LISTEN")


def test_acks_without_the_ack_flag_reaching_the_model_do_not_change_state():
    lad = Ladder().handshake()
    lad.raw("c", FIN, lad.nxt["c"], 0)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("missing-ack-flag", 4)]
    assert states(a) == ("ESTABLISHED", "ESTABLISHED")


def test_the_profile_decides_how_long_time_wait_protects_the_tuple():
    lad = Ladder(client_isn=100_000)
    lad.handshake()
    lad.close(first="c")
    lad.syn("c", seq=50, gap=100.0)  # past Linux's 60 s, inside RFC 9293's 240 s
    lad.synack("s", seq=123)
    lad.ack("c")
    assert rules_at(run_segments(lad.segments, "linux").findings) == []
    assert rules_at(run_segments(lad.segments, "rfc9293").findings) == [("missing-time-wait", 8)]


def test_hole_filled_later_than_one_handshake_rtt_is_a_retransmission_even_within_3_ms():
    lad = Ladder().handshake()  # a veth-like 0.2 ms round trip
    first = lad.nxt["c"]
    lad.data("c", 100, seq=first + 100)
    lad.data("c", 100, seq=first, gap=0.0005)
    assert rules_at(run_segments(lad.segments).findings, 1) == [("retransmission", 5)]


def test_hole_filler_answering_duplicate_acks_is_a_fast_retransmission():
    lad = Ladder().handshake()
    first = lad.nxt["c"]
    lad.data("c", 100, seq=first + 100)
    for _ in range(3):
        lad.ack("s", ack=first, gap=0.00001)
    lad.data("c", 100, seq=first, gap=0.00001)
    assert rules_at(run_segments(lad.segments).findings, 1) == [
        ("duplicate-ack", 5), ("duplicate-ack", 6), ("duplicate-ack", 7),
        ("fast-retransmission", 8)]


def test_first_copies_kept_for_retransmission_checks_are_bounded_in_bytes():
    from tcpcheck.model.endpoint import MAX_SENT_BYTES, Endpoint
    from tcpcheck.model.states import State
    e = Endpoint("client", State.ESTABLISHED)
    chunk = b"x" * 65_000  # a TSO super-segment, never acknowledged (one-sided capture)
    for i in range(200):
        e.remember(i * len(chunk), chunk, i + 1, i)
    assert e.snd.sent_bytes <= MAX_SENT_BYTES
    assert e.snd.sent_bytes == sum(len(p) for _, p, _, _ in e.snd.sent)
    e.forget_acked(200 * len(chunk))
    assert e.snd.sent_bytes == 0 and not e.snd.sent


def test_retransmission_with_different_bytes_is_flagged_with_the_first_differing_byte():
    lad = Ladder().handshake()
    first = lad.nxt["c"]
    original = lad.data("c", 100)
    resent = lad.data("c", 100, seq=first, gap=0.3, advance=False)
    resent = resent._replace(payload=resent.payload[:40] + b"Z" + resent.payload[41:])
    lad.segments[-1] = resent
    a = run_segments(lad.segments)
    (f,) = [f for f in a.findings if f.rule == "retransmission-data-mismatch"]
    assert f.frame == resent.frame and f"frame {original.frame}" in f.message
    assert "from seq 41" in f.message


def test_window_edge_is_judged_across_the_sequence_wrap():
    # Client ISN 200 below 2**32: its data wraps to small numbers inside the server's window.
    lad = Ladder(client_isn=0xFFFFFF37).handshake()
    for _ in range(40):
        lad.data("c", 1460, gap=0.00001)
    lad.ack("s")
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []
    far = lad.data("c", 1460, seq=lad.nxt["c"] + 70_000, advance=False)
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == [("seq-out-of-window", far.frame)]


def _client_tsvals(tsvals: list[int], profile: str = "linux") -> list[str]:
    """Rules found when the client's data carries these TSvals (both SYNs had timestamps)."""
    def ts_opt(tsval: int) -> bytes:
        return b"\x01\x01\x08\x0a" + tsval.to_bytes(4, "big") + bytes(4)
    lad = Ladder().handshake()
    lad.segments = [s._replace(options=ts_opt(0xFFFFFF00)) for s in lad.segments]
    for tsval in tsvals:
        lad.data("c", 100)
        lad.segments[-1] = lad.segments[-1]._replace(options=ts_opt(tsval))
        lad.ack("s")
        lad.segments[-1] = lad.segments[-1]._replace(options=ts_opt(0xFFFFFF20))
    return [f.rule for f in run_segments(lad.segments, profile).findings if f.severity >= 2]


def test_timestamps_that_wrap_past_2_32_are_not_a_paws_regression():
    assert _client_tsvals([0xFFFFFFF0, 0x00000010, 0x00000100]) == []


def test_timestamps_going_back_across_the_wrap_are_a_paws_regression():
    assert _client_tsvals([0x00000010, 0xFFFFFFF0]) == ["paws-timestamp-regression"]


def test_new_data_one_tick_behind_is_within_linuxs_paws_window():
    # A regenerated bench capture: a retransmission stamped at tick 910 went out between
    # segments of a TSO burst stamped at 909. Linux's tcp_paws_discard accepts a TSval up to
    # TCP_PAWS_WINDOW = 1 behind TS.Recent; two ticks behind it drops the segment.
    assert _client_tsvals([910, 909, 910]) == []
    assert _client_tsvals([910, 908]) == ["paws-timestamp-regression"]


def test_a_strict_rfc_7323_receiver_has_no_paws_window():
    assert _client_tsvals([910, 909], profile="rfc9293") == ["paws-timestamp-regression"]


def test_a_late_syn_after_a_handshake_whose_syn_was_not_captured_has_no_timer_to_judge():
    lad = Ladder()
    lad.nxt["c"] += 1  # the SYN itself was not captured
    lad.synack("s")
    lad.ack("c")
    lad.data("c", 100)
    lad.ack("s")
    lad.syn("c", gap=30.0)  # a late duplicate of the uncaptured SYN
    a = run_segments(lad.segments)
    assert rules_at(a.findings) == []


def test_close_wait_is_not_called_a_stall_for_a_side_the_capture_never_saw():
    lad = Ladder()
    lad.nxt["c"] += 1  # only the server's packets are captured
    lad.synack("s")
    lad.fin("s", gap=1.0)
    lad.data("s", 0, gap=120.0)  # the capture goes on, still one-sided
    a = run_segments(lad.segments)
    assert "close-wait-stall" not in {f.rule for f in a.findings}


def test_a_synack_retransmitted_past_a_thousand_times_is_judged_without_overflowing():
    # The schedule doubles per retransmission: 2 ** 1024 does not fit a float.
    lad = Ladder()
    lad.syn("c")
    for _ in range(1100):
        lad.synack("s", gap=1.0)
    a = run_segments(lad.segments)
    assert {"synack-retries-exceeded", "rto-backoff-violation"} <= {f.rule for f in a.findings}
