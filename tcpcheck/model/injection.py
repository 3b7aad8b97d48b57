"""Connection steps for a reset or FIN a middlebox forged in an endpoint's name (issue 17).

The model follows what the real endpoints do: the claimed sender never sent the forged
segment, so its state is not changed and nothing it sends later is "after its own RST" or
"after its FIN"; the receiver did receive it, and takes it or not by RFC 9293 §3.10.7 as it
would any other. Once reset, answering the claimed sender's later segments with resets is the
receiver's correct behaviour. Having taken a forged FIN, it acknowledges the sequence space
the FIN (and the text a forger puts before it, an injected block page) took up, which the
claimed sender never sent: that sender drops those ACKs as acknowledging "something not yet
sent" (§3.10.7.4, fifth), and neither side is at fault for the desynchronised stream.

A reset or FIN whose TTL (or source MAC) is foreign to its claimed sender but whose IP ID tells
nothing waits for the next segment of the connection (``Suspect``): if that is the claimed
sender's, with one of its own TTLs and MACs, and not a segment it sent before the reset, the
sender carried on as if it had sent no reset — the RST race Weaver, Sommer and Paxson (NDSS
2009) detect injectors by — and the reset was forged. Anything else (the receiver's segment,
another reset, the end of the capture) leaves it the sender's own, replayed as captured. A
FIN's receiver answers it at once, so its segments wait behind the FIN for the claimed sender's
next one, which must show that sender never counted a FIN (text past it, or a later sequence
number not past it).
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import fin_acceptable, receive_next
from tcpcheck.model.attribution import (
    Forgery,
    foreign_mac,
    foreign_signature,
    foreign_ttl,
    forged,
    ip_id_of,
    mac_evidence,
    ttl_of,
)
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import SYNCHRONIZED, Input
from tcpcheck.segment import ACK, FIN, RST, SYN, Segment

# The receiver's segments held back behind a suspect FIN before it is taken as its sender's
# own: a few round trips of the receiver answering, bounded per connection.
MAX_BEHIND = 16


class Suspect(NamedTuple):
    """A reset or FIN held until its claimed sender's next segment shows whether it carried
    on; a FIN's receiver answers it at once, so its segments meanwhile wait behind it."""

    seg: Segment
    from_client: bool
    later: list[tuple[Segment, bool]]


