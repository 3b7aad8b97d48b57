"""The replies a receiver owes (issue 14): RFC 9293 §3.10.7 and RFC 5961 make a receiver answer
some segments it drops; the model notes each obligation and settles it on the receiver's later
segments (``tcpcheck.model.replies``).

- answered: the receiver's next pure ACK (or RST) has the RFC's form: no finding;
- missing: the receiver went on sending past the allowance without it: a warning;
- rate-limited: the profile's rate limit excuses the silence: no finding;
- unjudged: nothing of the receiver after it (end of capture): no finding;
- wrong: a reply whose numbers are not the RFC's: ``wrong-reply``.

An unacceptable segment changes nothing in its receiver: every test gives both endpoints' states
after every segment. The real-traffic counterparts are captures/linux/reply-*.pcap and their
crafted copies (captures/crafted, tests/test_captures.py).
"""

from __future__ import annotations

from conftest import rules_at, run_segments
from owed_replies import replay_segments, settled
from segments import Ladder, stamped

from tcpcheck.model.events import ReplyOwed
from tcpcheck.segment import ACK, FIN, RST

EST = ("ESTABLISHED", "ESTABLISHED")


def replay(lad: Ladder, profile: str = "linux", *,
           stamp: bool = False) -> tuple[list[ReplyOwed], list[tuple[str, str]]]:
    """The ReplyOwed events of the ladder's one connection, and (client, server) states after
    every segment; with ``stamp``, every segment carries timestamps (``segments.stamped``)."""
    return replay_segments(stamped(lad) if stamp else lad.segments, profile)




def established(client_isn: int = 1000, server_isn: int = 5000) -> Ladder:
    """Handshake, a request and its ACK (frames 1-5)."""
    lad = Ladder(client_isn, server_isn).handshake()
    lad.data("c", 100)
    lad.ack("s")
    return lad


OPENING = [("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"), EST, EST, EST]


# ---------------------------------------------------------------------- challenge ACK, RST


def test_inexact_rst_answered_by_a_challenge_ack_is_settled_without_a_finding():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6: in the window, not RCV.NXT
    lad.ack("s", gap=0.0001)  # 7: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    lad.data("s", 10, gap=1.0)
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "answered", 6, 7)]
    assert states == [*OPENING, EST, EST, EST]


def test_inexact_rst_without_a_challenge_ack_is_challenge_ack_missing_at_the_rst():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.data("s", 10, gap=1.0)  # 7: the server goes on, past the allowance, without the ACK
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "missing", 6, None)]
    assert states == [*OPENING, EST, EST]
    found = run_segments(lad.segments)
    assert rules_at(found.findings) == [("challenge-ack-missing", 6)]
    (finding,) = [f for f in found.findings if f.rule == "challenge-ack-missing"]
    assert finding.expected == "<SEQ=1><ACK=101><CTL=ACK>"
    assert "invalid_ratelimit of 0.5 s was considered" in finding.message


def test_data_within_the_allowance_may_predate_the_rst_so_the_challenge_ack_may_follow_it():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.data("s", 10, gap=0.0001)  # 7: sent before the RST reached the server, perhaps
    lad.ack("s", gap=0.0001)  # 8: the challenge ACK
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "answered", 6, 8)]
    assert states == [*OPENING, EST, EST, EST]


def test_a_second_inexact_rst_within_linuxs_invalid_ratelimit_needs_no_answer():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.ack("s")  # 7: answered
    lad.rst("c", seq=lad.nxt["c"] + 60, gap=0.1)  # 8: 0.1 s later, inside 0.5 s
    lad.data("s", 10, gap=1.0)  # 9
    events, _ = replay(lad)
    assert settled(events) == [("challenge-rst", "answered", 6, 7),
                               ("challenge-rst", "rate-limited", 8, None)]
    strict, states = replay(lad, "rfc9293")  # RFC 9293 gives no rate limit
    assert settled(strict)[1] == ("challenge-rst", "missing", 8, None)
    assert states == OPENING + [EST] * 4


def test_a_profile_with_a_host_wide_challenge_ack_limit_excuses_every_missing_one():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.data("s", 10, gap=1.0)
    events, _ = replay(lad, "linux-legacy")  # tcp_challenge_ack_limit 100 per second
    assert settled(events) == [("challenge-rst", "rate-limited", 6, None)]


