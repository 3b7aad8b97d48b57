"""Connection steps for TCP options after the handshake: what was negotiated (RFC 7323, RFC
2018) and PAWS (RFC 7323 §5)."""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import paws_rejects
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import unwrap
from tcpcheck.options import parse_options
from tcpcheck.segment import ACK, FIN, Segment

TS_LAYOUT = b"\x01\x01\x08\x0a"
"""NOP, NOP, timestamps: Linux's options after the handshake."""


class OptionSteps:
    """The option steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _options(self, seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """RFC 7323 §3.2, RFC 2018, RFC 9293 §3.7.1: options after the handshake. True when
        PAWS finds the segment older than one already seen."""
        _, sack, ts = self.negotiated
        raw = seg.options
        if not raw:
            tsval = None
        elif len(raw) == 12 and raw[:4] == TS_LAYOUT:
            tsval = int.from_bytes(raw[4:8], "big")
        else:
            opts = parse_options(raw)
            if not opts.complete:
                return False  # cut by the snaplen: what is missing is unknown
            tsval = opts.tsval
            if opts.mss is not None:
                self._option_problem(seg, a, "MSS", "on-non-syn")
            if opts.wscale is not None:
                self._option_problem(seg, a, "window scale", "on-non-syn")
            if opts.sack_permitted:
                self._option_problem(seg, a, "SACK-permitted", "on-non-syn")
            if opts.sack_blocks and not sack:
                self._option_problem(seg, a, "SACK", "not-negotiated")
        if tsval is None:
            if ts:
                self._option_problem(seg, a, "timestamps", "missing")
            return False
        if not ts:
            self._option_problem(seg, a, "timestamps", "not-negotiated")
            return False
        return self._timestamp(seg, a, b, tsval)

    def _timestamp(self, seg: Segment, a: Endpoint, b: Endpoint, tsval: int) -> bool:
        """PAWS (RFC 7323 §5): a side's TSvals never go backwards, modulo 2^32. True when
        the segment is older than one already seen (``arrival.paws_rejects``)."""
        last = a.opts.ts_max
        if not paws_rejects(tsval, last):
            a.opts.ts_max, a.opts.ts_max_frame = tsval, seg.frame
            return False
        # Older, so sent before (its window updates nothing), but a receiver drops it only
        # beyond the profile's PAWS window: Linux stamps a TSO burst once, and a
        # retransmission stamped a tick later can go out between its segments.
        if (not a.opts.paws_reported and paws_rejects(tsval, last, b.profile.paws_window)
                and self._advances(seg, a, b)):
            # A segment sent earlier and reordered carries an older TSval too, but it cannot
            # carry new sequence space or a higher ACK than the segments that overtook it.
            a.opts.paws_reported = True
            self.events.append(ev.PawsRegression(seg.frame, seg.ts, a.role, tsval, last,
                                                 a.opts.ts_max_frame))
            self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                          f"TSval {tsval} older than TS.Recent {last} (PAWS)",
                          "RFC 7323 §5.3 (R1)", self._space(seg, a))
        return True

    def _option_problem(self, seg: Segment, a: Endpoint, option: str, problem: str) -> None:
        if a.opts.reported is None:
            a.opts.reported = set()
        elif (option, problem) in a.opts.reported:
            return
        a.opts.reported.add((option, problem))
        self.events.append(ev.OptionNotNegotiated(seg.frame, seg.ts, a.role, option, problem))

    @staticmethod
    def _space(seg: Segment, a: Endpoint) -> tuple[int, int] | None:
        """The sequence space [start, end) a segment occupies (its text and FIN), if any."""
        length = seg.plen + (1 if seg.flags & FIN else 0)
        if not length or a.snd.max is None:
            return None
        seq = unwrap(seg.seq, a.snd.max)
        return seq, seq + length

    @staticmethod
    def _advances(seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """Does the segment carry sequence space or an ACK beyond what its side sent before?
        (Beyond its highest ACK, not its latest: ACKs reordered on the host come in any
        order.)"""
        if (a.snd.max is not None and (seg.plen or seg.flags & FIN)
                and unwrap(seg.seq, a.snd.max) + seg.plen > a.snd.max):
            return True
        if b.snd.una is not None and seg.flags & ACK:
            return unwrap(seg.ack, b.snd.una) > b.snd.una
        return False
