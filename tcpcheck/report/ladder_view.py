"""The ladder diagram of one connection in the terminal (``tcpcheck show``), drawn with rich.

What is drawn comes from ``tcpcheck.report.ladder`` (the layout the HTML report draws too);
this module only decides how it looks in a terminal::

      frame      time         client │                               │ server
                              CLOSED │                               │ LISTEN
          1  0.000000       CLOSED → │── SYN seq=0 len=0 win=64240 ─▶│ LISTEN →
                            SYN_SENT │                               │ SYN_RCVD
    ▶     2  1.000000                │── SYN seq=0 len=0 win=64240 ─▶│ ✗ HS001
          3  1.000100     SYN_SENT → │   SYN, ACK seq=0 ack=1 len=0  │
                         ESTABLISHED │◀───────── win=65160 ──────────│

Each segment is an arrow from its sender's line to its receiver's; each endpoint's state is
written beside its line where the segment changed it. Under the arrow of a segment that left
its receiver owing a reply, a note says what was owed and how it was settled; under the arrow
of the reply, which segment it answers::

      8  1.014538                │──── ACK seq=45 ack=53 len=0 win=64512 ───▶│
                                 │ ⚑ server owes an ACK                      │
                                 │     <SEQ=53><ACK=46><CTL=ACK> (RFC 9293   │
                                 │     §3.10.7.4)                            │
                                 │   → answered by frame 9                   │
      9  1.014556                │◀─── ACK seq=53 ack=46 len=0 win=65536 ────│
                                 │ ↳ answers frame 8                         │
 Rows with findings carry the codes and
a severity marker right of the server's line and take the severity's colour; retransmissions
and the frame asked for carry markers too, so that the picture reads the same without colour.

The columns are laid out here, not by a rich ``Table``: the endpoint lines must run unbroken
through rows of different heights, which a table's cell padding would interrupt. The width
adapts to the console: a state change is written on one line when everything fits, else on
two, and past that the arrow's label wraps over several lines.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from tcpcheck.report.ladder import (
    Collapsed,
    FileChange,
    Ladder,
    LadderRow,
    OwedReply,
    segment_label,
)
from tcpcheck.report.nextstep import connection_filter
from tcpcheck.report.terminal import SEVERITY_STYLE, format_duration, print_rule_groups
from tcpcheck.result import ConnectionSummary, Finding, Severity
from tcpcheck.wording import counted, plural_noun

SEVERITY_MARK = {
    Severity.ERROR: "✗",
    Severity.WARNING: "▲",
    Severity.INFO: "●",
}
"""The marker beside a row's finding codes: the severity without colour."""

RETRANSMISSION_MARK = "↻"
"""Put before the label of a segment the model saw as a retransmission."""

SELECTED_MARK = "▶"
"""In the gutter of the frame asked for with ``--frame``."""

OWED_MARK = "⚑"
"""Before the note under a segment that left its receiver owing a reply."""

ANSWER_MARK = "↳"
"""Before the note under a segment that is the reply owed to an earlier one."""

_LINE = "│"
_DASH = "╌"
_FILE_RULE = "═"
"""Across the ladder where a stitched set's next file starts."""
_HEAD_RIGHT = "▶"
_HEAD_LEFT = "◀"
_SHAFT = "─"
_STATE_ARROW = " → "

_ARROW_PAD = 5
"""Arrow characters around a label: a shaft and a space either side, and the head."""
_MIN_ARROW = 24
"""The narrowest ladder (between the endpoint lines included): short labels get room."""
_MAX_NOTE = 76
"""The widest an owed reply's note line makes the ladder (longer notes wrap)."""
_MIN_LABEL = 12
"""Label width below which wrapping stops helping: the ladder overflows the console instead."""


def render_ladder(ladder: Ladder, summary: ConnectionSummary, console: Console, *,
                  frame: int | None = None) -> None:
    """Print the ladder of ``ladder``'s connection on ``console``, then explain its findings.

    ``summary`` is the connection's summary from the same result (endpoints, close kind);
    ``frame`` is marked in the gutter (``tcpcheck show --frame``).
    """
    _print_header(ladder, summary, console)
    console.print()
    columns = _Columns.fit(ladder, console.width)
    for line in _ladder_lines(ladder, columns, console.width, frame):
        console.print(line, no_wrap=True, overflow="ignore", crop=False)
    legend = _legend(ladder, frame)
    if legend:
        console.print(legend)
    if ladder.undrawn:
        console.print(Text(
            f"{ladder.undrawn:,} more {plural_noun(ladder.undrawn, 'segment')} with info "
            "findings are in the collapsed stretches (--all draws them)",
            style="dim"))
    if ladder.unseen_replies:
        console.print(Text(
            f"{counted(ladder.unseen_replies, 'more owed reply', 'more owed replies')} "
            "without a finding in the collapsed stretches (--all draws them)", style="dim"))
    _print_findings(ladder.findings, console)


