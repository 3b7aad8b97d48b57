"""Header prediction: the common segment of an established connection in a handful of tests.

Linux's ``tcp_rcv_established`` first asks whether a segment is the one it expects -- in
ESTABLISHED, the next sequence number, only ACK (and PSH) set, the usual options, nothing
unusual pending -- and if so takes its fast path, leaving the full RFC 9293 §3.10.7 order to
everything else. ``Connection.apply`` does the same for the receiver's ACK and text steps
(``AckSteps._ack``, ``DataSteps._data``): ``_predicted`` is what those steps do for such a
segment when no branch of theirs that notes anything but a duplicate ACK, or changes more
than the sequence variables, the window edge and the statistics, can be taken. Whenever one
could be, it returns False before changing anything, and the full steps run as before.

So the fast path is an optimisation, never a second model: it must leave every endpoint,
every event and every statistic exactly as the full steps would (``tests/test_prediction.py``
replays the bundled captures both ways and compares the reports byte for byte), and
``Connection(fast_path=False)`` turns it off.
"""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.model.states import State
from tcpcheck.model.stats import IDLE
from tcpcheck.segment import ACK, PSH, Segment

_PREDICTED_FLAGS = ACK | PSH
"""Segments whose flags, with PSH added, are exactly these: ACK or ACK|PSH, nothing else."""
_ESTABLISHED = State.ESTABLISHED


class PredictionSteps:
    """The fast path of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _predicted(self, seg: Segment, a: Endpoint, b: Endpoint, seq32: int, ack32: int,
                   flags: int, win: int, prev_win: int, plen: int) -> bool:
        """Apply ``a``'s segment ``seg`` to ``b`` if it is the expected one; True when done,
        False (nothing changed) when the full ACK and text steps must run.

        Called once the segment passed the checks every segment gets (flags, PAWS, options,
        size) with PAWS accepting it. The tests mirror the full steps' branches in their
        order; each comment names the branch of ``_ack`` or ``_data`` a test keeps away from.
        """
        if (flags | PSH != _PREDICTED_FLAGS or a.state is not _ESTABLISHED
                or b.state is not _ESTABLISHED or not win or not prev_win):
            return False  # FIN, URG, ECE/CWR; handshake and teardown; zero windows
        snd_b, snd_a = b.snd, a.snd
        b_max, a_max = snd_b.max, snd_a.max
        if b_max is None or a_max is None or seq32 != a_max & MASK:
            return False  # a side to anchor mid-stream; not the next sequence number
        ack = b_max + ((ack32 - b_max + HALF) & MASK) - HALF  # seqnum.unwrap, inline
        if ack > b_max or snd_b.fin is not None or (snd_b.gaps and ack > snd_b.gaps[0][0]):
            return False  # an ACK of unsent data, of a FIN, of holes
        wnd = a.wnd
        edge = None
        if wnd.edge is not None:
            window = win << a.opts.wscale if self.negotiated[0] else win
            edge = ack + window
            if edge < wnd.last:
                return False  # the window shrinks
        end = a_max + plen
        if plen and (snd_a.pending is not None or snd_a.fin is not None
                     or (snd_a.isn is not None and end <= snd_a.base + 1)
                     or (b.wnd.edge is not None and end > b.wnd.edge)):
            return False  # an over-ACK settled; data after a FIN; before the ISN; beyond
        # _ack: the ACK field and the window.
        rcv = a.rcv
        frame = seg.frame
        if ack == rcv.ack and not plen and win == prev_win and not b.rtx.probe:
            # Wireshark's duplicate ACK (the rest of _ack's test holds here already): a
            # receiver beyond a hole sends them by the hundred during a lossy transfer.
            rcv.dupacks += 1
            self.events.append(ev.DuplicateAck(frame, seg.ts, a.role, b.rel(ack), rcv.dupacks,
                                               rcv.ack_frame,
                                               self._dupack_answers(b, frame)))
        else:
            rcv.dupacks = 0
            rcv.ack_frame = frame
        rcv.ack = ack
        if edge is not None:
            wnd.last = edge
            if edge > wnd.edge:
                wnd.edge, wnd.edge_frame, wnd.edge_win = edge, frame, window
                if window > wnd.peak:
                    wnd.peak = window
            wnd.last_ack = ack
            wnd.last_ts = seg.ts
        if ack > snd_b.una:
            snd_b.una = ack
            if ack >= b.flow.timed_end:
                b.flow.acked(seg, bool(self.negotiated and self.negotiated[2]))
            if snd_b.sent:
                b.forget_acked(ack)
        if not plen:
            return True
        # _data: new text at the next sequence number.
        if a.opts.ts_max_frame == frame and not snd_a.gaps:
            self._sample_ack(seg, a, b, end, ReplyKind.ACK_DATA)
        payload = seg.payload
        if len(payload) == plen:
            a.remember(a_max, payload, frame, seg.ts)
        snd_a.bytes += plen
        snd_a.max = end
        snd_a.max_ts = seg.ts
        if a.flow.timed_end == IDLE:
            a.flow.time(end, seg)
        return True
