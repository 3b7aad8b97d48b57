"""Observations the reference model makes while replaying a connection.

Events are past-tense facts about the traffic ("the client retransmitted its SYN with a new
ISN"); rules in ``tcpcheck.checks`` turn them into findings. Sequence numbers in events are
*relative* to the side's initial sequence number (as Wireshark shows them); ``raw`` fields keep
the 32-bit value on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """Common fields: the frame the observation is anchored to, its time, the side concerned."""

    frame: int
    ts: int
    side: str
    """``client`` or ``server``: the endpoint the observation is about (usually the sender)."""


@dataclass(frozen=True, slots=True)
class SynIsnChanged(Event):
    first_frame: int
    original_isn: int
    new_isn: int
    elapsed: float
    """Seconds since the first SYN of the attempt."""


@dataclass(frozen=True, slots=True)
class SynAckIsnChanged(Event):
    first_frame: int
    original_isn: int
    new_isn: int


@dataclass(frozen=True, slots=True)
class SynAckBadAck(Event):
    syn_frame: int
    peer_isn: int
    expected_ack: int
    observed_ack: int


@dataclass(frozen=True, slots=True)
class HandshakeBadAck(Event):
    synack_frame: int
    peer_isn: int
    expected_ack: int
    observed_ack: int


@dataclass(frozen=True, slots=True)
class MissingAckFlag(Event):
    flags: int
    state: str


@dataclass(frozen=True, slots=True)
class InvalidFlags(Event):
    flags: int


@dataclass(frozen=True, slots=True)
class AckOfUnsentData(Event):
    """``side`` acknowledged bytes its peer never sent (proved by the peer's later segment)."""

    ack: int
    peer_max: int
    """The peer's highest relative sequence number seen when the ACK was sent."""
    evidence_frame: int
    evidence_seq: int
    evidence_kind: str
    """``data``, ``FIN`` or ``RST``: what the peer sent next, below the acknowledged number."""


@dataclass(frozen=True, slots=True)
class AckOfUnseenSegment(Event):
    """``side`` acknowledged bytes the capture never saw: capture loss, not a protocol error."""

    ack: int
    peer_max: int
    evidence_frame: int | None
    """The peer's next segment, starting at or past the ACK (None: the capture ended first)."""


@dataclass(frozen=True, slots=True)
class DataAfterFin(Event):
    fin_frame: int
    fin_seq: int
    seq: int
    length: int


@dataclass(frozen=True, slots=True)
class FinSeqChanged(Event):
    first_frame: int
    original_fin_seq: int
    new_fin_seq: int


@dataclass(frozen=True, slots=True)
class ResetInTimeWait(Event):
    """The TIME_WAIT side answered the peer's retransmitted FIN with RST."""

    fin_frame: int
    time_wait_since: float
    """Seconds the side had been in TIME_WAIT."""
    time_wait: float
    """The profile's TIME_WAIT duration."""


@dataclass(frozen=True, slots=True)
class TupleReopened(Event):
    """A SYN reopened a four-tuple while one side of the previous connection was in TIME_WAIT."""

    previous_connection: int
    time_wait_side: str
    time_wait_since: float
    time_wait: float
    safe: bool
    """True when RFC 6191 allows it (newer timestamp or ISN above the old sequence space)."""
    reason: str


@dataclass(frozen=True, slots=True)
class Retransmission(Event):
    what: str
    """``SYN``, ``SYN-ACK``, ``FIN`` or ``data``."""
    seq: int
    length: int


@dataclass(frozen=True, slots=True)
class HalfOpen(Event):
    """SYNs that were never answered."""

    syns: int
    duration: float


@dataclass(frozen=True, slots=True)
class HandshakeIncomplete(Event):
    """A SYN-ACK was sent but the handshake's final ACK never appeared."""

    synacks: int


@dataclass(frozen=True, slots=True)
class ConnectionReset(Event):
    state: str
    """The receiving side's state when the reset arrived."""
    refused: bool
    accepted: bool
    """Whether the receiver accepts it (RFC 5961: sequence number in its receive window)."""
