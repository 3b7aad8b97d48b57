"""Connection steps for a reset a middlebox forged in an endpoint's name (issue 17).

The model follows what the real endpoints do: the claimed sender never sent the forged reset,
so its state is not changed and nothing it sends later is "after its own RST"; the receiver
did receive an RST, and takes it or not by RFC 9293 §3.10.7 as it would any other (once it is
reset, answering the claimed sender's later segments with resets is its correct behaviour).

A reset whose TTL (or source MAC) is foreign to its claimed sender but whose IP ID tells nothing
waits for the next segment of the connection (``Suspect``): if that is the claimed sender's,
with one of its own TTLs and MACs, and not a segment it sent before the reset, the sender
carried on as if it had sent no reset — the RST race Weaver, Sommer and Paxson (NDSS 2009)
detect injectors by — and the reset was forged. Anything else (the receiver's segment,
another reset, the end of the capture) leaves it the sender's own, replayed as captured.
"""

from __future__ import annotations

from typing import NamedTuple

from tcpcheck.model import events as ev
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
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import Input
from tcpcheck.segment import RST, SYN, Segment


class Suspect(NamedTuple):
    """A reset held until the next segment shows whether its claimed sender carried on."""

    seg: Segment
    from_client: bool


class InjectionSteps:
    """The forged-reset steps of ``Connection``: a mixin, whose state is ``Connection``'s."""

    __slots__ = ()

    def _injected(self, seg: Segment, a: Endpoint, b: Endpoint, from_client: bool) -> bool:
        """Whether the reset ``seg``, in ``a``'s name, is taken out of the normal replay:
        forged (``b`` handles it now) or suspect (held for ``a``'s next segment)."""
        if a.snd.max is None or seg.frame == self.trusted:
            return False
        forgery = forged(seg.header, a.ip, b.ip, seg.mac)
        if forgery is not None:
            self._forged(seg, a, b, forgery)
            return True
        if self.suspect is None and (foreign_ttl(seg.header, a.ip)
                                     or foreign_signature(seg.options, a.ip)
                                     or foreign_mac(seg.mac, a.ip)):
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
            mac, sender_macs = mac_evidence(held.mac, a.ip)
            self._forged(held, a, b, Forgery(ttl_of(held.header), a.ip.usual(),
                                              ip_id_of(held.header), 0, seg.frame,
                                              foreign_signature(held.options, a.ip),
                                              mac=mac, sender_macs=sender_macs))
        else:
            self.trusted = held.frame
            self.packets -= 1  # counted when it was captured
            self.apply(held, held_from_client)
        # The timeline recorded the reset before it was decided: its states are these.
        self.revised += ((True, held.frame, self.client.state),
                         (False, held.frame, self.server.state))

    def _carries_on(self, seg: Segment, held: Segment, a: Endpoint) -> bool:
        """``a``'s segment ``seg`` after the reset ``held`` in its name is its own (one of its
        TTLs, one of its MACs), neither a reset nor a SYN, and was not sent before the reset
        and overtaken by it on the way to the capture point (the allowance
        ``ResetSteps._after_rst`` makes)."""
        if (seg.flags & (RST | SYN) or not seg.header or foreign_ttl(seg.header, a.ip)
                or foreign_mac(seg.mac, a.ip)):
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