def _print_header(ladder: Ladder, summary: ConnectionSummary, console: Console) -> None:
    timeline = ladder.timeline
    connection = timeline.connection
    console.print(Text(timeline.input, style="bold"))
    close = Text(summary.close, style="red" if summary.close in ("reset", "refused") else "")
    console.print(Text.assemble(
        ("connection ", "bold"), (str(connection), "bold"), " · close: ", close,
        (" · picked up mid-stream", "dim") if summary.midstream else ""))
    console.print(Text.assemble(("client ", "dim"), timeline.client, " → ",
                                ("server ", "dim"), timeline.server))
    # One line however long: a display filter is copied whole.
    console.print(Text.assemble(("Wireshark: ", "dim"), wireshark_filter(summary)),
                  soft_wrap=True)
    segments = len(timeline.steps)
    console.print(Text(f"{counted(segments, 'segment')} in "
                       f"{format_duration(summary.end - summary.start)} · "
                       f"{summary.client_bytes:,} bytes client→server, "
                       f"{summary.server_bytes:,} server→client"))


def _print_findings(findings: tuple[Finding, ...], console: Console) -> None:
    """The findings explained as the terminal report explains them, grouped by rule."""
    if not findings:
        console.print()
        console.print(Text("no findings in this connection", style="dim"))
        return
    # The header already names the endpoints: the per-finding lines leave them out.
    print_rule_groups(list(findings), {}, console)


# -- layout --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Columns:
    """Widths of the ladder's columns, in cells."""

    frame: int
    time: int
    client: int
    """The client's state annotations, right-aligned against its line."""
    arrow: int
    """Between the endpoint lines, the lines included."""
    server: int
    """The server's state annotations, then the finding codes."""
    split_states: bool
    """A state change is written on two lines (``ESTABLISHED →`` above ``CLOSE_WAIT``)."""

    @staticmethod
    def fit(ladder: Ladder, width: int) -> _Columns:
        """The widest layout that fits ``width``: one-line state changes, else two-line ones,
        else labels wrapped over several lines."""
        rows = ladder.rows
        frame = max([len("frame"), *(len(ladder.label(r.step.frame)) for r in rows)])
        time = max([len("time"), *(len(_time(r.step.time)) for r in rows)])
        label = max((len(_label(r)) for r in rows), default=0)
        fixed = 2 + frame + 2 + time + 2 + 1 + 1  # gutter, gaps, the spaces beside the lines
        arrow = max(label + _ARROW_PAD + 2, _MIN_ARROW)
        # Room for the notes of owed replies on fewer lines, when the console has it.
        notes = min(max((len(p) for r in rows for p in _paragraphs(r)), default=0),
                    _MAX_NOTE) + 4
        for split in (False, True):
            client, server = _state_widths(ladder, split)
            room = width - fixed - client - server
            if room >= arrow:
                return _Columns(frame, time, client, max(arrow, min(notes, room)), server,
                                split)
        client, server = _state_widths(ladder, True)
        arrow = max(width - fixed - client - server, _MIN_LABEL + _ARROW_PAD + 2)
        return _Columns(frame, time, client, arrow, server, True)

    @property
    def inner(self) -> int:
        """Cells between the endpoint lines."""
        return self.arrow - 2


def _state_widths(ladder: Ladder, split: bool) -> tuple[int, int]:
    """Widths of the client and server columns with one-line or two-line state changes."""
    timeline = ladder.timeline
    client = [len("client"), len(timeline.client_state)]
    server = [len("server"), len(timeline.server_state)]
    for change, cells in ((ladder.final_client_change, client),
                          (ladder.final_server_change, server)):
        if change is not None:
            cells.extend(len(line) for line in _change_lines(change, split))
    for row in ladder.rows:
        if row.client_change is not None:
            client.extend(len(line) for line in _change_lines(row.client_change, split))
        first = 0
        if row.server_change is not None:
            lines = _change_lines(row.server_change, split)
            server.extend(len(line) for line in lines)
            first = len(lines[0]) + 2
        if row.findings:
            server.append(first + len(_codes(row)))
    return max(client), max(server)


# -- drawing -------------------------------------------------------------------------------


