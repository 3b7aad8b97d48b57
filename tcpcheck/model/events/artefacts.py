"""What the capture, not the endpoints, explains (checksum offload, duplicate frames, a capture
started or ended mid-stream), and the model's observations of inputs it could not place."""

from __future__ import annotations

from dataclasses import dataclass

from tcpcheck.model.events.base import Event


@dataclass(frozen=True, slots=True)
class OversizedSegment(Event):
    count: int
    largest: int
    mss: int


@dataclass(frozen=True, slots=True)
class ChecksumOffload(Event):
    count: int


@dataclass(frozen=True, slots=True)
class BadChecksum(Event):
    """A checksum that is neither right nor the offload pattern: the segment is dropped."""


@dataclass(frozen=True, slots=True)
class UnusableChecksum(Event):
    """A segment whose checksum is wrong was applied all the same: the capture's checksums are
    not what the receiver saw (all zero: a sanitised trace; stale: rewritten addresses). Once
    per connection, at the first."""

    evidence: str
    """``zero`` (the field is 0, which says it alone), ``reply`` (the peer's ACK covers the
    segment) or ``repeated`` (another segment is wrong by the same amount)."""
    evidence_frame: int | None
    """The reply, or the other segment (None for ``zero``)."""


@dataclass(frozen=True, slots=True)
class UnexpectedInput(Event):
    """The state table has no transition for what this side sent or received: the side keeps
    its state, and the observation is recorded rather than dropped (RFC 9293 §3.3.2 has no
    such arc). ``side`` is the endpoint whose state it is."""

    POSITION = ("state", "input")

    state: str
    input: str


@dataclass(frozen=True, slots=True)
class SynChallenged(Event):
    """A SYN with a new ISN reached a synchronized receiver: it drops the segment, changes
    nothing, and owes a challenge ACK (RFC 9293 §3.10.7.4, RFC 5961 §4). ``side`` is the
    SYN's sender."""

    POSITION = ("state",)

    state: str
    """The receiver's state, which the SYN leaves as it was."""
    new_isn: int


@dataclass(frozen=True, slots=True)
class UnexpectedSegment(Event):
    """``side`` sent a segment its state does not allow it to send (RFC 9293 §3.10), and no
    capture loss explains it: data or FIN from SYN-RECEIVED before the handshake completed, a
    SYN-ACK from CLOSED."""

    POSITION = ("state", "what")

    state: str
    """The sender's state when it sent the segment."""
    what: str
    """``data``, ``FIN`` or ``SYN-ACK``."""
    evidence_frame: int
    """What rules capture loss out: the handshake's final ACK, captured after the segment, or
    the sender's own reset refusing the SYN its SYN-ACK answers."""


@dataclass(frozen=True, slots=True)
class LostAfterCapture(Event):
    """What this side sent proves a segment the capture saw never reached it (lost after the
    capture point): e.g. it retransmits its SYN after the capture saw the peer's SYN-ACK.
    A capture artefact, not an input the state table lacks."""

    POSITION = ("lost",)

    lost: str
    """The kind of segment that was lost (``SYN-ACK``)."""
    lost_frame: int


@dataclass(frozen=True, slots=True)
class DuplicateFrames(Event):
    """A run of exact copies of frames captured just before (``tcpcheck.duplicates``), not
    applied to the model; anchored at the run's first copy, ``side`` its sender."""

    count: int
    client: int
    """Copies of frames the client sent."""
    server: int


@dataclass(frozen=True, slots=True)
class DoubleCapture(Event):
    """The connection was captured at two points across a middlebox that rewrites sequence
    numbers (``tcpcheck.twins``): one copy of each twin applied, the other set aside.
    Anchored at the first pair's first copy, ``side`` its sender."""

    count: int
    """Pairs of twins."""
    kept_frame: int
    """The copy of the first pair applied to the model."""
    aside_frame: int
    """The copy of the first pair set aside."""
    client_offset: int
    """The client's sequence numbers in the set-aside copies minus those in the kept ones
    (mod 2**32): 0 when the middlebox leaves them."""
    server_offset: int
    kept_ttl: int
    aside_ttl: int


@dataclass(frozen=True, slots=True)
class CaptureRepeated(Event):
    """The trace repeats itself from this frame on (``tcpcheck.twins``): the repeat is set
    aside. Anchored at the repeat's first frame."""

    original_frame: int
    """The frame it repeats (the capture's first TCP segment)."""
    jump: float
    """Seconds the capture time jumped back."""


@dataclass(frozen=True, slots=True)
class CaptureStartedMidstream(Event):
    """No SYN of the connection was captured."""


@dataclass(frozen=True, slots=True)
class CaptureEndedMidstream(Event):
    client_state: str
    server_state: str
    idle: float | None = None
    """Set when live mode stopped following the connection after this many seconds without
    a segment (its idle timeout), rather than the capture ending."""
