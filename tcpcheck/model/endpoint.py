"""One side of a connection: its TCB, as far as the capture reveals it (RFC 9293 §3.3.1)."""

from __future__ import annotations

from collections import deque

from tcpcheck.host_profiles import SideProfile
from tcpcheck.model.attribution import IpTrail
from tcpcheck.model.seqnum import unwrap
from tcpcheck.model.states import Input, State, step
from tcpcheck.model.stats import Flow
from tcpcheck.options import Options

# Unacknowledged payload remembered per side, to compare retransmissions with the first copy.
# Bounded so a one-sided capture (no ACKs ever seen) or 64 KB TSO segments cannot grow without
# limit: 4 MiB covers the largest window Linux opens on a fast LAN.
MAX_SENT_BYTES = 4 << 20
# First copies the peer acknowledged, still compared with a re-send (an injection race: the
# forged copy is acknowledged first, the genuine one follows within a round trip). The newest
# few only, and each as a digest of its bytes: they stay while the connection is open, so an
# idle connection holds ~200 bytes per copy whatever the segment's size.
ACKED_DIGESTS = 8


class Tally:
    """Segments of one kind a side sent: how many, the first one, and the largest size."""

    __slots__ = ("count", "frame", "ts", "largest")

    def __init__(self, frame: int, ts: int) -> None:
        self.count = 0
        self.frame = frame
        self.ts = ts
        self.largest = 0

    def add(self, size: int = 0) -> None:
        self.count += 1
        self.largest = max(self.largest, size)


class SendSequence:
    """What this side sent (RFC 9293 §3.3.1's send sequence variables, as the capture shows
    them). Positions are unwrapped (see ``tcpcheck.model.seqnum``)."""

    __slots__ = ("isn", "base", "isn_frame", "syn_data", "una", "max", "max_ts", "gaps", "fin",
                 "fin_frame", "fin_acked", "bytes", "pending", "stale_isns", "sent",
                 "sent_bytes", "acked", "unseen", "captured_from", "forged_end", "forged_frame")

    def __init__(self) -> None:
        self.isn: int | None = None  # raw 32-bit ISN from this side's SYN
        self.base: int | None = None  # unwrapped anchor for relative numbers
        self.isn_frame = 0
        self.syn_data = 0  # TCP Fast Open data on the SYN
        self.una: int | None = None  # SND.UNA: highest ACK the peer sent for our data
        self.max: int | None = None  # SND.MAX: highest sequence position we sent
        self.max_ts = 0  # when ``max`` last advanced
        # Holes in our sequence space the capture never saw; a tuple, so the many connections
        # without one share the empty tuple instead of holding an empty list each.
        self.gaps: tuple[tuple[int, int], ...] = ()
        self.fin: int | None = None  # sequence number our FIN occupies
        self.fin_frame = 0
        self.fin_acked = False
        self.bytes = 0  # new sequence space carried as payload
        self.pending: tuple[int, int, int, int] | None = None  # over-ack: frame, ts, ack, max
        self.stale_isns: tuple[int, ...] = ()  # ISNs this side used earlier in the attempt
        self.sent: deque[tuple[int, bytes, int, int]] | None = None  # (seq, payload, frame, ts)
        self.sent_bytes = 0
        # First copies the peer acknowledged, newest last (see ACKED_DIGESTS): (seq, end,
        # frame, hash of the bytes). A tuple, shared empty by the many connections that
        # carried no captured payload.
        self.acked: tuple[tuple[int, int, int, int], ...] = ()
        # Holes the peer's ACK covered before the capture showed their bytes, kept until the
        # bytes show up (capture reordering) or never do (capture loss): (ACK frame, its ts,
        # ACK, hole start, hole end, highest sequence then), positions unwrapped.
        self.unseen: tuple[tuple[int, int, int, int, int, int], ...] = ()
        # Picked up mid-stream behind the peer's ACK: where the capture began showing our data
        # (what lies below was sent before the capture began, not lost by it).
        self.captured_from: int | None = None
        # A FIN a middlebox forged in our name, which the peer took (``InjectionSteps``): the
        # end of our stream as the peer believes it (past that FIN), and the forged frame.
        self.forged_end: int | None = None
        self.forged_frame = 0


class ReceiveSequence:
    """What this side showed it had received: its ACK field (RCV.NXT as far as the capture
    reveals it) and the duplicates of it."""

    __slots__ = ("ack", "dupacks", "ack_frame", "fin_frame", "fin_in_flight", "syn_in_flight")

    def __init__(self) -> None:
        self.ack: int | None = None  # last ACK we sent (unwrapped, the peer's space)
        self.dupacks = 0  # consecutive duplicate ACKs (Wireshark's definition)
        self.ack_frame = 0  # the ACK the duplicates repeat
        self.fin_frame = 0  # the peer's latest FIN frame that reached us
        # The peer's FIN crossed our own: it reaches us when our ACK first covers it.
        self.fin_in_flight = False
        # The peer's SYN crossed our own (simultaneous open): it reaches us when we first
        # acknowledge it.
        self.syn_in_flight = False