def _ladder_lines(ladder: Ladder, columns: _Columns, width: int,
                  frame: int | None) -> list[Text]:
    timeline = ladder.timeline
    lines = [
        _line(columns, "", Text("frame"), Text("time"), [Text("client", style="bold")],
              _blank(columns), [Text("server", style="bold")]),
        _line(columns, "", Text(), Text(), [Text(timeline.client_state, style="bold")],
              _blank(columns), [Text(timeline.server_state, style="bold")]),
    ]
    for item in ladder.items:
        if isinstance(item, LadderRow):
            lines.extend(_row_lines(item, columns, ladder.label(item.step.frame),
                                    selected=item.step.frame == frame))
        elif isinstance(item, FileChange):
            lines.append(_file_line(item, width))
        else:
            lines.extend(_collapsed_lines(item, ladder, width))
    # The states the connection was left in; a change here is the end of the capture's doing.
    client = _final_state(ladder.final_client_change, timeline.final_client_state, columns)
    server = _final_state(ladder.final_server_change, timeline.final_server_state, columns)
    height = max(len(client), len(server))
    arrows = [_between(Text("end of capture".center(columns.inner), style="dim"))]
    arrows += [_blank(columns)] * (height - 1)
    lines.extend(_line(columns, "", Text(), Text(), client[i:i + 1], arrows[i],
                       server[i:i + 1]) for i in range(height))
    return lines


def _final_state(change: tuple[str, str] | None, state: str, columns: _Columns) -> list[Text]:
    if change is None:
        return [Text(state, style="bold")]
    return _state_text(change, columns.split_states)


def _row_lines(row: LadderRow, columns: _Columns, number: str, selected: bool) -> list[Text]:
    """One segment: its arrow (possibly under wrapped label lines) and both annotations."""
    step = row.step
    style = SEVERITY_STYLE[row.severity] if row.severity is not None else ""
    arrows = _arrow(row, columns, style) + _reply_lines(row, columns)
    client = (_state_text(row.client_change, columns.split_states)
              if row.client_change is not None else [])
    server = (_state_text(row.server_change, columns.split_states)
              if row.server_change is not None else [])
    if row.findings:
        codes = Text(_codes(row), style=style)
        if server:
            server[0] = Text.assemble(server[0], "  ", codes)
        else:
            server = [codes]
    height = max(len(arrows), len(client), len(server))
    arrows += [_blank(columns)] * (height - len(arrows))
    frame_style = f"{style} reverse".strip() if selected else style
    lines = []
    for i in range(height):
        first = i == 0
        lines.append(_line(
            columns, SELECTED_MARK if selected and first else "",
            Text(number, style=frame_style) if first else Text(),
            Text(_time(step.time), style=style or "dim") if first else Text(),
            client[i:i + 1], arrows[i], server[i:i + 1]))
    return lines


def _arrow(row: LadderRow, columns: _Columns, style: str) -> list[Text]:
    """The arrow between the endpoint lines, the label in its middle; a label too long for
    the ladder is wrapped, its first lines written above the arrow."""
    inner = columns.inner
    label = _label(row)
    pieces = textwrap.wrap(label, inner - _ARROW_PAD) if len(label) > inner - _ARROW_PAD \
        else [label]
    lines = [_between(Text(piece.center(inner), style=style)) for piece in pieces[:-1]]
    last = f" {pieces[-1]} "
    shaft = inner - len(last) - 1  # at least one cell either side of the label
    short, long = shaft // 2, shaft - shaft // 2
    if row.step.from_client:
        drawn = _SHAFT * long + last + _SHAFT * short + _HEAD_RIGHT
    else:
        drawn = _HEAD_LEFT + _SHAFT * short + last + _SHAFT * long
    lines.append(_between(Text(drawn, style=style)))
    return lines


def _reply_lines(row: LadderRow, columns: _Columns) -> list[Text]:
    """The notes under the arrow: which owed replies this segment answers, then what its
    receiver owes and how that was settled, wrapped between the endpoint lines. Coloured by
    the severity of the findings made of the obligation (dim when it was met)."""
    width = columns.inner - 2  # a space either side keeps the text off the lines
    lines = []
    for paragraph, item in _notes(row):
        style = SEVERITY_STYLE[item.severity] if item.severity is not None else "dim"
        for piece in textwrap.wrap(paragraph, width, subsequent_indent="    ",
                                   break_on_hyphens=False):
            lines.append(_between(Text(f" {piece.ljust(width)} ", style=style)))
    return lines


def _notes(row: LadderRow) -> list[tuple[str, OwedReply]]:
    """The paragraphs of the row's reply notes, each with the owed reply it is about."""
    notes = [(f"{ANSWER_MARK} {item.answer()}", item) for item in row.answering]
    for item in row.owed:
        # How it was settled starts a line of its own: the outcome is what a reader scans.
        notes += [(f"{OWED_MARK} {item.owes(row.step.frame)}", item),
                  (f"  → {item.settled()}", item)]
    return notes


def _paragraphs(row: LadderRow) -> list[str]:
    return [paragraph for paragraph, _ in _notes(row)]


