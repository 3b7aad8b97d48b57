"""The reference model: one connection, two RFC 9293 endpoints, replayed segment by segment.

Each segment is applied twice: as *sent* by one endpoint and as *received* by the other. What the
state allows is checked against what the segment does; every deviation becomes an ``Event`` in
``Connection.events``. The model is sans-I/O: segments in, events out, no clock but the packets'.

Sequence positions are unwrapped (``seqnum.unwrap``) so the checks below use plain comparisons.
The capture point sees packets, not endpoint states: a segment seen may still be lost after the
capture point, so where the two readings differ the model keeps the one a healthy stack allows.
"""

from __future__ import annotations

from tcpcheck import events as ev
from tcpcheck.options import parse_options, tsval_of
from tcpcheck.profiles import Profile
from tcpcheck.segment import ACK, FIN, RST, SYN, Segment
from tcpcheck.seqnum import MASK, unwrap
from tcpcheck.states import SYNCHRONIZED, Input, State, step

# A hole filled within one round trip of the highest segment is reordering, not a
# retransmission: the sender cannot have learnt of a loss sooner. Like Wireshark, the round
# trip is the handshake's, and 3 ms when the handshake was not seen.
REORDER_NS = 3_000_000
# Holes remembered per side: enough for bursty loss, bounded so memory stays per-connection.
MAX_GAPS = 64
_CONTROL = FIN | SYN | RST | ACK | 0x08 | 0x20  # every flag but ECE/CWR


class Endpoint:
    """The TCB of one side, as far as the capture reveals it (RFC 9293 §3.3.1)."""

    __slots__ = (
        "role", "state", "isn", "base", "isn_frame", "syn_ts", "last_syn_ts", "syns",
        "synacks", "synack_frame", "syn_data", "snd_una", "snd_max", "max_ts", "gaps",
        "fin", "fin_frame", "fin_acked", "wscale", "win", "last_ack", "last_opts",
        "tw_since", "pending", "sent_any", "bytes", "peer_fin_frame",
        "stale_isns", "dupacks",
    )

    def __init__(self, role: str, state: State) -> None:
        self.role = role
        self.state = state
        self.isn: int | None = None  # raw 32-bit ISN from this side's SYN
        self.base: int | None = None  # unwrapped anchor for relative numbers
        self.isn_frame = 0
        self.syn_ts = 0
        self.last_syn_ts = 0
        self.syns = 0  # SYN (or SYN-ACK) transmissions seen
        self.synacks = 0
        self.synack_frame = 0
        self.syn_data = 0  # TCP Fast Open data on the SYN
        self.snd_una: int | None = None  # highest ACK the peer sent for our data
        self.snd_max: int | None = None  # highest sequence position we sent (SND.NXT max)
        self.max_ts = 0  # when snd_max last advanced
        self.gaps: list[tuple[int, int]] = []  # holes in our sequence space the capture never saw
        self.fin: int | None = None  # sequence number our FIN occupies
        self.fin_frame = 0
        self.fin_acked = False
        self.wscale: int | None = None
        self.win = 0
        self.last_ack: int | None = None  # last ACK we sent (unwrapped, peer's space)
        self.last_opts = b""
        self.tw_since: int | None = None
        self.pending: tuple[int, int, int, int] | None = None  # over-ack: frame, ts, ack, max
        self.sent_any = False
        self.bytes = 0  # new sequence space carried as payload
        self.peer_fin_frame = 0  # the peer's latest FIN frame that reached us
        self.stale_isns: tuple[int, ...] = ()  # ISNs this side used earlier in the attempt
        self.dupacks = 0  # consecutive pure ACKs repeating the same ACK number

    def open_sequence(self, isn: int, length: int = 0) -> None:
        """Start this side's sequence space at ``isn``: its SYN plus ``length`` bytes of data."""
        self.isn = self.base = self.snd_una = isn
        self.snd_max = isn + 1 + length

    def rel(self, pos: int) -> int:
        """Relative sequence number of an unwrapped position (``seq - ISN``, as Wireshark)."""
        return pos - (self.base or 0)

    def move(self, event: Input) -> bool:
        """Apply one input to the state; False when the (state, input) pair is illegal."""
        self.state, legal = step(self.state, event)
        return legal

    def last_tsval(self) -> int | None:
        return tsval_of(self.last_opts)


