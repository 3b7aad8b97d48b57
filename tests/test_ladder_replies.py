"""The replies a receiver owed, in the ladder: at the segment that caused the obligation, what
was owed and how it was settled; at the segment that answered it, which one it answers.

The timelines are real connections (tests/owed_replies.py: the keepalives of
captures/linux/keepalive.pcap, each owing the server's ACK) carrying ``ReplyOwed`` records as
the model keeps them; the layout is read from ``build_ladder`` and the terminal drawing as
``tcpcheck show`` prints it, without colour.
"""

from __future__ import annotations

import io
from dataclasses import replace

from owed_replies import EXPECTED, keepalive_with_replies, probe_reply
from pcap_edit import records, without_frames
from rich.console import Console
from test_show import ROOT, rows, run_show, stripped

from tcpcheck.model.events import ReplyKind, ReplyOutcome, ReplyOwed
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report import ladder as ladder_module
from tcpcheck.report.ladder import Collapsed, build_ladder
from tcpcheck.report.ladder_view import ANSWER_MARK, OWED_MARK, render_ladder
from tcpcheck.result import AnalysisResult
from tcpcheck.timeline import Recording

BULK_HEAVY_LOSS = "captures/linux/bulk-heavy-loss.pcap"
RST_IN_WINDOW = ROOT / "captures/linux/reply-rst-in-window.pcap"
"""Real Linux: 8 is an RST in the server's window but not at RCV.NXT; 9 is the server's
challenge ACK (RFC 5961 §3.2)."""
CHALLENGE = ("server owes a challenge ACK <SEQ=53><ACK=46><CTL=ACK> (RFC 5961 §3.2; RFC 9293 "
             "§3.10.7.4)")


def drawn(result: AnalysisResult, width: int = 100) -> str:
    """The ladder of the result's one timeline as ``tcpcheck show`` prints it, no colour."""
    (timeline,) = result.timelines
    (summary,) = [c for c in result.connections if c.id == timeline.connection]
    console = Console(file=io.StringIO(), width=width, no_color=True, record=True)
    render_ladder(build_ladder(timeline, result.findings), summary, console)
    return stripped(console.export_text())


def notes(text: str, frame: int) -> str:
    """The text written under the arrow of ``frame`` (wrapped lines joined)."""
    row = rows(text)[frame]
    under = row.arrow[row.arrow.index(row.shaft) + 1:]
    return " ".join(" ".join(under).split())


# -- layout ----------------------------------------------------------------------------------


def test_an_owed_reply_is_told_at_the_provoking_segment_and_its_answer_names_it():
    result = keepalive_with_replies(probe_reply(8))
    ladder = build_ladder(result.timelines[0], result.findings)
    by_frame = {row.step.frame: row for row in ladder.rows}
    (owed,) = by_frame[8].owed
    assert owed.note(8) == (f"server owes an ACK {EXPECTED} (RFC 9293 §3.10.7.4) → answered "
                            "by frame 9")
    assert [item.answer() for item in by_frame[9].answering] == ["answers frame 8"]
    assert [f for f, row in by_frame.items() if row.owed or row.answering] == [8, 9]


def test_each_outcome_says_how_the_obligation_was_settled():
    settled = {outcome: build_ladder(keepalive_with_replies(probe_reply(
        8, outcome, observed=observed)).timelines[0], ()).rows[7].owed[0].settled()
        for outcome, observed in (
            (ReplyOutcome.ANSWERED, ""),
            (ReplyOutcome.MISSING, "no reply in 1.03 s while it sent 1 segment"),
            (ReplyOutcome.RATE_LIMITED, "within the linux profile's 0.5 s limit"),
            (ReplyOutcome.UNJUDGED, ""),
            (ReplyOutcome.WRONG, "<SEQ=53><ACK=45><CTL=ACK>"),
            (ReplyOutcome.LATE, "after 0.3 s"))}
    assert settled == {
        ReplyOutcome.ANSWERED: "answered by frame 9",
        ReplyOutcome.MISSING: "none came: no reply in 1.03 s while it sent 1 segment",
        ReplyOutcome.RATE_LIMITED: "rate-limited: within the linux profile's 0.5 s limit",
        ReplyOutcome.UNJUDGED: "not judged: nothing from the server afterwards",
        ReplyOutcome.WRONG: "frame 9 answers wrongly: <SEQ=53><ACK=45><CTL=ACK>",
        ReplyOutcome.LATE: "answered late by frame 9: after 0.3 s",
    }


