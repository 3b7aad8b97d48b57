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
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from tcpcheck import timers
from tcpcheck.host_profiles import Basis, HostProfiles, SideProfile
from tcpcheck.model import events as ev
from tcpcheck.model.acks import AckSteps
from tcpcheck.model.arrival import syn_challenged
from tcpcheck.model.checksums import PENDING, ChecksumSteps, Held, Unusable
from tcpcheck.model.data import DataSteps
from tcpcheck.model.data_acks import AckSample, DataAckSteps
from tcpcheck.model.endpoint import Endpoint, Tally
from tcpcheck.model.handshake import HandshakeSteps
from tcpcheck.model.injection import InjectionSteps, Suspect
from tcpcheck.model.peer_options import TS_LAYOUT, OptionSteps
from tcpcheck.model.prediction import PredictionSteps
from tcpcheck.model.replies import Owed, ReplySteps
from tcpcheck.model.reply_resets import ResetReplySteps
from tcpcheck.model.reset import ResetSteps
from tcpcheck.model.senders import EarlyText, SenderSteps
from tcpcheck.model.seqnum import HALF, MASK
from tcpcheck.model.states import SYNCHRONIZED, Input, State
from tcpcheck.model.stats import FIRST_KINDS, KIND_RST, KINDS, ConnectionStats, measure
from tcpcheck.profiles import Profile
from tcpcheck.segment import ACK, CSUM_BAD, CSUM_OFFLOAD, FIN, RST, SYN, Segment

# A hole filled within one round trip of the highest segment is reordering, not a
# retransmission: the sender cannot have learnt of a loss sooner. Like Wireshark, the round
# trip is the handshake's, and 3 ms when the handshake was not seen.
REORDER_NS = 3_000_000
_CONTROL = FIN | SYN | RST | ACK | 0x08 | 0x20  # every flag but ECE/CWR
# Flag combinations apply tests on every segment, computed once (globals are not folded).
_SYN_FIN = SYN | FIN
_SYN_RST = SYN | RST
_RST_FIN = RST | FIN
_ACK_SYN_RST = ACK | SYN | RST
_SACK_AFTER_TS = b"\x01\x01\x05"  # after TS_LAYOUT: NOP, NOP, SACK blocks
_TS_HEAD = struct.Struct("!4sI")  # TS_LAYOUT's four bytes and the TSval after them
# States whose entry starts a teardown clock (``Connection._enter``).
_CLOCKED = frozenset({State.TIME_WAIT, State.FIN_WAIT_2, State.CLOSE_WAIT})


class Moment(NamedTuple):
    """Where an input that no segment carries happens: the end of the capture."""

    frame: int
    ts: int


