"""Connection steps for RST (RFC 9293 §3.10.7, second: "check the RST bit", with RFC 5961
§3): which reset a receiver accepts, challenges or ignores, and what a side sends after one."""

from __future__ import annotations

from tcpcheck.model import events as ev
from tcpcheck.model.arrival import receive_next, rst_acceptability
from tcpcheck.model.endpoint import Endpoint
from tcpcheck.model.events.replies import ReplyKind
from tcpcheck.model.seqnum import MASK, unwrap
from tcpcheck.model.states import Input, State
from tcpcheck.options import MAX_WSCALE, parse_options
from tcpcheck.segment import ACK, FIN, Segment

# Receiver states in which Linux also takes RCV.NXT - 1 as an exact reset (tcp_reset_check).
_FIN_RECEIVED = frozenset({State.CLOSE_WAIT, State.LAST_ACK, State.CLOSING, State.TIME_WAIT})


class ResetSteps:
    """The RST steps of ``Connection``: a mixin, whose state is ``Connection``\'s."""

    __slots__ = ()

    def _rst(self, seg: Segment, a: Endpoint, b: Endpoint) -> None:
        if a.snd.max is None:
            self._anchor(a, seg.seq, seg.frame)
        seq = unwrap(seg.seq, a.snd.max)
        if a.state is State.SYN_SENT:
            # From SYN-SENT a reset answers an unacceptable ACK (RFC 9293 §3.10.7.3,
            # <SEQ=SEG.ACK><CTL=RST>), whether or not its receiver accepts it: the sender's
            # SYN timer is what it changes (timers.syn_retransmitted).
            a.rtx.syn_rst_ts = seg.ts
        if a.snd.pending is not None:
            self._resolve_pending(a, seq, seg, "RST")
        if (a.state is State.TIME_WAIT and a.teardown is not None
                and a.teardown.tw_since is not None
                and seg.ts - a.teardown.tw_since < a.profile.time_wait * 1e9
                and a.rcv.fin_frame > b.snd.fin_frame
                and b.snd.fin is not None and a.rcv.ack is not None and a.rcv.ack > b.snd.fin):
            # The peer's FIN reached a again after a entered TIME_WAIT (a retransmission),
            # and a answered with RST: the state that should have re-ACKed it was gone. Only
            # when a's ACK had covered that FIN: a FIN a never acknowledged may have been lost
            # past the capture point, and a never in TIME_WAIT at all.
            self.events.append(ev.ResetInTimeWait(
                seg.frame, seg.ts, a.role, a.rcv.fin_frame, (seg.ts - a.teardown.tw_since) / 1e9,
                a.profile.time_wait, a.profile))
        before, before_sender = b.state, a.state
        verdict = self._rst_verdict(seg, seq, a, b)
        if verdict in ("outside", "inexact") and a.state is State.SYN_SENT:
            # The only reset SYN-SENT sends is its reply to an ACK that does not acknowledge
            # its SYN (RFC 9293 §3.10.7.3: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a
            # reset <SEQ=SEG.ACK><CTL=RST>"): right by its sender, whatever its sequence
            # number; a receiver that does not take it as exact drops it, and nothing changes.
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  False, False))
            return
        if verdict == "outside":
            self.events.append(ev.RstOutOfWindow(seg.frame, seg.ts, a.role, a.rel(seq),
                                                 a.rel(receive_next(a, b)),
                                                 a.rel(self._rst_right_edge(a, b))))
            return
        if verdict == "inexact":
            self.events.append(ev.RstNotExact(seg.frame, seg.ts, a.role, a.rel(seq),
                                              a.rel(receive_next(a, b))))
            self._challenge_rst(seg, seq, a, b)
            return
        accepted = verdict == "exact"
        # The reset a SYN-RECEIVED side owed an unacceptable ACK (RFC 9293 §3.10.7.4, fifth):
        # "form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it", and stay in SYN-RECEIVED.
        reply = self.answers[0] == seg.frame and a.state is State.SYN_RCVD
        refused = before is State.SYN_SENT and not a.rtx.synacks
        if before is State.SYN_SENT and not accepted:
            # Not an answer to b's SYN: b ignores it, and the attempt goes on.
            self.events.append(ev.ConnectionReset(seg.frame, seg.ts, a.role, before.value,
                                                  False, False))
            return
        if a.state is not State.SYN_SENT and not reply:
            # From SYN-SENT a reset answers an unacceptable segment (RFC 9293 §3.10.7.3,
            # <SEQ=SEG.ACK><CTL=RST>) and leaves the sender's own attempt alive.
            self._step(a, Input.SEND_RST, seg)
            if accepted:
                clocks = a.ending()
                clocks.rst_frame, clocks.rst_seq, clocks.rst_ts = seg.frame, seq, seg.ts
        event = ev.ConnectionReset(
            seg.frame, seg.ts, a.role, before.value, refused and accepted, accepted,
            accepted and self._no_connection(seg, a, b),
            # Sent from a SYN-SENT TCB, though this connection's sender is past it: the
            # sender's new attempt on the tuple (the tracker routes it here).
            new_attempt=a.rtx.syn_rst_ts == seg.ts and before_sender is not State.SYN_SENT,
            answers=self.answers[1] if reply else 0)
        if accepted and (a.state is State.SYN_SENT or reply) and before is not State.SYN_SENT:
            # From SYN-SENT (or SYN-RECEIVED) a reset only answers a segment its sender found
            # unacceptable (RFC 9293 §3.10.7.3, §3.10.7.4: "<SEQ=SEG.ACK><CTL=RST>"), maybe one
            # a third party forged in b's name: whether b took it shows in what b does next
            # (``_settle``); its sender's own segments (a SYN-ACK again) tell nothing of it.
            self.rst_in_flight = (b, event, reply)
            self.unsettled = True
            return
        if accepted:
            self._step(b, Input.RECV_RST, seg)
        self._reset_settled(event, seg.ts)

    def _challenge_rst(self, seg: Segment, seq: int, a: Endpoint, b: Endpoint) -> None:
        """RFC 5961 §3.2: the receiver answers an in-window, inexact RST with a challenge ACK
        and keeps the connection."""
        rcv_nxt = receive_next(a, b)
        self._owe_ack(ReplyKind.CHALLENGE_RST, seg, a, b,
                      f"RST at seq {a.rel(seq)}, in the window but not RCV.NXT "
                      f"{a.rel(rcv_nxt)}", "RFC 5961 §3.2; RFC 9293 §3.10.7.4")

    def _reset_settled(self, event: ev.ConnectionReset, ts: int) -> None:
        """The connection's first reset is what ended it (when its receiver accepted it)."""
        if not self.close:
            self.close = "refused" if event.refused else "reset"
            self.events.append(event)
        self._check_done(ts)

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
        return rst_acceptability(seq, rcv_nxt, highest, self._rst_right_edge(a, b),
                                 state in _FIN_RECEIVED)

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
