"""The reference model: one connection, two RFC 9293 endpoints, replayed segment by segment.

Each segment is applied twice: as *sent* by one endpoint and as *received* by the other. What the
state allows is checked against what the segment does; every deviation becomes an ``Event`` in
``Connection.events``. The model is sans-I/O: segments in, events out, no clock but the packets'.

Sequence positions are unwrapped (``seqnum.unwrap``) so the checks below use plain comparisons.
The capture point sees packets, not endpoint states: a segment seen may still be lost after the
capture point, so where the two readings differ the model keeps the one a healthy stack allows.
"""

from __future__ import annotations

import struct

from tcpcheck import events as ev
from tcpcheck import timers
from tcpcheck.endpoint import Endpoint, Tally
from tcpcheck.options import MAX_WSCALE, parse_options
from tcpcheck.profiles import Profile
from tcpcheck.segment import ACK, CSUM_BAD, CSUM_OFFLOAD, FIN, RST, SYN, Segment
from tcpcheck.seqnum import HALF, MASK, unwrap
from tcpcheck.states import SYNCHRONIZED, Input, State

# A hole filled within one round trip of the highest segment is reordering, not a
# retransmission: the sender cannot have learnt of a loss sooner. Like Wireshark, the round
# trip is the handshake's, and 3 ms when the handshake was not seen.
REORDER_NS = 3_000_000
# A SYN-ACK this soon after the peer's retransmitted SYN answers it (not the SYN-ACK timer).
ANSWER_NS = 100_000_000
# Holes remembered per side: enough for bursty loss, bounded so memory stays per-connection.
MAX_GAPS = 64
_CONTROL = FIN | SYN | RST | ACK | 0x08 | 0x20  # every flag but ECE/CWR
_TS_LAYOUT = b"\x01\x01\x08\x0a"  # NOP, NOP, timestamps: Linux's options after the handshake
_SACK_AFTER_TS = b"\x01\x01\x05"  # then NOP, NOP, SACK blocks
_TS_HEAD = struct.Struct("!4sI")  # those four bytes and the TSval after them
# Receiver states in which Linux also takes RCV.NXT - 1 as an exact reset (tcp_reset_check).
_FIN_RECEIVED = frozenset({State.CLOSE_WAIT, State.LAST_ACK, State.CLOSING, State.TIME_WAIT})