def test_a_reply_owed_to_a_segment_of_another_connection_is_told_at_its_answer():
    # As in captures/linux/reuse-challenge-ack.pcap: the old connection's challenge ACK (9)
    # answers a SYN the tracker gave to the new connection on the tuple (100 here).
    result = keepalive_with_replies()
    moved = replace(result.timelines[0], replies=(
        ReplyOwed(100, 0, "server", ReplyKind.CHALLENGE_SYN, ReplyOutcome.ANSWERED, 9,
                  "<SEQ=53><ACK=46><CTL=ACK>", "", "SYN in ESTABLISHED", "RFC 5961 §4.2",
                  load_profile("linux")),))
    by_frame = {row.step.frame: row for row in build_ladder(moved, ()).rows}
    (owed,) = by_frame[9].owed
    assert owed.note(9) == ("server owes a challenge ACK <SEQ=53><ACK=46><CTL=ACK> "
                            "(RFC 5961 §4.2) to frame 100 → answered by frame 9")
    assert by_frame[9].answering == ()  # the note at its own row already says so


def test_an_owed_reply_in_a_long_connection_is_drawn_out_of_the_collapsed_stretch():
    # Frame 2491 retransmits data the server already has (wholly below RCV.NXT): it fails
    # the acceptability test, and the server's duplicate ACK 2492 is the ACK it owes.
    result = analyze_jobs([Job(BULK_HEAVY_LOSS, load_profile("linux"))], Recording(all=True))
    (timeline,) = result.timelines
    # The model owes and settles it itself; without that record the frame stays collapsed.
    assert [(r.frame, r.reply_frame) for r in timeline.replies
            if r.frame == 2491] == [(2491, 2492)]
    before = build_ladder(replace(timeline, replies=()), result.findings)
    assert 2491 not in {row.step.frame for row in before.rows}
    owed = ReplyOwed(2491, 0, "server", ReplyKind.ACK_UNACCEPTABLE, ReplyOutcome.ANSWERED,
                     2492, "<SEQ=1><ACK=2485649><CTL=ACK>", "", "", "RFC 9293 §3.10.7.4",
                     load_profile("linux"))
    ladder = build_ladder(replace(timeline, replies=(owed,)), result.findings)
    by_frame = {row.step.frame: row for row in ladder.rows}
    assert [o.reply for o in by_frame[2491].owed] == [owed]
    assert [o.reply for o in by_frame[2492].answering] == [owed]
    collapsed = [item for item in ladder.items if isinstance(item, Collapsed)]
    assert not any(c.first_frame <= 2491 <= c.last_frame for c in collapsed)


def test_owed_replies_past_the_cap_stay_collapsed_and_are_counted(monkeypatch):
    monkeypatch.setattr(ladder_module, "REPLY_ROWS", 0)
    result = analyze_jobs([Job(BULK_HEAVY_LOSS, load_profile("linux"))], Recording(all=True))
    (timeline,) = result.timelines
    owed = ReplyOwed(2491, 0, "server", ReplyKind.ACK_UNACCEPTABLE, ReplyOutcome.ANSWERED,
                     2492, "<SEQ=1><ACK=2485649><CTL=ACK>", "", "", "RFC 9293 §3.10.7.4",
                     load_profile("linux"))
    result = replace(result, timelines=(replace(timeline, replies=(owed,)),))
    ladder = build_ladder(result.timelines[0], result.findings)
    assert 2491 not in {row.step.frame for row in ladder.rows}
    assert ladder.unseen_replies == 1
    assert ("1 more owed reply without a finding in the collapsed stretches (--all draws them)"
            in drawn(result))


# -- terminal --------------------------------------------------------------------------------


def test_the_terminal_ladder_links_each_keepalive_to_the_ack_that_answers_it():
    text = drawn(keepalive_with_replies(*map(probe_reply, (8, 10, 12))))
    for probe, answer in ((8, 9), (10, 11), (12, 13)):
        assert notes(text, probe) == (f"{OWED_MARK} server owes an ACK {EXPECTED} (RFC 9293 "
                                      f"§3.10.7.4) → answered by frame {answer}")
        assert notes(text, answer) == f"{ANSWER_MARK} answers frame {probe}"
    assert notes(text, 7) == notes(text, 14) == ""