def test_nothing_of_the_receiver_after_the_rst_leaves_the_obligation_unjudged():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6, the last segment captured
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "unjudged", 6, None)]
    assert states == [*OPENING, EST]
    assert rules_at(run_segments(lad.segments).findings) == []


def test_a_challenge_ack_below_the_receivers_own_earlier_ack_is_a_wrong_reply():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.ack("s", ack=lad.nxt["c"] - 40)  # 7: RCV.NXT never goes back
    lad.data("s", 10, gap=1.0)
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "wrong", 6, 7)]
    assert events[0].observed == "frame 7: <ACK=61> in a pure ACK"
    assert states == [*OPENING, EST, EST, EST]
    assert ("wrong-reply", 6) in rules_at(run_segments(lad.segments).findings)


def test_the_challenge_ack_is_judged_across_the_sequence_wrap():
    lad = established(client_isn=0xFFFF_FFC0, server_isn=0xFFFF_FFF0)  # both wrap past 0
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.ack("s")  # 7
    lad.data("s", 10, gap=1.0)
    events, states = replay(lad)
    assert settled(events) == [("challenge-rst", "answered", 6, 7)]
    assert states == [*OPENING, EST, EST, EST]


def test_the_answering_duplicate_ack_says_what_it_answers_not_a_hole():
    lad = established()
    lad.rst("c", seq=lad.nxt["c"] + 50)  # 6
    lad.ack("s")  # 7
    found = run_segments(lad.segments)
    (dup,) = [f for f in found.findings if f.rule == "duplicate-ack"]
    assert "in reply to the client's segment at frame 6" in dup.message
    assert "hole" not in dup.message.replace("not a hole", "")


# ---------------------------------------------------------------------- challenge ACK, SYN


def test_a_syn_on_an_established_tuple_answered_by_a_challenge_ack_is_healthy():
    lad = established()
    lad.raw("c", 0x02, 900_000, 0, gap=0.2)  # 6: a SYN with a new ISN
    lad.ack("s")  # 7: the challenge ACK
    lad.data("c", 10, gap=1.0)  # 8: the client's own connection goes on
    lad.ack("s")
    found = run_segments(lad.segments, timelines=True)
    assert rules_at(found.findings) == []
    old = found.timelines[0]
    assert [(s.frame, s.client_state, s.server_state) for s in old.steps][-3:] == [
        (7, *EST), (8, *EST), (9, *EST)]


def test_a_syn_on_an_established_tuple_without_a_challenge_ack_is_challenge_ack_missing():
    lad = established()
    lad.raw("c", 0x02, 900_000, 0, gap=0.2)  # 6
    lad.data("s", 10, gap=1.0)  # 7: the server goes on without the ACK
    found = run_segments(lad.segments)
    assert rules_at(found.findings) == [("challenge-ack-missing", 6)]


# ---------------------------------------------------------------------- unacceptable segments


def test_data_wholly_beyond_the_window_owes_an_ack_and_changes_nothing_in_the_receiver():
    lad = established()
    lad.data("c", 100, seq=lad.nxt["c"] + 70_000, advance=False)  # 6: beyond 64240
    lad.ack("s")  # 7: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, still ACK 101
    lad.data("s", 10, gap=1.0)
    events, states = replay(lad)
    assert settled(events) == [("ack-unacceptable", "answered", 6, 7)]
    assert states == [*OPENING, EST, EST, EST]
    assert rules_at(run_segments(lad.segments).findings) == [("seq-out-of-window", 6)]


def test_data_beyond_the_window_never_acked_is_unacceptable_segment_not_acked():
    lad = established()
    lad.data("c", 100, seq=lad.nxt["c"] + 70_000, advance=False)  # 6
    lad.data("s", 10, gap=1.0)  # 7
    found = run_segments(lad.segments)
    assert rules_at(found.findings) == [("seq-out-of-window", 6),
                                        ("unacceptable-segment-not-acked", 6)]


def old_duplicate() -> Ladder:
    """Frames 1-5, then the client's request again (6), wholly below the server's RCV.NXT
    (replayed with timestamps: only a copy carrying its sender's newest TSval is a
    retransmission the receiver got)."""
    lad = established()
    lad.data("c", 100, seq=lad.isn["c"] + 1, gap=0.25)
    return lad


