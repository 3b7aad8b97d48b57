"""Connection steps for SYN and SYN-ACK: opening a sequence space, retransmitted and changed
SYNs, the options a handshake negotiates, and the SYN-ACK's ACK (RFC 9293 §3.5, §3.10.7.2-3)."""

from __future__ import annotations

from tcpcheck import timers
from tcpcheck.model import events as ev
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.seqnum import MASK, unwrap
from tcpcheck.model.states import Input, State
from tcpcheck.options import MAX_WSCALE, parse_options
from tcpcheck.segment import ACK, Segment

# A SYN-ACK this soon after the peer's retransmitted SYN answers it (not the SYN-ACK timer).
ANSWER_NS = 100_000_000


def _too_large(shift: int | None) -> bool:
    """A window-scale shift RFC 7323 §2.3 does not allow (the receiver uses 14 instead)."""
    return shift is not None and shift > MAX_WSCALE


def _held_ack(a: Endpoint, b: Endpoint) -> int:
    """The frame of ``b``'s ACK of ``a``'s SYN-ACK, when ``b`` has sent nothing but bare ACKs
    (no data, no FIN) and ``a`` nothing but SYN-ACKs; 0 otherwise.

    A Linux listener with TCP_DEFER_ACCEPT drops such an ACK (tcp_check_req: "While
    TCP_DEFER_ACCEPT is active, drop bare ACK"); data or a FIN would have completed accept
    (so would TCP Fast Open data on the SYN), and a listener sends no data before it.
    """
    held = (a.snd.una is not None and a.snd.base is not None and a.snd.una > a.snd.base
            and not a.snd.bytes and not b.snd.bytes and not b.snd.syn_data
            and b.snd.fin is None)
    return b.rcv.ack_frame if held else 0


