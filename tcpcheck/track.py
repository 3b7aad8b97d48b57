"""Connection tracking: map each segment to the connection instance it belongs to.

A four-tuple can carry several connections over time (port reuse after TIME_WAIT or CLOSED);
each is its own instance, numbered in order of appearance like Wireshark's ``tcp.stream``. A
connection whose sides have both reached CLOSED or TIME_WAIT lingers for the profile's TIME_WAIT
so late segments (a retransmitted FIN) still find it, then is finalised and dropped: memory
grows with the open connections, not with the capture.

A live capture runs for hours, and connections whose end it never sees (closed while the capture
was not looking, a host gone silent) would stay forever: with an idle timeout, a sweep every few
seconds of capture time finalises and drops those silent for that long.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from tcpcheck import events as ev
from tcpcheck.model import Connection
from tcpcheck.options import parse_options
from tcpcheck.profiles import Profile
from tcpcheck.segment import ACK, SYN, Segment
from tcpcheck.seqnum import seq_gt
from tcpcheck.states import State
from tcpcheck.timers import DEFAULT_TIMING, Timing

_SYN_ONLY = SYN
# ISNs remembered for isn-weak: a repeat among this many is unlikely by chance (~1 in 65,000
# per new connection with random 32-bit ISNs), so a repeat says more about the stack.
MAX_ISNS = 65_536

SWEEP_EVERY_NS = 5_000_000_000
"""Capture time between two idle sweeps (shorter when the idle timeout is): each sweep visits
every open connection, so it runs every few seconds, never per packet."""
_NEVER = 1 << 64  # a capture time no segment reaches

# The state a connection is counted under in a live view: the side furthest along in the
# connection's life (the active closer's FIN_WAIT or TIME_WAIT), and a handshake in progress
# as the step it waits for: SYN_SENT until a SYN-ACK comes (the observed server is in SYN_RCVD
# from the SYN on), then SYN_RCVD until the last ACK (the client is ESTABLISHED already).
_SHOWN_RANK = {state: rank for rank, state in enumerate((
    State.LISTEN, State.ESTABLISHED, State.SYN_RCVD, State.SYN_SENT, State.CLOSE_WAIT,
    State.FIN_WAIT_1, State.FIN_WAIT_2, State.LAST_ACK, State.CLOSING, State.CLOSED,
    State.TIME_WAIT))}


class Tracker:
    """Routes segments to connections and finalises them when they are over.

    ``on_finished`` is called once per connection, when it is dropped or at ``close()``.
    ``idle_timeout`` (seconds of capture time; None: never) drops connections that have sent
    nothing for that long, finalised as if the capture had ended for them.
    """

    def __init__(self, profile: Profile, on_finished: Callable[[Connection], None],
                 timing: Timing = DEFAULT_TIMING, *, idle_timeout: float | None = None) -> None:
        self.profile = profile
        self.timing = timing
        self.on_finished = on_finished
        # (src, sport, dst, dport) -> (connection, sent by its client?); both directions.
        self._table: dict[tuple, tuple[Connection, bool]] = {}
        self._lingering: deque[tuple[int, Connection]] = deque()
        self._linger_ns = int(profile.time_wait * 1e9)
        self._next_id = 0
        self._now = 0  # capture time of the latest segment
        # (host address, ISN) -> connection id of its first use, for isn-weak; bounded.
        self._isns: dict[tuple[bytes, int], int] = {}
        self._isn_order: deque[tuple[bytes, int]] = deque()
        # Capture time of the next idle sweep (the first segment sets the schedule).
        if idle_timeout is None:
            self._idle_ns = self._sweep_every = self._sweep_at = _NEVER
        else:
            self._idle_ns = int(idle_timeout * 1e9)
            self._sweep_every = max(1, min(SWEEP_EVERY_NS, self._idle_ns))
            self._sweep_at = 0

    @property
    def open_connections(self) -> int:
        return len(self._table) // 2

    def state_counts(self) -> dict[str, int]:
        """Connections still tracked, by state (``ESTABLISHED``, ``TIME_WAIT``...; the side
        furthest along decides), most frequent first.

        Safe to call from another thread while ``feed`` runs (a live view does): it works on
        a copy of the table, which CPython takes in one step under the GIL.
        """
        counts: dict[str, int] = {}
        rank = _SHOWN_RANK
        for conn, sent_by_client in list(self._table.values()):
            if sent_by_client:  # each connection is in the table once under each direction
                state = max(conn.client.state, conn.server.state, key=rank.__getitem__)
                counts[state.value] = counts.get(state.value, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def feed(self, seg: Segment) -> Connection:
        """Apply one segment to its connection (creating one if needed); return it."""
        lingering = self._lingering
        if lingering and lingering[0][0] <= seg.ts:
            self._expire(seg.ts)
        if seg.ts >= self._sweep_at:
            self._sweep(seg.ts)
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        hit = self._table.get(key)
        if hit is None:
            conn = self._open(seg, key, None)
            from_client = conn.client_key == (seg.src, seg.sport)
        else:
            conn, from_client = hit
            if seg.flags & (SYN | ACK) == _SYN_ONLY and self._starts_new_instance(
                    conn, seg, from_client):
                previous = conn
                conn = self._open(seg, key, previous)
                from_client = True
        conn.apply(seg, from_client)
        self._now = seg.ts
        if seg.flags & SYN:
            self._check_isn(conn, seg, from_client)
        if conn.done_at is not None and not conn.lingering:
            conn.lingering = True
            lingering.append((seg.ts + self._linger_ns, conn))
        return conn

    def close(self) -> None:
        """End of capture: finalise every connection still tracked, in order of id."""
        seen = {}
        for conn, _ in self._table.values():
            seen[conn.id] = conn
        for conn in sorted(seen.values(), key=lambda c: c.id):
            self._finalise(conn, self._now)
        self._table.clear()
        self._lingering.clear()

    # ------------------------------------------------------------------ instances

    def _starts_new_instance(self, conn: Connection, seg: Segment, from_client: bool) -> bool:
        """A SYN on a known tuple: retransmission, simultaneous open, or a new connection?"""
        sender = conn.client if from_client else conn.server
        if seg.seq == sender.isn:
            return False  # this connection's own SYN again (retransmitted, or seen late)
        if conn.done_at is not None or conn.close:
            return True  # the old incarnation is over (closed, TIME_WAIT or reset)
        if sender.isn is None:
            # The side has not opened yet: simultaneous open if the peer's SYN is unanswered.
            peer = conn.server if from_client else conn.client
            return not (peer.state is State.SYN_SENT or peer.state is State.SYN_RCVD)
        if sender.state is State.SYN_SENT:
            # A new ISN: still the same attempt unless the stack would have given up by now.
            elapsed = (seg.ts - sender.syn_ts) / 1e9
            return (sender.syns >= self.profile.max_syn_transmissions
                    or elapsed > self.profile.syn_give_up)
        return True  # a new ISN on a tuple past its handshake: the old one was abandoned

    def _open(self, seg: Segment, key: tuple, previous: Connection | None) -> Connection:
        flags = seg.flags
        if flags & SYN and not flags & ACK:
            client_key, midstream = (seg.src, seg.sport), False
        elif flags & SYN:
            client_key, midstream = (seg.dst, seg.dport), False  # the SYN was not captured
        else:
            # Mid-stream: guess the server as the side with the lower port (services listen
            # on low ports, clients use ephemeral ones).
            lower_is_dst = seg.sport >= seg.dport
            client_key = (seg.src, seg.sport) if lower_is_dst else (seg.dst, seg.dport)
            midstream = True
        conn = Connection(self._next_id, self.profile, client_key, midstream, seg,
                          self.timing)
        self._next_id += 1
        if previous is not None:
            self._check_reuse(previous, conn, seg)
            self._finalise(previous, seg.ts)
        reverse = (key[2], key[3], key[0], key[1])
        sent_by_client = client_key == (seg.src, seg.sport)
        self._table[key] = (conn, sent_by_client)
        self._table[reverse] = (conn, not sent_by_client)
        conn.keys = (key, reverse)
        return conn

    def _check_reuse(self, old: Connection, new: Connection, syn: Segment) -> None:
        """RFC 6191: reopening a tuple while a side is in TIME_WAIT needs proof of freshness."""
        tw = next((e for e in (old.client, old.server) if e.state is State.TIME_WAIT), None)
        if tw is None or tw.tw_since is None:
            return
        since = (syn.ts - tw.tw_since) / 1e9
        if since >= self.profile.time_wait:
            return
        sender = old.client if old.client_key == (syn.src, syn.sport) else old.server
        new_ts = parse_options(syn.options).tsval
        old_ts = sender.ts_max
        final_seq = (sender.snd_max or 0) & 0xFFFFFFFF
        reasons = []
        if new_ts is not None and old_ts is not None and seq_gt(new_ts, old_ts):
            reasons.append(f"its TSval {new_ts} is newer than the old connection's {old_ts}")
        if sender.snd_max is not None and seq_gt(syn.seq, final_seq):
            reasons.append(f"its ISN {syn.seq} lies beyond the old connection's final "
                           f"sequence number {final_seq}")
        if reasons:
            reason = " and ".join(reasons)
        else:
            parts = [f"its ISN {syn.seq} is not beyond the old final sequence number {final_seq}"]
            if new_ts is None or old_ts is None:
                parts.append("timestamps were not in use on both connections")
            else:
                parts.append(f"its TSval {new_ts} is not newer than {old_ts}")
            reason = "; ".join(parts)
        new.events.append(ev.TupleReopened(
            syn.frame, syn.ts, "client", old.id, tw.role, since, self.profile.time_wait,
            bool(reasons), reason))

    # ------------------------------------------------------------------ expiry

    def _expire(self, now: int) -> None:
        lingering = self._lingering
        while lingering and lingering[0][0] <= now:
            _, conn = lingering.popleft()
            if conn.finished:
                continue
            self._forget(conn)
            self._finalise(conn, now)

    def _sweep(self, now: int) -> None:
        """Finalise and drop the connections idle for longer than the idle timeout."""
        self._sweep_at = now + self._sweep_every
        oldest = now - self._idle_ns
        # Each connection is in the table under both directions: take it once.
        idle = [conn for conn, sent_by_client in self._table.values()
                if sent_by_client and conn.end_ts < oldest]
        for conn in sorted(idle, key=lambda c: c.id):
            self._forget(conn)
            self._finalise(conn, now, self._idle_ns / 1e9)

    def _forget(self, conn: Connection) -> None:
        for key in conn.keys:
            hit = self._table.get(key)
            if hit is not None and hit[0] is conn:
                del self._table[key]

    def _finalise(self, conn: Connection, now: int, idle: float | None = None) -> None:
        if conn.finished:
            return
        conn.finish(now, idle)
        self.on_finished(conn)

    # ------------------------------------------------------------------ ISNs

    def _check_isn(self, conn: Connection, seg: Segment, from_client: bool) -> None:
        """RFC 6528: an ISN of 0, or one the same host used for an earlier connection."""
        sender = conn.client if from_client else conn.server
        if sender.isn_frame != seg.frame:
            return  # a retransmitted SYN, or not the one that opened this side
        if seg.seq == 0:
            conn.events.append(ev.IsnWeak(seg.frame, seg.ts, sender.role, 0, None))
            return
        key = (seg.src, seg.seq)
        first = self._isns.get(key)
        if first is None:
            self._isns[key] = conn.id
            self._isn_order.append(key)
            if len(self._isn_order) > MAX_ISNS:
                del self._isns[self._isn_order.popleft()]
        elif first != conn.id:
            conn.events.append(ev.IsnWeak(seg.frame, seg.ts, sender.role, seg.seq, first))