def _file_line(item: FileChange, width: int) -> Text:
    """Where a stitched set's next file starts: the frame numbers below are that file's."""
    text = f" {item.path} "
    spare = max(width - 2 - len(text), 2)
    return Text("  " + _FILE_RULE * (spare // 2) + text + _FILE_RULE * (spare - spare // 2),
                style="bold")


def _collapsed_lines(item: Collapsed, ladder: Ladder, width: int) -> list[Text]:
    """The stretch's summary as a dashed line across the ladder: the endpoint lines break
    there, as the segments do."""
    retransmissions = counted(item.retransmissions, "retransmission")
    data = [f"{count:,} bytes {direction}"
            for count, direction in ((item.client_bytes, "client→server"),
                                     (item.server_bytes, "server→client")) if count]
    summary = (f"… {counted(item.count, 'segment')} (frames "
               f"{ladder.label(item.first_frame)}-{ladder.label(item.last_frame)}, "
               f"{format_duration(item.end - item.start)}"
               f"), {', '.join(data) or 'no data'}, {retransmissions} …")
    room = width - 2  # the gutter stays free
    spare = room - len(summary) - 2
    if spare < 2:
        texts = textwrap.wrap(summary, room)
    else:
        texts = [_DASH * (spare // 2) + f" {summary} " + _DASH * (spare - spare // 2)]
    return [Text("  " + text, style="dim") for text in texts]


def _line(columns: _Columns, gutter: str, frame: Text, time: Text, client: list[Text],
          arrow: Text, server: list[Text]) -> Text:
    """One terminal line of the ladder; ``client`` and ``server`` hold at most one Text."""
    line = Text()
    line.append(gutter or " ", style="reverse" if gutter else "")
    line.append(" ")
    line.append(" " * (columns.frame - len(frame)))
    line.append_text(frame)
    line.append("  ")
    line.append(" " * (columns.time - len(time)))
    line.append_text(time)
    line.append("  ")
    client_text = client[0] if client else Text()
    line.append(" " * (columns.client - len(client_text)))
    line.append_text(client_text)
    line.append(" ")
    line.append_text(arrow)
    if server:
        line.append(" ")
        line.append_text(server[0])
    line.rstrip()
    return line


def _between(inner: Text) -> Text:
    """``inner`` between the two endpoint lines."""
    return Text.assemble(_LINE, inner, _LINE)


def _blank(columns: _Columns) -> Text:
    return _between(Text(" " * columns.inner))


def _state_text(change: tuple[str, str], split: bool) -> list[Text]:
    """A state change as it is written: the state left dim, the new one bold."""
    before, after = change
    if split:
        return [Text.assemble((before, "dim"), _STATE_ARROW.rstrip()), Text(after, style="bold")]
    return [Text.assemble((before, "dim"), _STATE_ARROW, (after, "bold"))]


def _change_lines(change: tuple[str, str], split: bool) -> list[str]:
    return [text.plain for text in _state_text(change, split)]


def _label(row: LadderRow) -> str:
    label = segment_label(row.step)
    return f"{RETRANSMISSION_MARK} {label}" if row.step.retransmission else label


def _codes(row: LadderRow) -> str:
    """``✗ HS001``: the severity marker and the codes of the row's findings, each once."""
    mark = SEVERITY_MARK[max(f.severity for f in row.findings)]
    return f"{mark} " + " ".join(dict.fromkeys(f.code for f in row.findings))


def _time(seconds: float) -> str:
    return f"{seconds:.6f}"


def _legend(ladder: Ladder, frame: int | None) -> Text:
    """What the markers in this ladder mean (only those that appear)."""
    rows = ladder.rows
    parts = [] if frame is None else [f"{SELECTED_MARK} frame {frame}"]
    severities = {row.severity for row in rows if row.severity is not None}
    parts.extend(f"{SEVERITY_MARK[s]} {s.label}" for s in sorted(severities, reverse=True))
    if any(row.step.retransmission for row in rows):
        parts.append(f"{RETRANSMISSION_MARK} retransmission")
    if any(row.owed for row in rows):
        parts.append(f"{OWED_MARK} reply owed")
    if any(row.answering for row in rows):
        parts.append(f"{ANSWER_MARK} owed reply")
    return Text(" · ".join(parts), style="dim")


def wireshark_filter(summary: ConnectionSummary) -> str:
    """A display filter for this connection instance's frames.

    Its four-tuple and frame range, not ``tcp.stream``: the ids part from Wireshark's stream
    numbers where RFC 9293 sees a new instance and Wireshark does not (README, "Frame numbers
    and connection ids").
    """
    return (f"{connection_filter(summary.client, summary.server)} && "
            f"frame.number in {{{summary.first_frame}..{summary.last_frame}}}")
