"""Connection steps for the ACK field and the window it carries (RFC 9293 §3.10.7.4, fifth:
"check the ACK field"; §3.8.6 on the window)."""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import (
    beyond_right_edge,
    receive_next,
    segment_acceptable,
    syn_received_ack_acceptable,
)
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import MASK, unwrap
from tcpcheck.model.states import Input, State
from tcpcheck.options import parse_options
from tcpcheck.segment import FIN, Segment

# ACKed holes awaiting their bytes, per side: bounded like the holes themselves.
MAX_UNSEEN = 64


class AckSteps:
    """The ACK and window steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _dupack_answers(self, b: Endpoint, frame: int) -> int | None:
        """The frame of ``b``'s segment a duplicate ACK at ``frame`` answers, when it is a
        reply rather than a sign of a hole: one the receiver owed (``self.answers``), or a
        copy of ``b``'s SYN-ACK that is ``b``'s latest segment (the first lost after the
        capture point, an answer to a retransmitted SYN, a deferred accept): it lies below
        RCV.NXT, so it is unacceptable and owed "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" (RFC
        9293 §3.10.7.4, first); there is no data yet to have a hole in."""
        answered, provoked = self.answers
        if answered == frame:
            return provoked
        rtx = b.rtx
        if rtx.synacks > 1 and rtx.last_ts == rtx.last_syn_ts:
            return rtx.last_syn_frame
        return None

    def _ack(self, seg: Segment, a: Endpoint, b: Endpoint, prev_win: int, old: bool) -> None:
        """Apply the ACK field: ``a`` acknowledges ``b``'s sequence space. ``old``: PAWS
        rejects the segment, so its window (sent before a newer one) updates nothing."""
        if b.snd.max is None:
            # Nothing seen from b yet (mid-stream): its sequence space starts at this ACK.
            self._anchor(b, seg.ack, 0)
            a.rcv.ack = b.snd.max
            if b.state is State.SYN_RCVD:
                # The SYN-ACK was not captured, but this ACK shows it was sent and received:
                # capture loss, and the handshake completed.
                # The ISN is raw; its position is one below the anchor, in the same unwrapped
                # space (an ACK of 0 puts it at -1, not at 2^32 - 1).
                b.snd.isn = (seg.ack - 1) & MASK
                b.snd.base = b.snd.max - 1
                self._step(b, Input.RECV_ACK_OF_SYN, seg)
                if a.state is State.SYN_SENT:
                    self._step(a, Input.RECV_SYN_ACK, seg)
            return
        seq, raw_ack, flags, win, plen = seg[6:11]  # one slice, not five descriptor calls
        ack = unwrap(raw_ack, b.snd.max)
        rcv = a.rcv
        if (ack == rcv.ack and not plen and not flags & FIN and win
                and win == prev_win and a.snd.max is not None
                and seq == a.snd.max & MASK and not b.rtx.probe):
            # Wireshark's duplicate ACK: nothing new at all, and not the answer to a probe.
            rcv.dupacks += 1
            self.events.append(ev.DuplicateAck(seg.frame, seg.ts, a.role, b.rel(ack),
                                               rcv.dupacks, rcv.ack_frame,
                                               self._dupack_answers(b, seg.frame)))
        else:
            rcv.dupacks = 0
            rcv.ack_frame = seg.frame
        rcv.ack = ack
        if b.state is State.SYN_RCVD and a.state is not State.SYN_RCVD and b.snd.isn is not None:
            # The handshake's final ACK (RFC 9293 §3.5): it must acknowledge b's SYN and
            # nothing beyond what b sent.
            if not syn_received_ack_acceptable(ack, b.snd.base, b.snd.max):
                self.events.append(ev.HandshakeBadAck(
                    seg.frame, seg.ts, a.role, b.rtx.synack_frame, b.snd.isn,
                    (b.snd.isn + 1) & MASK, seg.ack))
                self._owe_reset(ReplyKind.RESET_SYN_RECEIVED, seg, a, b,
                                f"ACK {b.rel(ack)} in SYN-RECEIVED, where only 1 (its SYN) up "
                                f"to SND.NXT {b.rel(b.snd.max)} is acceptable",
                                "RFC 9293 §3.10.7.4 (fifth)")
                return
            if a.snd.isn is not None and b.rtx.synacks and not segment_acceptable(
                    unwrap(seg.seq, a.snd.max), seg.plen + (seg.flags & FIN), receive_next(a, b),
                    b.opts.syn_win):
                # RFC 9293 §3.10.7.4: an unacceptable segment is dropped (and ACKed) before
                # its ACK field is read: the handshake is not complete.
                return
            self._step(b, Input.RECV_ACK_OF_SYN, seg)
            if a.rtx.syn_ts and b.rtx.syn_ts:
                # The round trip from the newest SYN: a sample spanning a retransmitted SYN or
                # SYN-ACK would include its timeout (Karn's rule, RFC 6298 §3).
                self.reorder_ns = max(seg.ts - a.rtx.last_syn_ts, 1)
        wnd = a.wnd
        if wnd.edge is not None and not old:
            window = win << a.opts.wscale if self.negotiated[0] else win
            edge = ack + window
            if edge < wnd.last:
                self._shrink(seg, a, b, ack, window, edge)
            wnd.last = edge
            if edge > wnd.edge:
                wnd.edge, wnd.edge_frame, wnd.edge_win = edge, seg.frame, window
                if window > wnd.peak:  # a larger window moves the edge, but for an old ACK
                    wnd.peak = window
            wnd.last_ack = ack
            wnd.last_ts = seg.ts
        snd = b.snd
        if snd.gaps and ack > snd.gaps[0][0]:
            self._ack_of_holes(seg, b, ack)
        if ack > snd.max:
            if self._acks_forged(seg, b):
                self._ack_of_forged(seg, a, b, ack)
                return
            pending = snd.pending
            if pending is None or ack > pending[2]:
                snd.pending = (seg.frame, seg.ts, ack, pending[3] if pending else snd.max)
                self._owe_unsent(seg, a, b, ack)
            return
        if ack > snd.una:
            fin_acked = snd.fin is not None and not snd.fin_acked and ack > snd.fin
            if fin_acked and a.snd.max is not None and beyond_right_edge(
                    unwrap(seq, a.snd.max), b.wnd.edge, a.snd.max):
                # RFC 9293 §3.10.7.4: b drops it before its ACK field is read (an injected
                # segment): the FIN is not acknowledged by it, and b's state stays.
                return
            snd.una = ack
            if ack >= b.flow.timed_end:
                b.flow.acked(seg, bool(self.negotiated and self.negotiated[2]))
            if snd.sent:
                b.forget_acked(ack)
            if fin_acked:
                snd.fin_acked = True
                if a.rcv.fin_in_flight:
                    # The FIN that crossed a's own (``_fins_crossed``) reached a before this.
                    self._arrives(a, Input.RECV_FIN, seg)
                self._step(b, Input.RECV_ACK_OF_FIN, seg)
                self._check_done(seg.ts)

    def _ack_of_holes(self, seg: Segment, b: Endpoint, ack: int) -> None:
        """The ACK covers holes in ``b``'s sequence space below the highest sequence captured.
        RFC 9293 §3.4: "an acknowledgment of sequence number X indicates that all octets up
        to but not including X have been received", so the receiver had bytes the capture has
        not shown. Each covered hole leaves the holes and waits in ``unseen`` for its bytes
        (``_unseen_filled``, ``_unseen_at_end``)."""
        before_capture = b.snd.captured_from
        kept: list[tuple[int, int]] = []
        unseen = list(b.snd.unseen)
        for start, stop in b.snd.gaps:
            if start < ack:
                if before_capture is None or stop > before_capture:
                    unseen.append((seg.frame, seg.ts, ack, start, min(stop, ack), b.snd.max))
                if stop > ack:
                    kept.append((ack, stop))
            else:
                kept.append((start, stop))
        b.snd.gaps = tuple(kept)
        for hole in unseen[:-MAX_UNSEEN]:
            self._report_unseen(b, hole)  # waited longest: settled now to bound memory
        b.snd.unseen = tuple(unseen[-MAX_UNSEEN:])

    def _unseen_filled(self, b: Endpoint, seq: int, end: int, prompt: bool) -> bool:
        """``b``'s bytes [seq, end) show up after an ACK covered them. ``prompt`` (within a
        round trip of ``b``'s highest segment, as out-of-order is judged): the capture point
        saw the segment after its ACK, it was reordered and nothing was lost; True if it
        fills such a hole. Otherwise the capture had lost the first copy: the ACK was of a
        segment the capture never saw, and this is a re-send."""
        filled = False
        left = []
        for hole in b.snd.unseen:
            if seq >= hole[4] or end <= hole[3]:
                left.append(hole)
                continue
            filled = True
            if not prompt:
                self._report_unseen(b, hole)
        b.snd.unseen = tuple(left)
        return filled and prompt

    def _unseen_at_end(self, b: Endpoint) -> None:
        """The capture is over: the holes ACKs covered were never filled (capture loss)."""
        for hole in b.snd.unseen:
            self._report_unseen(b, hole)
        b.snd.unseen = ()

    def _report_unseen(self, b: Endpoint, hole: tuple[int, int, int, int, int, int]) -> None:
        frame, ts, ack, start, stop, peer_max = hole
        a = self.server if b is self.client else self.client
        self.events.append(ev.AckOfUnseenSegment(frame, ts, a.role, b.rel(ack), b.rel(peer_max),
                                                 None, (b.rel(start), b.rel(stop))))

    def _shrink(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int, window: int,
                edge: int) -> None:
        """``a`` moved its right edge left (RFC 9293 §3.8.6: "strongly discouraged"): the peer
        may already have sent up to the old edge. An update with the same ACK arriving within
        a round trip of the previous one may simply have been reordered."""
        if ack < a.wnd.last_ack or (ack == a.wnd.last_ack and (
                seg.ts - a.wnd.last_ts < self.reorder_ns or self._same_tick(seg, a))):
            return
        if self.negotiated[0] and a.opts.wscale and a.wnd.last - edge < 1 << a.opts.wscale:
            return  # RFC 7323 §2.4: scaling rounds the window down, retracting it < 2^S
        self.events.append(ev.WindowShrink(seg.frame, seg.ts, a.role, b.rel(a.wnd.last),
                                           b.rel(edge), a.wnd.edge_frame, b.rel(ack), window))

    @staticmethod
    def _same_tick(seg: Segment, a: Endpoint) -> bool:
        """Was the segment stamped in the same tick as one its side sent before it? Then a
        same-ACK update may have been sent before the one captured ahead of it: Linux
        interleaves ACK streams on the host (the later one's SACK blocks are the staler)."""
        return (a.opts.ts_max is not None and a.opts.ts_max_frame != seg.frame
                and bool(seg.options) and parse_options(seg.options).tsval == a.opts.ts_max)

    @staticmethod
    def _advertise(a: Endpoint, edge: int, frame: int, window: int) -> None:
        a.wnd.last = edge
        # The ACK this window went with: an older ACK seen later is a reordered segment, not
        # a shrink (``_shrink``), whatever raw number the sequence space starts at.
        a.wnd.last_ack = edge - window
        if a.wnd.edge is None or edge >= a.wnd.edge:
            a.wnd.edge, a.wnd.edge_frame, a.wnd.edge_win = edge, frame, window

    def _resolve_pending(self, a: Endpoint, start: int, seg: Segment, kind: str) -> int:
        """``a`` sends new sequence space from ``start``: settle an earlier over-ACK of it.
        Returns where the bytes reported unseen end (``a``'s highest sequence when none were):
        a hole below it is already accounted for."""
        frame, ts, ack, peer_max = a.snd.pending
        a.snd.pending = None
        peer = self.server if a is self.client else self.client
        if self.tentative or self.owed:
            self._unsent_settled(start < ack)
        if start < ack:
            self.events.append(ev.AckOfUnsentData(
                frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame, a.rel(start), kind))
            return a.snd.max
        self.events.append(ev.AckOfUnseenSegment(
            frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame))
        return max(ack, a.snd.max)
