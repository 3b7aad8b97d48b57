"""Timelines: every segment with both endpoints' states, recorded while the model replays it,
and the ladder and time-sequence layouts the pictures draw from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.ladder import Collapsed, LadderRow, build_ladder, segment_label
from tcpcheck.report.seqgraph import sequence_graphs
from tcpcheck.result import Severity
from tcpcheck.segment import FIN
from tcpcheck.timeline import Recording

CAPTURES = Path(__file__).resolve().parent.parent / "captures"


EVERY = Recording(all=True)


def analyze(name: str, recording: Recording | None = EVERY):
    return analyze_jobs([Job(str(CAPTURES / name), load_profile("linux"))], recording)


def states(timeline):
    return [(s.frame, s.client_state, s.server_state) for s in timeline.steps]


def test_timeline_follows_both_endpoints_through_a_server_first_close():
    result = analyze("linux/close-server-first.pcap")
    (timeline,) = result.timelines
    assert (timeline.client_state, timeline.server_state) == ("CLOSED", "LISTEN")
    assert states(timeline)[:3] == [(1, "SYN_SENT", "SYN_RCVD"), (2, "ESTABLISHED", "SYN_RCVD"),
                                    (3, "ESTABLISHED", "ESTABLISHED")]
    # RFC 9293 Figure 5: the server's FIN makes it FIN_WAIT_1 and the client CLOSE_WAIT; the
    # client's FIN makes it LAST_ACK and the server TIME_WAIT; the last ACK closes the client.
    assert states(timeline)[7:] == [(8, "CLOSE_WAIT", "FIN_WAIT_1"),
                                    (9, "CLOSE_WAIT", "FIN_WAIT_2"),
                                    (10, "LAST_ACK", "TIME_WAIT"), (11, "CLOSED", "TIME_WAIT")]
    assert (timeline.final_client_state, timeline.final_server_state) == ("CLOSED", "TIME_WAIT")


def test_timeline_numbers_are_relative_to_each_sides_isn_and_windows_are_scaled():
    (timeline,) = analyze("linux/close-server-first.pcap").timelines
    syn, synack, ack = timeline.steps[:3]
    assert (syn.seq, syn.ack, synack.seq, synack.ack, ack.seq, ack.ack) == (0, None, 0, 1, 1, 1)
    assert syn.raw_seq != 0 and synack.raw_ack == (syn.raw_seq + 1) & 0xFFFFFFFF
    # The SYNs' windows are never scaled; later ones are (window scale 7 here).
    assert syn.window == 64240 and ack.window == 504 << 7


def test_relative_numbers_survive_the_32_bit_wrap():
    (timeline,) = analyze("crafted/seq-wrap.pcap").timelines
    for step in timeline.steps:
        assert 0 <= step.seq < 20_000
        assert step.ack is None or 0 <= step.ack < 20_000
    assert any(s.raw_seq < 10_000 for s in timeline.steps)  # it did wrap


def test_observations_name_the_models_events_at_each_frame():
    (timeline,) = analyze("crafted/syn-isn-changed.pcap").timelines
    assert timeline.step_at(2).observations == ("SynIsnChanged",)
    (bulk,) = analyze("linux/bulk-loss.pcap").timelines
    assert bulk.step_at(78).retransmission
    assert not bulk.step_at(77).retransmission


def test_by_default_only_connections_with_findings_keep_their_timeline():
    everything = analyze("linux/ci-run-1.pcap")
    default = analyze("linux/ci-run-1.pcap", Recording())
    with_findings = {f.connection for f in default.findings}
    assert len(everything.timelines) == len(everything.connections) > len(with_findings)
    assert {t.connection for t in default.timelines} == with_findings


def test_recording_one_connection_or_the_connection_of_one_frame():
    one = analyze("linux/ci-run-1.pcap", Recording(connection=2))
    assert [t.connection for t in one.timelines] == [2]
    frame = one.connections[3].first_frame + 1
    by_frame = analyze("linux/ci-run-1.pcap", Recording(frame=frame))
    (timeline,) = by_frame.timelines
    assert timeline.connection == 3 and timeline.step_at(frame) is not None


def test_recording_changes_no_finding():
    plain = analyze("linux/bulk-loss.pcap", None)
    recorded = analyze("linux/bulk-loss.pcap")
    assert plain.findings == recorded.findings and plain.connections == recorded.connections
    assert plain.timelines == ()


# ---------------------------------------------------------------------- ladder layout


def test_short_connection_ladder_draws_every_segment_and_each_state_change_once():
    result = analyze("linux/close-server-first.pcap")
    ladder = build_ladder(result.timelines[0], result.findings)
    assert all(isinstance(item, LadderRow) for item in ladder.items)
    changes = [(row.step.frame, row.client_change, row.server_change) for row in ladder.rows
               if row.client_change or row.server_change]
    assert changes == [
        (1, ("CLOSED", "SYN_SENT"), ("LISTEN", "SYN_RCVD")),
        (2, ("SYN_SENT", "ESTABLISHED"), None),
        (3, None, ("SYN_RCVD", "ESTABLISHED")),
        (8, ("ESTABLISHED", "CLOSE_WAIT"), ("ESTABLISHED", "FIN_WAIT_1")),
        (9, None, ("FIN_WAIT_1", "FIN_WAIT_2")),
        (10, ("CLOSE_WAIT", "LAST_ACK"), ("FIN_WAIT_2", "TIME_WAIT")),
        (11, ("LAST_ACK", "CLOSED"), None),
    ]


def test_segment_label_gives_flags_relative_numbers_length_and_window():
    (timeline,) = analyze("linux/close-server-first.pcap").timelines
    assert segment_label(timeline.steps[1]) == "SYN, ACK seq=0 ack=1 len=0 win=65160"
    assert segment_label(timeline.steps[0]) == "SYN seq=0 len=0 win=64240"


def test_long_ladder_collapses_the_middle_but_keeps_handshake_teardown_and_findings():
    result = analyze("linux/bulk-loss.pcap")
    (timeline,) = result.timelines
    ladder = build_ladder(timeline, result.findings)
    frames = [row.step.frame for row in ladder.rows]
    assert frames[:3] == [1, 2, 3] and frames[-5:] == [1308, 1309, 1310, 1311, 1312]
    assert {f.frame for f in ladder.findings} <= set(frames)
    for finding in ladder.findings:  # a segment of context either side
        assert finding.frame - 1 in frames and finding.frame + 1 in frames
    collapsed = [item for item in ladder.items if isinstance(item, Collapsed)]
    assert collapsed and all(c.count >= 2 for c in collapsed)
    drawn = len(frames) + sum(c.count for c in collapsed)
    assert drawn == len(timeline.steps) and len(ladder.items) < len(timeline.steps) / 5


def test_full_ladder_draws_every_segment():
    result = analyze("linux/bulk-loss.pcap")
    ladder = build_ladder(result.timelines[0], result.findings, full=True)
    assert len(ladder.rows) == len(result.timelines[0].steps)


def test_finding_rows_are_highlighted_at_the_findings_severity():
    result = analyze("crafted/syn-isn-changed.pcap")
    ladder = build_ladder(result.timelines[0], result.findings)
    highlighted = {row.step.frame: row.severity for row in ladder.rows if row.findings}
    assert highlighted == {2: Severity.ERROR}


def test_ladder_of_a_half_open_connection_shows_the_end_of_capture_state_change():
    result = analyze("linux/syn-retries.pcap")
    ladder = build_ladder(result.timelines[0], result.findings)
    assert ladder.final_server_change == ("SYN_RCVD", "LISTEN")


# ---------------------------------------------------------------------- time-sequence graph


def test_sequence_graph_of_a_lossy_upload_marks_retransmissions_and_findings():
    result = analyze("linux/bulk-loss.pcap")
    (timeline,) = result.timelines
    upload, answer = sequence_graphs(timeline, result.findings)
    assert upload.from_client and not answer.from_client
    assert upload.bars[0].start == 1 and upload.segments == sum(
        1 for s in timeline.steps if s.from_client and s.length)
    assert max(bar.end for bar in upload.bars) == 1_000_001
    assert upload.retransmissions == sum(1 for bar in upload.bars if bar.retransmission) > 0
    # The ACK line climbs to the end of the data; the window edge is always above it.
    assert upload.acks[-1].value >= 1_000_001
    assert all(w.value >= a.value for w, a in zip(upload.windows, upload.acks, strict=True))
    marked = {m.frame for m in upload.marks}
    assert 78 in marked  # the fast retransmission
    assert {m.frame for m in answer.marks}.isdisjoint(marked)


def test_connections_without_data_have_no_sequence_graph():
    result = analyze("linux/refused.pcap")
    assert sequence_graphs(result.timelines[0], result.findings) == ()


def test_a_graph_past_the_segment_limit_is_binned_into_time_columns(monkeypatch):
    import tcpcheck.report.seqgraph as seqgraph

    result = analyze("linux/bulk-heavy-loss.pcap")
    (timeline,) = result.timelines
    exact = sequence_graphs(timeline, result.findings)[0]
    monkeypatch.setattr(seqgraph, "MAX_SEGMENTS", 100)
    monkeypatch.setattr(seqgraph, "BINS", 50)
    binned = seqgraph.sequence_graphs(timeline, result.findings)[0]
    assert binned.binned and not exact.binned
    assert len(binned.bars) <= 100 and len(binned.acks) <= 50
    assert max(b.end for b in binned.bars) == max(b.end for b in exact.bars)
    assert min(b.start for b in binned.bars) == min(b.start for b in exact.bars)
    assert binned.segments == exact.segments


@pytest.mark.parametrize("name", ["linux/half-close.pcap", "linux/simultaneous-close.pcap",
                                  "linux/time-wait-reuse.pcap"])
def test_every_fin_moves_a_state_in_the_ladder(name):
    result = analyze(name)
    for timeline in result.timelines:
        ladder = build_ladder(timeline, result.findings, full=True)
        first_fins = {}
        for row in ladder.rows:
            if row.step.flags & FIN:
                first_fins.setdefault(row.step.from_client, row)
        for row in first_fins.values():
            assert row.client_change or row.server_change