def test_an_old_duplicate_answered_by_an_ack_at_rcv_nxt_is_settled_without_a_finding():
    lad = old_duplicate()
    lad.ack("s")  # 7: <SEQ=SND.NXT><ACK=RCV.NXT 1101><CTL=ACK> (Linux adds a D-SACK)
    lad.data("c", 10, gap=1.0)
    events, states = replay(lad, stamp=True)
    assert settled(events) == [("ack-unacceptable", "answered", 6, 7)]
    assert states == [*OPENING, EST, EST, EST]
    assert rules_at(run_segments(stamped(lad)).findings) == []


def test_an_ack_at_rcv_nxt_piggybacked_on_data_answers_an_old_duplicate():
    lad = old_duplicate()
    lad.data("s", 10)  # 7: data carrying ACK 1101
    events, states = replay(lad, stamp=True)
    assert settled(events) == [("ack-unacceptable", "answered", 6, 7)]
    assert states == [*OPENING, EST, EST]


def test_an_old_duplicate_whose_receiver_next_acks_only_later_data_is_not_acked():
    lad = old_duplicate()
    lad.data("c", 10, gap=1.0)  # 7: new data
    lad.ack("s")  # 8: ACK 1111, a second after the copy: the ACK of frame 7, no reply to 6
    events, states = replay(lad, stamp=True)
    assert settled(events) == [("ack-unacceptable", "missing", 6, None)]
    assert states == [*OPENING, EST, EST, EST]
    assert rules_at(run_segments(stamped(lad)).findings) == [
        ("unacceptable-segment-not-acked", 6)]


def test_an_exchange_that_repeats_itself_leaves_the_old_duplicate_unjudged():
    # A trace joined to itself: after the client's request again, the server's own reply
    # comes again too, with the ACK it carried the first time, below the one it already sent.
    lad = established()
    lad.data("s", 50)  # 6: the answer, ACK 1101
    lad.ack("c")  # 7
    lad.data("c", 100, seq=lad.isn["c"] + 1, gap=0.25)  # 8: the request again
    lad.raw("s", ACK, lad.isn["s"] + 1, lad.isn["c"] + 1, plen=50, gap=0.1)  # 9: ACK 1001
    lad.fin("s", gap=0.2)  # 10: past the allowance, no ACK for 8 came
    events, states = replay(lad, stamp=True)
    # The server's copy (9) is an old duplicate for the client in turn: the capture ends first.
    assert settled(events) == [("ack-unacceptable", "unjudged", 8, 9),
                               ("ack-unacceptable", "unjudged", 9, None)]
    assert "below the receiver's own earlier ACK 101" in events[0].observed
    assert states == [*OPENING, EST, EST, EST, EST, ("CLOSE_WAIT", "FIN_WAIT_1")]
    assert "unacceptable-segment-not-acked" not in {
        rule for rule, _ in rules_at(run_segments(stamped(lad)).findings)}


def test_a_copy_with_the_originals_timestamp_is_owed_nothing():
    # A mirror port repeats frame 4 into the capture 0.25 s later, TSval and all: no stack
    # sent it, so the server never got it and owes no reply (RFC 7323 §3: a retransmission
    # carries its sender's current clock).
    lad = established()
    lad.data("c", 10, gap=1.0)  # 6: new data
    lad.ack("s")  # 7
    segs = stamped(lad)
    copy = segs[3]._replace(frame=8, ts=segs[-1].ts + 250_000_000)
    lad.segments.append(copy)
    lad.data("s", 10, gap=1.0)  # 9: the server goes on, past the allowance
    segs = [*segs, copy, stamped(lad, {9: 6})[-1]]
    events, states = replay_segments(segs)
    assert settled(events) == []
    assert states == [*OPENING, EST, EST, EST, EST]
    assert "unacceptable-segment-not-acked" not in {
        rule for rule, _ in rules_at(run_segments(segs).findings)}


def test_a_bare_fin_into_a_zero_window_acked_is_accepted_and_linux_names_its_tolerance():
    lad = established()
    lad._emit("s", ACK, lad.nxt["s"], lad.nxt["c"], win=0)  # 6: zero window at RCV.NXT 101
    lad.fin("c", gap=0.2)  # 7: SEG.LEN 1 into RCV.WND 0: not acceptable (RFC 9293 §3.10.7.4)
    lad.ack("s")  # 8: ACK 102 covers the FIN: the server took it
    events, states = replay(lad)
    assert settled(events) == [("ack-unacceptable", "accepted", 7, 8)]
    assert "zero_window_fin = accept" in events[0].observed
    assert states == [*OPENING, EST, ("FIN_WAIT_1", "CLOSE_WAIT"), ("FIN_WAIT_2", "CLOSE_WAIT")]
    strict, _ = replay(lad, "rfc9293")
    assert "zero_window_fin" not in strict[0].observed
    found = run_segments(lad.segments)
    assert ("unacceptable-segment-accepted", 7) in rules_at(found.findings, 1)
    assert rules_at(found.findings) == []


