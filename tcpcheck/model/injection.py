"""Connection steps for a reset a middlebox forged in an endpoint's name (issue 17).

The model follows what the real endpoints do: the claimed sender never sent the forged reset,
so its state is not changed and nothing it sends later is "after its own RST"; the receiver
did receive an RST, and takes it or not by RFC 9293 §3.10.7 as it would any other (once it is
reset, answering the claimed sender's later segments with resets is its correct behaviour).
"""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.attribution import forged
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import Input
from tcpcheck.segment import Segment


class InjectionSteps:
    """The forged-reset step of ``Connection``: a mixin, whose state is ``Connection``'s."""

    __slots__ = ()

    def _injected(self, seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """Whether the reset ``seg``, in ``a``'s name, was forged; if so, ``b`` handles it."""
        if a.snd.max is None:
            return False
        forgery = forged(seg.header, a.ip, b.ip)
        if forgery is None:
            return False
        seq = unwrap(seg.seq, a.snd.max)
        before = b.state
        verdict = self._rst_verdict(seg, seq, a, b)
        self.events.append(ev.InjectedSegment(seg.frame, seg.ts, a.role, before.value, verdict,
                                              *forgery))
        if verdict == "exact":
            self._step(b, Input.RECV_RST, seg)
            if not self.close:
                self.close = "reset"
            self._check_done(seg.ts)
        elif verdict == "inexact":
            self._challenge_rst(seg, seq, a, b)
        return True
