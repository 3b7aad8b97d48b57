"""A connection's timeline: every segment with both endpoints' states as the model replayed it.

The pictures (ladder diagrams, time-sequence graphs) draw exactly what the reference model
saw, so the timeline is recorded while the model runs, never recomputed by a renderer: one
``Step`` per segment with the sender's and receiver's RFC 9293 states after it and the
observations (event names) the model made at that frame. The replies a receiver owed
(``ReplyOwed``: a challenge ACK, an ACK for an unacceptable segment, a reset...) are kept
whole, with the frame that answered them, so the pictures can link the two.

Recording costs memory per segment, so it happens only when a report needs it (``--format
html``, ``tcpcheck show``), and ``Recording`` decides which connections keep theirs.
"""

from __future__ import annotations

import copy
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tcpcheck.model.connection import Connection
from tcpcheck.model.events import Event, ReplyOwed
from tcpcheck.model.seqnum import sdiff
from tcpcheck.model.states import State
from tcpcheck.segment import ACK, SYN, Segment

RETRANSMISSIONS = frozenset({"Retransmission", "FastRetransmission", "SpuriousRetransmission"})
"""Observations that mark a segment as a retransmission in the pictures."""
_STATES = tuple(state.value for state in State)
_INDEX = {state: index for index, state in enumerate(State)}


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


FROM_CLIENT = 0x100
"""The bit of ``Columns.meta`` set when the client sent the segment (the low byte: flags)."""


class Columns(NamedTuple):
    """The steps of a connection column by column, for layouts that read every segment of a
    big connection: walking these costs a fraction of making each ``Step``."""

    frames: Sequence[int]
    times: Sequence[float]
    """Seconds since the capture's first record."""
    meta: Sequence[int]
    """TCP flags, plus ``FROM_CLIENT``."""
    seqs: Sequence[int]
    acks: Sequence[int]
    """Relative, whether or not the ACK flag is set (check the flags)."""
    lengths: Sequence[int]
    windows: Sequence[int]
    states: Sequence[int]
    """Both endpoints' states after each segment, as ``state_code`` packs them."""
    observations: dict[int, tuple[str, ...]]
    """By index; only the steps with any."""


def state_code(client: str, server: str) -> int:
    """The client's and the server's state in one small int, as ``Columns.states`` holds them."""
    return _INDEX[State(client)] << 4 | _INDEX[State(server)]


def state_names(code: int) -> tuple[str, str]:
    """``(client state, server state)`` of a ``state_code``."""
    return _STATES[code >> 4], _STATES[code & 15]