class HandshakeSteps:
    """The SYN and SYN-ACK steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _syn(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        has_ack = seg.flags & ACK
        what = "SYN-ACK" if has_ack else "SYN"
        opts = parse_options(seg.options)
        first = a.snd.isn is None
        restart = bool(has_ack) and not first and seg.seq != a.snd.isn and (
            self._answers_a_new_attempt(seg, a, b))
        if restart:
            self._abandon_attempt(a, b)
        if first or restart:
            if self.hosts is not None:
                a.judged_by(self.hosts.of_syn(seg))
            a.open_sequence(seg.seq, seg.plen)
            a.snd.isn_frame = seg.frame
            a.rtx.syn_ts = seg.ts
            a.snd.syn_data = seg.plen
            a.snd.max_ts = seg.ts
            a.flow.retime(a.snd.max, seg)
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
                    a.profile.initial_rto):
                # Sooner than any SYN timeout: another opener on the same port (a scanner or
                # SYN flood tool), not this attempt's retransmission.
                self.events.append(ev.ConcurrentSyn(
                    seg.frame, seg.ts, a.role, a.rtx.last_syn_frame, a.snd.isn, seg.seq,
                    (seg.ts - a.rtx.last_syn_ts) / 1e9, a.profile))
            else:
                self.events.append(ev.SynIsnChanged(
                    seg.frame, seg.ts, a.role, a.snd.isn_frame, a.snd.isn, seg.seq,
                    (seg.ts - a.rtx.syn_ts) / 1e9, a.profile))
            # The peer can only answer the newest ISN: follow it, unless it visibly accepted
            # the first SYN-ACK (its ACK of the old ISN + 1 was captured); then the connection
            # goes on in the old sequence space and the new SYN-ACK is answered with a
            # challenge ACK. Without that ACK the first SYN-ACK most likely never reached it.
            if not has_ack or b.state is State.SYN_SENT or a.snd.una == a.snd.base:
                a.snd.stale_isns += (a.snd.isn,)
                a.open_sequence(seg.seq, seg.plen)
                if has_ack:
                    b.wnd.edge = b.wnd.last = None  # the peer's window was for the old space
        else:
            self.events.append(ev.Retransmission(seg.frame, seg.ts, a.role, what, 0, seg.plen))
            a.flow.resent(a.snd.base, 0, seg.frame)
            if has_ack:
                timed = timers.synack_retransmitted(
                    self.timing, a, b.rtx.last_syn_ts,
                    max(ANSWER_NS, 3 * self.reorder_ns), seg.frame, seg.ts,
                    held_ack=_held_ack(a, b))
                self.events.extend(timed)
                if timed and type(timed[-1]) is ev.AcceptDeferred:
                    self._accept_deferred(a, timed[-1].ack_frame, seg)
            elif a.rtx.syns:
                # (Not when the side's sequence space was only inferred from a SYN-ACK: the
                # first SYN was not captured, so there is no schedule to measure from.)
                self.events.extend(timers.syn_retransmitted(self.timing, a, seg.frame,
                                                            seg.ts))
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
            if first and a.state is State.SYN_RCVD:
                self._syns_crossed(a, b, seg)
            self._step(a, Input.SEND_SYN, seg)
            if not self.syn_to_older:
                self._step(b, Input.RECV_SYN, seg)

    def _accept_deferred(self, a: Endpoint, ack_frame: int, seg: Segment) -> None:
        """``a``, a listener deferring accept, dropped the peer's bare ACK at ``ack_frame``
        (tcp_check_req: "While TCP_DEFER_ACCEPT is active, drop bare ACK"), as its SYN-ACK
        sent again shows: it stayed in SYN-RECEIVED from that ACK on, and the peer's ACK of
        this copy (or its data) completes the handshake."""
        if a.state is State.ESTABLISHED:
            self._step(a, Input.RETRACT_RECV_ACK_OF_SYN, seg)
            self.revised += ((a is self.client, ack_frame, a.state),)

    @staticmethod
    def _answers_a_new_attempt(seg: Segment, a: Endpoint, b: Endpoint) -> bool:
        """Is a SYN-ACK with a new ISN the answer of a side that abandoned its first attempt?

        RFC 9293 §3.10.7.4 lets a passive OPEN in SYN-RECEIVED return to LISTEN, and a
        listener answers a SYN with a new ISS (§3.10.7.2): a restarted server, or one that
        dropped its request, answers the peer's retransmitted SYN that way. The capture shows
        it when the peer sent its SYN again after ``a``'s previous SYN-ACK (so the peer never
        accepted that one: it was still in SYN-SENT), never acknowledged ``a``'s old ISN, and
        this SYN-ACK acknowledges the peer's SYN. A new ISN without that evidence is a
        retransmission that changed its ISN (synack-isn-changed).
        """
        isn = b.snd.isn
        return (a.rtx.synacks > 0 and isn is not None and not b.rtx.synacks
                and b.rtx.last_syn_frame > a.rtx.last_syn_frame
                and a.snd.una == a.snd.base
                and seg.ack in ((isn + 1) & MASK, (isn + 1 + b.snd.syn_data) & MASK))

    @staticmethod
    def _abandon_attempt(a: Endpoint, b: Endpoint) -> None:
        """``a`` gave up its attempt: its SYN-ACK clocks and the window the peer offered its
        old sequence space start again with the new ISN."""
        a.snd.stale_isns += (a.snd.isn,)
        a.rtx.synacks = a.rtx.timer_synacks = 0
        a.rtx.syn_exceeded = False
        b.wnd.edge = b.wnd.last = None

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
        if b.snd.una >= b.flow.timed_end:
            b.flow.acked(seg, bool(self.negotiated and self.negotiated[2]))
        if self.negotiated is not None:
            # The windows of both SYNs are unscaled (RFC 7323 §2.2): each side's first right
            # edge is known once the SYN-ACK tells where the peer's sequence space starts.
            self._advertise(a, b.snd.una + a.opts.syn_win, seg.frame, a.opts.syn_win)
            if b.wnd.edge is None and a.snd.isn is not None:
                self._advertise(b, a.snd.base + 1 + b.opts.syn_win, b.snd.isn_frame, b.opts.syn_win)
        if b.state in (State.SYN_SENT, State.SYN_RCVD):
            self._step(b, Input.RECV_SYN_ACK, seg)
