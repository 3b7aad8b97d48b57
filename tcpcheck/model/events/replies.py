"""Replies a receiver owes (RFC 9293 §3.10.7, RFC 5961, RFC 5681 §4.2), and what answered them.

A segment can leave its receiver owing a reply: an ACK for a segment that fails the
acceptability test, a challenge ACK, a reset, an ACK for a FIN or for data. The model records
each obligation once it is settled: answered (and by which frame), missing, answered wrongly,
excused by the stack's rate limit, or not judged because the capture shows nothing of that
receiver afterwards. Rules read ``ReplyOwed`` by kind and outcome; the pictures draw the link
between the provoking segment and its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tcpcheck.model.events.base import Event
from tcpcheck.profiles import Profile


class ReplyKind(StrEnum):
    """What the receiver owes, and the RFC text that makes it owe it."""

    ACK_UNACCEPTABLE = "ack-unacceptable"
    """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> for a segment failing the acceptability test
    (RFC 9293 §3.10.7.4, first), failing PAWS (RFC 7323 §5.3), acknowledging what was never
    sent (SEG.ACK > SND.NXT, RFC 5961 §5.2) or too old (< SND.UNA - MAX.SND.WND, RFC 5961 §5.2)."""
    CHALLENGE_RST = "challenge-rst"
    """A challenge ACK for an RST in the window but not at RCV.NXT (RFC 5961 §3.2)."""
    CHALLENGE_SYN = "challenge-syn"
    """A challenge ACK for a SYN in a synchronized state (RFC 5961 §4.2)."""
    RESET_CLOSED = "reset-closed"
    """An RST for a non-RST segment reaching no connection (RFC 9293 §3.10.7.1)."""
    RESET_LISTEN = "reset-listen"
    """An RST <SEQ=SEG.ACK><CTL=RST> for an ACK reaching LISTEN (RFC 9293 §3.10.7.2)."""
    RESET_SYN_RECEIVED = "reset-syn-received"
    """An RST <SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK in SYN-RECEIVED (§3.10.7.4, fifth)."""
    ACK_FIN = "ack-fin"
    """An ACK covering a FIN (RFC 9293 §3.10.7.4, eighth: "advance RCV.NXT over the FIN")."""
    ACK_HOLE = "ack-hole"
    """An immediate ACK for data that fills a hole (RFC 5681 §4.2)."""
    ACK_DATA = "ack-data"
    """An ACK for in-order data within the stack's delayed-ACK limit (RFC 9293 §3.8.6.3)."""


class ReplyOutcome(StrEnum):
    """How an obligation was settled."""

    ANSWERED = "answered"
    """The receiver's reply is there, in the form the RFC gives (``reply_frame``)."""
    WRONG = "wrong"
    """A reply is there (``reply_frame``) but not in the RFC's form (``observed``)."""
    MISSING = "missing"
    """The receiver went on sending after the allowance, and no reply came."""
    LATE = "late"
    """The reply came (``reply_frame``), later than the profile allows."""
    RATE_LIMITED = "rate-limited"
    """No reply, within the stack profile's rate limit for such replies: healthy."""
    ACCEPTED = "accepted"
    """The receiver's later ACK covers sequence space it had to drop (``reply_frame``)."""
    UNJUDGED = "unjudged"
    """The capture shows nothing of that receiver afterwards (one-sided capture, end of
    capture): no evidence either way."""


@dataclass(frozen=True, slots=True)
class ReplyOwed(Event):
    """``side`` (the receiver) owed a reply to the segment at ``frame``; how it was settled.

    Recorded for every obligation except ordinary ones answered in time (``ACK_FIN``,
    ``ACK_HOLE`` and ``ACK_DATA`` answered are not recorded: healthy traffic has one per
    segment)."""

    POSITION = ("kind", "outcome")

    kind: ReplyKind
    outcome: ReplyOutcome
    reply_frame: int | None
    """The segment that answered (or wrongly answered, or accepted), if any."""
    expected: str
    """The reply the RFC asks for, in its own notation: ``<SEQ=1001><ACK=2001><CTL=ACK>``."""
    observed: str
    """What the receiver did instead (``no reply in 1.20 s while it sent 3 segments``)."""
    reason: str
    """Why it was owed, in TCP terms (``RST at seq 5000, in the window but not RCV.NXT 1001``)."""
    reference: str
    """The RFC section or the profile value the obligation rests on."""
    profile: Profile
    """The receiver's profile: its rate limits and delayed-ACK maximum."""