class Steps(Sequence[Step]):
    """A connection's steps, kept as columns of machine integers (about 60 bytes a segment
    instead of 400 as tuples, and nothing for the garbage collector to scan); each ``Step``
    is made when it is read."""

    __slots__ = ("_frames", "_times", "_meta", "_seqs", "_acks", "_lengths", "_windows",
                 "_raw_seqs", "_raw_acks", "_states", "_observations", "_start_ts")

    def __init__(self, start_ts: int) -> None:
        self._start_ts = start_ts
        self._frames = array("q")
        # Seconds since the capture's first record: a float, because a pcapng clock in
        # coarse units can run past what 64-bit nanoseconds hold.
        self._times = array("d")
        self._meta = array("H")  # flags | FROM_CLIENT
        self._seqs = array("q")
        self._acks = array("q")
        self._lengths = array("L")
        self._windows = array("Q")
        self._raw_seqs = array("L")
        self._raw_acks = array("L")
        self._states = array("B")  # client state index * 16 + server state index
        self._observations: dict[int, tuple[str, ...]] = {}  # by index; most have none

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._step(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("step index out of range")
        return self._step(index)

    def __iter__(self) -> Iterator[Step]:
        for index in range(len(self)):
            yield self._step(index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Steps) and list(self) == list(other)

    def columns(self) -> Columns:
        """The steps as columns (see ``Columns``)."""
        return Columns(self._frames, self._times, self._meta, self._seqs, self._acks,
                       self._lengths, self._windows, self._states, self._observations)

    def index_of(self, frame: int) -> int | None:
        """The index of the step of ``frame``, or None."""
        frames = self._frames
        index = bisect_left(frames, frame)
        return index if index < len(frames) and frames[index] == frame else None

    __hash__ = None  # type: ignore[assignment]

    def rebased(self, frames: int, seconds: float) -> Steps:
        """These steps with ``frames`` taken off every frame number and ``seconds`` off every
        time (a stitched set's steps numbered from one of its files, ``FileStart``)."""
        out = copy.copy(self)
        out._frames = array("q", [frame - frames for frame in self._frames])
        out._times = array("d", [time - seconds for time in self._times])
        return out

    def _step(self, i: int) -> Step:
        meta = self._meta[i]
        flags = meta & 0xFF
        states = self._states[i]
        return Step(self._frames[i], self._times[i], bool(meta & FROM_CLIENT),
                    flags, self._seqs[i], self._acks[i] if flags & ACK else None,
                    self._lengths[i], self._windows[i], self._raw_seqs[i], self._raw_acks[i],
                    _STATES[states >> 4], _STATES[states & 15],
                    self._observations.get(i, ()))


class FileStart(NamedTuple):
    """Where a file of a stitched set starts among a timeline's frame numbers: its frame
    ``n`` is the timeline's frame ``after + n``."""

    path: str
    after: int


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
    steps: Steps
    final_client_state: str
    """The client's state once the connection was finished (the end of the capture may still
    move it, e.g. a never-answered SYN leaves the server in LISTEN)."""
    final_server_state: str
    replies: tuple[ReplyOwed, ...] = ()
    """The replies the endpoints owed, in the order the model settled them. Few per
    connection: ordinary ACKs answered in time are not recorded (``ReplyOwed``)."""
    files: tuple[FileStart, ...] = ()
    """A stitched set's (``tcpcheck.set_results``): ``input``, where the connection's first
    frame is, then the files after it the connection reaches. Its frames and times count on
    from ``input``'s, as its connection's row does. Empty: one capture file."""

    def locate(self, frame: int) -> tuple[str, int]:
        """``(file, frame number in that file)`` of the timeline's frame ``frame``."""
        for path, after in reversed(self.files):
            if frame > after:
                return path, frame - after
        return self.input, frame

    def frame_of(self, input_name: str, frame: int) -> int | None:
        """The timeline's number of frame ``frame`` of the file ``input_name`` (None: a
        file this timeline does not reach)."""
        if not self.files:
            return frame if input_name == self.input else None
        return next((after + frame for path, after in self.files if path == input_name), None)

    def step_at(self, frame: int) -> Step | None:
        """The step of ``frame``, or None when the frame is not part of this connection."""
        index = self.steps.index_of(frame)
        return None if index is None else self.steps[index]


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

    __slots__ = ("conn", "client_state", "server_state", "steps", "revised", "replies")

    def __init__(self, conn: Connection, start_ts: int) -> None:
        self.conn = conn
        # The states before anything was applied: the constructor's assumptions.
        self.client_state = "ESTABLISHED" if conn.midstream else "CLOSED"
        self.server_state = "ESTABLISHED" if conn.midstream else "LISTEN"
        self.steps = Steps(start_ts)
        self.revised = 0  # how many of the model's ``Connection.revised`` are applied
        self.replies: list[ReplyOwed] = []

    def add(self, seg: Segment, from_client: bool, events: list[Event]) -> None:
        """Record ``seg`` after the model applied it; ``events`` are the connection's events
        not yet turned into findings (those of this frame are its observations)."""
        conn = self.conn
        a, b = (conn.client, conn.server) if from_client else (conn.server, conn.client)
        flags = seg.flags
        window = seg.win
        if (not flags & SYN and a.opts.wscale and conn.negotiated is not None
                and conn.negotiated[0]):
            window <<= a.opts.wscale  # RFC 7323 §2.2: the SYNs' windows are never scaled
        steps = self.steps
        frame = seg.frame
        if len(conn.revised) > self.revised:
            self._revise(conn.revised[self.revised:])
            self.revised = len(conn.revised)
        if events:
            names = tuple(type(e).__name__ for e in events if e.frame == frame)
            if names:
                steps._observations[len(steps._frames)] = names
            self.settle(events)
        steps._frames.append(frame)
        steps._times.append((seg.ts - steps._start_ts) / 1e9)
        steps._meta.append(flags | FROM_CLIENT if from_client else flags)
        steps._seqs.append(_relative(seg.seq, a.snd.base))
        steps._acks.append(_relative(seg.ack, b.snd.base))
        steps._lengths.append(seg.plen)
        steps._windows.append(window)
        steps._raw_seqs.append(seg.seq)
        steps._raw_acks.append(seg.ack)
        steps._states.append(_INDEX[conn.client.state] << 4 | _INDEX[conn.server.state])

    def settle(self, events: list[Event]) -> None:
        """Keep the ``ReplyOwed`` among ``events`` (the connection's events not yet turned into
        findings): an obligation is settled at a later segment than the one that caused it,
        or only when the connection is finished."""
        self.replies.extend(e for e in events if type(e) is ReplyOwed)

    def _revise(self, revisions: tuple[tuple[bool, int, State], ...]) -> None:
        """Rewrite one side's state in the steps recorded from a frame on: the model took
        back a receipt it had read in capture order (``Connection.revised``)."""
        states, frames = self.steps._states, self.steps._frames
        for client, first, state in revisions:
            index = _INDEX[state]
            i = len(frames) - 1
            while i >= 0 and frames[i] >= first:
                code = states[i]
                states[i] = index << 4 | code & 15 if client else code & 0xF0 | index
                i -= 1

    def timeline(self, input_name: str, client: str, server: str) -> Timeline:
        """The finished timeline (call after the connection was finished)."""
        conn = self.conn
        return Timeline(input_name, conn.id, client, server, self.client_state,
                        self.server_state, self.steps, conn.client.state.value,
                        conn.server.state.value, tuple(self.replies))


def _relative(number: int, base: int | None) -> int:
    """Serial distance of a raw 32-bit number from an unwrapped base (RFC 1982)."""
    return number if base is None else sdiff(number, base)