class Connection(HandshakeSteps, OptionSteps, AckSteps, DataSteps, ResetSteps, SenderSteps,
                 ChecksumSteps, ReplySteps, ResetReplySteps, DataAckSteps, PredictionSteps,
                 InjectionSteps):
    """One connection instance (an incarnation of a four-tuple) and its two endpoints.

    ``fast_path=False`` replays every segment through the full ACK and text steps, without
    header prediction (``tcpcheck.model.prediction``): the same result, more slowly.
    """

    __slots__ = (
        "id", "hosts", "client", "server", "client_key", "midstream", "events",
        "first_frame", "last_frame", "start_ts", "end_ts", "packets", "done_at",
        "close", "finished", "lingering", "keys", "reorder_ns", "negotiated", "timers",
        "timing", "revised", "unsettled", "rst_in_flight", "syn_to_older", "early", "held",
        "unusable", "owed", "oow_ts", "answers", "tentative", "watch_hosts", "ack_wait",
        "fast_path", "suspect", "trusted",
    )

    def __init__(self, conn_id: int, profile: Profile, client_key: tuple, midstream: bool,
                 first: Segment, timing: timers.Timing = timers.DEFAULT_TIMING, *,
                 fast_path: bool = True, hosts: HostProfiles | None = None) -> None:
        self.id = conn_id
        self.fast_path = fast_path
        # None: ``profile`` judges both sides; else each side's comes from its own SYN or
        # SYN-ACK (``HandshakeSteps``), a pin, or the RFC's bounds until then.
        self.hosts = hosts
        self.timing = timing
        self.client_key = client_key  # (addr, port) of the client
        self.midstream = midstream
        if hosts is None:
            client = server = SideProfile(profile, Basis.FORCED, f"--profile {profile.name}",
                                          "one profile for every side")
        else:
            client = hosts.unseen(client_key[0])
            server = hosts.unseen(first.dst if first.src == client_key[0]
                                  and first.sport == client_key[1] else first.src)
        # A side whose first packet was a SYN starts CLOSED (active open); the one it reaches
        # is assumed to be LISTENing. Picked up mid-stream, both are assumed ESTABLISHED.
        if midstream:
            self.client = Endpoint("client", State.ESTABLISHED, client)
            self.server = Endpoint("server", State.ESTABLISHED, server)
        else:
            self.client = Endpoint("client", State.CLOSED, client)
            self.server = Endpoint("server", State.LISTEN, server)
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
        # (client?, from frame, state): a side's states read in capture order from that frame
        # on, taken back once its own segment showed what it had received (crossing SYNs or
        # FINs); the timeline's recorder rewrites those steps.
        self.revised: tuple[tuple[bool, int, State], ...] = ()
        # A segment whose receipt waits for evidence: a SYN or FIN that crossed its receiver's
        # own (``ReceiveSequence.syn_in_flight``, ``fin_in_flight``), or a reset sent from
        # SYN-SENT (its receiver and the event it makes). ``unsettled``: one may be waiting.
        self.unsettled = False
        # (receiver, its event, whether only the receiver's own next segment decides: a reset
        # answering an unacceptable ACK, whose sender's own segments prove nothing).
        self.rst_in_flight: tuple[Endpoint, ev.ConnectionReset, bool] | None = None
        # The peer still holds an older connection on this tuple, which takes this one's SYNs
        # (set by the tracker while it holds that instance: ``Tracker._hold``).
        self.syn_to_older = False
        self.early: EarlyText | None = None  # text sent from SYN_RCVD, until the peer answers
        self.held: Held | None = None  # a wrong checksum, until the peer's reply decides
        self.unusable: Unusable | None = None  # what a reply proved of the wrong checksums
        # Replies a receiver owes, until its later segments settle them (``ReplySteps``); when
        # each side last sent an out-of-window ACK or challenge ACK (client, server), for the
        # profile's rate limit; (frame, provoking frame) of the latest reply that answered one.
        self.owed: tuple[Owed, ...] = ()
        self.tentative: tuple[ev.ReplyOwed, ...] = ()  # settled, if the over-ACK was unsent
        # Told when a host without a connection here owes a reset, so its traffic on other
        # connections can show it silent (the tracker's ``_watch``; None: nobody watches).
        self.watch_hosts: Callable[[Connection, Segment], None] | None = None
        self.oow_ts = (0, 0)
        self.answers = (0, 0)
        # The data of (client, server) whose ACK the peer owes (``DataAckSteps``); None: none.
        self.ack_wait: tuple[AckSample | None, AckSample | None] | None = None
        # A reset with a TTL its claimed sender never used, until that sender's next segment
        # shows whether it carried on (``InjectionSteps``); the frame of one found its own.
        self.suspect: Suspect | None = None
        self.trusted = 0

    # ------------------------------------------------------------------ replay

    def apply(self, seg: Segment, from_client: bool) -> None:
        """Replay one segment: sent by one endpoint, received by the other."""
        if self.held is not None and self._hold_back(seg, from_client):
            return
        if self.suspect is not None and self._behind_suspect(seg, from_client):
            return
        if from_client:
            a, b = self.client, self.server
        else:
            a, b = self.server, self.client
        # One unpacking instead of a descriptor call per field read; every field named, as a
        # starred target builds a list per segment.
        frame, ts, _, _, _, _, seq, ack32, flags, win, plen, raw, _, csum, head, _, mac = seg
        self.packets += 1
        self.last_frame = frame
        self.end_ts = ts
        if csum >= CSUM_OFFLOAD and self._checksum(seg, a, from_client):
            return
        if head:
            # Judged before its IP header joins the claimed sender's: a forged reset or FIN
            # is not its sender's (``InjectionSteps``), so nothing below may count it as a's.
            if flags & _RST_FIN and not flags & SYN and self._injected(seg, a, b, from_client):
                return
            trail = a.ip  # ``IpTrail``, inline: TTL (IPv6: hop limit, byte 7), latest headers
            trail.ttls |= 1 << (head[8] if head[0] < 0x60 else head[7])
            trail.before = trail.head
            trail.head = head
            trail.frame = frame
            if mac and mac not in trail.macs:  # and its source MACs, first seen first
                trail.macs += (mac,)
        if self.owed:
            self._answer(seg, from_client)
        if self.ack_wait is not None:
            self._ack_waited(seg, from_client)
        if self.early is not None:
            self._settle_early(seg, from_client)
        if self.timers:
            self._check_timers(ts, a, frame if flags & FIN else None)
        if self.unsettled:
            self._settle(seg, a, b)
        if a.teardown is not None and a.teardown.rst_frame and not flags & RST:
            self._sent_after_reset(seg, a, b)
            return
        if self.close and not flags & RST:
            self._to_no_connection(seg, a, b)
        prev_win = a.wnd.win
        a.wnd.win = win
        a.sent_any = True
        flow = a.flow
        flow.packets += 1
        if flow.unseen & FIRST_KINDS:
            kinds = KINDS[flags | 0x100 if plen else flags]
            if kinds & flow.unseen:
                flow.mark(kinds, frame)
        rtx = a.rtx
        rtx.probe = False
        idle = ts - rtx.last_ts
        rtx.last_ts = ts

        if (flags & _SYN_FIN == _SYN_FIN or flags & _SYN_RST == _SYN_RST
                or not flags & _CONTROL):
            # No receiver acts on these (a stack drops them or answers with a challenge ACK).
            self.events.append(ev.InvalidFlags(seg.frame, seg.ts, a.role, flags))
            return
        if not flags & _ACK_SYN_RST:
            # RFC 9293 §3.10.7.4: "if the ACK bit is off drop the segment".
            self.events.append(ev.MissingAckFlag(seg.frame, seg.ts, a.role, flags,
                                                 a.state.value))
            return
        # RFC 9293 §3.10.7 for b, in its order (see ``tcpcheck.model.arrival``): the SYN and
        # RST steps, then PAWS, the ACK field, and the text and FIN.
        if flags & SYN:
            if not flags & ACK and syn_challenged(seg.seq, a, b):
                self.events.append(ev.SynChallenged(seg.frame, seg.ts, a.role, b.state.value,
                                                    seg.seq))
                self.challenged(seg, from_client)
                return
            self._syn(seg, a, b)
            return
        if flags & RST:
            flow.mark(KIND_RST, frame)
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
            size = len(raw)
            head, tsval = _TS_HEAD.unpack_from(raw) if neg[2] and size >= 12 else (b"", 0)
            if head == TS_LAYOUT and (
                    size == 12 or (neg[1] and raw[12:15] == _SACK_AFTER_TS
                                   and size == 14 + raw[15])):
                # Linux's own layouts (timestamps, then maybe SACK): nothing to parse.
                last = a.opts.ts_max
                if tsval != last:
                    if last is not None and (tsval - last) & MASK < HALF:
                        a.opts.ts_max, a.opts.ts_max_frame = tsval, frame
                    else:
                        old = self._timestamp(seg, a, b, tsval)
            else:
                old = self._options(seg, a, b)
        mss = b.opts.mss
        if mss and plen > mss:
            if a.oversized is None:
                a.oversized = Tally(frame, ts)
            a.oversized.add(plen)
        if self.fast_path and not old and self._predicted(seg, a, b, seq, ack32, flags, win,
                                                          prev_win, plen):
            return
        self._ack(seg, a, b, prev_win, old)
        if plen or flags & FIN:
            self._data(seg, a, b, idle)
        elif a.snd.max is None:
            # First segment of this side mid-stream: anchor its sequence space here.
            self._anchor(a, seq, frame)
        elif seq != a.snd.max & MASK:
            self._pure_out_of_sequence(seg, a, b, idle)
        if not win and not flags & FIN:
            self.events.append(ev.ZeroWindow(frame, ts, a.role, b.rel(a.rcv.ack or 0)))
            flow.window_closed(frame, ts)
        elif not prev_win and win:
            flow.window_opened(ts)

    # ------------------------------------------------------------------ capture artefacts

    def _checksum(self, seg: Segment, a: Endpoint, from_client: bool) -> bool:
        """Note an offloaded checksum; True if the checksum is wrong and the segment is held
        back until the peer's reply shows whether it arrived (``ChecksumSteps``)."""
        if seg.csum == CSUM_BAD:
            return self._wrong_checksum(seg, from_client)
        if a.offloaded is None:
            a.offloaded = Tally(seg.frame, seg.ts)
        a.offloaded.add()
        return False

    # ------------------------------------------------------------------ bookkeeping

    @staticmethod
    def _anchor(e: Endpoint, seq32: int, frame: int) -> None:
        e.snd.base = seq32
        e.snd.una = seq32
        e.snd.max = seq32
        if frame:
            e.snd.isn_frame = frame

    def _step(self, e: Endpoint, event: Input, seg: Segment | Moment) -> None:
        """Move ``e`` through the state table; an input it has no transition for is recorded
        as an observation, never silence. The only place an endpoint's state changes, so the
        work a state starts on entry is done here too (``_enter``)."""
        before = e.state
        if not e.move(event):
            self.events.append(ev.UnexpectedInput(seg.frame, seg.ts, e.role, before.value,
                                                  event.value))
        elif e.state in _CLOCKED and (e.state is not before or event is Input.RECV_FIN):
            self._enter(e, seg)

    def _enter(self, e: Endpoint, seg: Segment | Moment) -> None:
        """Start the clock of a state ``e`` just entered (RFC 9293 §3.10.7.4, eighth: in
        TIME-WAIT a FIN again "restart[s] the 2 MSL time-wait timeout"). CLOSE_WAIT and
        FIN_WAIT_2 are bounded only by the application and the stack's profile: watch them."""
        clocks = e.ending()
        state = e.state
        if state is State.TIME_WAIT:
            clocks.tw_since = seg.ts
        elif state is State.FIN_WAIT_2:
            clocks.fw2_since, clocks.fw2_frame = seg.ts, seg.frame
            self.timers = True
        elif not clocks.cw_since:  # CLOSE_WAIT: a FIN retransmission does not restart it
            clocks.cw_since, clocks.cw_frame = seg.ts, seg.frame
            self.timers = True

    def _syns_crossed(self, a: Endpoint, b: Endpoint, seg: Segment) -> None:
        """``a`` sends its first SYN without ACK after ``b``'s SYN was captured.

        A side that had received a SYN answers it with SYN-ACK: ``a`` had not received
        ``b``'s, so it opened actively, a simultaneous open (RFC 9293 §3.5, Figure 12:
        SYN-SENT, then SYN-RECEIVED). The receipt read in capture order is taken back, from
        ``b``'s SYN on; the SYN reaches ``a`` when ``a`` acknowledges it or ``b``'s next
        segment arrives.
        """
        self._step(a, Input.RETRACT_RECV_SYN, seg)
        a.rcv.syn_in_flight = self.unsettled = True
        self.revised += ((a is self.client, b.snd.isn_frame, a.state),)

    def _settle(self, seg: Segment | Moment, a: Endpoint | None, b: Endpoint | None) -> None:
        """Decide what was waiting for evidence, now that ``a`` sends ``seg`` to ``b`` (both
        None at the end of the capture: then, like any segment seen, it arrived).

        A segment shows what its sender had received when it sent it, and a sender's segments
        reach their receiver in order: b receives what a sent before ``seg`` first.
        """
        for e in (self.client, self.server):
            if e is a:
                if e.rcv.syn_in_flight and seg.flags & ACK:
                    # Its ACK shows it had received the peer's SYN before it sent this.
                    self._arrives(e, Input.RECV_SYN, seg)
                continue
            if e.rcv.syn_in_flight:
                self._arrives(e, Input.RECV_SYN, seg)
            if e.rcv.fin_in_flight:
                self._arrives(e, Input.RECV_FIN, seg)
        if self.rst_in_flight is not None and not (
                self.rst_in_flight[2] and a is not None and self.rst_in_flight[0] is not a):
            receiver, event, _ = self.rst_in_flight
            self.rst_in_flight = None
            if receiver is a:
                # It goes on sending: it was not reset (RFC 5961 §3 lets a receiver ignore
                # what it cannot match, and the RST may have been lost after the tap).
                if not self.close:
                    self.events.append(replace(event, accepted=False, refused=False,
                                               no_connection=False, went_on=True))
            else:
                self._step(receiver, Input.RECV_RST, seg)
                self._reset_settled(event, seg.ts)
        self.unsettled = self.rst_in_flight is not None or any(
            e.rcv.fin_in_flight or e.rcv.syn_in_flight for e in (self.client, self.server))

    def _arrives(self, e: Endpoint, event: Input, seg: Segment | Moment) -> None:
        """The crossed SYN or FIN (``event``) reaches ``e``, unless ``e`` has reset the
        connection meanwhile: CLOSED answers it with a reset and stays (RFC 9293 §3.10.7.1)."""
        if event is Input.RECV_SYN:
            e.rcv.syn_in_flight = False
        else:
            e.rcv.fin_in_flight = False
        if e.state is not State.CLOSED:
            self._step(e, event, seg)

    def _check_done(self, ts: int) -> None:
        if self.done_at is None and all(
                e.state in (State.CLOSED, State.TIME_WAIT) for e in (self.client, self.server)):
            self.done_at = ts

    def _check_timers(self, now: int, sender: Endpoint | None, fin_frame: int | None) -> None:
        for e in (self.client, self.server):
            self.events.extend(timers.teardown(e, now,
                                               fin_frame if e is sender else None))
        self.timers = any(e.state in (State.CLOSE_WAIT, State.FIN_WAIT_2)
                          for e in (self.client, self.server))

    # ------------------------------------------------------------------ end of capture

    def finish(self, now: int | None = None, idle: float | None = None, *,
               stale: bool = False) -> None:
        """The capture is over for this connection: settle what look-ahead left open. ``now``
        is the capture time it stops being followed (the whole capture's last segment at its
        end): a handshake whose answer was due after it is not judged. ``idle`` is the idle
        timeout when that is why the connection is no longer followed. ``stale``: another
        connection of the capture proved its wrong checksums stale, so one held here whose
        reply was not due yet is no evidence of a corrupt link."""
        while self.held is not None:  # replaying what it held back may hold another
            # No reply came: the receiver dropped it, unless the capture ended before the
            # reply was due (its sender's initial RTO) in a trace whose checksums are known
            # to be stale.
            held = self.held
            sender = self.client if held.from_client else self.server
            pending = stale and timers.answer_pending(sender.profile, held.seg.ts, now)
            self._settle_held(None, PENDING if pending else "")
        if self.suspect is not None:
            self._decide_suspect(None, False)  # its sender never carried on: its own reset
        self.finished = True
        if self.timers and now is not None:
            self._check_timers(now, None, None)
        if self.unsettled:
            self._settle(Moment(self.last_frame, self.end_ts), None, None)
        if self.owed or self.tentative:
            self._unjudged()
        c, s = self.client, self.server
        for e, peer in ((c, s), (s, c)):
            if e.snd.unseen:
                self._unseen_at_end(e)
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
                self._step(s, Input.RETRACT_RECV_SYN, Moment(self.last_frame, self.end_ts))
                self.events.append(ev.HalfOpen(c.snd.isn_frame, c.rtx.syn_ts, "client", c.rtx.syns,
                                               (c.rtx.last_syn_ts - c.rtx.syn_ts) / 1e9,
                                               timers.answer_pending(c.profile, c.rtx.syn_ts,
                                                                     now)))
            elif s.rtx.synacks and s.state is State.SYN_RCVD and s.snd.una == s.snd.base:
                # (A listener deferring accept is in SYN_RCVD although the client acknowledged
                # its SYN-ACK: the client did its part, the listener waits for data.)
                self.close = "incomplete"
                self.events.append(ev.HandshakeIncomplete(s.rtx.synack_frame, s.rtx.syn_ts,
                                                          "server", s.rtx.synacks,
                                                          timers.answer_pending(
                                                              s.profile, s.rtx.syn_ts, now)))
        if (not self.close and self.done_at is None and (c.sent_any or s.sent_any)
                and c.state is not State.CLOSED):
            self.events.append(ev.CaptureEndedMidstream(self.last_frame, self.end_ts, "client",
                                                        c.state.value, s.state.value, idle))

    def statistics(self) -> ConnectionStats:
        """What the replay measured of this connection (``tcpcheck.model.stats``)."""
        return measure(self.client, self.server, self.start_ts, self.end_ts,
                       bool(self.negotiated and self.negotiated[2]))

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