def test_a_missing_reply_and_a_rate_limited_one_say_so_under_the_probe():
    text = drawn(keepalive_with_replies(
        probe_reply(10, ReplyOutcome.RATE_LIMITED,
                    observed="within the linux profile's 0.5 s limit"),
        probe_reply(12, ReplyOutcome.MISSING, observed="no reply")))
    assert notes(text, 10).endswith("→ rate-limited: within the linux profile's 0.5 s limit")
    assert notes(text, 12).endswith("→ none came: no reply")
    assert notes(text, 11) == notes(text, 13) == ""


def test_the_legend_names_the_reply_marks():
    text = drawn(keepalive_with_replies(probe_reply(8)))
    assert f"{OWED_MARK} reply owed · {ANSWER_MARK} owed reply" in text
    assert OWED_MARK not in drawn(keepalive_with_replies())


def test_reply_notes_wrap_between_the_endpoint_lines_within_the_console_width():
    for width in (72, 80, 100, 160):
        text = drawn(keepalive_with_replies(probe_reply(8)), width)
        lines = [line for line in text.splitlines() if "│" in line]
        assert max(map(len, lines)) <= width
        marked = [line for line in lines if OWED_MARK in line or "→ answered" in line]
        assert marked and all(line.count("│") == 2 for line in marked)
        assert notes(text, 8).endswith("→ answered by frame 9")


# -- end to end: the model's records, drawn by tcpcheck show -------------------------------


def test_show_links_a_real_challenge_ack_to_the_rst_that_caused_it():
    proc = run_show(str(RST_IN_WINDOW.relative_to(ROOT)), "--frame", "8")
    assert proc.returncode == 0, proc.stderr
    assert notes(proc.stdout, 8) == f"{OWED_MARK} {CHALLENGE} → answered by frame 9"
    assert notes(proc.stdout, 9) == f"{ANSWER_MARK} answers frame 8"


def test_show_says_none_came_when_the_challenge_ack_is_deleted(tmp_path):
    crafted = without_frames(RST_IN_WINDOW, tmp_path / "no-challenge-ack.pcap", {9})
    proc = run_show(str(crafted), "--frame", "8")
    assert proc.returncode == 0, proc.stderr
    owed, settled = notes(proc.stdout, 8).split(" → ")
    assert owed.startswith(f"{OWED_MARK} server owes a challenge ACK <SEQ=53>")
    assert settled == "none came: challenge-ack-missing"  # the rule it broke
    assert ANSWER_MARK not in proc.stdout.split("\n\n")[1]  # the ladder: no answer drawn


def test_show_says_not_judged_when_the_capture_ends_before_the_server_sends_again(tmp_path):
    # The obligation is settled when the connection is finished, after its last segment.
    count = len(records(RST_IN_WINDOW)[1])
    cut = without_frames(RST_IN_WINDOW, tmp_path / "cut.pcap", set(range(9, count + 1)))
    proc = run_show(str(cut), "--frame", "8")
    assert proc.returncode == 0, proc.stderr
    assert notes(proc.stdout, 8) == (f"{OWED_MARK} {CHALLENGE} → not judged: nothing from "
                                     "the server afterwards")


def test_show_names_the_rule_on_the_bundled_copy_without_linuxs_ack():
    # captures/crafted/unacceptable-segment-not-acked-unsent.pcap: reply-ack-unsent.pcap
    # without the ACK Linux owed (and sent) for an ACK of data it never sent (frame 8).
    proc = run_show("captures/crafted/unacceptable-segment-not-acked-unsent.pcap",
                    "--connection", "0")
    assert proc.returncode == 0, proc.stderr
    assert notes(proc.stdout, 8) == (
        f"{OWED_MARK} server owes an ACK <SEQ=53><ACK=46><CTL=ACK> (RFC 9293 §3.10.7.4 "
        "(fifth); RFC 5961 §5.2) → none came: unacceptable-segment-not-acked")
    assert ANSWER_MARK not in proc.stdout