# ---------------------------------------------------------------------- resets


def test_the_reset_for_a_bad_third_ack_leaves_the_listener_in_syn_received():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c", ack=lad.nxt["s"] + 500)  # 3: acknowledges what the server never sent
    lad.raw("s", RST, lad.nxt["s"] + 500, 0)  # 4: <SEQ=SEG.ACK><CTL=RST>
    events, states = replay(lad)
    assert settled(events) == [("reset-syn-received", "answered", 3, 4)]
    assert states == [("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"),
                      ("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD")]


def test_the_reset_for_a_bad_third_ack_is_explained_as_its_reply_not_an_abort():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c", ack=lad.nxt["s"] + 500)  # 3
    lad.raw("s", RST, lad.nxt["s"] + 500, 0)  # 4: <SEQ=SEG.ACK><CTL=RST>
    lad.ack("c", gap=1.0)  # 5: the client goes on, acknowledging the SYN-ACK this time
    _, states = replay(lad)
    assert states == [("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"),
                      ("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"), EST]
    (reset,) = [f for f in run_segments(lad.segments).findings if f.rule == "connection-reset"]
    assert reset.frame == 4
    assert "answered the client's unacceptable ACK at frame 3" in reset.message
    assert "stays in SYN-RECEIVED: not an abort" in reset.message
    assert "went on without it" in reset.message


def test_a_reset_at_another_sequence_number_is_a_wrong_reply():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c", ack=lad.nxt["s"] + 500)  # 3
    lad.raw("s", RST, lad.nxt["s"] + 7, 0)  # 4: not SEG.ACK
    events, _ = replay(lad)
    assert settled(events) == [("reset-syn-received", "wrong", 3, 4)]
    assert events[0].expected == "<SEQ=501><CTL=RST>"
    assert events[0].observed == "frame 4: <SEQ=8><CTL=RST>"