class Connection:
    """One connection instance (an incarnation of a four-tuple) and its two endpoints."""

    __slots__ = (
        "id", "profile", "client", "server", "client_key", "midstream", "events",
        "first_frame", "last_frame", "start_ts", "end_ts", "packets", "done_at",
        "close", "finished", "lingering", "keys", "reorder_ns", "negotiated", "timers",
        "timing",
    )

    def __init__(self, conn_id: int, profile: Profile, client_key: tuple, midstream: bool,
                 first: Segment, timing: timers.Timing = timers.DEFAULT_TIMING) -> None:
        self.id = conn_id
        self.profile = profile
        self.timing = timing
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
        if midstream:
            self.events.append(ev.CaptureStartedMidstream(first.frame, first.ts, "client"))
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
        # (window scaling, SACK, timestamps) in force once both SYNs were captured with all
        # their options; None while unknown (no handshake seen, options cut by the snaplen).
        self.negotiated: tuple[bool, bool, bool] | None = None
        self.timers = False  # a side is in CLOSE_WAIT or FIN_WAIT_2: watch the clock

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
        if seg.csum >= CSUM_OFFLOAD and self._checksum(seg, a):
            return
        if self.timers:
            self._check_timers(seg.ts, a, seg.frame if flags & FIN else None)
        if a.rst_frame and not flags & RST:
            self._after_rst(seg, a)
            return
        prev_win = a.win
        a.win = seg.win
        a.sent_any = True
        a.probe = False
        idle = seg.ts - a.last_ts
        a.last_ts = seg.ts

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
        neg = self.negotiated
        if neg is not None:
            raw = seg.options
            size = len(raw)
            head, tsval = _TS_HEAD.unpack_from(raw) if neg[2] and size >= 12 else (b"", 0)
            if head == _TS_LAYOUT and (
                    size == 12 or (neg[1] and raw[12:15] == _SACK_AFTER_TS
                                   and size == 14 + raw[15])):
                # Linux's own layouts (timestamps, then maybe SACK): nothing to parse.
                last = a.ts_max
                if tsval != last:
                    if last is not None and (tsval - last) & MASK < HALF:
                        a.ts_max, a.ts_max_frame = tsval, seg.frame
                    else:
                        self._timestamp(seg, a, tsval)
            else:
                self._options(seg, a)
        if b.mss and seg.plen > b.mss:
            if a.oversized is None:
                a.oversized = Tally(seg.frame, seg.ts)
            a.oversized.add(seg.plen)
        self._ack(seg, a, b, prev_win)
        if seg.plen or flags & FIN:
            self._data(seg, a, b, idle)
        elif a.snd_max is None:
            # First segment of this side mid-stream: anchor its sequence space here.
            self._anchor(a, seg.seq, seg.frame)
        elif seg.seq != a.snd_max & MASK:
            self._pure_out_of_sequence(seg, a, b, idle)
        if not seg.win and not flags & FIN:
            self.events.append(ev.ZeroWindow(seg.frame, seg.ts, a.role,
                                             b.rel(a.last_ack or 0)))

    # ------------------------------------------------------------------ capture artefacts

    def _checksum(self, seg: Segment, a: Endpoint) -> bool:
        """Note an offloaded checksum; True if the segment is corrupt and must be dropped."""
        if seg.csum == CSUM_BAD:
            # RFC 9293 §3.1: a segment with a bad checksum is discarded by its receiver.
            self.events.append(ev.BadChecksum(seg.frame, seg.ts, a.role))
            return True
        if a.offloaded is None:
            a.offloaded = Tally(seg.frame, seg.ts)
        a.offloaded.add()
        return False

    # ------------------------------------------------------------------ handshake

    def _syn(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        has_ack = seg.flags & ACK
        what = "SYN-ACK" if has_ack else "SYN"
        opts = parse_options(seg.options)
        if a.isn is None:
            a.open_sequence(seg.seq, seg.plen)
            a.isn_frame = seg.frame
            a.syn_ts = seg.ts
            a.syn_data = seg.plen
            a.max_ts = seg.ts
        elif has_ack and not a.synacks:
            # Simultaneous open: the SYN-ACK repeats this side's own SYN.
            if seg.seq != a.isn:
                self.events.append(ev.SynAckIsnChanged(seg.frame, seg.ts, a.role, a.isn_frame,
                                                       a.isn, seg.seq))
        elif seg.seq != a.isn:
            if has_ack:
                self.events.append(ev.SynAckIsnChanged(
                    seg.frame, seg.ts, a.role, a.synack_frame or a.isn_frame, a.isn, seg.seq))
            elif (seg.ts - a.last_syn_ts) / 1e9 < self.timing.backoff.earliest(
                    self.profile.initial_rto):
                # Sooner than any SYN timeout: another opener on the same port (a scanner or
                # SYN flood tool), not this attempt's retransmission.
                self.events.append(ev.ConcurrentSyn(
                    seg.frame, seg.ts, a.role, a.last_syn_frame, a.isn, seg.seq,
                    (seg.ts - a.last_syn_ts) / 1e9))
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
            if has_ack:
                self.events.extend(timers.synack_retransmitted(
                    self.profile, self.timing, a, b.last_syn_ts,
                    max(ANSWER_NS, 3 * self.reorder_ns), seg.frame, seg.ts))
            elif a.syns:
                # (Not when the side's sequence space was only inferred from a SYN-ACK: the
                # first SYN was not captured, so there is no schedule to measure from.)
                self.events.extend(timers.syn_retransmitted(self.profile, self.timing, a,
                                                            seg.frame, seg.ts))
        a.syns += 1
        a.last_syn_ts, a.last_syn_frame = seg.ts, seg.frame
        self._syn_options(seg, opts, a, b, bool(has_ack))
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

    def _syn_options(self, seg: Segment, opts, a: Endpoint, b: Endpoint, synack: bool) -> None:
        """Record a SYN's options; once both sides' are known, what the handshake negotiated."""
        known = a.syn_opts
        if not opts.complete and known is not None and known.complete:
            # A retransmitted SYN or SYN-ACK whose option list breaks off (an option running
            # past the header, or cut by the snaplen): the receiver already holds the first
            # copy's options, which a retransmission repeats (Linux resends the same SYN), and
            # Linux stops parsing at the bad option but keeps the segment (tcp_parse_options).
            # Nothing in the handshake's negotiation changes.
            return
        offer = b.syn_opts
        if synack and offer is not None and offer.complete and opts.complete:
            # RFC 7323 §1.3/§3.2 and RFC 2018 §2: a SYN-ACK only answers options the SYN offered.
            extra = tuple(name for name, here, there in (
                ("window scale", opts.wscale is not None, offer.wscale is not None),
                ("SACK-permitted", opts.sack_permitted, offer.sack_permitted),
                ("timestamps", opts.tsval is not None, offer.tsval is not None),
            ) if here and not there)
            if extra:
                self.events.append(ev.SynAckOptionsUnsolicited(seg.frame, seg.ts, a.role, extra,
                                                               b.isn_frame))
        a.syn_opts = opts
        a.syn_win = seg.win
        # RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger
        # than 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
        a.wscale = None if opts.wscale is None else min(opts.wscale, MAX_WSCALE)
        a.mss = opts.mss or 0
        if opts.tsval is not None:
            a.ts_max, a.ts_max_frame = opts.tsval, seg.frame
        if offer is not None and offer.complete and opts.complete:
            self.negotiated = (opts.wscale is not None and offer.wscale is not None,
                               opts.sack_permitted and offer.sack_permitted,
                               opts.tsval is not None and offer.tsval is not None)
        else:
            self.negotiated = None

    def _synack_received(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """The SYN-ACK's ACK must acknowledge the peer's SYN (and SYN data with TFO)."""
        if b.isn is None:
            return
        ack = seg.ack
        good = {(b.isn + 1) & MASK, (b.isn + 1 + b.syn_data) & MASK}
        if ack not in good:
            # Whatever it acknowledges is the sender's RCV.NXT (what a reset must match).
            a.last_ack = unwrap(ack, b.snd_max)
            if any((old + 1) & MASK == ack for old in b.stale_isns):
                return  # answers an earlier SYN of this attempt: stale, not wrong
            self.events.append(ev.SynAckBadAck(seg.frame, seg.ts, a.role, b.isn_frame, b.isn,
                                               (b.isn + 1) & MASK, ack))
            return
        b.snd_una = a.last_ack = unwrap(ack, b.snd_max)
        if self.negotiated is not None:
            # The windows of both SYNs are unscaled (RFC 7323 §2.2): each side's first right
            # edge is known once the SYN-ACK tells where the peer's sequence space starts.
            self._advertise(a, b.snd_una + a.syn_win, seg.frame, a.syn_win)
            if b.edge is None and a.isn is not None:
                self._advertise(b, a.base + 1 + b.syn_win, b.isn_frame, b.syn_win)
        if b.state in (State.SYN_SENT, State.SYN_RCVD):
            b.move(Input.RECV_SYN_ACK)

    # ------------------------------------------------------------------ options

    def _options(self, seg: Segment, a: Endpoint) -> None:
        """RFC 7323 §3.2, RFC 2018, RFC 9293 §3.7.1: options after the handshake."""
        _, sack, ts = self.negotiated
        raw = seg.options
        if not raw:
            tsval = None
        elif len(raw) == 12 and raw[:4] == _TS_LAYOUT:
            tsval = int.from_bytes(raw[4:8], "big")
        else:
            opts = parse_options(raw)
            if not opts.complete:
                return  # cut by the snaplen: what is missing is unknown
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
            return
        if not ts:
            self._option_problem(seg, a, "timestamps", "not-negotiated")
            return
        self._timestamp(seg, a, tsval)

    def _timestamp(self, seg: Segment, a: Endpoint, tsval: int) -> None:
        """PAWS (RFC 7323 §5): a side's TSvals never go backwards, modulo 2^32."""
        last = a.ts_max
        if last is None or (tsval - last) & MASK < HALF:
            a.ts_max, a.ts_max_frame = tsval, seg.frame
        elif not a.paws_reported and self._advances(seg, a):
            # A segment sent earlier and reordered carries an older TSval too, but it cannot
            # carry new sequence space or a higher ACK than the segments that overtook it.
            a.paws_reported = True
            self.events.append(ev.PawsRegression(seg.frame, seg.ts, a.role, tsval, last,
                                                 a.ts_max_frame))

    def _option_problem(self, seg: Segment, a: Endpoint, option: str, problem: str) -> None:
        if a.opt_reported is None:
            a.opt_reported = set()
        elif (option, problem) in a.opt_reported:
            return
        a.opt_reported.add((option, problem))
        self.events.append(ev.OptionNotNegotiated(seg.frame, seg.ts, a.role, option, problem))

    @staticmethod
    def _advances(seg: Segment, a: Endpoint) -> bool:
        """Does the segment carry sequence space or an ACK beyond what its side sent before?"""
        if (a.snd_max is not None and (seg.plen or seg.flags & FIN)
                and unwrap(seg.seq, a.snd_max) + seg.plen > a.snd_max):
            return True
        if a.last_ack is not None and seg.flags & ACK:
            return unwrap(seg.ack, a.last_ack) > a.last_ack
        return False

    # ------------------------------------------------------------------ acknowledgments

    def _ack(self, seg: Segment, a: Endpoint, b: Endpoint, prev_win: int) -> None:
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
        if (ack == a.last_ack and not seg.plen and not seg.flags & FIN and seg.win
                and seg.win == prev_win and a.snd_max is not None
                and seg.seq == a.snd_max & MASK and not b.probe):
            # Wireshark's duplicate ACK: nothing new at all, and not the answer to a probe.
            a.dupacks += 1
            self.events.append(ev.DuplicateAck(seg.frame, seg.ts, a.role, b.rel(ack),
                                               a.dupacks, a.ack_frame))
        else:
            a.dupacks = 0
            a.ack_frame = seg.frame
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
                # The round trip from the newest SYN: a sample spanning a retransmitted SYN or
                # SYN-ACK would include its timeout (Karn's rule, RFC 6298 §3).
                self.reorder_ns = max(seg.ts - a.last_syn_ts, 1)
        if a.edge is not None:
            window = seg.win << a.wscale if self.negotiated[0] else seg.win
            edge = ack + window
            if edge < a.last_edge:
                self._shrink(seg, a, b, ack, window, edge)
            a.last_edge = edge
            if edge > a.edge:
                a.edge, a.edge_frame, a.edge_win = edge, seg.frame, window
            a.last_edge_ack = ack
            a.last_edge_ts = seg.ts
        if ack > b.snd_max:
            pending = b.pending
            if pending is None or ack > pending[2]:
                b.pending = (seg.frame, seg.ts, ack,
                             pending[3] if pending else b.snd_max)
            return
        if ack > b.snd_una:
            b.snd_una = ack
            if b.sent:
                b.forget_acked(ack)
            if b.fin is not None and not b.fin_acked and ack > b.fin:
                b.fin_acked = True
                b.move(Input.RECV_ACK_OF_FIN)
                if b.state is State.TIME_WAIT:
                    b.tw_since = seg.ts
                elif b.state is State.FIN_WAIT_2:
                    b.fw2_since, b.fw2_frame = seg.ts, seg.frame
                    self.timers = True
                self._check_done(seg.ts)

    def _shrink(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int, window: int,
                edge: int) -> None:
        """``a`` moved its right edge left (RFC 9293 §3.8.6: "strongly discouraged"): the peer
        may already have sent up to the old edge. An update with the same ACK arriving within
        a round trip of the previous one may simply have been reordered."""
        if ack < a.last_edge_ack or (ack == a.last_edge_ack
                                     and seg.ts - a.last_edge_ts < self.reorder_ns):
            return
        if self.negotiated[0] and a.wscale and a.last_edge - edge < 1 << a.wscale:
            return  # RFC 7323 §2.4: scaling rounds the window down, retracting it < 2^S
        self.events.append(ev.WindowShrink(seg.frame, seg.ts, a.role, b.rel(a.last_edge),
                                           b.rel(edge), a.edge_frame, b.rel(ack), window))

    @staticmethod
    def _advertise(a: Endpoint, edge: int, frame: int, window: int) -> None:
        a.last_edge = edge
        if a.edge is None or edge >= a.edge:
            a.edge, a.edge_frame, a.edge_win = edge, frame, window

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

    def _data(self, seg: Segment, a: Endpoint, b: Endpoint, idle: int) -> None:
        if a.snd_max is None:
            self._anchor(a, seg.seq, seg.frame)
        elif a.state is State.SYN_RCVD and b.state is not State.SYN_RCVD:
            # A listener sends data only once ESTABLISHED: the ACK of its SYN-ACK reached it
            # even though the capture missed it (a one-sided capture, or capture loss).
            a.move(Input.RECV_ACK_OF_SYN)
        seq = unwrap(seg.seq, a.snd_max)
        plen = seg.plen
        end = seq + plen
        fin = seg.flags & FIN
        snd_max = a.snd_max
        top = end + 1 if fin else end
        if a.isn is not None and plen and end <= a.base + 1:
            # Wholly before the first byte after the ISN: never part of this connection.
            self.events.append(ev.SeqOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                                 1, a.rel(b.edge) if b.edge else 0))
            return
        if a.pending is not None and top > snd_max:
            self._resolve_pending(a, max(seq, snd_max), seg, "FIN" if fin and not plen
                                  else "data")
        if a.fin is not None and plen and end > a.fin:
            self.events.append(ev.DataAfterFin(seg.frame, seg.ts, a.role, a.fin_frame,
                                               a.rel(a.fin), a.rel(seq), plen))
            return
        if seq < snd_max and plen:
            if seq == snd_max - 1 and plen <= 1 and not fin:
                self._probe(seg, a, b, seq, plen, idle)
            else:
                self._old_data(seg, a, b, seq, end)
        if end > snd_max:
            if (plen and b.edge is not None and end > b.edge
                    and not self._beyond_window(seg, a, b, seq, end)):
                return
            if seq > snd_max:
                self._add_gap(a, snd_max, seq)
            if plen and len(seg.payload) == plen:
                a.remember(seq, seg.payload, seg.frame, seg.ts)
            a.bytes += end - max(seq, snd_max)
            a.snd_max = end
            a.max_ts = seg.ts
        if plen and a.state is State.CLOSE_WAIT:
            a.cw_since, a.cw_frame = seg.ts, seg.frame
        if fin:
            self._fin(seg, a, b, end)

    def _beyond_window(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int,
                       end: int) -> bool:
        """New data past the receiver's highest advertised right edge (RFC 9293 §3.8.6).

        The highest edge, not the latest: data sent into a window the receiver later shrank is
        the receiver's fault (reported as window-shrink), not the sender's. False when the
        segment lies wholly beyond the window and the receiver drops it.
        """
        edge = b.edge
        if seg.plen == 1 and seq == edge and b.win == 0:
            # RFC 9293 §3.8.6.1: probing a zero window with one new octet.
            self.events.append(ev.ZeroWindowProbe(seg.frame, seg.ts, a.role, a.rel(seq), 1))
            a.probe = True
            return True
        if seq >= edge:
            self.events.append(ev.SeqOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq),
                                                 seg.plen, a.rel(a.snd_una or seq),
                                                 a.rel(edge)))
            return False
        self.events.append(ev.DataBeyondWindow(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                               a.rel(edge), b.edge_win, b.edge_frame))
        return True

    def _old_data(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, end: int) -> None:
        """Data below the highest sequence sent: reordering or one kind of retransmission."""
        fast = seq == b.last_ack and b.dupacks >= 2
        if self._fill_gap(a, seq, end) and seg.ts - a.max_ts < self.reorder_ns and not fast:
            # Filling a hole promptly is reordering: the sender cannot know of a loss yet.
            self.events.append(ev.OutOfOrder(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                             seg.ts - a.max_ts))
            return
        if fast:
            # The receiver asked for exactly this byte with duplicate ACKs (RFC 5681 §3.2).
            self.events.append(ev.FastRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                     seg.plen, b.dupacks))
        elif b.last_ack is not None and end <= b.last_ack:
            self.events.append(ev.SpuriousRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                         seg.plen, a.rel(b.last_ack)))
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "data", a.rel(seq),
                                                 seg.plen))
            self.events.extend(timers.data_retransmitted(self.profile, self.timing, a,
                                                         b.last_ts, seq, seg.frame, seg.ts))
        if a.sent and len(seg.payload) == seg.plen:
            differs = a.first_copy_differs(seq, seg.payload)
            if differs is not None:
                self.events.append(ev.RetransmissionDataMismatch(
                    seg.frame, seg.ts, a.role, a.rel(seq), seg.plen, differs[0],
                    a.rel(differs[1])))

    def _probe(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, plen: int,
               idle: int) -> None:
        """SND.NXT - 1 with at most one byte: a keepalive, or a probe of a zero window."""
        a.probe = True
        if b.win == 0:
            self.events.append(ev.ZeroWindowProbe(seg.frame, seg.ts, a.role, a.rel(seq), plen))
        else:
            self.events.append(ev.Keepalive(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                            idle / 1e9))

    def _pure_out_of_sequence(self, seg: Segment, a: Endpoint, b: Endpoint, idle: int) -> None:
        """A segment without data or FIN whose seq is not SND.NXT."""
        seq = unwrap(seg.seq, a.snd_max)
        if seq == a.snd_max - 1:
            self._probe(seg, a, b, seq, 0, idle)
        elif b.win == 0 and a.snd_una is not None and seq == a.snd_una - 1:
            # Linux probes a zero window from SND.UNA - 1 even with data in flight.
            self._probe(seg, a, b, seq, 0, idle)

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
            elif b.state is State.CLOSE_WAIT and not b.cw_since:
                b.cw_since, b.cw_frame = seg.ts, seg.frame
                self.timers = True
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
        verdict = self._rst_verdict(seg, seq, a, b)
        if verdict == "outside":
            self.events.append(ev.RstOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq),
                                                 a.rel(self._rcv_nxt(a, b)),
                                                 a.rel(self._rst_right_edge(a, b))))
            return
        if verdict == "inexact":
            # RFC 5961 §3.2: the receiver answers with a challenge ACK and keeps the connection.
            self.events.append(ev.RstNotExact(seg.frame, seg.ts, a.role, a.rel(seq),
                                              a.rel(self._rcv_nxt(a, b))))
            return
        accepted = verdict == "exact"
        refused = before is State.SYN_SENT and not a.synacks
        if before is State.SYN_SENT and not accepted:
            # Not an answer to b's SYN: b ignores it, and the attempt goes on.
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  False, False))
            return
        if a.state is not State.SYN_SENT:
            # From SYN-SENT a reset answers an unacceptable segment (RFC 9293 §3.10.7.3,
            # <SEQ=SEG.ACK><CTL=RST>) and leaves the sender's own attempt alive.
            a.move(Input.SEND_RST)
            if accepted:
                a.rst_frame, a.rst_seq, a.rst_ts = seg.frame, seq, seg.ts
        if accepted:
            b.move(Input.RECV_RST)
        if not self.close:
            self.close = "refused" if refused and accepted else "reset"
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  refused and accepted, accepted))
        self._check_done(seg.ts)

    def _rst_verdict(self, seg: Segment, seq: int, a: Endpoint, b: Endpoint) -> str:
        """RFC 9293 §3.10.7 with RFC 5961 §3: ``exact``, ``inexact``, ``outside`` or
        ``ignored`` (the receiver has no synchronized state to judge the RST by)."""
        state = b.state
        if state is State.SYN_SENT:
            # Acceptable only if it acknowledges b's SYN (§3.10.7.3) and, with timestamps,
            # echoes one of b's SYN TSvals: Linux rejects any other TSecr (RFC 7323 §3.2
            # makes TSecr an echo; tcp_rcv_synsent_state_process checks it), which defeats
            # a forged RST that guessed ISN+1.
            ok = bool(seg.flags & ACK) and b.snd_max is not None and (
                unwrap(seg.ack, b.snd_max) == b.snd_max) and self._echoes_syn(seg, b)
            return "exact" if ok else "ignored"
        if state in (State.CLOSED, State.LISTEN):
            return "ignored"
        rcv_nxt = self._rcv_nxt(a, b)
        if rcv_nxt is None:
            return "exact"
        # b's RCV.NXT lies between its last ACK and everything a sent: capture timing cannot
        # tell where, so any of those is taken as exact.
        highest = rcv_nxt if a.snd_max is None else max(rcv_nxt, a.snd_max)
        if rcv_nxt <= seq <= highest or (seq == rcv_nxt - 1 and state in _FIN_RECEIVED):
            return "exact"
        if rcv_nxt - 1 <= seq < self._rst_right_edge(a, b):
            return "inexact"
        return "outside"

    @staticmethod
    def _echoes_syn(seg: Segment, b: Endpoint) -> bool:
        first = b.syn_opts.tsval if b.syn_opts is not None else None
        if first is None or b.ts_max is None:
            return True
        tsecr = parse_options(seg.options).tsecr if seg.options else None
        if not tsecr:
            return True
        return (tsecr - first) & MASK <= (b.ts_max - first) & MASK

    @staticmethod
    def _rcv_nxt(a: Endpoint, b: Endpoint) -> int | None:
        return b.last_ack if b.last_ack is not None else a.snd_una

    def _rst_right_edge(self, a: Endpoint, b: Endpoint) -> int:
        rcv_nxt = self._rcv_nxt(a, b) or 0
        # Positions may be 0 or negative (they start at the first raw number seen): None,
        # not falsiness, says "unknown".
        highest = rcv_nxt if a.snd_max is None else max(rcv_nxt, a.snd_max)
        if self.negotiated is None:
            shift = MAX_WSCALE  # scale unknown: the largest window RFC 7323 allows
        else:
            shift = b.wscale if self.negotiated[0] and b.wscale else 0
        edge = highest + max(b.win << shift, 1)
        return edge if b.edge is None else max(b.edge, edge)

    def _after_rst(self, seg: Segment, a: Endpoint) -> None:
        """A side that reset the connection sent something else on it."""
        seq = unwrap(seg.seq, seg.seq if a.snd_max is None else a.snd_max)
        if seg.ts - a.rst_ts < self.reorder_ns and (
                seq + seg.plen <= a.rst_seq if seg.plen else seq <= a.rst_seq):
            return  # sent before the RST, overtaken by it on the way to the capture point
        if a.after_rst:
            return
        a.after_rst = True
        what = "data" if seg.plen else "FIN" if seg.flags & FIN else "ACK"
        self.events.append(ev.DataAfterRst(seg.frame, seg.ts, a.role, a.rst_frame, what))

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

    def _check_timers(self, now: int, sender: Endpoint | None, fin_frame: int | None) -> None:
        for e in (self.client, self.server):
            self.events.extend(timers.teardown(self.profile, e, now,
                                               fin_frame if e is sender else None))
        self.timers = any(e.state in (State.CLOSE_WAIT, State.FIN_WAIT_2)
                          for e in (self.client, self.server))

    # ------------------------------------------------------------------ end of capture

    def finish(self, now: int | None = None, idle: float | None = None) -> None:
        """The capture is over for this connection (at capture time ``now``, when the capture
        went on after it): settle what look-ahead left open. ``idle`` is the idle timeout when
        that is why the connection is no longer followed."""
        self.finished = True
        if self.timers and now is not None:
            self._check_timers(now, None, None)
        c, s = self.client, self.server
        for e, peer in ((c, s), (s, c)):
            if e.pending is not None:
                frame, ts, ack, peer_max = e.pending
                e.pending = None
                self.events.append(ev.AckOfUnseenSegment(frame, ts, peer.role, e.rel(ack),
                                                         e.rel(peer_max), None))
            if e.oversized is not None:
                t = e.oversized
                self.events.append(ev.OversizedSegment(t.frame, t.ts, e.role, t.count,
                                                       t.largest, peer.mss))
            if e.offloaded is not None:
                t = e.offloaded
                self.events.append(ev.ChecksumOffload(t.frame, t.ts, e.role, t.count))
        if not self.close and not self.midstream:
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
        if (not self.close and self.done_at is None and (c.sent_any or s.sent_any)
                and c.state is not State.CLOSED):
            self.events.append(ev.CaptureEndedMidstream(self.last_frame, self.end_ts, "client",
                                                        c.state.value, s.state.value, idle))

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
