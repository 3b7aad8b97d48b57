"""Per-connection statistics the model measures while it replays (tcptrace ``-l``'s anchor).

Each endpoint holds a ``Flow``: what it sent, measured as the model replays it, never
re-derived by a renderer. The model calls it at a handful of points only, each on a path it
already takes: a segment sent (``Flow.kinds``), new sequence space (``time``), a retransmission
the model classified (``resent``), an ACK of new data (``acked``), the zero-window test. The
hot path pays an attribute read and a comparison per segment; the rest runs once per round
trip or once per kind of segment.

Round-trip time. Like tcptrace and Linux, one sample is outstanding per direction: the first
segment carrying new sequence space while none is timed starts one, and the first ACK covering
its end takes it. Without timestamps Karn's rule applies (RFC 6298 §3: "RTT samples MUST NOT
be made using segments that were retransmitted"): a retransmission overlapping the timed
segment cancels the sample. With timestamps negotiated (RFC 7323 §4) the echo decides
instead: a timed segment that was retransmitted still gives a sample when the ACK's TSecr
echoes the first copy's TSval, which proves the ACK answers that copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tcpcheck.options import parse_options
from tcpcheck.segment import ACK, FIN, RST, SYN, Segment

if TYPE_CHECKING:
    from tcpcheck.model.endpoint import Endpoint

IDLE = 1 << 96
"""``Flow.timed_end`` while no sample is outstanding: above any unwrapped position, so the
model's one comparison ``ack >= timed_end`` is False without a None test."""

# Zeek's history letters (conn.log ``history``), the originator's; the responder's are the
# lower-case ones. One bit each, so a segment's kinds are one table look-up and the
# first-occurrence test one AND.
HISTORY = "SHADFRTW"
_BIT = {letter: 1 << i for i, letter in enumerate(HISTORY)}
_SHIFT = len(HISTORY)
_MASK = (1 << _SHIFT) - 1


def _kinds(flags: int, data: bool) -> int:
    """Zeek's history letters a segment with ``flags`` (and payload when ``data``) adds."""
    bits = 0
    if flags & SYN:
        bits |= _BIT["H"] if flags & ACK else _BIT["S"]
    if flags & FIN:
        bits |= _BIT["F"]
    if flags & RST:
        bits |= _BIT["R"]
    if data:
        bits |= _BIT["D"]
    elif flags & ACK and not flags & (SYN | FIN | RST):
        bits |= _BIT["A"]
    return bits


_LETTERS = tuple("".join(letter for letter, bit in _BIT.items() if bits & bit)
                 for bits in range(1 << len(HISTORY)))
"""The letters of each combination of history bits, in ``HISTORY``'s order."""

KIND_FIN = _BIT["F"]
KIND_RST = _BIT["R"]
FIRST_KINDS = _BIT["A"] | _BIT["D"]
"""Kinds the model looks up per segment until the side has sent both: after them, the rest
(SYN and SYN-ACK come first anyway; FIN, RST, retransmission and zero window) are marked on
the paths the model takes for them."""

KINDS = tuple(_kinds(flags & 0xFF, bool(flags & 0x100)) for flags in range(0x200))
"""History bits by ``flags | 0x100 if payload``: precomputed, the model looks them up."""


class Flow:
    """What one endpoint sent, measured while the model replays it (mutable, per endpoint)."""

    __slots__ = ("packets", "unseen", "marks", "timed_end", "timed_ts", "timed_opts",
                 "timed_resent", "rtt_n", "rtt_sum", "rtt_min", "rtt_max", "resent_segments",
                 "resent_bytes", "zero_since", "zero_ns")

    def __init__(self) -> None:
        self.packets = 0
        self.unseen = (1 << len(HISTORY)) - 1  # history bits not seen yet: one AND per segment
        # (frame, history bits new at it), in capture order; letters only when asked
        # frame << len(HISTORY) | history bits new at it, in capture order: one int per kind,
        # not a pair (every listed connection keeps them); letters only when asked
        self.marks: tuple[int, ...] = ()
        self.timed_end = IDLE  # end of the segment being timed (unwrapped), IDLE: none
        self.timed_ts = 0
        self.timed_opts = b""  # its TCP options, parsed only if a retransmission needs them
        self.timed_resent = False
        self.rtt_n = self.rtt_sum = self.rtt_min = self.rtt_max = 0
        self.resent_segments = self.resent_bytes = 0
        self.zero_since: int | None = None  # when its advertised window closed
        self.zero_ns = 0

    def mark(self, bits: int, frame: int) -> None:
        """Kinds of segment this side sends for the first time (Zeek's history letters)."""
        new = bits & self.unseen
        if new:
            self.marks += (frame << _SHIFT | new,)
            self.unseen &= ~bits

    def time(self, end: int, seg: Segment) -> None:
        """New sequence space up to ``end`` (unwrapped): time it if nothing is timed."""
        if self.timed_end == IDLE:
            self.timed_end, self.timed_ts, self.timed_opts = end, seg.ts, seg.options
            self.timed_resent = False

    def retime(self, end: int, seg: Segment) -> None:
        """A new sequence space (a SYN, or a SYN-ACK with a new ISN): time it, whatever was
        timed in the old one (its ACK can no longer come)."""
        self.timed_end = IDLE
        self.time(end, seg)

    def resent(self, seq: int, data: int, frame: int) -> None:
        """A segment from ``seq``, below the highest sequence sent: a retransmission carrying
        ``data`` payload bytes, or 0 for a SYN or FIN retransmission and for reordered data
        (a hole filled late: the ACK of the timed segment waited for it, so the sample would
        measure the hole, not the path)."""
        if data:
            self.resent_segments += 1
            self.resent_bytes += data
            if self.unseen & _BIT["T"]:
                self.mark(_BIT["T"], frame)
        if seq < self.timed_end:
            # Below the timed segment's end: it, or an earlier segment its ACK also covers,
            # was sent twice, and the ACK may answer either copy.
            self.timed_resent = True

    def acked(self, seg: Segment, timestamps: bool) -> None:
        """The peer's ``seg`` acknowledges the timed segment: take the sample, unless Karn's
        rule or a mismatched timestamp echo makes it ambiguous (module docstring)."""
        if self.timed_resent:
            sent = parse_options(self.timed_opts).tsval if timestamps else None
            if sent is None or parse_options(seg.options).tsecr != sent:
                self.timed_end = IDLE
                return
        rtt = seg.ts - self.timed_ts
        self.timed_end = IDLE
        if self.rtt_n == 0 or rtt < self.rtt_min:
            self.rtt_min = rtt
        if rtt > self.rtt_max:
            self.rtt_max = rtt
        self.rtt_n += 1
        self.rtt_sum += rtt

    def window_closed(self, frame: int, ts: int) -> None:
        """This side advertises a zero window."""
        if self.zero_since is None:
            self.zero_since = ts
            if self.unseen & _BIT["W"]:
                self.mark(_BIT["W"], frame)

    def window_opened(self, ts: int) -> None:
        """This side's window is open (again)."""
        if self.zero_since is not None:
            self.zero_ns += ts - self.zero_since
            self.zero_since = None

    def summary(self, sent: int, peak_window: int | None, gap_bytes: int, end_ts: int,
                duration_ns: int) -> DirectionStats:
        """The finished figures of this side, at the end of the capture (``end_ts``).
        Positional and flat: it runs once per side of every connection listed."""
        zero = self.zero_ns
        if self.zero_since is not None:
            zero += end_ts - self.zero_since
        n = self.rtt_n
        if n:
            rtt_min, rtt_mean, rtt_max = self.rtt_min / 1e9, self.rtt_sum / n / 1e9, \
                self.rtt_max / 1e9
        else:
            rtt_min = rtt_mean = rtt_max = None
        return DirectionStats(
            self.packets, sent, sent * 1e9 / duration_ns if duration_ns > 0 else None,
            self.resent_segments, self.resent_bytes, n, rtt_min, rtt_mean, rtt_max,
            peak_window, zero / 1e9, gap_bytes, self.marks)