class NegotiatedOptions:
    """Handshake options this side announced, and what it sent under them afterwards."""

    __slots__ = ("syn", "syn_win", "mss", "wscale", "ts_max", "ts_max_frame", "paws_reported",
                 "reported")

    def __init__(self) -> None:
        self.syn: Options | None = None  # options of our latest SYN or SYN-ACK
        self.syn_win = 0
        self.mss = 0  # MSS we announced (0: unknown)
        self.wscale: int | None = None
        self.ts_max: int | None = None  # highest TSval we sent (RFC 7323)
        self.ts_max_frame = 0
        self.paws_reported = False
        self.reported: set[tuple[str, str]] | None = None  # (option, problem) already reported


class WindowEdge:
    """The receive window this side advertised for the peer's data (RFC 9293 §3.8.6)."""

    __slots__ = ("win", "edge", "edge_frame", "edge_win", "last", "last_ack", "last_ts", "peak")

    def __init__(self) -> None:
        self.win = 0  # raw window field of our latest segment
        self.edge: int | None = None  # highest right edge (ACK + window) we advertised
        self.edge_frame = 0
        self.edge_win = 0
        self.last: int | None = None  # right edge of our previous advertisement
        self.last_ack = 0
        self.last_ts = 0
        self.peak = 0  # largest window advertised after the handshake, scaled


class RetransmissionClocks:
    """When this side sent its SYNs and its data, to measure its retransmission timers."""

    __slots__ = ("syn_ts", "last_syn_ts", "last_syn_frame", "syns", "synacks", "synack_frame",
                 "timer_synacks", "syn_exceeded", "rto_seq", "rto_ts", "rto_frame",
                 "rto_interval", "rto_n", "last_ts", "probe", "syn_rst_ts", "prior_syns")

    def __init__(self) -> None:
        self.syn_ts = 0
        self.last_syn_ts = 0
        self.last_syn_frame = 0
        self.syns = 0  # SYN (or SYN-ACK) transmissions seen
        self.synacks = 0
        self.synack_frame = 0
        self.timer_synacks = 0  # SYN-ACK retransmissions driven by our timer
        self.syn_exceeded = False
        # Chain of timer-driven retransmissions of one sequence number (RFC 6298 §5.5).
        self.rto_seq: int | None = None
        self.rto_ts = 0  # its latest transmission
        self.rto_frame = 0
        self.rto_interval: int | None = None  # the previous interval of the chain, in ns
        self.rto_n = 0
        self.last_ts = 0  # when we last sent anything
        self.probe = False  # our latest segment was a keepalive or zero-window probe
        # Our latest RST sent from SYN-SENT (answering an unacceptable ACK, §3.10.7.3): Linux
        # then rearms its SYN timer (see ``Profile.syn_rst_rearm``).
        self.syn_rst_ts = 0
        # SYNs sent with this ISN in earlier attempts that a refusal ended: a stack that
        # retries a refused connect with the same ISN kept its timer's backoff (set by the
        # tracker: ``Tracker._open``).
        self.prior_syns = 0


class TeardownClocks:
    """How this side's connection is ending: TIME_WAIT, CLOSE_WAIT and FIN_WAIT_2 clocks, and
    its reset once the peer accepted it."""

    __slots__ = ("tw_since", "cw_since", "cw_frame", "cw_reported", "fw2_since", "fw2_frame",
                 "fw2_reported", "rst_frame", "rst_seq", "rst_ts", "after_rst")

    def __init__(self) -> None:
        self.tw_since: int | None = None
        self.cw_since = 0  # CLOSE_WAIT: when we last did anything (the peer's FIN, our data)
        self.cw_frame = 0
        self.cw_reported = False
        self.fw2_since = 0  # FIN_WAIT_2: when our FIN was acknowledged
        self.fw2_frame = 0
        self.fw2_reported = False
        self.rst_frame = 0  # our reset, once the peer accepted it
        self.rst_seq = 0
        self.rst_ts = 0
        self.after_rst = False


