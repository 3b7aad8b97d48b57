"""Connection steps for a reset or FIN a middlebox forged in an endpoint's name (issue 17).

The model follows what the real endpoints do: the claimed sender never sent the forged
segment, so its state is not changed and nothing it sends later is "after its own RST" or
"after its FIN"; the receiver did receive it, and takes it or not by RFC 9293 §3.10.7 as it
would any other. Once reset, answering the claimed sender's later segments with resets is the
receiver's correct behaviour. Having taken a forged FIN, it acknowledges the sequence space
the FIN (and the text a forger puts before it, an injected block page) took up, which the
claimed sender never sent: that sender drops those ACKs as acknowledging "something not yet
sent" (§3.10.7.4, fifth), and neither side is at fault for the desynchronised stream.

A reset whose TTL is foreign to its claimed sender but whose IP ID tells nothing waits for the
next segment of the connection (``Suspect``): if that is the claimed sender's, with one of its
own TTLs, and not a segment it sent before the reset, the sender carried on as if it had sent
no reset — the RST race Weaver, Sommer and Paxson (NDSS 2009) detect injectors by — and the
reset was forged. Anything else (the receiver's segment, another reset, the end of the
capture) leaves it the sender's own, replayed as captured.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import fin_acceptable, receive_next
from tcpcheck.model.attribution import (
    Forgery,
    foreign_signature,
    foreign_ttl,
    forged,
    ip_id_of,
    ttl_of,
)
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import SYNCHRONIZED, Input
from tcpcheck.segment import RST, SYN, Segment


class Suspect(NamedTuple):
    """A reset held until the next segment shows whether its claimed sender carried on."""

    seg: Segment
    from_client: bool


class InjectionSteps:
    """The forged-reset steps of ``Connection``: a mixin, whose state is ``Connection``'s."""

    __slots__ = ()

    def _injected(self, seg: Segment, a: Endpoint, b: Endpoint, from_client: bool) -> bool:
        """Whether the reset or FIN ``seg``, in ``a``'s name, is taken out of the normal
        replay: forged (``b`` handles it now) or, a reset, suspect (held for ``a``'s next
        segment). A FIN is judged by its IP header alone: its receiver answers it at once, so
        the segment after it is seldom its claimed sender's."""
        if a.snd.max is None or seg.frame == self.trusted:
            return False
        forgery = forged(seg.header, a.ip, b.ip)
        if forgery is not None:
            if seg.flags & RST:
                self._forged(seg, a, b, forgery)
            else:
                self._forged_fin(seg, a, b, forgery)
            return True
        if self.suspect is None and seg.flags & RST and (
                foreign_ttl(seg.header, a.ip) or foreign_signature(seg.options, a.ip)):
            self.suspect = Suspect(seg, from_client)
            return True
        return False

    def settle_suspect(self) -> None:
        """A SYN on the four-tuple is about to be routed: a reset held as suspect is its
        sender's own (a new attempt after a reset is not carrying on), so that the tracker
        sees the connection as the reset left it."""
        if self.suspect is not None:
            self._decide_suspect(None, False)

    def _decide_suspect(self, seg: Segment | None, from_client: bool) -> None:
        """The segment after a suspect reset is ``seg`` (None: the capture ended): forged if
        its claimed sender carried on, else replayed as that sender's own reset."""
        held, held_from_client = self.suspect
        self.suspect = None
        a, b = (self.client, self.server) if held_from_client else (self.server, self.client)
        if seg is not None and from_client == held_from_client and self._carries_on(seg, held, a):
            self._forged(held, a, b, Forgery(ttl_of(held.header), a.ip.usual(),
                                              ip_id_of(held.header), 0, seg.frame,
                                              foreign_signature(held.options, a.ip)))
        else:
            self.trusted = held.frame
            self.packets -= 1  # counted when it was captured
            self.apply(held, held_from_client)
        # The timeline recorded the reset before it was decided: its states are these.
        self.revised += ((True, held.frame, self.client.state),
                         (False, held.frame, self.server.state))

    def _carries_on(self, seg: Segment, held: Segment, a: Endpoint) -> bool:
        """``a``'s segment ``seg`` after the reset ``held`` in its name is its own (one of its
        TTLs), neither a reset nor a SYN, and was not sent before the reset and overtaken by
        it on the way to the capture point (the allowance ``ResetSteps._after_rst`` makes)."""
        if seg.flags & (RST | SYN) or not seg.header or foreign_ttl(seg.header, a.ip):
            return False
        rst_seq = unwrap(held.seq, a.snd.max)
        seq = unwrap(seg.seq, a.snd.max)
        return (seg.ts - held.ts >= self.reorder_ns
                or (seq + seg.plen > rst_seq if seg.plen else seq > rst_seq))

    def _forged(self, seg: Segment, a: Endpoint, b: Endpoint, forgery: Forgery) -> None:
        """``b`` receives the reset a middlebox forged in ``a``'s name (RFC 9293 §3.10.7)."""
        seq = unwrap(seg.seq, a.snd.max)
        before = b.state
        # A receiver with no key for a signed segment drops it (RFC 2385 §2.0; RFC 5925 §7.3).
        verdict = "unsigned" if forgery.signed else self._rst_verdict(seg, seq, a, b)
        self.events.append(ev.InjectedSegment(seg.frame, seg.ts, a.role, before.value, verdict,
                                              *forgery))
        if verdict == "exact":
            self._step(b, Input.RECV_RST, seg)
            if not self.close:
                self.close = "reset"
            self._check_done(seg.ts)
        elif verdict == "inexact":
            self._challenge_rst(seg, seq, a, b)

    def _forged_fin(self, seg: Segment, a: Endpoint, b: Endpoint, forgery: Forgery) -> None:
        """``b`` receives the FIN (and any text before it) a middlebox forged in ``a``'s name.
        In sequence, ``b`` takes it (RFC 9293 §3.10.7.4, seventh and eighth: "advance RCV.NXT
        over the FIN", ESTABLISHED to CLOSE-WAIT) and owes its ACK; outside the window it drops
        it and owes an ACK (first); beyond RCV.NXT it queues it, which changes nothing until
        the bytes before it arrive. The forger's ACK field is left unread: it acknowledges
        ``b``'s SND.NXT, nothing new."""
        seq = unwrap(seg.seq, a.snd.max)
        end = seq + seg.plen
        rcv_nxt = receive_next(a, b)
        before = b.state
        if before not in SYNCHRONIZED:
            verdict = "ignored"
        elif not fin_acceptable(seq, end, seg.plen, rcv_nxt, b.wnd.edge, a.snd.max):
            verdict = "outside"
        elif rcv_nxt is not None and seq > rcv_nxt:
            verdict = "queued"
        else:
            verdict = "closes"
        self.events.append(ev.InjectedSegment(seg.frame, seg.ts, a.role, before.value, verdict,
                                              *forgery, control="FIN",
                                              text=seg.plen))
        if verdict == "closes":
            a.snd.forged_end, a.snd.forged_frame = end + 1, seg.frame
            b.rcv.fin_frame = seg.frame
            self._owe_fin_ack(seg, a, b, end)
            self._step(b, Input.RECV_FIN, seg)
        elif verdict == "outside":
            self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                          f"FIN at seq {a.rel(end)} fails the acceptability test",
                          "RFC 9293 §3.10.7.4 (first)", (seq, end + 1))

    def _ack_of_forged(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int) -> None:
        """``a``'s ACK covers the FIN forged in ``b``'s name, which ``a`` took and ``b`` never
        sent: ``b`` finds it acknowledging "something not yet sent (SEG.ACK > SND.NXT)" and
        must "send an ACK, drop the segment, and return" (RFC 9293 §3.10.7.4, fifth; RFC 5961
        §5.2). ``a`` is not at fault, and ``b`` never receives what the segment carries."""
        self.dropped = seg.frame
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"ACK {b.rel(ack)} above SND.NXT {b.rel(b.snd.max)}: it acknowledges "
                      f"the FIN forged in its name (frame {b.snd.forged_frame})",
                      "RFC 9293 §3.10.7.4 (fifth); RFC 5961 §5.2")
