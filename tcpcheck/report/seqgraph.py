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

from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.report.ladder import connection_findings
from tcpcheck.result import Finding
from tcpcheck.segment import ACK
from tcpcheck.timeline import FROM_CLIENT, RETRANSMISSIONS, Timeline

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


def sequence_graphs(timeline: Timeline, findings: Iterable[Finding]) -> tuple[SequenceGraph, ...]:
    """The graphs of the directions of ``timeline`` that carry data (client's first)."""
    mine = connection_findings(findings, timeline)
    columns = timeline.steps.columns()
    if not columns.frames:
        return ()
    # One pass over the segments fills both directions' series: a big connection has a
    # million. Index 1 is the client's data (client → server), 0 the server's.
    # The last unwrapped sequence and ACK number per graph: each relative number is taken
    # as the one nearest to it modulo 2**32 (inline: this loop runs per segment).
    last_seq = [None, None]
    last_ack = [None, None]
    bars: tuple[list[tuple], list[tuple]] = ([], [])
    acks: tuple[list[tuple], list[tuple]] = ([], [])  # (time, value) until drawn
    windows: tuple[list[tuple], list[tuple]] = ([], [])
    # frame -> (time, where its marks go, sent by this graph's sender?), per graph
    values: tuple[dict, dict] = ({}, {})
    observations = columns.observations
    for index, (frame, time, meta, seq, ack, length, window) in enumerate(zip(
            columns.frames, columns.times, columns.meta, columns.seqs, columns.acks,
            columns.lengths, columns.windows, strict=True)):
        sender = 1 if meta & FROM_CLIENT else 0
        last = last_seq[sender]
        start = seq if last is None else last + ((seq - last + HALF) & MASK) - HALF
        last_seq[sender] = start
        values[sender][frame] = (time, start, True)
        if length:
            seen = observations.get(index)
            bars[sender].append((time, start, start + length,
                                bool(seen) and not RETRANSMISSIONS.isdisjoint(seen)))
        if meta & ACK:
            other = 1 - sender
            last = last_ack[other]
            value = ack if last is None else last + ((ack - last + HALF) & MASK) - HALF
            last_ack[other] = value
            values[other][frame] = (time, value, False)
            acks[other].append((time, value))
            windows[other].append((time, value + window))
    first, last = columns.times[0], columns.times[-1]
    graphs = []
    for side in (1, 0):
        if not bars[side]:
            continue
        at = values[side]
        marks = []
        for finding in mine:
            # A stitched set's later files: the timeline numbers their frames on.
            frame = timeline.frame_of(finding.input, finding.frame)
            where = at.get(frame)
            if where is not None and where[2] is not _about_ack(finding):
                marks.append(Mark(where[0], where[1], frame, finding.code,
                                  finding.severity.label))
        sent = bars[side]
        binned = len(sent) > MAX_SEGMENTS
        if binned:
            drawn, ack_line, edge = _binned(sent, acks[side], windows[side], first, last)
        else:
            drawn = [Bar(*bar) for bar in sent]
            ack_line = [Point(*point) for point in acks[side]]
            edge = [Point(*point) for point in windows[side]]
        graphs.append(SequenceGraph(
            bool(side), timeline.client if side else timeline.server,
            timeline.server if side else timeline.client, tuple(drawn), tuple(ack_line),
            tuple(edge), tuple(marks), binned, len(sent), sum(1 for bar in sent if bar[3])))
    return tuple(graphs)


def _about_ack(finding: Finding) -> bool:
    return any(field.startswith("ack=") for field in finding.position.split())


def _binned(bars: list[tuple], acks: list[tuple], windows: list[tuple], start: float,
            end: float) -> tuple[list[Bar], list[Point], list[Point]]:
    """Bars merged per time column (new data and retransmissions apart), the last ACK and
    the highest window edge of each column."""
    width = (end - start) / BINS or 1.0
    top_column = BINS - 1

    def column(time: float) -> int:
        return min(top_column, int((time - start) / width))

    merged: dict[tuple[int, bool], list[int]] = {}
    for time, low, high, retransmission in bars:
        key = (min(top_column, int((time - start) / width)), retransmission)
        span = merged.get(key)
        if span is None:
            merged[key] = [low, high]
        else:
            if low < span[0]:
                span[0] = low
            if high > span[1]:
                span[1] = high
    out_bars = [Bar(start + col * width, lo, hi, retrans)
                for (col, retrans), (lo, hi) in sorted(merged.items())]
    last_ack: dict[int, tuple] = {}
    for point in acks:
        last_ack[column(point[0])] = point
    top: dict[int, tuple] = {}
    for point in windows:
        col = column(point[0])
        if col not in top or point[1] > top[col][1]:
            top[col] = point
    return (out_bars, [Point(*last_ack[c]) for c in sorted(last_ack)],
            [Point(*top[c]) for c in sorted(top)])
