"""Connection steps for segment text and FIN (RFC 9293 §3.10.7.4, seventh and eighth):
new data, retransmissions and reordering, probes, and the FIN's state changes."""

from __future__ import annotations

from tcpcheck import timers
from tcpcheck.model import events as ev
from tcpcheck.model.arrival import fin_acceptable, receive_next
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import SYNCHRONIZED, Input, State
from tcpcheck.model.stats import IDLE, KIND_FIN
from tcpcheck.segment import ACK, FIN, Segment

# Holes remembered per side: enough for bursty loss, bounded so memory stays per-connection.
MAX_GAPS = 64


class DataSteps:
    """The data and FIN steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _data(self, seg: Segment, a: Endpoint, b: Endpoint, idle: int) -> None:
        if a.snd.max is None:
            self._anchor(a, seg.seq, seg.frame)
        elif a.state is State.SYN_RCVD and b.state is not State.SYN_RCVD:
            # A listener sends data only once ESTABLISHED: the ACK of its SYN-ACK reached it
            # even though the capture missed it (a one-sided capture, or capture loss).
            self._step(a, Input.RECV_ACK_OF_SYN, seg)
            self._sent_before_established(seg, a, b)
        snd = a.snd
        raw_seq, _, flags, _, plen = seg[6:11]  # one slice, not a descriptor call per field
        snd_max = snd.max
        seq = unwrap(raw_seq, snd_max)
        end = seq + plen
        fin = flags & FIN
        top = end + 1 if fin else end
        if fin and snd.fin is None:
            rcv_nxt = receive_next(a, b)
            if not fin_acceptable(seq, end, plen, rcv_nxt, b.wnd.edge, snd_max):
                # The receiver drops it (an injected FIN, or one from another connection): it
                # changes nothing, and its sender's stream goes on without it.
                self.events.append(ev.SeqOutOfWindow(
                    seg.frame, seg.ts, a.role, a.rel(seq), plen + 1,
                    a.rel(seq if rcv_nxt is None else rcv_nxt),
                    0 if b.wnd.edge is None else a.rel(b.wnd.edge)))
                self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                              f"FIN at seq {a.rel(end)} fails the acceptability test",
                              "RFC 9293 §3.10.7.4 (first)", (seq, end + 1))
                return
            if not plen and not b.wnd.win and end == b.wnd.last:
                self._owe_zero_window_fin(seg, a, b, end)
        if snd.isn is not None and plen and end <= snd.base + 1:
            # Wholly before the first byte after the ISN: never part of this connection.
            self.events.append(ev.SeqOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                                 1, a.rel(b.wnd.edge) if b.wnd.edge else 0))
            return
        reported = snd_max  # a new hole starts above what an over-ACK reported unseen
        if snd.pending is not None and top > snd_max:
            reported = self._resolve_pending(a, max(seq, snd_max), seg, "FIN" if fin and not plen
                                             else "data")
        if snd.fin is not None and plen and end > snd.fin:
            self.events.append(ev.DataAfterFin(seg.frame, seg.ts, a.role, snd.fin_frame,
                                               a.rel(snd.fin), a.rel(seq), plen))
            return
        if seq < snd_max and plen:
            if seq == snd_max - 1 and plen <= 1 and not fin:
                self._probe(seg, a, b, seq, plen, idle)
            else:
                self._old_data(seg, a, b, seq, end)
        if end > snd_max:
            if (plen and b.wnd.edge is not None and end > b.wnd.edge
                    and not self._beyond_window(seg, a, b, seq, end)):
                return
            if seq > snd_max:
                if snd_max == snd.base and snd.isn is None and not snd.isn_frame:
                    # Picked up mid-stream, its space anchored at the peer's ACK: the bytes
                    # below its first captured segment were sent before the capture began.
                    snd.captured_from = seq
                if seq > reported:
                    self._add_gap(a, reported, seq)
            if a.opts.ts_max_frame == seg.frame and plen and seq == snd_max and not snd.gaps:
                # Only a segment that raised its side's TSval can be a sample (cheap test first).
                self._sample_ack(seg, a, b, end, ReplyKind.ACK_DATA)
            if plen and len(seg.payload) == plen:
                a.remember(seq, seg.payload, seg.frame, seg.ts)
            snd.bytes += end - max(seq, snd_max)
            snd.max = end
            snd.max_ts = seg.ts
            if a.flow.timed_end == IDLE:
                a.flow.time(end, seg)
        if plen and a.state is State.CLOSE_WAIT:
            clocks = a.ending()
            clocks.cw_since, clocks.cw_frame = seg.ts, seg.frame
        if fin:
            self._fin(seg, a, b, end)

    def _beyond_window(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int,
                       end: int) -> bool:
        """New data past the receiver's highest advertised right edge (RFC 9293 §3.8.6).

        The highest edge, not the latest: data sent into a window the receiver later shrank is
        the receiver's fault (reported as window-shrink), not the sender's. False when the
        segment lies wholly beyond the window and the receiver drops it.
        """
        edge = b.wnd.edge
        if seg.plen == 1 and seq == edge and b.wnd.win == 0:
            # RFC 9293 §3.8.6.1: probing a zero window with one new octet.
            self.events.append(ev.ZeroWindowProbe(seg.frame, seg.ts, a.role, a.rel(seq), 1))
            a.rtx.probe = True
            return True
        if seq >= edge:
            self.events.append(ev.SeqOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq),
                                                 seg.plen, a.rel(a.snd.una or seq),
                                                 a.rel(edge)))
            self._owe_ack(ReplyKind.ACK_UNACCEPTABLE, seg, a, b,
                          f"{seg.plen} bytes at seq {a.rel(seq)}, wholly beyond the right edge "
                          f"{a.rel(edge)} of its window", "RFC 9293 §3.10.7.4 (first)",
                          (seq, end))
            return False
        self.events.append(ev.DataBeyondWindow(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                               a.rel(edge), b.wnd.edge_win, b.wnd.edge_frame))
        return True

    def _old_data(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, end: int) -> None:
        """Data below the highest sequence sent: reordering or one kind of retransmission."""
        fast = seq == b.rcv.ack and b.rcv.dupacks >= 2
        prompt = seg.ts - a.snd.max_ts < self.reorder_ns
        # A hole the peer's ACK already covered: filled promptly, the capture saw it late.
        late = bool(a.snd.unseen) and self._unseen_filled(a, seq, end, prompt)
        filled = self._fill_gap(a, seq, end)
        self._drop_sample(a)
        if filled and seq == b.rcv.ack:
            # It fills the hole the receiver's ACK points at: RFC 5681 §4.2, ACK at once.
            self._sample_ack(seg, a, b, end, ReplyKind.ACK_HOLE)
        if (filled or late) and prompt and not fast:
            # Filling a hole promptly is reordering: the sender cannot know of a loss yet.
            self.events.append(ev.OutOfOrder(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                             seg.ts - a.snd.max_ts))
            a.flow.resent(seq, 0, seg.frame)
            return
        a.flow.resent(seq, min(end, a.snd.max) - seq, seg.frame)
        if fast:
            # The receiver asked for exactly this byte with duplicate ACKs (RFC 5681 §3.2).
            self.events.append(ev.FastRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                     seg.plen, b.rcv.dupacks))
        elif b.rcv.ack is not None and end <= b.rcv.ack:
            self.events.append(ev.SpuriousRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                         seg.plen, a.rel(b.rcv.ack)))
            self._owe_old_copy(seg, a, b, seq)
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "data", a.rel(seq),
                                                 seg.plen))
            self.events.extend(timers.data_retransmitted(self.timing, a,
                                                         b.rtx.last_ts, seq, seg.frame, seg.ts))
        if (a.snd.sent or a.snd.acked) and len(seg.payload) == seg.plen:
            differs = a.first_copy_differs(seq, seg.payload)
            if differs is not None:
                frame, offset, stop = differs
                self.events.append(ev.RetransmissionDataMismatch(
                    seg.frame, seg.ts, a.role, a.rel(seq), seg.plen, frame, a.rel(offset),
                    None if stop is None else a.rel(stop)))

    def _probe(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, plen: int,
               idle: int) -> None:
        """SND.NXT - 1 with at most one byte: a keepalive, or a probe of a zero window."""
        a.rtx.probe = True
        self._drop_sample(a)
        if b.wnd.win == 0:
            self.events.append(ev.ZeroWindowProbe(seg.frame, seg.ts, a.role, a.rel(seq), plen))
        else:
            self.events.append(ev.Keepalive(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                            idle / 1e9, a.profile))

    def _pure_out_of_sequence(self, seg: Segment, a: Endpoint, b: Endpoint, idle: int) -> None:
        """A segment without data or FIN whose seq is not SND.NXT."""
        seq = unwrap(seg.seq, a.snd.max)
        if seq == a.snd.max - 1:
            self._probe(seg, a, b, seq, 0, idle)
        elif b.wnd.win == 0 and a.snd.una is not None and seq == a.snd.una - 1:
            # Linux probes a zero window from SND.UNA - 1 even with data in flight.
            self._probe(seg, a, b, seq, 0, idle)

    def _fin(self, seg: Segment, a: Endpoint, b: Endpoint, pos: int) -> None:
        if a.snd.fin is None:
            a.snd.fin = pos
            a.snd.fin_frame = seg.frame
            a.snd.max = max(a.snd.max, pos + 1)
            a.flow.time(pos + 1, seg)
            a.flow.mark(KIND_FIN, seg.frame)
            if (a.state is State.CLOSE_WAIT and b.snd.fin is not None and seg.flags & ACK
                    and unwrap(seg.ack, b.snd.max) <= b.snd.fin):
                self._fins_crossed(a, b, seg)
            self._step(a, Input.SEND_FIN, seg)
        elif pos != a.snd.fin:
            self.events.append(ev.FinSeqChanged(seg.frame, seg.ts, a.role, a.snd.fin_frame,
                                                a.rel(a.snd.fin), a.rel(pos)))
            return
        elif not seg.plen:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "FIN", a.rel(pos), 0))
            a.flow.resent(pos, 0, seg.frame)
        if self._acks_forged(seg, b):
            return  # its ACK covers a FIN forged in b's name: b drops it (``_ack_of_forged``)
        b.rcv.fin_frame = seg.frame
        if b.state in SYNCHRONIZED:
            if a.snd.fin_frame == seg.frame:
                self._owe_fin_ack(seg, a, b, pos)
            self._step(b, Input.RECV_FIN, seg)
        self._check_done(seg.ts)

    def _fins_crossed(self, a: Endpoint, b: Endpoint, seg: Segment) -> None:
        """``a`` sends its FIN with an ACK that does not cover ``b``'s FIN, captured earlier.

        A segment shows what its sender had received when it sent it: ``a`` had not received
        that FIN, so it closes from ESTABLISHED, a simultaneous close (RFC 9293 §3.6, Figure
        13: FIN-WAIT-1, then CLOSING), never CLOSE-WAIT. The receipt read in capture order
        is taken back, from ``b``'s FIN on; the FIN reaches ``a`` when ``a``'s ACK covers it.
        """
        self._step(a, Input.RETRACT_RECV_FIN, seg)
        a.rcv.fin_in_flight = self.unsettled = True
        self.revised += ((a is self.client, b.snd.fin_frame, a.state),)

    @staticmethod
    def _add_gap(e: Endpoint, start: int, end: int) -> None:
        e.snd.gaps = (*e.snd.gaps[1 - MAX_GAPS:], (start, end))

    @staticmethod
    def _fill_gap(e: Endpoint, seq: int, end: int) -> bool:
        """Remove [seq, end) from the holes; True if it covered part of one."""
        gaps = e.snd.gaps
        if not gaps or not any(seq < stop and end > start for start, stop in gaps):
            return False
        kept: list[tuple[int, int]] = []
        for start, stop in gaps:
            if seq < stop and end > start:
                if start < seq:
                    kept.append((start, seq))
                if end < stop:
                    kept.append((end, stop))
            else:
                kept.append((start, stop))
        e.snd.gaps = tuple(kept)
        return True
