"""Connection steps for the replies a receiver owes (RFC 9293 §3.10.7, RFC 5961), and their
settlement on the receiver's later segments.

Where RFC 9293 §3.10.7 makes a receiver answer a segment it drops, the model notes an ``Owed``
reply: a challenge ACK for an in-window inexact RST (RFC 5961 §3.2) or a SYN in a synchronized
state (§4.2); "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" for a segment that fails the acceptability
test or PAWS (RFC 9293 §3.10.7.4, first; RFC 7323 §5.3); "<SEQ=SEG.ACK><CTL=RST>" for an
unacceptable ACK in SYN-RECEIVED (§3.10.7.4, fifth). Each is owed only where the capture shows
the segment surely unacceptable (the model's conservative arrival steps decide that).

The receiver's later segments settle it (``ReplySteps._answer``):

- its first candidate (a pure ACK for an ACK, an RST for a reset) is the reply: ANSWERED when
  its numbers fall within what the capture allows for SND.NXT and RCV.NXT, WRONG otherwise;
- a segment that is no candidate, captured past the allowance (the tap is not the receiver:
  the handshake's round trip both ways plus ``SLACK_NS``), shows the receiver went on without
  replying: MISSING, or RATE_LIMITED when the profile's rate limit excuses it;
- the end of the capture (or the receiver's own RST or SYN) leaves it UNJUDGED.

A dropped segment with sequence space (data, FIN) stays watched after its reply: a later ACK of
the receiver covering that space, which the sender never sent again, shows the receiver took it
anyway (ACCEPTED; ``Profile.fin_zero_window`` names Linux's deliberate tolerance).

Only the connections that owe something pay for this: ``Connection.apply`` calls ``_answer``
while ``owed`` is not empty.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import receive_next
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind, ReplyOutcome
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import SYNCHRONIZED
from tcpcheck.segment import ACK, FIN, RST, SYN, Segment

SLACK_NS = 200_000_000
"""Added to twice the handshake's round trip before a receiver's silence counts: scheduling,
interrupt coalescing and a tap placed anywhere on the path. Calibrated on captures/linux and the
wild captures, where Linux's immediate replies come within a millisecond of the provocation."""

MAX_OWED = 32
"""Obligations followed at once per connection: enough for any healthy exchange, bounded so a
flood of unacceptable segments cannot grow a connection's state."""

_RATE_LIMITED = frozenset({ReplyKind.CHALLENGE_RST, ReplyKind.CHALLENGE_SYN,
                           ReplyKind.ACK_UNACCEPTABLE})
_CHALLENGES = frozenset({ReplyKind.CHALLENGE_RST, ReplyKind.CHALLENGE_SYN})
_RESETS = frozenset({ReplyKind.RESET_CLOSED, ReplyKind.RESET_LISTEN,
                     ReplyKind.RESET_SYN_RECEIVED})
_NOT_AN_ACK = SYN | RST | FIN


class Owed(NamedTuple):
    """A reply ``client`` (the receiver, True for the client) owes to the segment at ``frame``.

    Positions are unwrapped: ``seq`` bounds the reply's sequence number in the receiver's
    space (SND.NXT: from its SND.UNA to everything it sent; a reset's is exactly SEG.ACK),
    ``ack`` its ACK field (RCV.NXT: from the receiver's latest ACK to everything the sender
    sent), None where the RFC's form has no ACK, both as they were at the provocation. A
    reply may reach what each side sent until it came (``_settle_ack``). ``dropped`` is
    the new sequence space the receiver had to drop, watched for a later ACK covering it
    (``answered``: the reply itself has come)."""

    kind: ReplyKind
    frame: int
    ts: int
    client: bool
    seq: tuple[int, int]
    ack: tuple[int, int] | None
    reason: str
    reference: str
    dropped: tuple[int, int] | None = None
    answered: bool = False
    tolerated: str = ""
    unsent: bool = False
    """For an ACK above everything the capture showed sent: owed only if the sender's next
    data proves it unsent, not unseen (``_unsent_settled``); its outcome waits till then."""


