"""Connection steps for the replies a receiver owes (RFC 9293 §3.10.7, RFC 5961), and their
settlement on the receiver's later segments.

Where RFC 9293 §3.10.7 makes a receiver answer a segment, the model notes an ``Owed`` reply:

- a challenge ACK for an in-window inexact RST (RFC 5961 §3.2) or a SYN in a synchronized
  state (§4.2);
- "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" for a segment that fails the acceptability test or
  PAWS (RFC 9293 §3.10.7.4, first; RFC 7323 §5.3), or acknowledges what was never sent
  (§3.10.7.4, fifth; held until the sender's next data proves it unsent);
- "<SEQ=SEG.ACK><CTL=RST>" for an unacceptable ACK in SYN-RECEIVED (§3.10.7.4, fifth) and for
  an ACK-bearing segment on a four-tuple the receiver reset (§3.10.7.1-2), and
  "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>" for one without ACK there (§3.10.7.1): these in
  ``tcpcheck.model.reply_resets``;
- an ACK of a FIN (§3.10.7.4, eighth), within the profile's delayed-ACK maximum.

Each is owed only where the capture shows the segment surely unacceptable (the model's
conservative arrival steps decide that). The receiver's later segments settle it
(``ReplySteps._answer``):

- its first candidate (a pure ACK for an ACK, an RST for a reset) is the reply: ANSWERED when
  its numbers fall within what the capture allows for SND.NXT and RCV.NXT, WRONG otherwise;
- a segment that is no candidate, captured past the allowance (the tap is not the receiver:
  the handshake's round trip both ways plus ``SLACK_NS``), shows the receiver went on without
  replying: MISSING, or RATE_LIMITED when the profile's rate limit excuses it;
- the end of the capture (or the receiver's own RST or SYN) leaves it UNJUDGED.

A dropped segment with sequence space (data, FIN) stays watched after its reply: a later ACK of
the receiver covering that space, which the sender never sent again, shows the receiver took it
anyway (ACCEPTED; ``Profile.zero_window_fin`` names Linux's deliberate tolerance). A FIN's ACK
is recorded only when withheld (``_settle_fin_ack``): answered, it makes no event.

A connection pays for this only while it owes something (``Connection.apply`` calls
``_answer`` while ``owed`` is not empty): after a FIN until its ACK, and around the rare
segments that make a receiver owe a reply.
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


class Owed(NamedTuple):
    """A reply ``client`` (the receiver, True for the client) owes to ``segment``.

    Positions are unwrapped: ``seq`` bounds the reply's sequence number in the receiver's
    space (SND.NXT: from its SND.UNA to everything it sent; a reset's is exactly SEG.ACK),
    ``ack`` its ACK field (RCV.NXT: from the receiver's latest ACK to everything the sender
    sent), None where the RFC's form has no ACK, both as they were at the provocation. A
    reply may reach what each side sent until it came (``_settle_ack``). ``dropped`` is
    the new sequence space the receiver had to drop, watched for a later ACK covering it
    (``answered``: the reply itself has come)."""

    kind: ReplyKind
    segment: Segment
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
    old_copy: bool = False
    """For an old duplicate (wholly below RCV.NXT): data of the receiver carrying ACK =
    RCV.NXT within the allowance answers it too (stacks piggyback the ACK), and an ACK past
    the allowance that acknowledges what the sender sent after it is no reply."""
    late: Segment | None = None
    """For an ordinary ACK (``ACK_FIN``): the receiver's first segment past the allowance that
    did not cover it, kept until a later ACK proves it had the FIN all along."""


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
        self._owe(Owed(kind, seg, b is self.client, snd, rcv,
                       reason, reference, dropped, tolerated=tolerated))

    def _owe_zero_window_fin(self, seg: Segment, a: Endpoint, b: Endpoint, fin: int) -> None:
        """A bare FIN at RCV.NXT into ``b``'s zero window: SEG.LEN 1 with RCV.WND 0 is "not
        acceptable" (RFC 9293 §3.10.7.4, first), so ``b`` owes an ACK and drops it. The model
        lets it through all the same, as Linux does: whether ``b`` took it shows in its ACK
        (``unacceptable-segment-accepted``, naming the profile's tolerance)."""
        tolerated = ""
        if b.profile.zero_window_fin == "accept":
            tolerated = (f"the {b.profile.name} profile's zero_window_fin = accept: a "
                         "deliberate tolerance")
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"FIN at seq {a.rel(fin)} into a zero window", "RFC 9293 §3.10.7.4 (first)",
                      (fin, fin + 1), tolerated)

    def _owe_old_copy(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int) -> None:
        """``a``'s data lies wholly below the ACK ``b`` already sent, so below its RCV.NXT:
        it fails the acceptability test (RFC 9293 §3.10.7.4, first: "If an incoming segment is
        not acceptable, an acknowledgment should be sent in reply (unless the RST bit is set
        [...]): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"). Linux sends it at once, with a D-SACK
        (RFC 2883) naming the copy.

        Owed only for a copy whose TSval is the newest its sender has sent: a real
        retransmission carries the sender's current clock (RFC 7323 §3), while a segment a
        mirror port or a bridge repeated into the capture later carries the original's, and
        never reached the receiver. Without timestamps the two look the same: nothing owed."""
        if b.state not in SYNCHRONIZED or a.opts.ts_max_frame != seg.frame:
            return
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"{seg.plen} bytes at seq {a.rel(seq)}, an old duplicate wholly below "
                      f"RCV.NXT {a.rel(b.rcv.ack)}", "RFC 9293 §3.10.7.4 (first)")
        if self.owed and self.owed[-1].segment is seg:
            self.owed = (*self.owed[:-1], self.owed[-1]._replace(old_copy=True))

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
        if self.owed and self.owed[-1].segment is seg:
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

    def _owe_fin_ack(self, seg: Segment, a: Endpoint, b: Endpoint, fin: int) -> None:
        """``b`` received ``a``'s FIN: "advance RCV.NXT over the FIN" and acknowledge it (RFC
        9293 §3.10.7.4, eighth), within the profile's delayed-ACK maximum (§3.8.6.3). Settled
        without an event when answered: only a FIN ``b`` demonstrably received and left
        unacknowledged past the allowance is recorded (``_settle_fin_ack``)."""
        snd = b.snd.max or 0
        # One per FIN of every connection: its texts are written only if it is ever recorded.
        self.owed = (*self.owed, Owed(ReplyKind.ACK_FIN, seg, b is self.client,
                                      (snd if b.snd.una is None else b.snd.una, snd),
                                      (fin + 1, fin + 1), "", ""))

    def _settle_fin_ack(self, owed: Owed, seg: Segment) -> Owed | None:
        """The FIN's receiver sent ``seg``. Covering the FIN, it settles the obligation: in
        time (no event), or after a segment past the allowance that did not cover it although
        no retransmission of the FIN came in between (the FIN had arrived: MISSING, the ACK
        withheld). An ACK lost between the receiver and the tap is common, so a late covering
        ACK alone proves nothing, and a segment without ACK or a reset ends the watch."""
        flags = seg.flags
        if flags & (RST | SYN) or not flags & ACK:
            return None
        fin_end = owed.ack[0]
        if unwrap(seg.ack, fin_end) >= fin_end:
            if owed.late is not None:
                late = owed.late
                sender = self._sides(owed)[1]
                self._record(owed, ReplyOutcome.MISSING, seg,
                             f"frame {late.frame}, {(late.ts - owed.segment.ts) / 1e9:.3f} s "
                             f"after the FIN, acknowledged only "
                             f"{sender.rel(unwrap(late.ack, fin_end))}; its first ACK of the "
                             f"FIN is frame {seg.frame}, with no retransmission of the FIN "
                             "between")
            return None
        if owed.late is None and seg.ts - owed.segment.ts > self._allowance(self._sides(owed)[0]):
            return owed._replace(late=seg)
        return owed

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
            if not oldest.answered and oldest.kind is not ReplyKind.ACK_FIN:
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
            elif owed.kind is ReplyKind.ACK_FIN:
                if seg.flags & (FIN | RST | SYN):
                    owed = None  # the FIN again: the first may have been lost after the tap
            elif self._twin(owed.segment, seg):
                owed = self._record(owed, ReplyOutcome.UNJUDGED, None, f"frame {seg.frame} "
                                    "is the same segment with other numbers: the capture shows "
                                    "both sides of a middlebox that rewrites them")
            elif owed.dropped is not None and self._resends(seg, owed.dropped):
                owed = None if owed.answered else owed._replace(dropped=None)
            if owed is not None:
                kept.append(owed)
        self.owed = tuple(kept)

    def _twin(self, provoking: Segment, seg: Segment) -> bool:
        """Is ``seg`` the provoking segment again, captured with it, with other sequence or
        acknowledgment numbers? A sequence-randomising firewall between two capture points
        makes such pairs: the receiver only ever saw the rewritten one."""
        return (seg.ts - provoking.ts <= self.reorder_ns and seg.flags == provoking.flags
                and seg.plen == provoking.plen and seg.win == provoking.win
                and seg.payload == provoking.payload
                and (seg.seq, seg.ack) != (provoking.seq, provoking.ack))

    @staticmethod
    def _resends(seg: Segment, dropped: tuple[int, int]) -> bool:
        """Does the sender's ``seg`` overlap the sequence space the receiver dropped?"""
        start, end = dropped
        seq = unwrap(seg.seq, start)
        return seq < end and seq + seg.plen + (1 if seg.flags & FIN else 0) > start

    def _judge(self, owed: Owed, seg: Segment) -> Owed | None:
        """The receiver sent ``seg``: its acceptance of a dropped segment, the reply, a wrong
        one, or a sign it went on without replying. The obligation, if still open."""
        if owed.kind is ReplyKind.ACK_FIN:
            return self._settle_fin_ack(owed, seg)
        flags = seg.flags
        dropped = owed.dropped
        if (dropped is not None and flags & ACK and not flags & RST
                and unwrap(seg.ack, dropped[1]) >= dropped[1]):
            return self._accepted(owed, seg)
        if owed.answered:
            return owed  # its reply came: only the watch over the dropped space is left
        if owed.old_copy and flags & ACK and unwrap(seg.ack, owed.ack[0]) < owed.ack[0]:
            return self._replayed(owed, seg)
        if owed.kind in _RESETS:
            if flags & RST:
                return self._settle_reset(owed, seg)
            if owed.kind is ReplyKind.RESET_CLOSED:
                # It still sends on the four-tuple: it has a connection there after all (the
                # reset came from a middlebox in its name).
                return self._record(owed, ReplyOutcome.UNJUDGED, seg,
                                    f"frame {seg.frame} on the same four-tuple")
        elif flags & (SYN | RST):
            # It aborts or reopens: what it owed the old exchange can no longer be judged.
            return self._record(owed, ReplyOutcome.UNJUDGED, seg, "it sent "
                                + ("an RST" if flags & RST else "a SYN") + " instead")
        elif flags & ACK and not seg.plen and not flags & FIN:
            if not (owed.old_copy and self._acks_later_data(owed, seg)):
                return self._settle_ack(owed, seg)
        elif owed.old_copy and flags & ACK and seg.ts - owed.segment.ts <= self._allowance():
            return self._piggybacked(owed, seg)
        if seg.ts - owed.segment.ts <= self._allowance():
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
        self.answers = (seg.frame, owed.segment.frame)
        self._record(owed, ReplyOutcome.ANSWERED, seg, f"frame {seg.frame}: "
                     f"<SEQ={receiver.rel(seq)}><ACK={sender.rel(ack)}><CTL=ACK>")
        return None if owed.dropped is None else owed._replace(answered=True)

    def _acks_later_data(self, owed: Owed, seg: Segment) -> bool:
        """Is the receiver's pure ACK, past the allowance, an ACK of what the sender sent
        after the provocation (above everything it had sent then) rather than the reply?"""
        return (seg.ts - owed.segment.ts > self._allowance()
                and unwrap(seg.ack, owed.ack[1]) > owed.ack[1])

    def _replayed(self, owed: Owed, seg: Segment) -> None:
        """The receiver of an old duplicate sends an ACK below the one it had already sent:
        a copy of its own older traffic, not a segment sent after the duplicate arrived (ACK
        fields do not go back). The exchange repeats (a trace joined to itself, a duplicating
        path), the old duplicate with it: its reply cannot be told from the copies."""
        sender = self._sides(owed)[1]
        self._record(owed, ReplyOutcome.UNJUDGED, seg,
                     f"frame {seg.frame} carries ACK {sender.rel(unwrap(seg.ack, owed.ack[0]))}, "
                     f"below the receiver's own earlier ACK {sender.rel(owed.ack[0])}: a copy of "
                     "its older traffic, so the exchange repeats")

    def _piggybacked(self, owed: Owed, seg: Segment) -> None:
        """Data of the receiver within the allowance, its ACK field at RCV.NXT or above
        (``_replayed`` took older ones): the RFC's reply to an old duplicate, carried on
        data."""
        sender = self._sides(owed)[1]
        ack = unwrap(seg.ack, owed.ack[0])
        self.answers = (seg.frame, owed.segment.frame)
        return self._record(owed, ReplyOutcome.ANSWERED, seg, f"frame {seg.frame}: "
                            f"<ACK={sender.rel(ack)}> on {seg.plen} bytes of data")

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

    def _allowance(self, delaying: Endpoint | None = None) -> int:
        """How long after the provocation the receiver's reply may reach the tap; for an
        ordinary ACK, plus its receiver's (``delaying``) profile's delayed-ACK maximum."""
        delay = 0 if delaying is None else int(delaying.profile.delayed_ack_max * 1e9)
        return 2 * self.reorder_ns + SLACK_NS + delay

    def _rate_limited(self, owed: Owed) -> bool:
        """Does the profile's rate limit excuse the missing reply? Linux sends at most one
        out-of-window ACK or challenge ACK per ``invalid_ratelimit`` per socket (data
        segments are exempt from it for an ACK_UNACCEPTABLE: tcp_oow_rate_limited), and
        a host-wide ``challenge_ack_limit`` per second the capture of one connection cannot
        count."""
        profile = self._sides(owed)[0].profile
        if owed.kind in _CHALLENGES and profile.challenge_ack_limit:
            return True
        provoking = owed.segment
        if owed.kind is ReplyKind.ACK_UNACCEPTABLE and (provoking.plen
                                                       or provoking.flags & FIN):
            # tcp_oow_rate_limited: "Data packets without SYNs are not likely part of an ACK
            # loop" (SEQ != END_SEQ: text or FIN).
            return False
        last = self.oow_ts[0] if owed.client else self.oow_ts[1]
        return bool(last) and owed.segment.ts - last < profile.invalid_ratelimit * 1e9

    def _silence(self, owed: Owed, seg: Segment) -> str:
        return (f"no reply in {(seg.ts - owed.segment.ts) / 1e9:.3f} s, while it sent frame "
                f"{seg.frame}")

    def _record(self, owed: Owed, outcome: ReplyOutcome, reply: Segment | None,
                observed: str, expected: str = "") -> None:
        side = "client" if owed.client else "server"
        receiver, sender = self._sides(owed)
        profile = receiver.profile
        if owed.kind is ReplyKind.ACK_FIN:
            owed = owed._replace(
                reason=f"FIN at seq {sender.rel(owed.ack[0] - 1)}",
                reference=f"RFC 9293 §3.10.7.4 (eighth), §3.8.6.3; the {profile.name} "
                          f"profile's delayed_ack_max {profile.delayed_ack_max:g} s")
        event = ev.ReplyOwed(
            owed.segment.frame, owed.segment.ts, side, owed.kind, outcome,
            None if reply is None else reply.frame, expected or self._expected(owed), observed,
            owed.reason, owed.reference, profile)
        if owed.unsent:
            self.tentative = (*self.tentative, event)
        else:
            self.events.append(event)

    def _expected(self, owed: Owed) -> str:
        """The reply in the RFC's notation, with the bounds the capture allows for it."""
        receiver, sender = self._sides(owed)
        if owed.kind is ReplyKind.RESET_CLOSED and owed.ack is not None:
            return f"<SEQ=0><ACK={sender.rel(owed.ack[0])}><CTL=RST,ACK>"
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
            if not owed.answered and not owed.unsent and owed.kind is not ReplyKind.ACK_FIN:
                self._record(owed, ReplyOutcome.UNJUDGED, None,
                             "nothing of it captured afterwards")
        self.owed = ()
        self.tentative = ()  # the over-ACK was never proven unsent
