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
from itertools import chain

from tcpcheck.result import Finding, Severity
from tcpcheck.segment import ACK, flag_names
from tcpcheck.timeline import (
    FROM_CLIENT,
    RETRANSMISSIONS,
    Columns,
    Step,
    Timeline,
    state_code,
    state_names,
)

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
    steps = timeline.steps
    columns = steps.columns()
    states = columns.states
    count = len(states)
    initial = state_code(timeline.client_state, timeline.server_state)
    # Rows are made only for the segments drawn: a big connection has a million.
    changes = [i for i, (before, after) in enumerate(zip(chain((initial,), states), states,
                                                           strict=False)) if before != after]
    by_index: dict[int, list[Finding]] = {}
    for finding in mine:
        index = steps.index_of(finding.frame)
        if index is not None:
            by_index.setdefault(index, []).append(finding)
    asked = {i for i in map(steps.index_of, frames) if i is not None}
    keep = _kept(count, full, changes, by_index, asked)
    items: list[LadderRow | Collapsed] = []
    previous = -1
    for index in sorted(keep):
        if index > previous + 1:
            items.append(_collapse(columns, previous + 1, index))
        before = states[index - 1] if index else initial
        items.append(_row(steps[index], before, states[index], tuple(by_index.get(index, ()))))
        previous = index
    if previous + 1 < count:
        items.append(_collapse(columns, previous + 1, count))
    last_client, last_server = state_names(states[-1] if count else initial)
    return Ladder(
        timeline, tuple(items), mine, sum(1 for index in by_index if index not in keep),
        _change(last_client, timeline.final_client_state),
        _change(last_server, timeline.final_server_state))


def _row(step: Step, before: int, after: int, findings: tuple[Finding, ...]) -> LadderRow:
    (client_before, server_before), (client, server) = state_names(before), state_names(after)
    return LadderRow(step, _change(client_before, client), _change(server_before, server),
                     findings)


def _change(before: str, after: str) -> tuple[str, str] | None:
    return (before, after) if before != after else None


def _kept(count: int, full: bool, changes: list[int], findings: dict[int, list[Finding]],
          asked: set[int]) -> set[int]:
    """Indexes of the segments drawn."""
    if full or count <= FULL_LIMIT:
        return set(range(count))
    keep = set(range(min(HEAD, count))) | set(range(max(0, count - TAIL), count))
    keep.update(changes)
    marked = sorted(asked)
    info_rows = 0
    for index in sorted(findings):
        if max(f.severity for f in findings[index]) is Severity.INFO:
            if info_rows >= INFO_ROWS:
                continue
            info_rows += 1
        marked.append(index)
    for index in marked:
        keep.update(range(max(0, index - CONTEXT), min(count, index + CONTEXT + 1)))
    # A single hidden segment takes as much room as its summary line: draw it instead.
    for index in range(1, count - 1):
        if index not in keep and index - 1 in keep and index + 1 in keep:
            keep.add(index)
    return keep


def _collapse(columns: Columns, start: int, stop: int) -> Collapsed:
    """The segments ``start`` to ``stop`` (exclusive) as one line."""
    client = server = retransmissions = 0
    observations = columns.observations
    for index, meta, length in zip(range(start, stop), columns.meta[start:stop],
                                   columns.lengths[start:stop], strict=True):
        if meta & FROM_CLIENT:
            client += length
        else:
            server += length
        seen = observations.get(index)
        if seen and not RETRANSMISSIONS.isdisjoint(seen):
            retransmissions += 1
    return Collapsed(stop - start, columns.frames[start], columns.frames[stop - 1],
                     columns.times[start], columns.times[stop - 1], client, server,
                     retransmissions)
