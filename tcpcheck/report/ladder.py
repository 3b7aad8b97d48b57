"""The ladder (sequence) diagram of one connection, laid out once for every renderer.

The terminal (``tcpcheck show``) and the HTML report draw the same rows: each segment as an
arrow from its sender to its receiver, each endpoint's RFC 9293 state written where it changes,
and the segments that findings point at highlighted. This module decides *what* is drawn;
the renderers only decide how.

A long connection keeps what a reader looks for — the handshake, the teardown, every state
change and every finding with a segment of context either side — and collapses each
uneventful stretch between them into one ``Collapsed`` line with a count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tcpcheck.result import Finding, Severity
from tcpcheck.segment import ACK, flag_names
from tcpcheck.timeline import Step, Timeline

FULL_LIMIT = 60
"""A connection of at most this many segments is drawn whole."""
HEAD = 8
"""Segments always drawn from the start (the handshake and the first exchange)."""
TAIL = 8
"""Segments always drawn at the end (the teardown)."""
CONTEXT = 1
"""Segments drawn either side of a finding's segment."""
INFO_ROWS = 100
"""Segments with only info findings drawn per connection: a lossy transfer has thousands of
duplicate ACKs, each an info finding; past this they stay in the findings table only."""


@dataclass(frozen=True, slots=True)
class LadderRow:
    """One segment drawn as an arrow."""

    step: Step
    client_change: tuple[str, str] | None
    """(before, after) when this segment moved the client's state."""
    server_change: tuple[str, str] | None
    findings: tuple[Finding, ...]
    """The findings anchored at this segment's frame: the row is highlighted."""

    @property
    def severity(self) -> Severity | None:
        """The highest severity among the row's findings (None: not highlighted)."""
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True, slots=True)
class Collapsed:
    """An uneventful stretch of segments drawn as one line."""

    count: int
    first_frame: int
    last_frame: int
    start: float
    """Capture time of its first segment (seconds since the capture's first record)."""
    end: float
    client_bytes: int
    """Payload bytes the client sent in the stretch (retransmissions included)."""
    server_bytes: int
    retransmissions: int


@dataclass(frozen=True, slots=True)
class Ladder:
    """What a ladder diagram of one connection shows."""

    timeline: Timeline
    items: tuple[LadderRow | Collapsed, ...]
    findings: tuple[Finding, ...]
    """Every finding of the connection, in frame order."""
    undrawn: int
    """Segments with info findings left out of the rows beyond ``INFO_ROWS``."""
    final_client_change: tuple[str, str] | None
    """A state change the end of the capture made without a segment (e.g. a server that
    never answered a SYN is taken back to LISTEN)."""
    final_server_change: tuple[str, str] | None

    @property
    def rows(self) -> tuple[LadderRow, ...]:
        return tuple(item for item in self.items if isinstance(item, LadderRow))


def segment_label(step: Step) -> str:
    """What an arrow says: ``SYN, ACK seq=0 ack=1 len=0 win=65160``."""
    ack = f" ack={step.ack}" if step.flags & ACK and step.ack is not None else ""
    return (f"{flag_names(step.flags)} seq={step.seq}{ack} len={step.length} "
            f"win={step.window}")


def connection_findings(findings: Iterable[Finding], timeline: Timeline) -> tuple[Finding, ...]:
    """The findings of the timeline's connection, in frame order."""
    mine = [f for f in findings
            if f.connection == timeline.connection and f.input == timeline.input]
    return tuple(sorted(mine, key=lambda f: (f.frame, f.code)))


def build_ladder(timeline: Timeline, findings: Iterable[Finding], *, full: bool = False,
                 frames: Iterable[int] = ()) -> Ladder:
    """Lay out the ladder of ``timeline``; ``findings`` may be the whole result's (those of
    other connections are ignored). ``full`` draws every segment; ``frames`` (e.g. the one a
    user asked for) are drawn with their context, like findings."""
    mine = connection_findings(findings, timeline)
    by_frame: dict[int, list[Finding]] = {}
    for finding in mine:
        by_frame.setdefault(finding.frame, []).append(finding)
    steps = timeline.steps
    rows: list[LadderRow] = []
    client, server = timeline.client_state, timeline.server_state
    for step in steps:
        rows.append(LadderRow(
            step,
            (client, step.client_state) if step.client_state != client else None,
            (server, step.server_state) if step.server_state != server else None,
            tuple(by_frame.get(step.frame, ()))))
        client, server = step.client_state, step.server_state
    keep, undrawn = _kept(rows, full, set(frames))
    items: list[LadderRow | Collapsed] = []
    hidden: list[Step] = []
    for index, row in enumerate(rows):
        if index in keep:
            if hidden:
                items.append(_collapse(hidden))
                hidden = []
            items.append(row)
        else:
            hidden.append(row.step)
    if hidden:
        items.append(_collapse(hidden))
    return Ladder(
        timeline, tuple(items), mine, undrawn,
        (client, timeline.final_client_state) if timeline.final_client_state != client else None,
        (server, timeline.final_server_state) if timeline.final_server_state != server else None)


def _kept(rows: list[LadderRow], full: bool, frames: set[int]) -> tuple[set[int], int]:
    """Indexes of the rows drawn, and how many info-only finding rows were left out."""
    count = len(rows)
    if full or count <= FULL_LIMIT:
        return set(range(count)), 0
    keep = set(range(min(HEAD, count))) | set(range(max(0, count - TAIL), count))
    info_rows = 0
    for index, row in enumerate(rows):
        if row.client_change or row.server_change:
            keep.add(index)
        if row.step.frame in frames:
            keep.update(range(max(0, index - CONTEXT), min(count, index + CONTEXT + 1)))
        severity = row.severity
        if severity is None:
            continue
        if severity is Severity.INFO:
            if info_rows >= INFO_ROWS:
                continue
            info_rows += 1
        keep.update(range(max(0, index - CONTEXT), min(count, index + CONTEXT + 1)))
    # A single hidden segment takes as much room as its summary line: draw it instead.
    for index in range(1, count - 1):
        if index not in keep and index - 1 in keep and index + 1 in keep:
            keep.add(index)
    undrawn = sum(1 for index, row in enumerate(rows) if row.findings and index not in keep)
    return keep, undrawn


def _collapse(steps: list[Step]) -> Collapsed:
    client = sum(s.length for s in steps if s.from_client)
    server = sum(s.length for s in steps if not s.from_client)
    return Collapsed(len(steps), steps[0].frame, steps[-1].frame, steps[0].time, steps[-1].time,
                     client, server, sum(1 for s in steps if s.retransmission))
