"""Observations about what an endpoint sent, judged against RFC 9293 (with RFC 5961, RFC 7323,
RFC 6298 and the stack profile): the handshake, sequence space and windows, options, resets,
data integrity, teardown and timers."""

from __future__ import annotations

from dataclasses import dataclass

from tcpcheck.model.events.base import Event
from tcpcheck.model.seqnum import MASK
from tcpcheck.profiles import Profile


@dataclass(frozen=True, slots=True)
class SynIsnChanged(Event):
    first_frame: int
    original_isn: int
    new_isn: int
    elapsed: float
    """Seconds since the first SYN of the attempt."""
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""


@dataclass(frozen=True, slots=True)
class ConcurrentSyn(Event):
    """A SYN with a new ISN on a tuple whose handshake is pending, too soon to be a retry."""

    previous_frame: int
    previous_isn: int
    new_isn: int
    gap: float
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""
    """Seconds since the side's previous SYN."""


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

    def position(self) -> str:
        # The raw ISN changes with every capture; the ACK's distance from it does not.
        return f"ack={(self.observed_ack - self.peer_isn) & MASK}"


@dataclass(frozen=True, slots=True)
class HandshakeBadAck(Event):
    synack_frame: int
    peer_isn: int
    expected_ack: int
    observed_ack: int

    def position(self) -> str:
        # The raw ISN changes with every capture; the ACK's distance from it does not.
        return f"ack={(self.observed_ack - self.peer_isn) & MASK}"


@dataclass(frozen=True, slots=True)
class MissingAckFlag(Event):
    POSITION = ("flags", "state")

    flags: int
    state: str


@dataclass(frozen=True, slots=True)
class InvalidFlags(Event):
    POSITION = ("flags",)

    flags: int


@dataclass(frozen=True, slots=True)
class AckOfUnsentData(Event):
    """``side`` acknowledged bytes its peer never sent (proved by the peer's later segment)."""

    POSITION = ("ack",)

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

    POSITION = ("ack",)

    ack: int
    peer_max: int
    evidence_frame: int | None
    """The peer's next segment, starting at or past the ACK (None: the capture ended first,
    or the ACK covers a hole)."""
    hole: tuple[int, int] | None = None
    """[start, end) of the hole below ``peer_max`` the ACK covers, whose bytes the capture
    never showed (None: the ACK is above the highest sequence captured)."""


@dataclass(frozen=True, slots=True)
class DataAfterFin(Event):
    POSITION = ("seq",)

    fin_frame: int
    fin_seq: int
    seq: int
    length: int


@dataclass(frozen=True, slots=True)
class FinSeqChanged(Event):
    POSITION = ("new_fin_seq",)

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
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""


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
    profile: Profile
    """The profile of the side in TIME_WAIT."""


@dataclass(frozen=True, slots=True)
class Retransmission(Event):
    POSITION = ("what", "seq")

    what: str
    """``SYN``, ``SYN-ACK``, ``FIN`` or ``data``."""
    seq: int
    length: int


@dataclass(frozen=True, slots=True)
class HalfOpen(Event):
    """SYNs that were never answered."""

    syns: int
    duration: float
    unjudged: bool = False
    """The capture ended before the first SYN's answer was due (``timers.answer_pending``): it
    cannot tell, so no rule judges it; a flood still counts it (its SYNs were sent)."""


@dataclass(frozen=True, slots=True)
class HandshakeIncomplete(Event):
    """A SYN-ACK was sent but the handshake's final ACK never appeared."""

    synacks: int
    unjudged: bool = False
    """The capture ended before the first SYN-ACK's answer was due (as ``HalfOpen``'s)."""


@dataclass(frozen=True, slots=True)
class SynFlood(Event):
    """Handshakes to one target that never completed, too many too close together: a flood.
    Anchored to the first of them; ``side`` is the server (the target)."""

    target: str
    """``ip:port`` of the target."""
    handshakes: int
    half_open: int
    """Of ``handshakes``, those whose SYNs got no answer at all (``HalfOpen``)."""
    incomplete: int
    """Of ``handshakes``, those answered with a SYN-ACK that was never ACKed."""
    syns: int
    """SYNs the sources sent, retransmissions included."""
    duration: float
    """Seconds from the first handshake's SYN to the last one's."""
    peak: int
    """The most handshakes begun within one second of the capture clock."""
    sources: int
    """Distinct source addresses (counted up to ``sources_limit``)."""
    sources_limit: int
    ports: int
    """Distinct source ports."""
    top_sources: tuple[tuple[str, int], ...]
    """The busiest source addresses and their handshakes, busiest first."""
    threshold: int
    window: float