def test_a_listener_that_retransmits_its_syn_ack_instead_of_the_reset_owes_it():
    lad = Ladder()
    lad.syn("c")
    lad.synack("s")
    lad.ack("c", ack=lad.nxt["s"] + 500)  # 3
    lad.synack("s", gap=1.0)  # 4: the SYN-ACK again, no reset
    events, states = replay(lad)
    assert settled(events) == [("reset-syn-received", "missing", 3, None)]
    assert states[2:] == [("ESTABLISHED", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD")]
    assert ("reset-not-sent", 3) in rules_at(run_segments(lad.segments).findings)


def test_an_rst_answer_to_an_ack_kind_leaves_it_unjudged():
    lad = established()
    lad.data("c", 100, seq=lad.nxt["c"] + 70_000, advance=False)  # 6
    lad.raw("s", RST | ACK, lad.nxt["s"], lad.nxt["c"], gap=1.0)  # 7: the server aborts
    events, _ = replay(lad)
    assert settled(events) == [("ack-unacceptable", "unjudged", 6, 7)]


# ---------------------------------------------------------------------- SEG.ACK > SND.NXT


def test_an_ack_of_data_never_sent_owes_an_ack_once_the_next_data_proves_it_unsent():
    lad = established()
    lad.ack("c", ack=lad.nxt["s"] + 1000, gap=0.2)  # 6: above anything the server sent
    lad.data("s", 10, gap=1.0)  # 7: new data at 1, below the ACK: it was never sent
    events, states = replay(lad)
    assert settled(events) == [("ack-unacceptable", "missing", 6, None)]
    assert states == [*OPENING, EST, EST]
    assert rules_at(run_segments(lad.segments).findings) == [
        ("ack-unsent-data", 6), ("unacceptable-segment-not-acked", 6)]


def test_an_ack_of_data_the_capture_missed_owes_nothing():
    lad = established()
    lad.ack("c", ack=lad.nxt["s"] + 1000, gap=0.2)  # 6
    lad.data("s", 10, seq=lad.nxt["s"] + 1000, gap=1.0)  # 7: starts at the ACK: capture loss
    events, _ = replay(lad)
    assert settled(events) == []


# ---------------------------------------------------------------------- no connection


def _on_another_port(lad: Ladder, sport: int) -> None:
    """Move the ladder's latest segment to another client port (another four-tuple)."""
    seg = lad.segments[-1]
    if seg.src == lad.segments[0].src:
        lad.segments[-1] = seg._replace(sport=sport)
    else:
        lad.segments[-1] = seg._replace(dport=sport)


def no_connection_then_a_new_one(answered: bool) -> Ladder:
    """The server resets a request on a tuple it has no connection on, gets it again, and
    (``answered``) resets it again; then the client's host opens another connection to it."""
    lad = established()
    lad.raw("s", RST, lad.nxt["s"], 0)  # 6: <SEQ=SEG.ACK><CTL=RST>: it has no connection
    lad.data("c", 100, seq=lad.nxt["c"] - 100, gap=1.0)  # 7: the request again
    if answered:
        lad.raw("s", RST, lad.nxt["s"], 0)  # 8
    new = Ladder(client_isn=70_000, server_isn=90_000)
    new.ts = lad.ts
    for step, gap in ((new.syn, 0.5), (new.synack, 0.0001), (new.ack, 0.0001)):
        step(gap=gap)
        lad.segments.append(new.segments[-1]._replace(frame=len(lad.segments) + 1))
        _on_another_port(lad, 40001)
    return lad


def test_a_host_without_a_connection_answering_again_with_a_reset_is_healthy():
    found = run_segments(no_connection_then_a_new_one(answered=True).segments)
    assert rules_at(found.findings) == []


def test_a_host_without_a_connection_that_serves_the_peer_elsewhere_owes_the_reset():
    found = run_segments(no_connection_then_a_new_one(answered=False).segments)
    assert rules_at(found.findings) == [("reset-not-sent", 7)]
    (finding,) = [f for f in found.findings if f.rule == "reset-not-sent"]
    assert "on another connection" in finding.observed


def test_a_host_that_sends_again_on_the_four_tuple_had_a_connection_after_all():
    lad = established()
    lad.raw("s", RST, lad.nxt["s"], 0)  # 6: a reset in its name (a middlebox)
    lad.data("c", 100, seq=lad.nxt["c"] - 100, gap=1.0)  # 7
    lad.data("s", 10, gap=0.001)  # 8: the server goes on on this four-tuple
    events, _ = replay(lad)
    assert settled(events) == [("reset-closed", "unjudged", 7, 8)]


def reset_then_a_segment_without_ack(reply_seq: int, reply_ack: int | None) -> Ladder:
    """The server resets the connection (6); the client sends a bare FIN without ACK on the
    tuple (7), and the server answers with a reset (8) carrying ``reply_seq`` and, when not
    None, ACK ``reply_ack``."""
    lad = established()
    lad.raw("s", RST | ACK, lad.nxt["s"], lad.nxt["c"])  # 6: at RCV.NXT: the client takes it
    lad.raw("c", FIN, lad.nxt["c"], 0, gap=1.0)  # 7: SEG.SEQ 1101, SEG.LEN 1
    flags = RST if reply_ack is None else RST | ACK
    lad.raw("s", flags, reply_seq, reply_ack or 0, gap=0.001)  # 8
    return lad


RESET_STATES = [*OPENING, ("CLOSED", "CLOSED"), ("CLOSED", "CLOSED"), ("CLOSED", "CLOSED")]


def test_the_reset_for_a_segment_without_ack_is_seq_zero_ack_seg_seq_plus_seg_len():
    lad = reset_then_a_segment_without_ack(0, 1000 + 101 + 1)
    events, states = replay(lad)
    assert settled(events) == [("reset-closed", "answered", 7, 8)]
    assert events[0].expected == "<SEQ=0><ACK=102><CTL=RST,ACK>"
    assert states == RESET_STATES


def test_a_reset_for_a_segment_without_ack_with_other_numbers_is_a_wrong_reply():
    for reply_seq, reply_ack in ((5000 + 1, 1000 + 101 + 1), (0, 1000 + 101), (0, None)):
        lad = reset_then_a_segment_without_ack(reply_seq, reply_ack)
        events, states = replay(lad)
        assert settled(events) == [("reset-closed", "wrong", 7, 8)], (reply_seq, reply_ack)
        assert states == RESET_STATES
        assert ("wrong-reply", 7) in rules_at(run_segments(lad.segments).findings)


def test_a_segment_without_ack_left_unanswered_is_not_judged_a_listener_drops_it():
    lad = reset_then_a_segment_without_ack(0, 1102)
    lad.segments.pop()
    events, _ = replay(lad)
    assert settled(events) == [("reset-closed", "unjudged", 7, None)]


# -------------------------------------------------------- what the capture cannot tell


def test_a_provoking_segment_captured_beside_its_rewritten_twin_owes_nothing():
    # Both sides of a sequence-randomising firewall in one capture (packet-c.cap in the wild
    # set): each segment twice at the same instant, one with other numbers. The receiver only
    # ever saw one of them.
    lad = established()
    lad.ack("c", ack=lad.nxt["s"] + 1000, gap=0.2)  # 6: an ACK of unsent data...
    lad.ack("c", gap=0)  # 7: ...and the same ACK, rewritten, at the same instant
    lad.data("s", 10, gap=1.0)  # 8: new data below the ACK
    events, states = replay(lad)
    assert settled(events) == [("ack-unacceptable", "unjudged", 6, None)]
    assert "both sides of a middlebox" in events[0].observed
    assert states == [*OPENING, EST, EST, EST]
    assert "unacceptable-segment-not-acked" not in {r for r, _ in rules_at(
        run_segments(lad.segments).findings)}


def test_a_reset_from_a_host_that_still_had_state_is_not_judged_against_seg_ack():
    lad = established()
    lad.raw("s", RST, lad.nxt["s"], 0)  # 6
    lad.data("c", 100, seq=lad.nxt["c"] - 100, gap=1.0)  # 7
    lad.raw("s", RST, lad.nxt["s"] - 1, 0)  # 8: not SEG.ACK: built from a TCB it still had
    events, _ = replay(lad)
    assert settled(events) == [("reset-closed", "unjudged", 7, 8)]


# ---------------------------------------------------------------------- ordinary ACKs: FIN


def fin_then_server_data(ack_covers_fin: bool, fin_again: bool = False) -> Ladder:
    """The client closes (6); the server answers its request 1 s later (7), acknowledging the
    FIN or not; (``fin_again``: the client retransmits its FIN first); then the server's FIN
    acknowledges it."""
    lad = established()
    lad.fin("c")  # 6
    if fin_again:
        lad.fin("c", seq=lad.nxt["c"] - 1, gap=0.5)
    lad._emit("s", ACK, lad.nxt["s"], lad.nxt["c"] - (0 if ack_covers_fin else 1), plen=10,
              gap=1.0)
    lad.nxt["s"] += 10
    lad.fin("s", gap=0.001)
    return lad


def test_a_fin_acknowledged_by_the_receivers_next_segment_owes_nothing_more():
    events, states = replay(fin_then_server_data(ack_covers_fin=True))
    assert settled(events) == []
    assert states == [*OPENING, ("FIN_WAIT_1", "CLOSE_WAIT"), ("FIN_WAIT_2", "CLOSE_WAIT"),
                      ("TIME_WAIT", "LAST_ACK")]


def test_a_segment_past_the_delayed_ack_limit_leaving_out_a_fin_it_had_is_ack_withheld():
    lad = fin_then_server_data(ack_covers_fin=False)
    events, states = replay(lad)
    assert settled(events) == [("ack-fin", "missing", 6, 8)]
    assert states[5:] == [("FIN_WAIT_1", "CLOSE_WAIT"), ("FIN_WAIT_1", "CLOSE_WAIT"),
                          ("TIME_WAIT", "LAST_ACK")]
    assert rules_at(run_segments(lad.segments).findings) == [("ack-withheld", 6)]


def test_a_fin_sent_again_may_have_been_lost_after_the_tap_so_nothing_is_withheld():
    events, _ = replay(fin_then_server_data(ack_covers_fin=False, fin_again=True))
    assert settled(events) == []


def test_linux_never_rate_limits_its_ack_for_a_segment_with_data():
    lad = established()
    lad.data("c", 100, seq=lad.nxt["c"] + 70_000, advance=False)  # 6
    lad.ack("s")  # 7: answered
    lad.data("c", 100, seq=lad.nxt["c"] + 80_000, advance=False, gap=0.1)  # 8: within 0.5 s
    lad.data("s", 10, gap=1.0)  # 9: no ACK for 8
    events, states = replay(lad)
    assert settled(events) == [("ack-unacceptable", "answered", 6, 7),
                               ("ack-unacceptable", "missing", 8, None)]
    assert states == [*OPENING, EST, EST, EST, EST]
