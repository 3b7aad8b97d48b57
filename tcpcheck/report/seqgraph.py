"""Time-sequence graphs (tcptrace style), laid out once for every renderer.

One graph per direction that carries data: the sender's segments as vertical bars from their
first to their last sequence number at their capture time, the receiver's ACKs as a step line
under them and the receiver's window edge (ACK + advertised window) as a step line above. A
stalled transfer shows as a flat ACK line, a full window as bars touching the edge, loss as
retransmitted bars below the highest one.

Numbers are relative to the sender's ISN and unwrapped, so a transfer past 4 GiB keeps climbing.
A graph of more than ``MAX_SEGMENTS`` segments is binned into ``BINS`` time columns (the lowest
and highest sequence number of each column, the last ACK and the highest edge), which is what
a screen of that width can show anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tcpcheck.report.ladder import connection_findings
from tcpcheck.result import Finding
from tcpcheck.segment import ACK
from tcpcheck.seqnum import MASK, unwrap
from tcpcheck.timeline import Timeline

MAX_SEGMENTS = 4000
"""Data segments drawn one by one; above this a graph is binned."""
BINS = 1200
"""Time columns of a binned graph."""


@dataclass(frozen=True, slots=True)
class Bar:
    """Sequence space sent at one time: one segment, or one column of a binned graph."""

    time: float
    """Seconds since the capture's first record."""
    start: int
    end: int
    retransmission: bool


@dataclass(frozen=True, slots=True)
class Point:
    """A value of a step line (ACK or window edge) from ``time`` on."""

    time: float
    value: int


@dataclass(frozen=True, slots=True)
class Mark:
    """A finding at a segment of the graph. A finding about an acknowledgment (its position
    names ``ack=``: a duplicate ACK, an ACK of unsent data, a shrunk window) sits on the ACK
    line of the graph whose data the ACK is for; any other at the sequence number of the
    segment in its sender's graph."""

    time: float
    value: int
    frame: int
    code: str
    severity: str


@dataclass(frozen=True, slots=True)
class SequenceGraph:
    """The time-sequence graph of one direction of a connection."""

    from_client: bool
    """True for the client's data (client → server)."""
    sender: str
    """``ip:port`` of the side whose data is drawn."""
    receiver: str
    bars: tuple[Bar, ...]
    """In time order (binned: by column, new data before retransmissions)."""
    acks: tuple[Point, ...]
    """The receiver's acknowledgment number over time."""
    windows: tuple[Point, ...]
    """The receiver's window edge (acknowledgment + advertised window) over time."""
    marks: tuple[Mark, ...]
    binned: bool
    """True when ``bars`` are time columns rather than single segments."""
    segments: int
    """Data segments the sender sent."""
    retransmissions: int
    start: float
    """Time of the first and last segment of the connection (the x range)."""
    end: float


def sequence_graphs(timeline: Timeline, findings: Iterable[Finding]) -> tuple[SequenceGraph, ...]:
    """The graphs of the directions of ``timeline`` that carry data (client's first)."""
    mine = connection_findings(findings, timeline)
    graphs = []
    for from_client in (True, False):
        graph = _graph(timeline, mine, from_client)
        if graph is not None:
            graphs.append(graph)
    return tuple(graphs)


def _graph(timeline: Timeline, findings: tuple[Finding, ...],
           from_client: bool) -> SequenceGraph | None:
    steps = timeline.steps
    sent = [s for s in steps if s.from_client is from_client and s.length]
    if not sent:
        return None
    seq = _Unwrapped()
    ack = _Unwrapped()
    bars: list[Bar] = []
    acks: list[Point] = []
    windows: list[Point] = []
    # frame -> (time, where its marks go, sent by this graph's sender?)
    values: dict[int, tuple[float, int, bool]] = {}
    for step in steps:
        if step.from_client is from_client:
            start = seq(step.seq)
            values[step.frame] = (step.time, start, True)
            if step.length:
                bars.append(Bar(step.time, start, start + step.length, step.retransmission))
        elif step.flags & ACK and step.ack is not None:
            value = ack(step.ack)
            values[step.frame] = (step.time, value, False)
            acks.append(Point(step.time, value))
            windows.append(Point(step.time, value + step.window))
    marks = []
    for finding in findings:
        at = values.get(finding.frame)
        if at is not None and at[2] is not _about_ack(finding):
            marks.append(Mark(at[0], at[1], finding.frame, finding.code,
                              finding.severity.label))
    retransmissions = sum(1 for bar in bars if bar.retransmission)
    start, end = steps[0].time, steps[-1].time
    binned = len(bars) > MAX_SEGMENTS
    if binned:
        bars, acks, windows = _binned(bars, acks, windows, start, end)
    return SequenceGraph(
        from_client, timeline.client if from_client else timeline.server,
        timeline.server if from_client else timeline.client, tuple(bars), tuple(acks),
        tuple(windows), tuple(marks), binned, len(sent), retransmissions, start, end)


def _about_ack(finding: Finding) -> bool:
    return any(field.startswith("ack=") for field in finding.position.split())


class _Unwrapped:
    """Relative sequence numbers of one side, unwrapped past 2**32 in order of capture."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: int | None = None

    def __call__(self, relative: int) -> int:
        value = relative if self.last is None else unwrap(relative & MASK, self.last)
        self.last = value
        return value


def _binned(bars: list[Bar], acks: list[Point], windows: list[Point], start: float,
            end: float) -> tuple[list[Bar], list[Point], list[Point]]:
    """Bars merged per time column (new data and retransmissions apart), the last ACK and
    the highest window edge of each column."""
    width = (end - start) / BINS or 1.0

    def column(time: float) -> int:
        return min(BINS - 1, int((time - start) / width))

    merged: dict[tuple[int, bool], list[int]] = {}
    for bar in bars:
        key = (column(bar.time), bar.retransmission)
        span = merged.get(key)
        if span is None:
            merged[key] = [bar.start, bar.end]
        else:
            span[0] = min(span[0], bar.start)
            span[1] = max(span[1], bar.end)
    out_bars = [Bar(start + col * width, lo, hi, retrans)
                for (col, retrans), (lo, hi) in sorted(merged.items())]
    last_ack: dict[int, Point] = {}
    for point in acks:
        last_ack[column(point.time)] = point
    top: dict[int, Point] = {}
    for point in windows:
        col = column(point.time)
        if col not in top or point.value > top[col].value:
            top[col] = point
    return (out_bars, [last_ack[c] for c in sorted(last_ack)],
            [top[c] for c in sorted(top)])