@dataclass(frozen=True, slots=True)
class ConnectionReset(Event):
    POSITION = ("state",)

    state: str
    """The receiving side's state when the reset arrived."""
    refused: bool
    accepted: bool
    """Whether the receiver accepts it (RFC 5961: sequence number in its receive window)."""
    no_connection: bool = False
    """The RST is <SEQ=SEG.ACK><CTL=RST>, the answer of a host without the connection
    (RFC 9293 §3.10.7.1), not an abort of it."""
    went_on: bool = False
    """The receiver's own later segments show it was not reset: it ignored the RST, or the
    RST was lost after the capture point."""
    new_attempt: bool = False
    """The RST is <SEQ=SEG.ACK><CTL=RST> from the sender's new attempt on the four-tuple, in
    SYN-SENT, answering the ACK this connection's receiver sent to its SYN (§3.10.7.3)."""
    answers: int = 0
    """The frame of the unacceptable ACK this RST answers: the <SEQ=SEG.ACK><CTL=RST> a
    SYN-RECEIVED sender owes (§3.10.7.4, fifth), after which it stays in SYN-RECEIVED; 0 when
    it answers nothing."""


# ---------------------------------------------------------------------- flow control


@dataclass(frozen=True, slots=True)
class DataBeyondWindow(Event):
    """Data ran past the right edge of the window the receiver advertised."""

    POSITION = ("seq",)

    seq: int
    length: int
    right_edge: int
    """The highest ACK + window the receiver ever advertised (relative, sender's space)."""
    window: int
    """That advertisement's window in bytes (scaled)."""
    window_frame: int


@dataclass(frozen=True, slots=True)
class SeqOutOfWindow(Event):
    """A segment lies wholly outside the receive window (beyond it, or before the ISN)."""

    POSITION = ("seq",)

    seq: int
    length: int
    left_edge: int
    right_edge: int


@dataclass(frozen=True, slots=True)
class WindowShrink(Event):
    """The side moved its window's right edge left (ACK + window decreased)."""

    POSITION = ("ack",)

    previous_edge: int
    new_edge: int
    previous_frame: int
    ack: int
    window: int


# ---------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class OptionNotNegotiated(Event):
    POSITION = ("option", "problem")

    option: str
    """``MSS``, ``window scale``, ``SACK-permitted``, ``SACK`` or ``timestamps``."""
    problem: str
    """``on-non-syn``, ``not-negotiated`` or ``missing``."""


@dataclass(frozen=True, slots=True)
class PawsRegression(Event):
    tsval: int
    previous: int
    previous_frame: int


@dataclass(frozen=True, slots=True)
class SynAckOptionsUnsolicited(Event):
    POSITION = ("options",)

    options: tuple[str, ...]
    syn_frame: int


@dataclass(frozen=True, slots=True)
class WindowScaleTooLarge(Event):
    """The side's SYN (or SYN-ACK) offered a window-scale shift above 14; the peer uses 14
    (RFC 7323 §2.3). Anchored to the first such SYN of the side."""

    POSITION = ("shift",)

    shift: int
    """The shift.cnt on the wire."""
    used: int
    """The shift the model, like the peer, applies instead (14)."""


# ---------------------------------------------------------------------- resets


@dataclass(frozen=True, slots=True)
class RstOutOfWindow(Event):
    POSITION = ("seq",)

    seq: int
    rcv_nxt: int
    """The receiver's RCV.NXT (relative), from its latest ACK."""
    right_edge: int


@dataclass(frozen=True, slots=True)
class RstNotExact(Event):
    POSITION = ("seq",)

    seq: int
    rcv_nxt: int


