"""A connection's timeline: every segment with both endpoints' states as the model replayed it.

The pictures (ladder diagrams, time-sequence graphs) draw exactly what the reference model
saw, so the timeline is recorded while the model runs, never recomputed by a renderer: one
``Step`` per segment with the sender's and receiver's RFC 9293 states after it and the
observations (event names) the model made at that frame.

Recording costs memory per segment, so it happens only when a report needs it (``--format
html``, ``tcpcheck show``), and ``Recording`` decides which connections keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from tcpcheck.model import Connection
from tcpcheck.segment import ACK, SYN, Segment
from tcpcheck.seqnum import sdiff

RETRANSMISSIONS = frozenset({"Retransmission", "FastRetransmission", "SpuriousRetransmission"})
"""Observations that mark a segment as a retransmission in the pictures."""


class Step(NamedTuple):
    """One segment of a connection as the model replayed it (a tuple: big connections have
    hundreds of thousands)."""

    frame: int
    """1-based frame number (Wireshark's frame.number)."""
    time: float
    """Seconds since the first record of the capture."""
    from_client: bool
    flags: int
    seq: int
    """Relative to the sender's ISN (or first sequence number seen mid-stream), as Wireshark
    shows it; negative when the segment lies before it."""
    ack: int | None
    """Relative to the receiver's ISN; None when the ACK flag is off."""
    length: int
    """Payload length from the IP header."""
    window: int
    """The receive window the sender advertises, in bytes (scaled once scaling is in force)."""
    raw_seq: int
    raw_ack: int
    client_state: str
    """The client's state after the segment."""
    server_state: str
    observations: tuple[str, ...]
    """Names of the model's events at this frame (``Retransmission``, ``DuplicateAck``...)."""

    @property
    def retransmission(self) -> bool:
        return not RETRANSMISSIONS.isdisjoint(self.observations)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every segment of one connection with the endpoints' states, from the reference model."""

    input: str
    connection: int
    client: str
    """``ip:port`` of the client, as in ``ConnectionSummary``."""
    server: str
    client_state: str
    """The client's state before the first segment (CLOSED; ESTABLISHED mid-stream)."""
    server_state: str
    """The server's state before the first segment (LISTEN; ESTABLISHED mid-stream)."""
    steps: tuple[Step, ...]
    final_client_state: str
    """The client's state once the connection was finished (the end of the capture may still
    move it, e.g. a never-answered SYN leaves the server in LISTEN)."""
    final_server_state: str

    def step_at(self, frame: int) -> Step | None:
        """The step of ``frame``, or None when the frame is not part of this connection."""
        for step in self.steps:
            if step.frame == frame:
                return step
        return None


@dataclass(frozen=True, slots=True)
class Recording:
    """Which connections keep their timeline.

    By default those with findings; ``all`` keeps every one; ``connection`` keeps only that
    id; ``frame`` only the connection that frame belongs to.
    """

    all: bool = False
    connection: int | None = None
    frame: int | None = None

    def starts(self, conn: Connection) -> bool:
        """Record this new connection?"""
        if self.connection is not None:
            return conn.id == self.connection
        if self.frame is not None:
            return conn.first_frame <= self.frame
        return True

    def keeps(self, timeline: Timeline, findings: int) -> bool:
        """Keep this finished connection's timeline (with ``findings`` findings)?"""
        if self.connection is not None:
            return timeline.connection == self.connection
        if self.frame is not None:
            return timeline.step_at(self.frame) is not None
        return self.all or findings > 0


class Recorder:
    """Collects one connection's steps while the model replays it."""

    __slots__ = ("conn", "start_ts", "client_state", "server_state", "steps")

    def __init__(self, conn: Connection, start_ts: int) -> None:
        self.conn = conn
        self.start_ts = start_ts
        # The states before anything was applied: the constructor's assumptions.
        self.client_state = "ESTABLISHED" if conn.midstream else "CLOSED"
        self.server_state = "ESTABLISHED" if conn.midstream else "LISTEN"
        self.steps: list[Step] = []

    def add(self, seg: Segment, from_client: bool, observations: tuple[str, ...]) -> None:
        """Record ``seg`` after the model applied it."""
        conn = self.conn
        a, b = (conn.client, conn.server) if from_client else (conn.server, conn.client)
        flags = seg.flags
        window = seg.win
        if (not flags & SYN and a.wscale and conn.negotiated is not None
                and conn.negotiated[0]):
            window <<= a.wscale  # RFC 7323 §2.2: the SYNs' windows are never scaled
        self.steps.append(Step(
            seg.frame, (seg.ts - self.start_ts) / 1e9, from_client, flags,
            _relative(seg.seq, a.base), _relative(seg.ack, b.base) if flags & ACK else None,
            seg.plen, window, seg.seq, seg.ack, conn.client.state.value,
            conn.server.state.value, observations))

    def timeline(self, input_name: str, client: str, server: str) -> Timeline:
        """The finished timeline (call after the connection was finished)."""
        conn = self.conn
        return Timeline(input_name, conn.id, client, server, self.client_state,
                        self.server_state, tuple(self.steps), conn.client.state.value,
                        conn.server.state.value)


def _relative(number: int, base: int | None) -> int:
    """Serial distance of a raw 32-bit number from an unwrapped base (RFC 1982)."""
    return number if base is None else sdiff(number, base)