class DirectionStats(NamedTuple):
    """What one side sent, as the model measured it (times in seconds)."""

    packets: int
    """Segments this side sent (capture artefacts such as duplicate frames not counted)."""
    bytes: int
    """New sequence space carried as payload (retransmissions not counted)."""
    throughput: float | None
    """``bytes`` over the connection's duration, bytes per second (tcptrace's figure);
    None when the duration is zero."""
    retransmitted_segments: int
    """Data segments the model classified as retransmissions (RTO, fast, spurious)."""
    retransmitted_bytes: int
    rtt_samples: int
    """Round-trip samples of this side's segments (timed by their ACKs from the peer)."""
    rtt_min: float | None
    rtt_mean: float | None
    rtt_max: float | None
    max_window: int | None
    """Largest window this side advertised after the handshake, scaled (None: unknown, when
    the handshake and its window scale were not captured)."""
    zero_window: float
    """Seconds during which this side's advertised window was zero."""
    missed_bytes: int
    """Bytes of this side's sequence space the capture never showed (holes never filled)."""
    marks: tuple[int, ...] = ()
    """Where this side first sent each kind of segment, packed (frame, history bits):
    ``history`` unpacks and names them."""

    @property
    def history(self) -> tuple[tuple[int, str], ...]:
        """(frame, Zeek history letters, upper case) where this side first sent each kind of
        segment (one frame can be the first of two kinds: data with a FIN is "DF")."""
        return tuple([(mark >> _SHIFT, _LETTERS[mark & _MASK]) for mark in self.marks])


class ConnectionStats(NamedTuple):
    """Per-connection statistics: each direction, and the duration."""

    duration: float
    """Seconds from the connection's first segment to its last."""
    client: DirectionStats
    server: DirectionStats
    timestamps: bool
    """RTT samples were matched by timestamp echoes (RFC 7323) rather than Karn's rule."""


def measure(client: Endpoint, server: Endpoint, start_ts: int, end_ts: int,
            timestamps: bool) -> ConnectionStats:
    """The statistics of a connection whose replay ran from ``start_ts`` to ``end_ts``."""
    duration = end_ts - start_ts
    return ConnectionStats(duration / 1e9, _side(client, end_ts, duration),
                           _side(server, end_ts, duration), timestamps)


def _side(e: Endpoint, end_ts: int, duration: int) -> DirectionStats:
    snd = e.snd
    missed = sum([stop - start for start, stop in snd.gaps]) if snd.gaps else 0
    sent = 0
    if snd.max is not None:
        # The sequence space the payload covered, holes filled later included (tcptrace's
        # "unique bytes"), without the SYN and FIN, which occupy one position each.
        sent = (snd.max - snd.base - missed - (snd.isn is not None)
                - (snd.fin is not None and snd.fin < snd.max))
    return e.flow.summary(sent if sent > 0 else 0, e.wnd.peak or None, missed, end_ts,
                          duration)


def lone_syn(frame: int) -> ConnectionStats:
    """The statistics of a connection that is one SYN (``frame``) and nothing else."""
    silent = DirectionStats(0, 0, None, 0, 0, 0, None, None, None, None, 0.0, 0)
    return ConnectionStats(0.0, DirectionStats(1, 0, None, 0, 0, 0, None, None, None, None, 0.0,
                                               0, (frame << _SHIFT | _BIT["S"],)), silent, False)