@dataclass(frozen=True, slots=True)
class InjectedSegment(Event):
    """A reset or FIN in ``side``'s name whose IP header ``side`` did not write
    (``tcpcheck.model.attribution``): a middlebox forged it. ``side``'s state is untouched;
    its receiver handles it as any RST or FIN (RFC 9293 §3.10.7)."""

    POSITION = ("state",)

    state: str
    """The receiver's state when the reset arrived."""
    verdict: str
    """What the receiver makes of it: of a reset (``ResetSteps._rst_verdict``), ``exact`` (it
    resets), ``inexact`` (a challenge ACK), ``outside``, ``ignored`` or ``unsigned``
    (dropped); of a FIN (``InjectionSteps._forged_fin``), ``closes`` (it takes it),
    ``queued`` (beyond RCV.NXT), ``outside`` or ``ignored`` (dropped)."""
    ttl: int
    sender_ttls: tuple[int, ...]
    """Every TTL (IPv6: hop limit) ``side``'s own segments arrived with."""
    ip_id: int
    copies_frame: int
    """The receiver's segment whose IPv4 ID the forged one repeats (0: none)."""
    carried_on: int = 0
    """``side``'s next segment, sent as if it had sent no reset (0: the IP ID told)."""
    signed: int = 0
    """The signature option kind (TCP-MD5 19, TCP-AO 29) it carries on a connection whose
    segments carry none (0: none); its receiver has no key for it and drops it."""
    sequence_frame: int = 0
    """``side``'s latest segment, whose IPv4 ID sequence this one's is far outside (0: not
    the signal)."""
    sequence_id: int = 0
    mac: bytes = b""
    """Its link-layer source address, from which none of ``side``'s segments came (empty:
    the MAC was not a signal, or the capture has no link-layer addresses)."""
    sender_macs: tuple[bytes, ...] = ()
    """The link-layer source addresses ``side``'s own segments came from (with ``mac``)."""
    control: str = "RST"
    """What was forged: ``RST`` or ``FIN``."""
    text: int = 0
    """The bytes of text a forged FIN carries before it (an injected block page)."""


@dataclass(frozen=True, slots=True)
class DataAfterRst(Event):
    POSITION = ("what",)

    rst_frame: int
    what: str
    """What the side sent after its reset: ``data``, ``FIN`` or ``ACK``."""


# ---------------------------------------------------------------------- data integrity


@dataclass(frozen=True, slots=True)
class RetransmissionDataMismatch(Event):
    POSITION = ("seq",)

    seq: int
    length: int
    first_frame: int
    offset: int
    """Relative sequence number of the first byte that differs."""
    first_end: int | None = None
    """Set when the first copy was acknowledged and only its digest kept: the end of its
    range, and ``offset`` its start (the bytes differ somewhere between)."""


# ---------------------------------------------------------------------- teardown timers


@dataclass(frozen=True, slots=True)
class CloseWaitStall(Event):
    """``side`` acknowledged the peer's FIN and sent nothing, not even its own FIN, for long."""

    seconds: float
    threshold: float
    fin_frame: int | None
    """When the side's FIN finally came (None: never, before the capture ended)."""
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""


@dataclass(frozen=True, slots=True)
class FinWait2Timeout(Event):
    seconds: float
    timeout: float
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""


# ---------------------------------------------------------------------- retransmission timers


@dataclass(frozen=True, slots=True)
class SynRetriesExceeded(Event):
    POSITION = ("what",)

    what: str
    """``SYN`` or ``SYN-ACK``."""
    transmissions: int
    limit: int
    """The most transmissions (first + retransmissions) the profile allows."""
    elapsed: float
    give_up: float
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""
    why: str = ""
    """Why the side has that profile (``SideProfile.why``); empty when it was forced."""


@dataclass(frozen=True, slots=True)
class RtoBackoffViolation(Event):
    POSITION = ("what", "nth", "seq")

    what: str
    """``SYN``, ``SYN-ACK`` or ``data``."""
    nth: int
    """Which retransmission of it this is (1 = the first)."""
    expected: float
    observed: float
    previous_frame: int
    profile: Profile
    """The profile of the side concerned, as it stood when this was seen."""
    seq: int = 0
    why: str = ""
    """Why the side has that profile (``SideProfile.why``); empty when it was forced."""