class InjectionSteps:
    """The forged-segment steps of ``Connection``: a mixin, whose state is ``Connection``'s."""

    __slots__ = ()

    def _injected(self, seg: Segment, a: Endpoint, b: Endpoint, from_client: bool) -> bool:
        """Whether the reset or FIN ``seg``, in ``a``'s name, is taken out of the normal
        replay: forged (``b`` handles it now) or suspect (held for ``a``'s next segment)."""
        if a.snd.max is None or seg.frame == self.trusted:
            return False
        forgery = forged(seg.header, a.ip, b.ip, seg.mac)
        if forgery is not None:
            self._take_forged(seg, a, b, forgery)
            return True
        if self.suspect is None and (foreign_ttl(seg.header, a.ip) or foreign_mac(seg.mac, a.ip)
                                     or (seg.flags & RST
                                         and foreign_signature(seg.options, a.ip))):
            self.suspect = Suspect(seg, from_client, [])
            return True
        return False

    def _take_forged(self, seg: Segment, a: Endpoint, b: Endpoint, forgery: Forgery) -> None:
        if seg.flags & RST:
            self._forged(seg, a, b, forgery)
        else:
            self._forged_fin(seg, a, b, forgery)

    def settle_suspect(self) -> None:
        """A SYN on the four-tuple is about to be routed: a segment held as suspect is its
        sender's own (a new attempt after a reset is not carrying on), so that the tracker
        sees the connection as it left it."""
        if self.suspect is not None:
            self._decide_suspect(None, False)

    def _behind_suspect(self, seg: Segment, from_client: bool) -> bool:
        """``seg`` arrives while a segment is suspect: True if it is held back behind it (the
        receiver answering a suspect FIN), else the suspect is decided and ``seg`` goes on."""
        held = self.suspect
        if (held.seg.flags & FIN and from_client != held.from_client
                and not seg.flags & (RST | SYN) and len(held.later) < MAX_BEHIND):
            held.later.append((seg, from_client))
            return True
        self._decide_suspect(seg, from_client)
        return False

    def _decide_suspect(self, seg: Segment | None, from_client: bool) -> None:
        """The segment after a suspect reset or FIN (and its receiver's answers) is ``seg``
        (None: the capture ended): forged if its claimed sender carried on, else replayed as
        that sender's own. Then what was held behind it is replayed, in capture order."""
        held, held_from_client, later = self.suspect
        self.suspect = None
        a, b = (self.client, self.server) if held_from_client else (self.server, self.client)
        if seg is not None and from_client == held_from_client and self._carries_on(seg, held, a):
            mac, sender_macs = mac_evidence(held.mac, a.ip)
            self._take_forged(held, a, b, Forgery(
                ttl_of(held.header), a.ip.usual(), ip_id_of(held.header), 0, seg.frame,
                foreign_signature(held.options, a.ip) if held.flags & RST else 0,
                mac=mac, sender_macs=sender_macs))
        else:
            self.trusted = held.frame
            self.packets -= 1  # counted when it was captured
            self.apply(held, held_from_client)
        # The timeline recorded these before they were decided: their states are these.
        self.revised += ((True, held.frame, self.client.state),
                         (False, held.frame, self.server.state))
        for behind, behind_from_client in later:
            self.apply(behind, behind_from_client)
            self.revised += ((True, behind.frame, self.client.state),
                             (False, behind.frame, self.server.state))

    def _carries_on(self, seg: Segment, held: Segment, a: Endpoint) -> bool:
        """``a``'s segment ``seg`` after the reset or FIN ``held`` in its name is its own (one
        of its TTLs, one of its MACs), neither a reset nor a SYN, and was not sent before
        ``held`` and overtaken by it on the way to the capture point (the allowance
        ``ResetSteps._after_rst`` makes). After a FIN, it must also show that ``a`` never
        counted one: text past the FIN's place, or (later than a reordering) a sequence number
        not past it, where a sender of that FIN would be at the FIN + 1."""
        if (seg.flags & (RST | SYN) or not seg.header or foreign_ttl(seg.header, a.ip)
                or foreign_mac(seg.mac, a.ip)):
            return False
        start = unwrap(held.seq, a.snd.max)
        seq = unwrap(seg.seq, a.snd.max)
        late = seg.ts - held.ts >= self.reorder_ns
        if held.flags & FIN:
            fin = start + held.plen
            if seg.flags & FIN:
                return False
            return seq + seg.plen > fin if seg.plen else late and seq <= fin
        return late or (seq + seg.plen > start if seg.plen else seq > start)

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

    @staticmethod
    def _acks_forged(seg: Segment, b: Endpoint) -> bool:
        """Does ``seg``'s ACK cover the FIN forged in ``b``'s name, above all ``b`` sent? Then
        ``b`` drops the whole segment (``_ack_of_forged``)."""
        if b.snd.forged_end is None or not seg.flags & ACK:
            return False
        return b.snd.max < unwrap(seg.ack, b.snd.max) <= b.snd.forged_end

    def _ack_of_forged(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int) -> None:
        """``a``'s ACK covers the FIN forged in ``b``'s name, which ``a`` took and ``b`` never
        sent: ``b`` finds it acknowledging "something not yet sent (SEG.ACK > SND.NXT)" and
        must "send an ACK, drop the segment, and return" (RFC 9293 §3.10.7.4, fifth; RFC 5961
        §5.2). ``a`` is not at fault, and ``b`` never receives what the segment carries."""
        self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                      f"ACK {b.rel(ack)} above SND.NXT {b.rel(b.snd.max)}: it acknowledges "
                      f"the FIN forged in its name (frame {b.snd.forged_frame})",
                      "RFC 9293 §3.10.7.4 (fifth); RFC 5961 §5.2")