class ReplySteps:
    """The owed-reply steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    # ------------------------------------------------------------------ owing

    def _owe_ack(self, kind: ReplyKind, seg: Segment, a: Endpoint, b: Endpoint, reason: str,
                 reference: str, dropped: tuple[int, int] | None = None,
                 tolerated: str = "") -> None:
        """``b`` owes "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" for ``a``'s segment ``seg``.

        SND.NXT lies between what ``a`` acknowledged of ``b`` and ``b``'s highest sequence
        sent; RCV.NXT between ``b``'s latest ACK and ``a``'s highest sequence sent (the tap
        cannot tell where): any reply within those bounds has the RFC's form."""
        if b.snd.max is None or a.snd.max is None:
            return  # nothing seen of one side's sequence space: no form to judge
        low = receive_next(a, b)
        rcv = (a.snd.max if low is None else min(low, a.snd.max), a.snd.max)
        snd = (b.snd.max if b.snd.una is None else b.snd.una, b.snd.max)
        if dropped is not None and dropped[0] < rcv[0]:
            dropped = None  # old sequence space: any later ACK covers it anyway
        self._owe(Owed(kind, seg.frame, seg.ts, b is self.client, snd, rcv,
                       reason, reference, dropped, tolerated=tolerated))

    def _owe_reset(self, kind: ReplyKind, seg: Segment, a: Endpoint, b: Endpoint, reason: str,
                   reference: str) -> None:
        """``b`` owes "<SEQ=SEG.ACK><CTL=RST>" for ``a``'s segment ``seg`` (it carries ACK)."""
        if b.snd.max is None:
            return
        ack = unwrap(seg.ack, b.snd.max)
        self._owe(Owed(kind, seg.frame, seg.ts, b is self.client, (ack, ack), None, reason,
                       reference))

    def _owe_zero_window_fin(self, seg: Segment, a: Endpoint, b: Endpoint, fin: int) -> None:
        """A bare FIN at RCV.NXT into ``b``'s zero window: SEG.LEN 1 with RCV.WND 0 is "not
        acceptable" (RFC 9293 §3.10.7.4, first), so ``b`` owes an ACK and drops it. The model
        lets it through all the same, as Linux does: whether ``b`` took it shows in its ACK
        (``unacceptable-segment-accepted``, naming the profile's tolerance)."""
        tolerated = ""
        if self.profile.zero_window_fin == "accept":
            tolerated = (f"the {self.profile.name} profile's zero_window_fin = accept: a "
                         "deliberate tolerance")
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"FIN at seq {a.rel(fin)} into a zero window", "RFC 9293 §3.10.7.4 (first)",
                      (fin, fin + 1), tolerated)

    def _owe_unsent(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int) -> None:
        """``a``'s ACK is above everything the capture showed ``b`` send. If ``b`` never sent
        it (RFC 9293 §3.10.7.4, fifth: "If the ACK acks something not yet sent (SEG.ACK >
        SND.NXT), then send an ACK, drop the segment, and return"; RFC 5961 §5.2), ``b`` owes
        an ACK; if the capture only missed it, nothing. ``b``'s next new data tells which."""
        if b.state not in SYNCHRONIZED:
            return
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"ACK {b.rel(ack)} above SND.NXT {b.rel(b.snd.max)}",
                      "RFC 9293 §3.10.7.4 (fifth); RFC 5961 §5.2")
        if self.owed and self.owed[-1].frame == seg.frame:
            self.owed = (*self.owed[:-1], self.owed[-1]._replace(unsent=True))

    def _unsent_settled(self, proven: bool) -> None:
        """The over-ACK is settled: the ACK was of data never sent (``proven``: what its
        obligations waited for is recorded, and the open ones stay owed), or of data the
        capture missed (they are dropped)."""
        if proven:
            self.events.extend(self.tentative)
        self.tentative = ()
        self.owed = tuple(owed._replace(unsent=False) if owed.unsent else owed
                          for owed in self.owed if proven or not owed.unsent)

    def challenged(self, syn: Segment, from_client: bool) -> None:
        """A SYN with a new ISN reached this connection's synchronized peer of its sender
        (the tracker opened a new instance for it, ``Tracker._hold``): the peer owes a
        challenge ACK (RFC 5961 §4.2; RFC 9293 §3.10.7.4, fourth: "If the SYN bit is set,
        irrespective of the sequence number, TCP endpoints MUST send a 'challenge ACK'")."""
        a, b = (self.client, self.server) if from_client else (self.server, self.client)
        self._owe_ack(ReplyKind.CHALLENGE_SYN, syn, a, b, f"SYN in {b.state.value}",
                      "RFC 5961 §4.2; RFC 9293 §3.10.7.4 (fourth)")

    def _owe(self, owed: Owed) -> None:
        owed_now = self.owed
        if len(owed_now) >= MAX_OWED:
            # A flood of unacceptable segments: the oldest is settled now, to bound memory.
            oldest, owed_now = owed_now[0], owed_now[1:]
            if not oldest.answered:
                self._record(oldest, ReplyOutcome.UNJUDGED, None,
                             f"not followed past {MAX_OWED} later obligations")
        self.owed = (*owed_now, owed)

    # ------------------------------------------------------------------ settling

    def _answer(self, seg: Segment, from_client: bool) -> None:
        """Settle what is owed with ``seg``: the receiver's reply or silence, or the sender
        sending the dropped sequence space again (then the receiver's ACK of it proves
        nothing)."""
        kept: list[Owed] = []
        for owed in self.owed:
            if owed.client is from_client:
                owed = self._judge(owed, seg)
            elif owed.dropped is not None and self._resends(seg, owed.dropped):
                owed = None if owed.answered else owed._replace(dropped=None)
            if owed is not None:
                kept.append(owed)
        self.owed = tuple(kept)

    @staticmethod
    def _resends(seg: Segment, dropped: tuple[int, int]) -> bool:
        """Does the sender's ``seg`` overlap the sequence space the receiver dropped?"""
        start, end = dropped
        seq = unwrap(seg.seq, start)
        return seq < end and seq + seg.plen + (1 if seg.flags & FIN else 0) > start

    def _judge(self, owed: Owed, seg: Segment) -> Owed | None:
        """The receiver sent ``seg``: its acceptance of a dropped segment, the reply, a wrong
        one, or a sign it went on without replying. The obligation, if still open."""
        flags = seg.flags
        dropped = owed.dropped
        if (dropped is not None and flags & ACK and not flags & RST
                and unwrap(seg.ack, dropped[1]) >= dropped[1]):
            return self._accepted(owed, seg)
        if owed.answered:
            return owed  # its reply came: only the watch over the dropped space is left
        if owed.kind in _RESETS:
            if flags & RST:
                return self._settle_reset(owed, seg)
        elif flags & (SYN | RST):
            # It aborts or reopens: what it owed the old exchange can no longer be judged.
            return self._record(owed, ReplyOutcome.UNJUDGED, seg, "it sent "
                                + ("an RST" if flags & RST else "a SYN") + " instead")
        elif flags & ACK and not seg.plen and not flags & FIN:
            return self._settle_ack(owed, seg)
        if seg.ts - owed.ts <= self._allowance():
            return owed  # sent before the segment reached it, perhaps
        if owed.kind in _RATE_LIMITED and self._rate_limited(owed):
            return self._record(owed, ReplyOutcome.RATE_LIMITED, None, self._silence(owed, seg))
        return self._record(owed, ReplyOutcome.MISSING, None, self._silence(owed, seg))

    def _settle_ack(self, owed: Owed, seg: Segment) -> Owed | None:
        """A pure ACK of the receiver after the provocation: its reply, in the RFC's form when
        SEQ is within SND.NXT's bounds and ACK is at least its RCV.NXT then. An ACK above
        everything the capture showed the sender send cannot be judged (capture loss, or a
        sequence-rewriting middlebox between the tap and the receiver)."""
        receiver, sender = self._sides(owed)
        lo, hi = owed.seq[0], receiver.snd.max
        seq = unwrap(seg.seq, lo)
        ack = unwrap(seg.ack, owed.ack[0])
        if ack > sender.snd.max:
            return self._record(owed, ReplyOutcome.UNJUDGED, seg, f"frame {seg.frame}: ACK "
                                f"{sender.rel(ack)}, beyond what the capture shows was sent")
        wrong = ""
        if not lo <= seq <= hi:
            wrong = f"SEQ={receiver.rel(seq)}"
        elif ack < owed.ack[0]:
            wrong = f"ACK={sender.rel(ack)}"
        if wrong:
            return self._record(owed, ReplyOutcome.WRONG, seg,
                                f"frame {seg.frame}: <{wrong}> in a pure ACK")
        self.oow_ts = (seg.ts, self.oow_ts[1]) if owed.client else (self.oow_ts[0], seg.ts)
        self.answers = (seg.frame, owed.frame)
        self._record(owed, ReplyOutcome.ANSWERED, seg, f"frame {seg.frame}: "
                     f"<SEQ={receiver.rel(seq)}><ACK={sender.rel(ack)}><CTL=ACK>")
        return None if owed.dropped is None else owed._replace(answered=True)

    def _settle_reset(self, owed: Owed, seg: Segment) -> None:
        seq = unwrap(seg.seq, owed.seq[0])
        observed = f"frame {seg.frame}: <SEQ={self._sides(owed)[0].rel(seq)}><CTL=RST>"
        outcome = ReplyOutcome.ANSWERED if seq == owed.seq[0] else ReplyOutcome.WRONG
        if outcome is ReplyOutcome.ANSWERED:
            self.answers = (seg.frame, owed.frame)
        self._record(owed, outcome, seg, observed)

    def _accepted(self, owed: Owed, seg: Segment) -> None:
        """The receiver's ACK covers the dropped space, which its sender never sent again."""
        sender = self._sides(owed)[1]
        start, end = (sender.rel(pos) for pos in owed.dropped)
        ack = sender.rel(unwrap(seg.ack, owed.dropped[1]))
        self._record(owed, ReplyOutcome.ACCEPTED, seg,
                     f"frame {seg.frame}: ACK {ack} covers it"
                     + (f" ({owed.tolerated})" if owed.tolerated else ""),
                     f"{start}..{end} dropped: no ACK reaching {end} until its sender sends "
                     "it again")

    def _allowance(self) -> int:
        """How long after the provocation the receiver's reply may reach the tap."""
        return 2 * self.reorder_ns + SLACK_NS

    def _rate_limited(self, owed: Owed) -> bool:
        """Does the profile's rate limit excuse the missing reply? Linux sends at most one
        out-of-window ACK or challenge ACK per ``invalid_ratelimit`` per socket (data
        segments are exempt from it for an ACK_UNACCEPTABLE: tcp_oow_rate_limited), and
        a host-wide ``challenge_ack_limit`` per second the capture of one connection cannot
        count."""
        profile = self.profile
        if owed.kind in _CHALLENGES and profile.challenge_ack_limit:
            return True
        if owed.kind is ReplyKind.ACK_UNACCEPTABLE and owed.dropped is not None:
            return False  # a segment with sequence space is never rate-limited
        last = self.oow_ts[0] if owed.client else self.oow_ts[1]
        return bool(last) and owed.ts - last < profile.invalid_ratelimit * 1e9

    def _silence(self, owed: Owed, seg: Segment) -> str:
        return (f"no reply in {(seg.ts - owed.ts) / 1e9:.3f} s, while it sent frame "
                f"{seg.frame}")

    def _record(self, owed: Owed, outcome: ReplyOutcome, reply: Segment | None,
                observed: str, expected: str = "") -> None:
        side = "client" if owed.client else "server"
        event = ev.ReplyOwed(
            owed.frame, owed.ts, side, owed.kind, outcome,
            None if reply is None else reply.frame, expected or self._expected(owed), observed,
            owed.reason, owed.reference)
        if owed.unsent:
            self.tentative = (*self.tentative, event)
        else:
            self.events.append(event)

    def _expected(self, owed: Owed) -> str:
        """The reply in the RFC's notation, with the bounds the capture allows for it."""
        receiver, sender = self._sides(owed)
        seq = self._bounds(receiver, *owed.seq)
        if owed.ack is None:
            return f"<SEQ={seq}><CTL=RST>"
        return f"<SEQ={seq}><ACK={self._bounds(sender, *owed.ack)}><CTL=ACK>"

    @staticmethod
    def _bounds(e: Endpoint, lo: int, hi: int) -> str:
        return str(e.rel(lo)) if lo == hi else f"{e.rel(lo)}..{e.rel(hi)}"

    def _sides(self, owed: Owed) -> tuple[Endpoint, Endpoint]:
        """(receiver, sender) of the segment that made ``owed`` owed."""
        if owed.client:
            return self.client, self.server
        return self.server, self.client

    def _unjudged(self) -> None:
        """The capture is over: what is still owed was never shown either way."""
        for owed in self.owed:
            if not owed.answered and not owed.unsent:
                self._record(owed, ReplyOutcome.UNJUDGED, None,
                             "nothing of it captured afterwards")
        self.owed = ()
        self.tentative = ()  # the over-ACK was never proven unsent
