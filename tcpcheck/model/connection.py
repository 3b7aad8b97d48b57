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

from tcpcheck import timers
from tcpcheck.model import events as ev
from tcpcheck.model.arrival import paws_rejects, receive_next, segment_acceptable
from tcpcheck.model.endpoint import Endpoint, Tally
from tcpcheck.model.seqnum import HALF, MASK, unwrap
from tcpcheck.model.states import SYNCHRONIZED, Input, State
from tcpcheck.options import MAX_WSCALE, parse_options
from tcpcheck.profiles import Profile
from tcpcheck.segment import ACK, CSUM_BAD, CSUM_OFFLOAD, FIN, RST, SYN, Segment

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


def _too_large(shift: int | None) -> bool:
    """A window-scale shift RFC 7323 §2.3 does not allow (the receiver uses 14 instead)."""
    return shift is not None and shift > MAX_WSCALE


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
        if a.teardown is not None and a.teardown.rst_frame and not flags & RST:
            self._after_rst(seg, a)
            return
        prev_win = a.wnd.win
        a.wnd.win = seg.win
        a.sent_any = True
        a.rtx.probe = False
        idle = seg.ts - a.rtx.last_ts
        a.rtx.last_ts = seg.ts

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
        if a.snd.isn is None and not self.midstream and b.state not in SYNCHRONIZED:
            # The sender never opened its sequence space and the receiver is not synchronized:
            # SYN-SENT drops a segment with neither SYN nor RST (RFC 9293 §3.10.7.3), CLOSED
            # answers it with a reset (§3.10.7.1). It changes nothing in either endpoint.
            return
        neg = self.negotiated
        old = False  # PAWS (RFC 7323 §5.3) finds it older than a segment already seen
        if neg is not None:
            raw = seg.options
            size = len(raw)
            head, tsval = _TS_HEAD.unpack_from(raw) if neg[2] and size >= 12 else (b"", 0)
            if head == _TS_LAYOUT and (
                    size == 12 or (neg[1] and raw[12:15] == _SACK_AFTER_TS
                                   and size == 14 + raw[15])):
                # Linux's own layouts (timestamps, then maybe SACK): nothing to parse.
                last = a.opts.ts_max
                if tsval != last:
                    if last is not None and (tsval - last) & MASK < HALF:
                        a.opts.ts_max, a.opts.ts_max_frame = tsval, seg.frame
                    else:
                        old = self._timestamp(seg, a, b, tsval)
            else:
                old = self._options(seg, a, b)
        if b.opts.mss and seg.plen > b.opts.mss:
            if a.oversized is None:
                a.oversized = Tally(seg.frame, seg.ts)
            a.oversized.add(seg.plen)
        self._ack(seg, a, b, prev_win, old)
        if seg.plen or flags & FIN:
            self._data(seg, a, b, idle)
        elif a.snd.max is None:
            # First segment of this side mid-stream: anchor its sequence space here.
            self._anchor(a, seg.seq, seg.frame)
        elif seg.seq != a.snd.max & MASK:
            self._pure_out_of_sequence(seg, a, b, idle)
        if not seg.win and not flags & FIN:
            self.events.append(ev.ZeroWindow(seg.frame, seg.ts, a.role,
                                             b.rel(a.rcv.ack or 0)))

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
        if a.snd.isn is None:
            a.open_sequence(seg.seq, seg.plen)
            a.snd.isn_frame = seg.frame
            a.rtx.syn_ts = seg.ts
            a.snd.syn_data = seg.plen
            a.snd.max_ts = seg.ts
        elif has_ack and not a.rtx.synacks:
            # Simultaneous open: the SYN-ACK repeats this side's own SYN.
            if seg.seq != a.snd.isn:
                self.events.append(ev.SynAckIsnChanged(seg.frame, seg.ts, a.role, a.snd.isn_frame,
                                                       a.snd.isn, seg.seq))
        elif seg.seq != a.snd.isn:
            if has_ack:
                self.events.append(ev.SynAckIsnChanged(
                    seg.frame, seg.ts, a.role, a.rtx.synack_frame or a.snd.isn_frame, a.snd.isn,
                    seg.seq))
            elif (seg.ts - a.rtx.last_syn_ts) / 1e9 < self.timing.backoff.earliest(
                    self.profile.initial_rto):
                # Sooner than any SYN timeout: another opener on the same port (a scanner or
                # SYN flood tool), not this attempt's retransmission.
                self.events.append(ev.ConcurrentSyn(
                    seg.frame, seg.ts, a.role, a.rtx.last_syn_frame, a.snd.isn, seg.seq,
                    (seg.ts - a.rtx.last_syn_ts) / 1e9))
            else:
                self.events.append(ev.SynIsnChanged(
                    seg.frame, seg.ts, a.role, a.snd.isn_frame, a.snd.isn, seg.seq,
                    (seg.ts - a.rtx.syn_ts) / 1e9))
            # The peer can only answer the newest ISN: follow it, unless it already accepted
            # the first SYN-ACK; then the connection goes on in the old sequence space and
            # the new SYN-ACK is answered with a challenge ACK.
            if not has_ack or b.state is State.SYN_SENT:
                a.snd.stale_isns += (a.snd.isn,)
                a.open_sequence(seg.seq, seg.plen)
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, what, 0, seg.plen))
            if has_ack:
                self.events.extend(timers.synack_retransmitted(
                    self.profile, self.timing, a, b.rtx.last_syn_ts,
                    max(ANSWER_NS, 3 * self.reorder_ns), seg.frame, seg.ts))
            elif a.rtx.syns:
                # (Not when the side's sequence space was only inferred from a SYN-ACK: the
                # first SYN was not captured, so there is no schedule to measure from.)
                self.events.extend(timers.syn_retransmitted(self.profile, self.timing, a,
                                                            seg.frame, seg.ts))
        a.rtx.syns += 1
        a.rtx.last_syn_ts, a.rtx.last_syn_frame = seg.ts, seg.frame
        self._syn_options(seg, opts, a, b, bool(has_ack))
        if has_ack:
            if not a.rtx.synacks:
                a.rtx.synack_frame = seg.frame
            a.rtx.synacks += 1
            if a.state is State.LISTEN:
                # The SYN that opened this was not captured: the handshake starts here.
                self._step(a, Input.RECV_SYN, seg)
                if b.snd.isn is None:
                    self._step(b, Input.SEND_SYN, seg)
                    b.open_sequence((seg.ack - 1) & MASK)
            self._step(a, Input.SEND_SYN_ACK, seg)
            self._synack_received(seg, a, b)
        elif a.state is State.ESTABLISHED and b.rtx.synacks and not a.snd.bytes:
            # Still sending SYNs: the peer's SYN-ACK never reached it (lost after the capture
            # point), so it is in SYN-SENT whatever the capture showed.
            self.events.append(ev.LostAfterCapture(seg.frame, seg.ts, a.role, "SYN-ACK",
                                                   b.rtx.synack_frame))
            self._step(b, Input.RECV_SYN, seg)
        else:
            self._step(a, Input.SEND_SYN, seg)
            self._step(b, Input.RECV_SYN, seg)

    def _syn_options(self, seg: Segment, opts, a: Endpoint, b: Endpoint, synack: bool) -> None:
        """Record a SYN's options; once both sides' are known, what the handshake negotiated."""
        known = a.opts.syn
        if not opts.complete and known is not None and known.complete:
            # A retransmitted SYN or SYN-ACK whose option list breaks off (an option running
            # past the header, or cut by the snaplen): the receiver already holds the first
            # copy's options, which a retransmission repeats (Linux resends the same SYN), and
            # Linux stops parsing at the bad option but keeps the segment (tcp_parse_options).
            # Nothing in the handshake's negotiation changes.
            return
        offer = b.opts.syn
        if synack and offer is not None and offer.complete and opts.complete:
            # RFC 7323 §1.3/§3.2 and RFC 2018 §2: a SYN-ACK only answers options the SYN offered.
            extra = tuple(name for name, here, there in (
                ("window scale", opts.wscale is not None, offer.wscale is not None),
                ("SACK-permitted", opts.sack_permitted, offer.sack_permitted),
                ("timestamps", opts.tsval is not None, offer.tsval is not None),
            ) if here and not there)
            if extra:
                self.events.append(ev.SynAckOptionsUnsolicited(seg.frame, seg.ts, a.role, extra,
                                                               b.snd.isn_frame))
        # RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger
        # than 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
        # Logged once per side: a retransmitted SYN repeats the same offer. A SYN-ACK's shift
        # that the SYN did not ask for is ignored whole (synack-options-unsolicited), not used.
        ignored = synack and offer is not None and offer.complete and offer.wscale is None
        if (_too_large(opts.wscale) and not ignored
                and not (known is not None and _too_large(known.wscale))):
            self.events.append(ev.WindowScaleTooLarge(seg.frame, seg.ts, a.role, opts.wscale,
                                                      MAX_WSCALE))
        a.opts.syn = opts
        a.opts.syn_win = seg.win
        a.opts.wscale = None if opts.wscale is None else min(opts.wscale, MAX_WSCALE)
        a.opts.mss = opts.mss or 0
        if opts.tsval is not None:
            a.opts.ts_max, a.opts.ts_max_frame = opts.tsval, seg.frame
        if offer is not None and offer.complete and opts.complete:
            self.negotiated = (opts.wscale is not None and offer.wscale is not None,
                               opts.sack_permitted and offer.sack_permitted,
                               opts.tsval is not None and offer.tsval is not None)
        else:
            self.negotiated = None

    def _synack_received(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        """The SYN-ACK's ACK must acknowledge the peer's SYN (and SYN data with TFO)."""
        if b.snd.isn is None:
            return
        ack = seg.ack
        good = {(b.snd.isn + 1) & MASK, (b.snd.isn + 1 + b.snd.syn_data) & MASK}
        if ack not in good:
            # Whatever it acknowledges is the sender's RCV.NXT (what a reset must match).
            a.rcv.ack = unwrap(ack, b.snd.max)
            if any((old + 1) & MASK == ack for old in b.snd.stale_isns):
                return  # answers an earlier SYN of this attempt: stale, not wrong
            self.events.append(ev.SynAckBadAck(seg.frame, seg.ts, a.role, b.snd.isn_frame,
                                               b.snd.isn, (b.snd.isn + 1) & MASK, ack))
            return
        b.snd.una = a.rcv.ack = unwrap(ack, b.snd.max)
        if self.negotiated is not None:
            # The windows of both SYNs are unscaled (RFC 7323 §2.2): each side's first right
            # edge is known once the SYN-ACK tells where the peer's sequence space starts.
            self._advertise(a, b.snd.una + a.opts.syn_win, seg.frame, a.opts.syn_win)
            if b.wnd.edge is None and a.snd.isn is not None:
                self._advertise(b, a.snd.base + 1 + b.opts.syn_win, b.snd.isn_frame, b.opts.syn_win)
        if b.state in (State.SYN_SENT, State.SYN_RCVD):
            self._step(b, Input.RECV_SYN_ACK, seg)

    # ------------------------------------------------------------------ options

    def _options(self, seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """RFC 7323 §3.2, RFC 2018, RFC 9293 §3.7.1: options after the handshake. True when
        PAWS finds the segment older than one already seen."""
        _, sack, ts = self.negotiated
        raw = seg.options
        if not raw:
            tsval = None
        elif len(raw) == 12 and raw[:4] == _TS_LAYOUT:
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
        if not a.opts.paws_reported and self._advances(seg, a, b):
            # A segment sent earlier and reordered carries an older TSval too, but it cannot
            # carry new sequence space or a higher ACK than the segments that overtook it.
            a.opts.paws_reported = True
            self.events.append(ev.PawsRegression(seg.frame, seg.ts, a.role, tsval, last,
                                                 a.opts.ts_max_frame))
        return True

    def _option_problem(self, seg: Segment, a: Endpoint, option: str, problem: str) -> None:
        if a.opts.reported is None:
            a.opts.reported = set()
        elif (option, problem) in a.opts.reported:
            return
        a.opts.reported.add((option, problem))
        self.events.append(ev.OptionNotNegotiated(seg.frame, seg.ts, a.role, option, problem))

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

    # ------------------------------------------------------------------ acknowledgments

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
        ack = unwrap(seg.ack, b.snd.max)
        if (ack == a.rcv.ack and not seg.plen and not seg.flags & FIN and seg.win
                and seg.win == prev_win and a.snd.max is not None
                and seg.seq == a.snd.max & MASK and not b.rtx.probe):
            # Wireshark's duplicate ACK: nothing new at all, and not the answer to a probe.
            a.rcv.dupacks += 1
            self.events.append(ev.DuplicateAck(seg.frame, seg.ts, a.role, b.rel(ack),
                                               a.rcv.dupacks, a.rcv.ack_frame))
        else:
            a.rcv.dupacks = 0
            a.rcv.ack_frame = seg.frame
        a.rcv.ack = ack
        if b.state is State.SYN_RCVD and a.state is not State.SYN_RCVD and b.snd.isn is not None:
            # The handshake's final ACK (RFC 9293 §3.5): it must acknowledge b's SYN and
            # nothing beyond what b sent.
            lowest = b.snd.base + 1
            if ack < lowest or ack > b.snd.max:
                self.events.append(ev.HandshakeBadAck(
                    seg.frame, seg.ts, a.role, b.rtx.synack_frame, b.snd.isn,
                    (b.snd.isn + 1) & MASK, seg.ack))
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
        if a.wnd.edge is not None and not old:
            window = seg.win << a.opts.wscale if self.negotiated[0] else seg.win
            edge = ack + window
            if edge < a.wnd.last:
                self._shrink(seg, a, b, ack, window, edge)
            a.wnd.last = edge
            if edge > a.wnd.edge:
                a.wnd.edge, a.wnd.edge_frame, a.wnd.edge_win = edge, seg.frame, window
            a.wnd.last_ack = ack
            a.wnd.last_ts = seg.ts
        if ack > b.snd.max:
            pending = b.snd.pending
            if pending is None or ack > pending[2]:
                b.snd.pending = (seg.frame, seg.ts, ack,
                             pending[3] if pending else b.snd.max)
            return
        if ack > b.snd.una:
            b.snd.una = ack
            if b.snd.sent:
                b.forget_acked(ack)
            if b.snd.fin is not None and not b.snd.fin_acked and ack > b.snd.fin:
                b.snd.fin_acked = True
                self._step(b, Input.RECV_ACK_OF_FIN, seg)
                if b.state is State.TIME_WAIT:
                    b.ending().tw_since = seg.ts
                elif b.state is State.FIN_WAIT_2:
                    clocks = b.ending()
                    clocks.fw2_since, clocks.fw2_frame = seg.ts, seg.frame
                    self.timers = True
                self._check_done(seg.ts)

    def _shrink(self, seg: Segment, a: Endpoint, b: Endpoint, ack: int, window: int,
                edge: int) -> None:
        """``a`` moved its right edge left (RFC 9293 §3.8.6: "strongly discouraged"): the peer
        may already have sent up to the old edge. An update with the same ACK arriving within
        a round trip of the previous one may simply have been reordered."""
        if ack < a.wnd.last_ack or (ack == a.wnd.last_ack
                                     and seg.ts - a.wnd.last_ts < self.reorder_ns):
            return
        if self.negotiated[0] and a.opts.wscale and a.wnd.last - edge < 1 << a.opts.wscale:
            return  # RFC 7323 §2.4: scaling rounds the window down, retracting it < 2^S
        self.events.append(ev.WindowShrink(seg.frame, seg.ts, a.role, b.rel(a.wnd.last),
                                           b.rel(edge), a.wnd.edge_frame, b.rel(ack), window))

    @staticmethod
    def _advertise(a: Endpoint, edge: int, frame: int, window: int) -> None:
        a.wnd.last = edge
        if a.wnd.edge is None or edge >= a.wnd.edge:
            a.wnd.edge, a.wnd.edge_frame, a.wnd.edge_win = edge, frame, window

    def _resolve_pending(self, a: Endpoint, start: int, seg: Segment, kind: str) -> None:
        """``a`` sends new sequence space from ``start``: settle an earlier over-ACK of it."""
        frame, ts, ack, peer_max = a.snd.pending
        a.snd.pending = None
        peer = self.server if a is self.client else self.client
        if start < ack:
            self.events.append(ev.AckOfUnsentData(
                frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame, a.rel(start), kind))
        else:
            self.events.append(ev.AckOfUnseenSegment(
                frame, ts, peer.role, a.rel(ack), a.rel(peer_max), seg.frame))

    # ------------------------------------------------------------------ data and FIN

    def _data(self, seg: Segment, a: Endpoint, b: Endpoint, idle: int) -> None:
        if a.snd.max is None:
            self._anchor(a, seg.seq, seg.frame)
        elif a.state is State.SYN_RCVD and b.state is not State.SYN_RCVD:
            # A listener sends data only once ESTABLISHED: the ACK of its SYN-ACK reached it
            # even though the capture missed it (a one-sided capture, or capture loss).
            self._step(a, Input.RECV_ACK_OF_SYN, seg)
        seq = unwrap(seg.seq, a.snd.max)
        plen = seg.plen
        end = seq + plen
        fin = seg.flags & FIN
        snd_max = a.snd.max
        top = end + 1 if fin else end
        if a.snd.isn is not None and plen and end <= a.snd.base + 1:
            # Wholly before the first byte after the ISN: never part of this connection.
            self.events.append(ev.SeqOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                                 1, a.rel(b.wnd.edge) if b.wnd.edge else 0))
            return
        if a.snd.pending is not None and top > snd_max:
            self._resolve_pending(a, max(seq, snd_max), seg, "FIN" if fin and not plen
                                  else "data")
        if a.snd.fin is not None and plen and end > a.snd.fin:
            self.events.append(ev.DataAfterFin(seg.frame, seg.ts, a.role, a.snd.fin_frame,
                                               a.rel(a.snd.fin), a.rel(seq), plen))
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
                self._add_gap(a, snd_max, seq)
            if plen and len(seg.payload) == plen:
                a.remember(seq, seg.payload, seg.frame, seg.ts)
            a.snd.bytes += end - max(seq, snd_max)
            a.snd.max = end
            a.snd.max_ts = seg.ts
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
            return False
        self.events.append(ev.DataBeyondWindow(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                               a.rel(edge), b.wnd.edge_win, b.wnd.edge_frame))
        return True

    def _old_data(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, end: int) -> None:
        """Data below the highest sequence sent: reordering or one kind of retransmission."""
        fast = seq == b.rcv.ack and b.rcv.dupacks >= 2
        if self._fill_gap(a, seq, end) and seg.ts - a.snd.max_ts < self.reorder_ns and not fast:
            # Filling a hole promptly is reordering: the sender cannot know of a loss yet.
            self.events.append(ev.OutOfOrder(seg.frame, seg.ts, a.role, a.rel(seq), seg.plen,
                                             seg.ts - a.snd.max_ts))
            return
        if fast:
            # The receiver asked for exactly this byte with duplicate ACKs (RFC 5681 §3.2).
            self.events.append(ev.FastRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                     seg.plen, b.rcv.dupacks))
        elif b.rcv.ack is not None and end <= b.rcv.ack:
            self.events.append(ev.SpuriousRetransmission(seg.frame, seg.ts, a.role, a.rel(seq),
                                                         seg.plen, a.rel(b.rcv.ack)))
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "data", a.rel(seq),
                                                 seg.plen))
            self.events.extend(timers.data_retransmitted(self.profile, self.timing, a,
                                                         b.rtx.last_ts, seq, seg.frame, seg.ts))
        if a.snd.sent and len(seg.payload) == seg.plen:
            differs = a.first_copy_differs(seq, seg.payload)
            if differs is not None:
                self.events.append(ev.RetransmissionDataMismatch(
                    seg.frame, seg.ts, a.role, a.rel(seq), seg.plen, differs[0],
                    a.rel(differs[1])))

    def _probe(self, seg: Segment, a: Endpoint, b: Endpoint, seq: int, plen: int,
               idle: int) -> None:
        """SND.NXT - 1 with at most one byte: a keepalive, or a probe of a zero window."""
        a.rtx.probe = True
        if b.wnd.win == 0:
            self.events.append(ev.ZeroWindowProbe(seg.frame, seg.ts, a.role, a.rel(seq), plen))
        else:
            self.events.append(ev.Keepalive(seg.frame, seg.ts, a.role, a.rel(seq), plen,
                                            idle / 1e9))

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
            if (a.state is State.CLOSE_WAIT and b.snd.fin is not None and seg.flags & ACK
                    and unwrap(seg.ack, b.snd.max) <= b.snd.fin):
                # Its ACK does not cover the peer's FIN: it sent this FIN before that one
                # arrived, a simultaneous close (RFC 9293 §3.6, Figure 13), not CLOSE_WAIT.
                a.state = State.ESTABLISHED
                self._step(a, Input.SEND_FIN, seg)
                self._step(a, Input.RECV_FIN, seg)
            else:
                self._step(a, Input.SEND_FIN, seg)
        elif pos != a.snd.fin:
            self.events.append(ev.FinSeqChanged(seg.frame, seg.ts, a.role, a.snd.fin_frame,
                                                a.rel(a.snd.fin), a.rel(pos)))
            return
        elif not seg.plen:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, "FIN", a.rel(pos), 0))
        b.rcv.fin_frame = seg.frame
        if b.state in SYNCHRONIZED:
            self._step(b, Input.RECV_FIN, seg)
            if b.state is State.TIME_WAIT:
                b.ending().tw_since = seg.ts
            elif b.state is State.CLOSE_WAIT and not b.ending().cw_since:
                clocks = b.teardown
                clocks.cw_since, clocks.cw_frame = seg.ts, seg.frame
                self.timers = True
        self._check_done(seg.ts)

    # ------------------------------------------------------------------ reset

    def _rst(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        if a.snd.max is None:
            self._anchor(a, seg.seq, seg.frame)
        seq = unwrap(seg.seq, a.snd.max)
        if a.snd.pending is not None:
            self._resolve_pending(a, seq, seg, "RST")
        if (a.state is State.TIME_WAIT and a.teardown is not None
                and a.teardown.tw_since is not None
                and seg.ts - a.teardown.tw_since < self.profile.time_wait * 1e9
                and a.rcv.fin_frame > b.snd.fin_frame):
            # The peer's FIN reached a again after a entered TIME_WAIT (a retransmission),
            # and a answered with RST: the state that should have re-ACKed it was gone.
            self.events.append(ev.ResetInTimeWait(
                seg.frame, seg.ts, a.role, a.rcv.fin_frame, (seg.ts - a.teardown.tw_since) / 1e9,
                self.profile.time_wait))
        before = b.state
        verdict = self._rst_verdict(seg, seq, a, b)
        if verdict == "outside":
            self.events.append(ev.RstOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq),
                                                 a.rel(receive_next(a, b)),
                                                 a.rel(self._rst_right_edge(a, b))))
            return
        if verdict == "inexact":
            # RFC 5961 §3.2: the receiver answers with a challenge ACK and keeps the connection.
            self.events.append(ev.RstNotExact(seg.frame, seg.ts, a.role, a.rel(seq),
                                              a.rel(receive_next(a, b))))
            return
        accepted = verdict == "exact"
        refused = before is State.SYN_SENT and not a.rtx.synacks
        if before is State.SYN_SENT and not accepted:
            # Not an answer to b's SYN: b ignores it, and the attempt goes on.
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  False, False))
            return
        if a.state is not State.SYN_SENT:
            # From SYN-SENT a reset answers an unacceptable segment (RFC 9293 §3.10.7.3,
            # <SEQ=SEG.ACK><CTL=RST>) and leaves the sender's own attempt alive.
            self._step(a, Input.SEND_RST, seg)
            if accepted:
                clocks = a.ending()
                clocks.rst_frame, clocks.rst_seq, clocks.rst_ts = seg.frame, seq, seg.ts
        if accepted:
            self._step(b, Input.RECV_RST, seg)
        if not self.close:
            self.close = "refused" if refused and accepted else "reset"
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  refused and accepted, accepted,
                                                  accepted and self._no_connection(seg, a, b)))
        self._check_done(seg.ts)

    @staticmethod
    def _no_connection(seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """Is this RST the reply of a host that has no connection (RFC 9293 §3.10.7.1: "If the
        ACK bit is on, <SEQ=SEG.ACK><CTL=RST>")? It carries no ACK and its sequence number is
        the ACK of the peer's latest segment, which brought data it does not acknowledge; an
        aborting stack acknowledges what it received (Linux sends RST+ACK at SND.NXT)."""
        return (not seg.flags & ACK and b.rcv.ack is not None
                and unwrap(seg.seq, b.rcv.ack) == b.rcv.ack and b.snd.una is not None
                and b.snd.max is not None and b.snd.max > b.snd.una)

    def _rst_verdict(self, seg: Segment, seq: int, a: Endpoint, b: Endpoint) -> str:
        """RFC 9293 §3.10.7 with RFC 5961 §3: ``exact``, ``inexact``, ``outside`` or
        ``ignored`` (the receiver has no synchronized state to judge the RST by)."""
        state = b.state
        if state is State.SYN_SENT:
            # Acceptable only if it acknowledges b's SYN (§3.10.7.3) and, with timestamps,
            # echoes one of b's SYN TSvals: Linux rejects any other TSecr (RFC 7323 §3.2
            # makes TSecr an echo; tcp_rcv_synsent_state_process checks it), which defeats
            # a forged RST that guessed ISN+1.
            ok = bool(seg.flags & ACK) and b.snd.max is not None and (
                unwrap(seg.ack, b.snd.max) == b.snd.max) and self._echoes_syn(seg, b)
            return "exact" if ok else "ignored"
        if state in (State.CLOSED, State.LISTEN):
            return "ignored"
        rcv_nxt = receive_next(a, b)
        if rcv_nxt is None:
            return "exact"
        # b's RCV.NXT lies between its last ACK and everything a sent: capture timing cannot
        # tell where, so any of those is taken as exact.
        highest = rcv_nxt if a.snd.max is None else max(rcv_nxt, a.snd.max)
        if rcv_nxt <= seq <= highest or (seq == rcv_nxt - 1 and state in _FIN_RECEIVED):
            return "exact"
        if rcv_nxt - 1 <= seq < self._rst_right_edge(a, b):
            return "inexact"
        return "outside"

    @staticmethod
    def _echoes_syn(seg: Segment, b: Endpoint) -> bool:
        first = b.opts.syn.tsval if b.opts.syn is not None else None
        if first is None or b.opts.ts_max is None:
            return True
        tsecr = parse_options(seg.options).tsecr if seg.options else None
        if not tsecr:
            return True
        return (tsecr - first) & MASK <= (b.opts.ts_max - first) & MASK

    def _rst_right_edge(self, a: Endpoint, b: Endpoint) -> int:
        rcv_nxt = receive_next(a, b) or 0
        # Positions may be 0 or negative (they start at the first raw number seen): None,
        # not falsiness, says "unknown".
        highest = rcv_nxt if a.snd.max is None else max(rcv_nxt, a.snd.max)
        if self.negotiated is None:
            shift = MAX_WSCALE  # scale unknown: the largest window RFC 7323 allows
        else:
            shift = b.opts.wscale if self.negotiated[0] and b.opts.wscale else 0
        edge = highest + max(b.wnd.win << shift, 1)
        return edge if b.wnd.edge is None else max(b.wnd.edge, edge)

    def _after_rst(self, seg: Segment, a: Endpoint) -> None:
        """A side that reset the connection sent something else on it."""
        clocks = a.ending()
        seq = unwrap(seg.seq, seg.seq if a.snd.max is None else a.snd.max)
        if seg.ts - clocks.rst_ts < self.reorder_ns and (
                seq + seg.plen <= clocks.rst_seq if seg.plen else seq <= clocks.rst_seq):
            return  # sent before the RST, overtaken by it on the way to the capture point
        if clocks.after_rst:
            return
        clocks.after_rst = True
        what = "data" if seg.plen else "FIN" if seg.flags & FIN else "ACK"
        self.events.append(ev.DataAfterRst(seg.frame, seg.ts, a.role, clocks.rst_frame, what))

    # ------------------------------------------------------------------ bookkeeping

    @staticmethod
    def _anchor(e: Endpoint, seq32: int, frame: int) -> None:
        e.snd.base = seq32
        e.snd.una = seq32
        e.snd.max = seq32
        if frame:
            e.snd.isn_frame = frame

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

    def _step(self, e: Endpoint, event: Input, seg: Segment) -> None:
        """Move ``e`` through the state table; an input it has no transition for is recorded
        as an observation, never silence."""
        before = e.state
        if not e.move(event):
            self.events.append(ev.UnexpectedInput(seg.frame, seg.ts, e.role, before.value,
                                                  event.value))

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
            if e.snd.pending is not None:
                frame, ts, ack, peer_max = e.snd.pending
                e.snd.pending = None
                self.events.append(ev.AckOfUnseenSegment(frame, ts, peer.role, e.rel(ack),
                                                         e.rel(peer_max), None))
            if e.oversized is not None:
                t = e.oversized
                self.events.append(ev.OversizedSegment(t.frame, t.ts, e.role, t.count,
                                                       t.largest, peer.opts.mss))
            if e.offloaded is not None:
                t = e.offloaded
                self.events.append(ev.ChecksumOffload(t.frame, t.ts, e.role, t.count))
        if not self.close and not self.midstream:
            if c.rtx.syns and not s.sent_any and c.state is State.SYN_SENT:
                self.close = "half-open"
                # Nothing came back, so nothing shows the SYN ever reached the server.
                s.state = State.LISTEN
                self.events.append(ev.HalfOpen(c.snd.isn_frame, c.rtx.syn_ts, "client", c.rtx.syns,
                                               (c.rtx.last_syn_ts - c.rtx.syn_ts) / 1e9))
            elif s.rtx.synacks and s.state is State.SYN_RCVD:
                self.close = "incomplete"
                self.events.append(ev.HandshakeIncomplete(s.rtx.synack_frame, s.rtx.syn_ts,
                                                          "server", s.rtx.synacks))
        if (not self.close and self.done_at is None and (c.sent_any or s.sent_any)
                and c.state is not State.CLOSED):
            self.events.append(ev.CaptureEndedMidstream(self.last_frame, self.end_ts, "client",
                                                        c.state.value, s.state.value, idle))

    def close_kind(self) -> str:
        """How the connection ended, for the connections table."""
        if self.close:
            return self.close
        c, s = self.client, self.server
        if c.snd.fin is not None and s.snd.fin is not None:
            return "fin"
        if c.snd.fin is not None or s.snd.fin is not None:
            return "half-closed"
        return "open"
