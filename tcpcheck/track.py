"""Connection tracking: map each segment to the connection instance it belongs to.

A four-tuple can carry several connections over time (port reuse after TIME_WAIT or CLOSED);
each is its own instance, numbered in order of appearance like Wireshark's ``tcp.stream``. A
connection whose sides have both reached CLOSED or TIME_WAIT lingers for the profile's TIME_WAIT
so late segments (a retransmitted FIN) still find it, then is finalised and dropped: memory
grows with the open connections, not with the capture. A SYN reaching a tuple whose peer still
holds the old connection synchronized starts the new instance but keeps the old one reachable
until it is settled: the peer's challenge ACK and the RST that answers it belong to the old
one's sequence space (``tcpcheck.instances``).

A SYN that opens a connection and is all the connection has sent so far (a flood sends
millions of them, never answered) is kept packed in a few dozen bytes instead of as a model:
it becomes a full ``Connection``, replayed from that SYN, when anything else arrives on its
four-tuple or when it is finalised. Memory per open connection is then about 0.2 KB for such
a lone SYN (bench/README.md has the measurements); ``tcpcheck.lone_syn`` holds the packing
and ``LoneSyn``, what such a connection is once finished.

A live capture runs for hours, and connections whose end it never sees (closed while the capture
was not looking, a host gone silent) would stay forever: with an idle timeout, a sweep every few
seconds of capture time finalises and drops those silent for that long.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator

from tcpcheck.duplicates import Copies
from tcpcheck.host_profiles import HostProfiles
from tcpcheck.instances import Instances
from tcpcheck.lone_syn import LONE, PORTS, LoneSyn, pack_lone, unpack_lone
from tcpcheck.model import events as ev
from tcpcheck.model.connection import Connection
from tcpcheck.model.states import State
from tcpcheck.profiles import Profile
from tcpcheck.segment import (
    ACK,
    COPY_EXACT,
    COPY_REPEAT,
    CSUM_OFFLOAD,
    FIN,
    RST,
    SYN,
    Segment,
)
from tcpcheck.timers import DEFAULT_TIMING, Timing
from tcpcheck.twins import TwinRun, Twins

_SYN_ONLY = SYN
_SYN_ACK = SYN | ACK
_OPENING = SYN | ACK | RST | FIN
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


class Tracker(Instances):
    """Routes segments to connections and finalises them when they are over.

    ``on_finished`` is called once per connection, when it is dropped or at ``close()``.
    ``idle_timeout`` (seconds of capture time; None: never) drops connections that have sent
    nothing for that long, finalised as if the capture had ended for them. ``lone_syns=False``
    gives every connection its model from its first segment (a caller that records each
    segment's effect on the model needs that). ``fast_path=False`` gives the connections
    no header prediction (``tcpcheck.model.prediction``).
    """

    def __init__(self, profile: Profile,
                 on_finished: Callable[[Connection | LoneSyn], None],
                 timing: Timing = DEFAULT_TIMING, *, idle_timeout: float | None = None,
                 lone_syns: bool = True, fast_path: bool = True,
                 hosts: HostProfiles | None = None) -> None:
        self.profile = profile
        self.hosts = hosts
        self._fast_path = fast_path
        self.timing = timing
        self.on_finished = on_finished
        # (src, sport, dst, dport) -> (connection, sent by its client?); both directions.
        self._table: dict[tuple, tuple[Connection, bool]] = {}
        # Lone SYNs (see the module's docstring), in order of id: packed four-tuple -> packed
        # SYN.
        self._lone: dict[bytes, bytes] = {}
        self._lone_syns = lone_syns
        self._lingering: deque[tuple[int, Connection]] = deque()
        # A closed connection is kept as long as its TIME_WAIT side may still answer on it:
        # with a profile per side, the longest TIME_WAIT any side may be given.
        self._linger_ns = int((profile.time_wait if hosts is None
                               else hosts.longest_time_wait) * 1e9)
        self._next_id = 0
        self._now = 0  # capture time of the latest segment
        self._passed = 0  # the latest capture time ``pass_by`` was told of
        # (host address, ISN) -> connection id of its first use, for isn-weak; bounded.
        self._isns: dict[tuple[bytes, int], int] = {}
        self._isn_order: deque[tuple[bytes, int]] = deque()
        # Per connection, its current run of exact copies of recent frames (the decoder marks
        # each copy: tcpcheck.duplicates).
        self._copies: dict[int, Copies] = {}
        # A connection of this capture proved its wrong checksums stale (an anonymised
        # trace), as far as this process has seen: ``Connection.finish``'s ``stale``.
        self._stale = False
        self.twins = Twins()
        """Marks the copies of a second capture point and a repeated trace in the stream of
        segments (``Twins.filter``), which this tracker then sets aside."""
        # Per connection, its twins (``tcpcheck.twins``), reported when it is finalised.
        self._twin_runs: dict[int, TwinRun] = {}
        # A new instance's id -> the instance it replaced on its tuple while that one is not
        # settled yet (see ``_hold``).
        self._held: dict[int, Connection] = {}
        # (host, peer host) -> connections where that host owes the peer a reset on a tuple it
        # has no connection on (``Connection.host_spoke``); empty but for those rare moments.
        self._silent: dict[tuple[bytes, bytes], list[Connection]] = {}
        self.linked = False
        """True once something tied connections together: a host whose traffic on other
        connections shows it silent (``_watch``), a host's ISN repeated across connections
        (isn-weak), or the trace repeated (``tcpcheck.twins``). ``--jobs`` runs each
        connection in one process and cannot see those."""
        self.isn_keys: set[tuple[bytes, int]] | None = None
        """Set to a set to collect every (host, ISN) remembered for isn-weak (``--jobs``
        compares them across processes)."""
        # Capture time of the next idle sweep (the first segment sets the schedule).
        if idle_timeout is None:
            self._idle_ns = self._sweep_every = self._sweep_at = _NEVER
        else:
            self._idle_ns = int(idle_timeout * 1e9)
            self._sweep_every = max(1, min(SWEEP_EVERY_NS, self._idle_ns))
            self._sweep_at = 0

    @property
    def open_connections(self) -> int:
        return len(self._table) // 2 + len(self._lone) + len(self._held)

    def state_counts(self) -> dict[str, int]:
        """Connections still tracked, by state (``ESTABLISHED``, ``TIME_WAIT``...; the side
        furthest along decides), most frequent first.

        Safe to call from another thread while ``feed`` runs (a live view does): it works on
        a copy of the table, which CPython takes in one step under the GIL.
        """
        counts: dict[str, int] = {}
        rank = _SHOWN_RANK
        # Each connection is in the table once under each direction; held ones are not in it.
        tracked = [conn for conn, sent_by_client in list(self._table.values()) if sent_by_client]
        for conn in tracked + list(self._held.values()):
            state = max(conn.client.state, conn.server.state, key=rank.__getitem__)
            counts[state.value] = counts.get(state.value, 0) + 1
        lone = len(self._lone)
        if lone:  # the client in SYN_SENT is the furthest along (see _SHOWN_RANK)
            counts[State.SYN_SENT.value] = counts.get(State.SYN_SENT.value, 0) + lone
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def feed(self, seg: Segment) -> Connection | None:
        """Apply one segment to its connection (creating one if needed); return it, or None
        when the segment is a lone SYN kept packed (the model would have noted nothing)."""
        # One unpacking: each field of a Segment read by name is a descriptor call.
        _, ts, src, sport, dst, dport, _, _, flags, _, _, _, _, _, _, copy, _ = seg
        lingering = self._lingering
        if lingering and lingering[0][0] <= ts:
            self._expire(ts)
        if ts >= self._sweep_at:
            self._sweep(ts)
        key = (src, sport, dst, dport)
        hit = self._table.get(key)
        if hit is None and self._lone:
            hit = self._adopt(seg)
        if copy and copy != COPY_EXACT:
            return self._twin(seg, hit)
        if copy and hit is not None:
            return self._copy(seg, *hit)
        if hit is None:
            if (flags & _OPENING == SYN and not seg.plen and self._lone_syns
                    and self._keep_lone(seg)):
                self._now = ts
                return None
            conn = self._open(seg, key, None)
            from_client = conn.client_key == (src, sport)
        else:
            conn, from_client = hit
            if self._held and conn.id in self._held:
                conn, from_client = self._route_held(conn, seg, from_client)
            if flags & _SYN_ACK == _SYN_ONLY and self._starts_new_instance(
                    conn, seg, from_client):
                previous = conn
                conn = self._open(seg, key, previous)
                from_client = True
        conn.apply(seg, from_client)
        self._now = ts
        if self._silent:
            self._host_spoke(conn, seg)
        if self._copies:
            self._end_copies(conn)
        if flags & SYN:
            self._check_isn(conn, seg, from_client)
        if conn.done_at is not None and not conn.lingering:
            conn.lingering = True
            lingering.append((ts + self._linger_ns, conn))
        return conn

    def pass_by(self, ts: int) -> None:
        """A segment this tracker is not fed (another process's, with ``--jobs``) was
        captured at ``ts``: end what feeding it would have ended, at the same capture time.

        Not past a segment of this process still held back for its twin (``self.twins``):
        that one comes first, as it does when one process is fed everything; the end of the
        capture (``close``) is the latest time passed all the same."""
        self._passed = max(self._passed, ts)
        ts = min(ts, self.twins.held_since)
        lingering = self._lingering
        if lingering and lingering[0][0] <= ts:
            self._expire(ts)
        if ts >= self._sweep_at:
            self._sweep(ts)
        self._now = ts

    @property
    def next_expiry(self) -> int:
        """The capture time at which a lingering connection ends next (``pass_by`` before then
        changes nothing but the current time)."""
        lingering = self._lingering
        return lingering[0][0] if lingering else _NEVER

    def close(self) -> None:
        """End of capture: finalise every connection still tracked, in order of id."""
        seen = {}
        for conn, _ in self._table.values():
            seen[conn.id] = conn
        tracked = sorted(seen.values(), key=_by_id)
        if any(conn.unusable is not None for conn in tracked):
            self._stale = True
        lone, self._lone = self._lone, {}
        # One at a time: a flood's lone SYNs never all exist as objects at once.
        for conn in heapq.merge(tracked, self._finished_lone(lone, list(lone)), key=_by_id):
            self._finalise(conn, max(self._now, self._passed))
        self._table.clear()
        self._lingering.clear()

    def _copy(self, seg: Segment, conn: Connection, from_client: bool) -> Connection:
        """A duplicate frame: a packet of its connection, not applied to its model."""
        self._counted(seg, conn)
        self._now = seg.ts
        copies = self._copies.get(conn.id)
        if copies is None:
            copies = self._copies[conn.id] = Copies(seg.frame, seg.ts,
                                                    "client" if from_client else "server")
        copies.add(from_client)
        return conn

    def _twin(self, seg: Segment, hit: tuple[Connection, bool] | None) -> Connection | None:
        """A copy ``tcpcheck.twins`` set aside: a twin (a packet of its connection, not
        applied), or the first frame of a repeated trace, noted on its connection (the one of
        the latest segment when that one is gone: the repeat is the capture's, not its)."""
        if seg.copy == COPY_REPEAT:
            # Each ``--jobs`` process sees the repeat start at its own first segment: the
            # repeat is one finding of the whole capture, which one process gives.
            self.linked = True
            if hit is None and self._table:
                hit = next(reversed(self._table.values()))
            if hit is None or self.twins.repeat is None:
                return None
            conn, from_client = hit
            conn.events.append(self.twins.repeat.event("client" if from_client else "server"))
            return conn
        if hit is None:
            return None  # its kept twin went first: only a connection gone since
        conn = hit[0]
        self._counted(seg, conn)
        if conn.id not in self._twin_runs:
            run = self.twins.run_of(seg)
            if run is not None:
                self._twin_runs[conn.id] = run
        return conn

    @staticmethod
    def _counted(seg: Segment, conn: Connection) -> None:
        """``seg``, a copy, is one more packet of ``conn`` (which its model does not see): a
        twin set aside may have been captured before the first segment applied."""
        conn.packets += 1
        conn.first_frame = min(conn.first_frame, seg.frame)
        conn.last_frame = max(conn.last_frame, seg.frame)
        conn.start_ts = min(conn.start_ts, seg.ts)
        conn.end_ts = max(conn.end_ts, seg.ts)

    def _end_copies(self, conn: Connection) -> None:
        """A segment of ``conn`` that is not a copy: the end of its run of copies, if any?"""
        run = self._copies.get(conn.id)
        if run is not None and run.ends_at_original():
            conn.events.append(run.event())
            del self._copies[conn.id]

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
        lone = self._lone
        quiet = [key for key, packed in lone.items() if LONE.unpack_from(packed)[2] < oldest]
        for conn in heapq.merge(sorted(idle, key=_by_id), self._finished_lone(lone, quiet),
                                key=_by_id):
            self._forget(conn)
            self._finalise(conn, now, self._idle_ns / 1e9)

    def _watch(self, conn: Connection, seg: Segment) -> None:
        """``seg``'s receiver owes a reset on a four-tuple it has no connection on: what its
        host sends to the sender's host on other connections shows whether it is silent."""
        self.linked = True
        waiting = self._silent.setdefault((seg.dst, seg.src), [])
        if conn not in waiting:
            waiting.append(conn)

    def _host_spoke(self, conn: Connection, seg: Segment) -> None:
        key = (seg.src, seg.dst)
        waiting = self._silent.get(key)
        if waiting is None:
            return
        still = [other for other in waiting if other is conn or other.host_spoke(seg)]
        if still:
            self._silent[key] = still
        else:
            del self._silent[key]

    def _unwatch(self, conn: Connection) -> None:
        for key, waiting in list(self._silent.items()):
            if conn in waiting:
                waiting.remove(conn)
                if not waiting:
                    del self._silent[key]

    def _forget(self, conn: Connection | LoneSyn) -> None:
        for key in conn.keys:
            hit = self._table.get(key)
            if hit is not None and hit[0] is conn:
                del self._table[key]

    def _finalise(self, conn: Connection | LoneSyn, now: int,
                  idle: float | None = None) -> None:
        if conn.finished:
            return
        held = self._held.pop(conn.id, None) if self._held else None
        if held is not None:
            self._finalise(held, now, idle)
        copies = self._copies.pop(conn.id, None)
        if copies is not None:
            conn.events.append(copies.event())
        twins = self._twin_runs.pop(conn.id, None) if self._twin_runs else None
        if twins is not None:
            conn.events.append(twins.event(conn.client_key))
            self.twins.forget(twins)
        if self._silent:
            self._unwatch(conn)
        if isinstance(conn, Connection):
            if self._stale and conn.held is not None:
                self.linked = True  # another connection's checksums decide this one's
            conn.finish(now, idle, stale=self._stale)
            self._stale = self._stale or conn.unusable is not None
        else:
            conn.finish(now, idle)
        self.on_finished(conn)

    # ------------------------------------------------------------------ ISNs

    def _check_isn(self, conn: Connection, seg: Segment, from_client: bool) -> None:
        """RFC 6528: an ISN of 0, or one the same host used for an earlier connection."""
        sender = conn.client if from_client else conn.server
        if sender.snd.isn_frame != seg.frame:
            return  # a retransmitted SYN, or not the one that opened this side
        if seg.seq == 0:
            conn.events.append(ev.IsnWeak(seg.frame, seg.ts, sender.role, 0, None))
            return
        first = self._isns.get((seg.src, seg.seq))
        if first is None:
            self._remember_isn(seg, conn.id)
        elif first != conn.id:
            self.linked = True
            conn.events.append(ev.IsnWeak(seg.frame, seg.ts, sender.role, seg.seq, first))

    def _remember_isn(self, seg: Segment, conn_id: int) -> None:
        key = (seg.src, seg.seq)
        self._isns[key] = conn_id
        if self.isn_keys is not None:
            self.isn_keys.add(key)
        self._isn_order.append(key)
        if len(self._isn_order) > MAX_ISNS:
            del self._isns[self._isn_order.popleft()]

    # ------------------------------------------------------------------ lone SYNs

    def _keep_lone(self, seg: Segment) -> bool:
        """Keep a SYN that opens a new connection packed, when replaying it would note
        nothing: not a weak ISN, no checksum to note. False when it needs the model now."""
        if seg.csum >= CSUM_OFFLOAD or seg.seq == 0 or (seg.src, seg.seq) in self._isns:
            return False
        conn_id = self._next_id
        self._next_id += 1
        self._remember_isn(seg, conn_id)
        self._lone[seg.src + seg.dst + PORTS.pack(seg.sport, seg.dport)] = pack_lone(
            conn_id, seg, self.hosts is not None)
        return True

    def _adopt(self, seg: Segment) -> tuple[Connection, bool] | None:
        """The connection of a lone SYN that ``seg`` continues (either direction), now a
        full model replayed from that SYN; None when ``seg`` continues none."""
        lone = self._lone
        key = seg.src + seg.dst + PORTS.pack(seg.sport, seg.dport)
        packed = lone.pop(key, None)
        if packed is None:
            key = seg.dst + seg.src + PORTS.pack(seg.dport, seg.sport)
            packed = lone.pop(key, None)
            if packed is None:
                return None
        self._replay(key, packed)
        return self._table[(seg.src, seg.sport, seg.dst, seg.dport)]

    def _replay(self, key: bytes, packed: bytes) -> Connection:
        """The full model of a lone SYN: the connection it opened, with the SYN applied."""
        syn = unpack_lone(key, packed)
        conn = self._open(syn, (syn.src, syn.sport, syn.dst, syn.dport), None,
                          LONE.unpack_from(packed)[0])
        conn.apply(syn, True)
        return conn

    def _finished_lone(self, lone: dict[bytes, bytes], keys: list[bytes]) -> Iterator[LoneSyn]:
        """The lone SYNs of ``keys`` (in order of id) as finished connections, one at a
        time, each taken out of ``lone``: they are being finalised."""
        for key in keys:
            packed = lone.pop(key)
            syn = unpack_lone(key, packed)
            # Its sender's profile says when an answer was due (its headers are kept then).
            profile = self.profile if self.hosts is None else self.hosts.of_syn(syn).profile
            yield LoneSyn(LONE.unpack_from(packed)[0], syn, profile)


def _by_id(conn: Connection | LoneSyn) -> int:
    return conn.id