class Endpoint:
    """One side: its RFC 9293 state and its TCB, grouped as the RFC groups it."""

    __slots__ = ("role", "state", "snd", "rcv", "opts", "wnd", "rtx", "teardown", "sent_any",
                 "oversized", "offloaded", "flow", "ip", "chosen", "profile")

    def __init__(self, role: str, state: State, chosen: SideProfile | None = None) -> None:
        self.role = role
        self.state = state
        # The profile this side is judged by and why (``tcpcheck.host_profiles``): its own
        # timers as a sender, its tolerances as a receiver. ``profile`` is ``chosen.profile``,
        # kept as an attribute of its own for the checks that read it per segment.
        self.chosen = chosen
        self.profile = None if chosen is None else chosen.profile
        self.snd = SendSequence()
        self.rcv = ReceiveSequence()
        self.opts = NegotiatedOptions()
        self.wnd = WindowEdge()
        self.rtx = RetransmissionClocks()
        # Started by ``ending()``: most connections a capture holds open never close.
        self.teardown: TeardownClocks | None = None
        self.sent_any = False
        self.oversized: Tally | None = None  # larger than the peer's MSS (TSO/GSO/GRO)
        self.offloaded: Tally | None = None  # checksums holding only the pseudo-header sum
        self.flow = Flow()  # what it sent, measured for the statistics
        self.ip = IpTrail()  # the IP headers its segments came with (who really sent one)

    # What a connection's summary reads of a side (``tcpcheck.lone_syn.LoneSide`` has the same).

    @property
    def bytes(self) -> int:
        """New sequence space this side carried as payload."""
        return self.snd.bytes

    @property
    def syns(self) -> int:
        """SYN (or SYN-ACK) transmissions seen from this side."""
        return self.rtx.syns

    def judged_by(self, chosen: SideProfile) -> None:
        """From now on, this side's profile is ``chosen``'s."""
        self.chosen = chosen
        self.profile = chosen.profile

    def ending(self) -> TeardownClocks:
        """This side's teardown clocks, started on first use."""
        clocks = self.teardown
        if clocks is None:
            clocks = self.teardown = TeardownClocks()
        return clocks

    def open_sequence(self, isn: int, length: int = 0) -> None:
        """Start this side's sequence space at ``isn`` (the raw 32-bit number): its SYN plus
        ``length`` bytes of data.

        A side that already has positions (picked up mid-stream before its SYN was seen, or an
        earlier ISN) gets the new ones in the same unwrapped space, nearest the old: taking
        the raw ISN as a position would put it 2^32 away from them whenever the two lie on
        either side of the wrap, and the findings would depend on where the ISNs happen to be.
        """
        snd = self.snd
        pos = isn if snd.max is None else unwrap(isn, snd.max)
        snd.isn = isn
        snd.base = snd.una = pos
        snd.max = pos + 1 + length
        # The old space's holes and first copies say nothing of the new one, which may overlap
        # them (ISNs a clock drives lie close together: RFC 6528).
        snd.gaps, snd.sent, snd.sent_bytes, snd.acked = (), None, 0, ()
        snd.captured_from = None

    def rel(self, pos: int) -> int:
        """Relative sequence number of an unwrapped position (``seq - ISN``, as Wireshark)."""
        return pos - (self.snd.base or 0)

    def move(self, event: Input) -> bool:
        """Apply one input to the state; False when the (state, input) pair is illegal."""
        self.state, legal = step(self.state, event)
        return legal

    def remember(self, seq: int, payload: bytes, frame: int, ts: int) -> None:
        """Keep a first copy of new payload until the peer acknowledges it."""
        sent = self.snd.sent
        if sent is None:
            sent = self.snd.sent = deque()
        sent.append((seq, payload, frame, ts))
        self.snd.sent_bytes += len(payload)
        while self.snd.sent_bytes > MAX_SENT_BYTES:
            self.snd.sent_bytes -= len(sent.popleft()[1])

    def forget_acked(self, ack: int) -> None:
        """Replace first copies the peer has acknowledged in full by digests, keeping the
        newest ``ACKED_DIGESTS``."""
        snd = self.snd
        sent = snd.sent
        done = []
        while sent and sent[0][0] + len(sent[0][1]) <= ack:
            done.append(sent.popleft())
            snd.sent_bytes -= len(done[-1][1])
        if done:
            # hash() differs between processes, but a connection is replayed in one process.
            snd.acked = (*snd.acked, *((seq, seq + len(data), frame, hash(data))
                                       for seq, data, frame, _ in done[-ACKED_DIGESTS:])
                         )[-ACKED_DIGESTS:]
        if not sent:
            # An empty deque still holds a 600-byte block: most connections sit idle with
            # everything acknowledged, so a capture of many open ones would keep them all.
            self.snd.sent = None

    def first_copy_differs(self, seq: int,
                           payload: bytes) -> tuple[int, int, int | None] | None:
        """(frame of the first copy, position of the first differing byte, None), or None.
        An acknowledged first copy is known by its digest only: it is compared when
        ``payload`` covers it whole, and a difference is (frame, its start, its end)."""
        end = seq + len(payload)
        for start, stop, frame, digest in self.snd.acked:
            if seq <= start and stop <= end and hash(payload[start - seq:stop - seq]) != digest:
                return frame, start, stop
        for start, data, frame, _ in self.snd.sent or ():
            stop = start + len(data)
            if stop <= seq or start >= end:
                continue
            lo, hi = max(seq, start), min(end, stop)
            mine, theirs = payload[lo - seq:hi - seq], data[lo - start:hi - start]
            if mine != theirs:
                first = next(i for i, (x, y) in enumerate(zip(mine, theirs, strict=True))
                             if x != y)
                return frame, lo + first, None
        return None

    def first_sent_at(self, seq: int) -> int | None:
        """When the first copy of the segment starting at ``seq`` was captured."""
        for start, _, _, ts in self.snd.sent or ():
            if start == seq:
                return ts
        return None
