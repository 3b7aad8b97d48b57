"""Healthy TCP behaviour worth naming, as Wireshark's analysis flags do: duplicate ACKs,
reordering, zero windows, probes, keepalives, kinds of retransmission."""

from __future__ import annotations

from dataclasses import dataclass

from tcpcheck.model.events.base import Event
from tcpcheck.profiles import Profile


@dataclass(frozen=True, slots=True)
class DuplicateAck(Event):
    POSITION = ("ack", "count")

    ack: int
    count: int
    """How many duplicates of this ACK so far (1 = the first duplicate)."""
    original_frame: int
    answers: int | None = None
    """The frame of the peer's segment this ACK answers, when the receiver owed it a reply
    (a challenge ACK, an ACK for an unacceptable segment: ``ReplyOwed``), not a hole."""


@dataclass(frozen=True, slots=True)
class AcceptDeferred(Event):
    """A listener's SYN-ACK sent again at the end of a deferred accept (Linux
    TCP_DEFER_ACCEPT), after the peer's bare ACK of it."""

    synack_frame: int
    """The SYN-ACK (or its latest copy) this one repeats."""
    ack_frame: int
    """The peer's bare ACK of it, which the listener dropped."""
    interval: float
    """Seconds since ``synack_frame``."""
    silent: int
    """SYN-ACK timeouts that fired without sending, before the one that sent this copy."""
    next_timeout: int
    """Which timeout of the SYN-ACK timer sent this copy (1: the first)."""
    profile: Profile
    """The listener's profile, whose SYN-ACK timer this was."""


@dataclass(frozen=True, slots=True)
class OutOfOrder(Event):
    POSITION = ("seq",)

    seq: int
    length: int
    gap_ns: int
    """How long after the side's highest segment it arrived."""


@dataclass(frozen=True, slots=True)
class ZeroWindow(Event):
    POSITION = ("ack",)

    ack: int


@dataclass(frozen=True, slots=True)
class ZeroWindowProbe(Event):
    POSITION = ("seq",)

    seq: int
    length: int


@dataclass(frozen=True, slots=True)
class Keepalive(Event):
    POSITION = ("seq",)

    seq: int
    length: int
    idle: float
    """Seconds since the side's previous segment."""
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""


@dataclass(frozen=True, slots=True)
class FastRetransmission(Event):
    POSITION = ("seq",)

    seq: int
    length: int
    dupacks: int


@dataclass(frozen=True, slots=True)
class SpuriousRetransmission(Event):
    POSITION = ("seq",)

    seq: int
    length: int
    acked: int
    """The peer's highest ACK when it was sent (relative)."""


@dataclass(frozen=True, slots=True)
class IsnWeak(Event):
    isn: int
    previous_connection: int | None
    """The earlier connection of the same host that used this ISN (None: the ISN is 0)."""