class Connection:
    """One connection instance (an incarnation of a four-tuple) and its two endpoints."""

    __slots__ = (
        "id", "profile", "client", "server", "client_key", "midstream", "events",
        "first_frame", "last_frame", "start_ts", "end_ts", "packets", "done_at",
        "close", "finished", "lingering", "keys", "reorder_ns",
    )

    def __init__(self, conn_id: int, profile: Profile, client_key: tuple, midstream: bool,
                 first: Segment) -> None:
        self.id = conn_id
        self.profile = profile
        self.client_key = client_key  # (addr, port) of the client
        self.midstream = midstream
        # A side whose first packet was a SYN starts CLOSED (active open); the one it reaches
        # is assumed to be LISTENing. Picked up mid-stream, both are assumed ESTABLISHED.
        if midstream:
            self.client = Endpoint("client", State.ESTABLISHED)
            self.server = Endpoint("server", State.ESTABLISHED)
        else:
            self.client = Endpoint("client", State.CLOSED)
            self.server = Endpoint("server", State.LISTEN)
        self.events: list[ev.Event] = []
        self.first_frame = first.frame
        self.last_frame = first.frame
        self.start_ts = first.ts
        self.end_ts = first.ts
        self.packets = 0
        self.done_at: int | None = None  # when both sides reached CLOSED/TIME_WAIT
        self.close = ""  # "reset" / "refused" once an RST ended it
        self.finished = False
        self.lingering = False  # queued for expiry after TIME_WAIT
        self.keys: tuple = ()  # the tracker's two directional four-tuple keys
        self.reorder_ns = REORDER_NS

    # ------------------------------------------------------------------ replay

    def apply(self, seg: Segment, from_client: bool) -> None:
        """Replay one segment: sent by one endpoint, received by the other."""
        if from_client:
            a, b = self.client, self.server
        else:
            a, b = self.server, self.client
        self.packets += 1
        self.last_frame = seg.frame
        self.end_ts = seg.ts
        flags = seg.flags
        a.last_opts = seg.options
        a.win = seg.win
        a.sent_any = True

        if (flags & (SYN | FIN) == SYN | FIN or flags & (SYN | RST) == SYN | RST
                or not flags & _CONTROL):
            # No receiver acts on these (a stack drops them or answers with a challenge ACK).
            self.events.append(ev.InvalidFlags(seg.frame, seg.ts, a.role, flags))
            return
        if not flags & (ACK | SYN | RST):
            # RFC 9293 §3.10.7.4: "if the ACK bit is off drop the segment".
            self.events.append(ev.MissingAckFlag(seg.frame, seg.ts, a.role, flags,
                                                 a.state.value))
            return
        if flags & SYN:
            self._syn(seg, a, b)
            return
        if flags & RST:
            self._rst(seg, a, b)
            return
        if a.isn is None and not self.midstream and b.state not in SYNCHRONIZED:
            # The sender never opened its sequence space and the receiver is not synchronized:
            # SYN-SENT drops a segment with neither SYN nor RST (RFC 9293 §3.10.7.3), CLOSED
            # answers it with a reset (§3.10.7.1). It changes nothing in either endpoint.
            return
        self._ack(seg, a, b)
        if seg.plen or flags & FIN:
            self._data(seg, a, b)
        elif a.snd_max is None:
            # First segment of this side mid-stream: anchor its sequence space here.
            self._anchor(a, seg.seq, seg.frame)

    # ------------------------------------------------------------------ handshake

    def _syn(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        has_ack = seg.flags & ACK
        what = "SYN-ACK" if has_ack else "SYN"
        if a.isn is None:
            a.open_sequence(seg.seq, seg.plen)
            a.isn_frame = seg.frame
            a.syn_ts = seg.ts
            a.syn_data = seg.plen
            a.max_ts = seg.ts
            a.wscale = parse_options(seg.options).wscale
        elif has_ack and not a.synacks:
            # Simultaneous open: the SYN-ACK repeats this side's own SYN.
            if seg.seq != a.isn:
                self.events.append(ev.SynAckIsnChanged(seg.frame, seg.ts, a.role, a.isn_frame,
                                                       a.isn, seg.seq))
        elif seg.seq != a.isn:
            if has_ack:
                self.events.append(ev.SynAckIsnChanged(
                    seg.frame, seg.ts, a.role, a.synack_frame or a.isn_frame, a.isn, seg.seq))
            else:
                self.events.append(ev.SynIsnChanged(
                    seg.frame, seg.ts, a.role, a.isn_frame, a.isn, seg.seq,
                    (seg.ts - a.syn_ts) / 1e9))
            # The peer can only answer the newest ISN: follow it, unless it already accepted
            # the first SYN-ACK; then the connection goes on in the old sequence space and
            # the new SYN-ACK is answered with a challenge ACK.
            if not has_ack or b.state is State.SYN_SENT:
                a.stale_isns += (a.isn,)
                a.open_sequence(seg.seq, seg.plen)
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, what, 0, seg.plen))
        a.syns += 1
        a.last_syn_ts = seg.ts
        if has_ack:
            if not a.synacks:
                a.synack_frame = seg.frame
            a.synacks += 1
            if a.state is State.LISTEN:
                # The SYN that opened this was not captured: the handshake starts here.
                a.state = State.SYN_RCVD
                if b.isn is None:
                    b.state = State.SYN_SENT
                    b.open_sequence((seg.ack - 1) & MASK)
            a.move(Input.SEND_SYN_ACK)
            self._synack_received(seg, a, b)
        else:
            a.move(Input.SEND_SYN)
            b.move(Input.RECV_SYN)

    def _synack_received(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """The SYN-ACK's ACK must acknowledge the peer's SYN (and SYN data with TFO)."""
        if b.isn is None:
            return
        ack = seg.ack
        good = {(b.isn + 1) & MASK, (b.isn + 1 + b.syn_data) & MASK}
        if ack not in good:
            if any((old + 1) & MASK == ack for old in b.stale_isns):
                return  # answers an earlier SYN of this attempt: stale, not wrong
            self.events.append(ev.SynAckBadAck(seg.frame, seg.ts, a.role, b.isn_frame, b.isn,
                                               (b.isn + 1) & MASK, ack))
            return
        b.snd_una = a.last_ack = unwrap(ack, b.snd_max)
        if b.state in (State.SYN_SENT, State.SYN_RCVD):
            b.move(Input.RECV_SYN_ACK)

    # ------------------------------------------------------------------ acknowledgments

    def _ack(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """Apply the ACK field: ``a`` acknowledges ``b``'s sequence space."""
        if b.snd_max is None:
            # Nothing seen from b yet (mid-stream): its sequence space starts at this ACK.
            self._anchor(b, seg.ack, 0)
            a.last_ack = b.snd_max
            if b.state is State.SYN_RCVD:
                # The SYN-ACK was not captured, but this ACK shows it was sent and received:
                # capture loss, and the handshake completed.
                b.isn = b.base = (seg.ack - 1) & MASK
                b.move(Input.RECV_ACK_OF_SYN)
                if a.state is State.SYN_SENT:
                    a.move(Input.RECV_SYN_ACK)
            return
        ack = unwrap(seg.ack, b.snd_max)
        if ack == a.last_ack and not seg.plen and not seg.flags & FIN:
            a.dupacks += 1
        else:
            a.dupacks = 0
        a.last_ack = ack
        if b.state is State.SYN_RCVD and a.state is not State.SYN_RCVD and b.isn is not None:
            # The handshake's final ACK (RFC 9293 §3.5): it must acknowledge b's SYN and
            # nothing beyond what b sent.
            lowest = b.base + 1
            if ack < lowest or ack > b.snd_max:
                self.events.append(ev.HandshakeBadAck(
                    seg.frame, seg.ts, a.role, b.synack_frame, b.isn, (b.isn + 1) & MASK,
                    seg.ack))
                return
            b.move(Input.RECV_ACK_OF_SYN)
            if a.syn_ts and b.syn_ts:
                self.reorder_ns = max(seg.ts - min(a.syn_ts, b.syn_ts), 1)
        if ack > b.snd_max:
            pending = b.pending
            if pending is None or ack > pending[2]:
                b.pending = (seg.frame, seg.ts, ack,
                             pending[3] if pending else b.snd_max)
            return
        if ack > b.snd_una:
            b.snd_una = ack
            if b.fin is not None and not b.fin_acked and ack > b.fin:
                b.fin_acked = True
                b.move(Input.RECV_ACK_OF_FIN)
                if b.state is State.TIME_WAIT:
                    b.tw_since = seg.ts
                self._check_done(seg.ts)

    def _resolve_pending(self, a: Endpoint, start: int, seg: Segment, kind: str) -> None:
        """``a`` sends new sequence space from ``start``: settle an earlier over-ACK of it."""
        frame, ts, ack, peer_max = a.pending
        a.pending = None
        peer = self.server if a is self.client else self.client
        if start < ack:
            self.events.append(ev.AckOfUnsentData(
                frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame, a.rel(start), kind))
        else:
            self.events.append(ev.AckOfUnseenSegment(
                frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame))

    # ------------------------------------------------------------------ data and FIN

    def _data(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        if a.snd_max is None:
            self._anchor(a, seg.seq, seg.frame)
        elif a.state is State.SYN_RCVD and b.state is not State.SYN_RCVD:
            # A listener sends data only once ESTABLISHED: the ACK of its SYN-ACK reached it
            # even though the capture missed it (a one-sided capture, or capture loss).
            a.move(Input.RECV_ACK_OF_SYN)
        seq = unwrap(seg.seq, a.snd_max)
        end = seq + seg.plen
        fin = seg.flags & FIN
        snd_max = a.snd_max
        top = end + 1 if fin else end
        if a.pending is not None and top > snd_max:
            self._resolve_pending(a, max(seq, snd_max), seg, "FIN" if fin and not seg.plen
                                  else "data")
        if a.fin is not None and seg.plen and end > a.fin:
            self.events.append(ev.DataAfterFin(seg.frame, seg.ts, a.role, a.fin_frame,
                                               a.rel(a.fin), a.rel(seq), seg.plen))
            return
        if seq < snd_max and seg.plen:
            if seq == snd_max - 1 and seg.plen <= 1 and not fin:
                pass  # keepalive or zero-window probe (seq = SND.NXT - 1): not a retransmission
            elif (not self._fill_gap(a, seq, end) or seg.ts - a.max_ts >= self.reorder_ns
                  or (seq == b.last_ack and b.dupacks >= 2)):
                # Filling a hole promptly is reordering, unless the receiver had asked for
                # exactly this byte with duplicate ACKs: a fast retransmission (RFC 5681 §3.2).
                self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "data",
                                                     a.rel(seq), seg.plen))
        if end > snd_max:
            if seq > snd_max:
                self._add_gap(a, snd_max, seq)
            a.bytes += end - max(seq, snd_max)
            a.snd_max = end
            a.max_ts = seg.ts
        if fin:
            self._fin(seg, a, b, end)

    def _fin(self, seg: Segment, a: Endpoint, b: Endpoint, pos: int) -> None:
        if a.fin is None:
            a.fin = pos
            a.fin_frame = seg.frame
            a.snd_max = max(a.snd_max, pos + 1)
            if (a.state is State.CLOSE_WAIT and b.fin is not None and seg.flags & ACK
                    and unwrap(seg.ack, b.snd_max) <= b.fin):
                # Its ACK does not cover the peer's FIN: it sent this FIN before that one
                # arrived, a simultaneous close (RFC 9293 §3.6, Figure 13), not CLOSE_WAIT.
                a.state = State.ESTABLISHED
                a.move(Input.SEND_FIN)
                a.move(Input.RECV_FIN)
            elif not a.move(Input.SEND_FIN) and a.state is State.SYN_SENT:
                a.state = State.CLOSED  # a close in SYN_SENT just deletes the TCB
        elif pos != a.fin:
            self.events.append(ev.FinSeqChanged(seg.frame, seg.ts, a.role, a.fin_frame,
                                                a.rel(a.fin), a.rel(pos)))
            return
        elif not seg.plen:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "FIN", a.rel(pos), 0))
        b.peer_fin_frame = seg.frame
        if b.state in SYNCHRONIZED:
            b.move(Input.RECV_FIN)
            if b.state is State.TIME_WAIT:
                b.tw_since = seg.ts
        self._check_done(seg.ts)

    # ------------------------------------------------------------------ reset

    def _rst(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        if a.snd_max is None:
            self._anchor(a, seg.seq, seg.frame)
        seq = unwrap(seg.seq, a.snd_max)
        if a.pending is not None:
            self._resolve_pending(a, seq, seg, "RST")
        if (a.state is State.TIME_WAIT and a.tw_since is not None
                and seg.ts - a.tw_since < self.profile.time_wait * 1e9
                and a.peer_fin_frame > b.fin_frame):
            # The peer's FIN reached a again after a entered TIME_WAIT (a retransmission),
            # and a answered with RST: the state that should have re-ACKed it was gone.
            self.events.append(ev.ResetInTimeWait(
                seg.frame, seg.ts, a.role, a.peer_fin_frame, (seg.ts - a.tw_since) / 1e9,
                self.profile.time_wait))
        before = b.state
        accepted = self._rst_acceptable(seg, seq, a, b)
        refused = before is State.SYN_SENT and not a.synacks
        a.move(Input.SEND_RST)
        if accepted:
            b.move(Input.RECV_RST)
        if not self.close:
            self.close = "refused" if refused and accepted else "reset"
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  refused and accepted, accepted))
        self._check_done(seg.ts)

    @staticmethod
    def _rst_acceptable(seg: Segment, seq: int, a: Endpoint, b: Endpoint) -> bool:
        """RFC 9293 §3.10.7 with RFC 5961 §3: is the RST inside b's receive window?"""
        state = b.state
        if state is State.SYN_SENT:
            # Acceptable only if it acknowledges b's SYN (§3.10.7.3).
            return bool(seg.flags & ACK) and b.snd_max is not None and (
                unwrap(seg.ack, b.snd_max) == b.snd_max)
        if state in (State.CLOSED, State.LISTEN):
            return False
        rcv_nxt = b.last_ack if b.last_ack is not None else a.snd_una
        if rcv_nxt is None:
            return True
        shift = b.wscale if (b.wscale is not None and a.wscale is not None) else 0
        window = max(b.win << shift, 1)
        right = max(rcv_nxt, a.snd_max or rcv_nxt) + window
        return rcv_nxt - 1 <= seq <= right

    # ------------------------------------------------------------------ bookkeeping

    @staticmethod
    def _anchor(e: Endpoint, seq32: int, frame: int) -> None:
        e.base = seq32
        e.snd_una = seq32
        e.snd_max = seq32
        if frame:
            e.isn_frame = frame

    @staticmethod
    def _add_gap(e: Endpoint, start: int, end: int) -> None:
        e.gaps.append((start, end))
        if len(e.gaps) > MAX_GAPS:
            del e.gaps[0]

    @staticmethod
    def _fill_gap(e: Endpoint, seq: int, end: int) -> bool:
        """Remove [seq, end) from the holes; True if it covered part of one."""
        gaps = e.gaps
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
        e.gaps = kept
        return True

    def _check_done(self, ts: int) -> None:
        if self.done_at is None and all(
                e.state in (State.CLOSED, State.TIME_WAIT) for e in (self.client, self.server)):
            self.done_at = ts

    # ------------------------------------------------------------------ end of capture

    def finish(self) -> None:
        """The capture is over for this connection: settle what look-ahead left open."""
        self.finished = True
        for e in (self.client, self.server):
            if e.pending is not None:
                frame, ts, ack, peer_max = e.pending
                e.pending = None
                peer = self.server if e is self.client else self.client
                self.events.append(ev.AckOfUnseenSegment(frame, ts, peer.role, e.rel(ack),
                                                         e.rel(peer_max), None))
        c, s = self.client, self.server
        if self.close or self.midstream:
            return
        if c.syns and not s.sent_any and c.state is State.SYN_SENT:
            self.close = "half-open"
            # Nothing came back, so nothing shows the SYN ever reached the server.
            s.state = State.LISTEN
            self.events.append(ev.HalfOpen(c.isn_frame, c.syn_ts, "client", c.syns,
                                           (c.last_syn_ts - c.syn_ts) / 1e9))
        elif s.synacks and s.state is State.SYN_RCVD:
            self.close = "incomplete"
            self.events.append(ev.HandshakeIncomplete(s.synack_frame, s.syn_ts, "server",
                                                      s.synacks))

    def close_kind(self) -> str:
        """How the connection ended, for the connections table."""
        if self.close:
            return self.close
        c, s = self.client, self.server
        if c.fin is not None and s.fin is not None:
            return "fin"
        if c.fin is not None or s.fin is not None:
            return "half-closed"
        return "open"
