"""The HTML report's connection sections: each one's summary line and statistics table
(static HTML), and its line of the ``#tcpcheck-diagrams`` block, the ladder rows, owed-reply
notes, finding cards and time-sequence graphs the page's script draws when the section is
looked at. ``tcpcheck.report.html`` (the page) describes the format.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from html import escape
from typing import Any

from tcpcheck.model.stats import DirectionStats
from tcpcheck.report.html_data import (
    LADDER_GEOMETRY,
    NOTE_CHARS,
    json_time,
    reference_parts,
    script_json,
)
from tcpcheck.report.ladder import (
    Collapsed,
    FileChange,
    Item,
    Ladder,
    OwedReply,
    build_ladder,
    segment_label,
)
from tcpcheck.report.seqgraph import SequenceGraph, sequence_graphs
from tcpcheck.report.terminal import format_duration
from tcpcheck.result import (
    ConnectionSummary,
    Finding,
    Severity,
)
from tcpcheck.timeline import Timeline
from tcpcheck.wording import counted

MARK_LINKS = 1000
"""Finding marks of one graph drawn as links to their explanation; the rest (thousands of
duplicate ACKs on a lossy transfer) are drawn as one path, which a browser draws at once."""

EMPTY_CELL = "&ndash;"
"""What an empty summary cell shows."""


def diagrams_section(sections: list[str], all_connections: bool) -> str:
    """The diagrams section holding the connection sections (none: no section at all)."""
    if not sections:
        return ""
    what = ("every connection" if all_connections
            else "each connection with findings (<code>--html-all</code> draws every one)")
    return ("<section id=\"diagrams\">\n<h2>Diagrams</h2>\n"
            f"<p class=\"hint\">A ladder diagram and time-sequence graphs for {what}. "
            "Highlighted segments link to their finding's explanation.</p>\n"
            "<noscript><p>The diagrams are drawn by JavaScript.</p></noscript>\n"
            + "".join(sections) + "</section>\n")


def connection_section(timeline: Timeline, findings: list[Finding],
                       conn: ConnectionSummary | None, capture_index: dict[str, int],
                       finding_index: dict[int, int], *,
                       open_: bool, name_capture: bool) -> tuple[str, str, set[int]]:
    """One connection's section (``findings`` are its own), its line of the diagrams block,
    and the indexes of the findings it has cards for. ``name_capture``: the summary line
    names the capture (a report of one capture names it once, in the summary table).
    ``capture_index`` numbers the captures; a stitched set's later files number the rows
    their frames are in (``Timeline.files``)."""
    capture = capture_index[timeline.input]
    ladder = build_ladder(timeline, findings)
    graphs = sequence_graphs(timeline, findings)
    drawn = [f for row in ladder.rows for f in row.findings]
    data = {
        "capture": capture,
        "connection": timeline.connection,
        "client": timeline.client,
        "server": timeline.server,
        "initial": {"client": timeline.client_state, "server": timeline.server_state},
        "final": {"client": timeline.final_client_state, "server": timeline.final_server_state},
        "finalChange": {"client": _pair(ladder.final_client_change),
                        "server": _pair(ladder.final_server_change)},
        "items": [_item(item, ladder, capture_index, finding_index) for item in ladder.items],
        "undrawn": ladder.undrawn,
        "unseenReplies": ladder.unseen_replies,
        "findings": len(ladder.findings),
        "cards": [_card(f, finding_index[id(f)], capture_index) for f in drawn],
        "graphs": [_graph(graph, ladder, finding_index) for graph in graphs],
    }
    anchor = f"conn-{capture}-{timeline.connection}"
    tally = _tally(ladder.findings)
    facts = [f"{counted(len(timeline.steps), 'segment')}"]
    if conn is not None:
        facts.append(f"{conn.close} close")
        facts.append(format_duration(conn.end - conn.start))
    badges = "".join(f"<span class=\"badge sev-{label}\">{counted(count, label)}</span>"
                     for label, count in tally if count)
    height = _ladder_height(ladder)
    where = f" · <code>{escape(timeline.input)}</code>" if name_capture else ""
    html = (
        f"<details class=\"conn\" id=\"{anchor}\" data-capture=\"{capture}\" "
        f"data-connection=\"{timeline.connection}\"{' open' if open_ else ''}>\n"
        f"<summary><span class=\"conn-id\">connection {timeline.connection}</span> "
        f"<code>{escape(timeline.client)}</code> → <code>{escape(timeline.server)}</code> "
        f"<span class=\"facts\">{escape(' · '.join(facts))}{where}</span> {badges}"
        "</summary>\n"
        f"<div class=\"ladder\" style=\"min-height:{height}px\"></div>\n"
        "<div class=\"seqgraphs\"></div>\n"
        # After the pictures: a deep link (#conn-…) opens on the ladder, as it did.
        f"{_stats_table(conn)}"
        "<div class=\"cards\"></div>\n</details>\n")
    return html, f"{anchor}\t{script_json(data)}\n", {finding_index[id(f)] for f in drawn}


def _stats_table(conn: ConnectionSummary | None) -> str:
    """What the model measured of the connection, one column per side (tcptrace -l's
    figures: see ``tcpcheck.model.stats``)."""
    if conn is None or conn.stats is None:
        return ""
    sides = (conn.stats.client, conn.stats.server)

    def rtt(d: DirectionStats) -> str:
        if d.rtt_min is None:
            return EMPTY_CELL
        return (f"{_ms(d.rtt_min)} / {_ms(d.rtt_mean)} / {_ms(d.rtt_max)} "
                f"({counted(d.rtt_samples, 'sample')})")

    rows = (
        ("packets", [f"{d.packets:,}" for d in sides]),
        ("bytes (unique)", [f"{d.bytes:,}" for d in sides]),
        ("throughput", [EMPTY_CELL if d.throughput is None else f"{d.throughput:,.0f} B/s"
                        for d in sides]),
        ("retransmitted", [f"{counted(d.retransmitted_segments, 'segment')}, "
                           f"{d.retransmitted_bytes:,} bytes" for d in sides]),
        ("RTT min / mean / max", [rtt(d) for d in sides]),
        ("max window advertised", [EMPTY_CELL if d.max_window is None else f"{d.max_window:,}"
                                   for d in sides]),
        ("time in zero window", [format_duration(d.zero_window) for d in sides]),
    )
    body = "".join(f"<tr><th>{escape(name)}</th>" + "".join(f"<td class=\"num\">{v}</td>"
                                                             for v in values) + "</tr>"
                   for name, values in rows)
    how = "timestamp echoes" if conn.stats.timestamps else "Karn's rule"
    return ("<table class=\"data stats\"><thead><tr><th></th><th class=\"num\">client → "
            "server</th><th class=\"num\">server → client</th></tr></thead>"
            f"<tbody>{body}</tbody><caption>statistics over "
            f"{escape(format_duration(conn.stats.duration))}; RTT samples matched by "
            f"{how}</caption></table>\n")


def _ms(seconds: float | None) -> str:
    return EMPTY_CELL if seconds is None else f"{seconds * 1000:.3f} ms"


def _item(item: Item, ladder: Ladder, capture_index: dict[str, int],
          finding_index: dict[int, int]) -> dict[str, Any]:
    if isinstance(item, FileChange):
        return {"file": item.path}
    if isinstance(item, Collapsed):
        gap = {
            "count": item.count, "firstFrame": item.first_frame, "lastFrame": item.last_frame,
            "start": json_time(item.start), "end": json_time(item.end),
            "clientBytes": item.client_bytes, "serverBytes": item.server_bytes,
            "retransmissions": item.retransmissions}
        if ladder.timeline.files:
            gap["shown"] = [ladder.label(item.first_frame), ladder.label(item.last_frame)]
        return {"collapsed": gap}
    step = item.step
    row: dict[str, Any] = {"frame": step.frame, "time": json_time(step.time),
                           "fromClient": step.from_client, "label": segment_label(step)}
    if ladder.timeline.files:  # a stitched set's: the row's own file and frame number
        path, frame = ladder.timeline.locate(step.frame)
        row["shown"] = str(frame)
        row["at"] = f"{capture_index[path]}-{frame}"
    # Most rows are plain segments: what they lack is left out (ladder.js reads a missing
    # key as false, empty or none), which makes an --html-all report a third smaller.
    if step.retransmission:
        row["retransmission"] = True
    if step.observations:
        row["observations"] = list(step.observations)
    if item.client_change:
        row["clientChange"] = list(item.client_change)
    if item.server_change:
        row["serverChange"] = list(item.server_change)
    if item.findings:
        row["severity"] = max(f.severity for f in item.findings).label
        row["findings"] = [[finding_index[id(f)], f.code, f.severity.label]
                           for f in item.findings]
    if item.owed:
        row["owes"] = [_owes(owed, step.frame) for owed in item.owed]
    if item.answering:
        row["answers"] = [{"frame": owed.reply.frame, "text": owed.answer(),
                           "outcome": owed.reply.outcome.value} for owed in item.answering]
    return row


def _owes(owed: OwedReply, at_frame: int) -> dict[str, Any]:
    """An owed reply's note, wrapped to the ladder (``NOTE_CHARS``) here so that the page's
    height is known before ladder.js draws it."""
    reply = owed.reply
    note: dict[str, Any] = {
        "frame": reply.frame, "replyFrame": reply.reply_frame, "side": reply.side,
        "kind": reply.kind.value, "outcome": reply.outcome.value,
        "lines": textwrap.wrap(f"⚑ {owed.owes(at_frame)}", NOTE_CHARS,
                               subsequent_indent="  ", break_on_hyphens=False),
        "settled": textwrap.wrap(f"→ {owed.settled()}", NOTE_CHARS,
                                 subsequent_indent="  ", break_on_hyphens=False),
        "reason": reply.reason,
    }
    if owed.severity is not None:
        note["severity"] = owed.severity.label
    return note


def _card(finding: Finding, index: int, capture_index: dict[str, int]) -> dict[str, Any]:
    card = {
        "index": index, "code": finding.code, "rule": finding.rule,
        "severity": finding.severity.label, "frame": finding.frame,
        "time": json_time(finding.time), "side": finding.side, "position": finding.position,
        "message": finding.message, "expected": finding.expected,
        "observed": finding.observed, "reference": reference_parts(finding.reference),
    }
    if finding.connection_input:  # a stitched set's, in a later file than its connection
        card["at"] = f"{capture_index[finding.input]}-{finding.frame}"
    return card


def _graph(graph: SequenceGraph, ladder: Ladder, finding_index: dict[int, int]) -> dict:
    """A graph's series as flat number arrays (a binned graph still has thousands), its x
    range that of its own points (``_time_range``)."""
    # Marks link to the explanation card when the finding has one, else to its frame.
    drawn = {(ladder.timeline.frame_of(f.input, f.frame), f.code): finding_index[id(f)]
             for row in ladder.rows for f in row.findings}
    marks = sorted(graph.marks, key=lambda m: -Severity.parse(m.severity))
    start, end = _time_range(graph)
    return {
        "direction": "client" if graph.from_client else "server",
        "sender": graph.sender,
        "receiver": graph.receiver,
        "binned": graph.binned,
        "segments": graph.segments,
        "retransmissions": graph.retransmissions,
        "start": json_time(start),
        "end": json_time(end),
        "bars": [v for bar in graph.bars
                 for v in (json_time(bar.time), bar.start, bar.end, int(bar.retransmission))],
        "acks": [v for point in graph.acks for v in (json_time(point.time), point.value)],
        "windows": [v for point in graph.windows for v in (json_time(point.time), point.value)],
        "marks": [[json_time(m.time), m.value, m.frame, m.code, m.severity,
                   drawn.get((m.frame, m.code), -1), int(index < MARK_LINKS)]
                  for index, m in enumerate(marks)],
    }


def _time_range(graph: SequenceGraph) -> tuple[float, float]:
    """From the first to the last time the graph draws something (a segment, an ACK, a
    finding's mark), not the connection's: a handshake a second after the first SYN, or a
    direction whose data comes late, would otherwise be a sliver at one side of the graph."""
    times = [item.time for series in (graph.bars, graph.acks, graph.marks) for item in series]
    return min(times), max(times)


def _ladder_height(ladder: Ladder) -> int:
    rows = ladder.rows
    gaps = len(ladder.items) - len(rows)
    notes = sum(len(note["lines"]) + len(note["settled"])
                for row in rows for note in (_owes(o, row.step.frame) for o in row.owed))
    g = LADDER_GEOMETRY
    # Exact for a wide window, where a stretch's summary takes one line and notes keep their
    # NOTE_CHARS lines; a narrow one wraps both longer, and the drawn ladder grows.
    return (g["top"] + len(rows) * g["row"] + gaps * g["gap"] + notes * g["note"]
            + g["bottom"])


def _tally(findings: Iterable[Finding]) -> list[tuple[str, int]]:
    counts = {s: 0 for s in sorted(Severity, reverse=True)}
    for finding in findings:
        counts[finding.severity] += 1
    return [(s.label, n) for s, n in counts.items()]


def _pair(change: tuple[str, str] | None) -> list[str] | None:
    return list(change) if change is not None else None
