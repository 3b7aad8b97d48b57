"""Keeping a report useful and its memory bounded when a capture holds millions of connections.

Two accumulators the ``Analyzer`` feeds as connections finish, whatever order they finish in:

- ``ConnectionPool`` lists at most ``cap`` connections that have no finding, the lowest ids
  (the first to appear), and counts the rest as ``FoldedConnections``;
- ``FloodWatch`` gathers handshakes that never completed (``half-open``,
  ``handshake-incomplete``) per target, the server's address and port; a target that got at
  least ``threshold`` of them beginning within ``window`` seconds is flooded, and one
  ``SynFlood`` event replaces all of their individual findings.

Both outcomes are functions of the set of connections, not of the order they end in, so the
same capture always gives the same report.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

from tcpcheck.model.events import SynFlood
from tcpcheck.result import ConnectionSummary, Finding, FoldedConnections
from tcpcheck.segment import format_address, format_endpoint

DEFAULT_MAX_CONNECTIONS = 100_000
"""Connections without a finding listed per capture before the rest are folded."""
MAX_SOURCES = 65_536
"""Distinct source addresses counted per flooded target: a spoofed flood can use millions."""
TOP_SOURCES = 5

Target = tuple[bytes, int]
"""A server's packed address and port."""


class ConnectionPool:
    """The connections without a finding: at most ``cap`` listed (None: all), the rest
    counted.

    The pool keeps no rows, only what folding a listed one needs: its id and counters. The
    caller keeps the rows ``add`` lists and leaves out those ``evicted`` names at the end, so
    a pool of 100,000 rows costs a few megabytes, and the rows can live on disk
    (``tcpcheck.spill``). With ``keep_rows`` (a shard of ``--jobs``, whose rows the merge
    lists or folds with the other shards') the pool keeps the rows it lists itself, in
    ``rows()``, and ``add`` leaves the caller none to keep.
    """

    def __init__(self, cap: int | None, *, keep_rows: bool = False) -> None:
        self.cap = cap
        self._rows: dict[int, ConnectionSummary] | None = {} if keep_rows else None
        # (-id, packets, client bytes, server bytes, close) of each listed row: highest id on
        # top.
        self._heap: list[tuple[int, int, int, int, str]] = []
        self._connections = self._packets = self._client_bytes = self._server_bytes = 0
        self._close: dict[str, int] = {}
        self.evicted: set[int] = set()
        """Ids of rows ``add`` listed and a lower id later pushed out: folded after all."""

    def wants(self, conn_id: int) -> bool:
        """Would a connection with this id be listed (so far)? If not, ``fold`` it."""
        heap = self._heap
        return self.cap is None or len(heap) < self.cap or (heap and conn_id < -heap[0][0])

    def add(self, row: ConnectionSummary) -> bool:
        """Take ``row``: True when the caller lists it (the highest id listed is folded, and
        named in ``evicted``, if that makes one too many), False when it is folded at once or
        the pool keeps it (``keep_rows``)."""
        if self.cap == 0:
            self.fold(row.packets, row.client_bytes, row.server_bytes, row.close)
            return False
        heapq.heappush(self._heap, (-row.id, row.packets, row.client_bytes, row.server_bytes,
                                    row.close))
        rows = self._rows
        if rows is not None:
            rows[row.id] = row
        if self.cap is not None and len(self._heap) > self.cap:
            out, packets, client_bytes, server_bytes, close = heapq.heappop(self._heap)
            self.fold(packets, client_bytes, server_bytes, close)
            if rows is not None:
                del rows[-out]
            else:
                self.evicted.add(-out)
        return rows is None

    def fold(self, packets: int, client_bytes: int, server_bytes: int, close: str) -> None:
        """Count a connection that is not listed."""
        self._connections += 1
        self._packets += packets
        self._client_bytes += client_bytes
        self._server_bytes += server_bytes
        self._close[close] = self._close.get(close, 0) + 1

    def absorb(self, folded: FoldedConnections) -> None:
        """Count connections another pool folded (``--jobs``: each process folds its own)."""
        self._connections += folded.connections
        self._packets += folded.packets
        self._client_bytes += folded.client_bytes
        self._server_bytes += folded.server_bytes
        for close, count in folded.close.items():
            self._close[close] = self._close.get(close, 0) + count

    def rows(self) -> list[ConnectionSummary]:
        """The rows listed, when the pool keeps them (``keep_rows``)."""
        return list(self._rows.values()) if self._rows is not None else []

    def folded(self) -> FoldedConnections | None:
        if not self._connections:
            return None
        return FoldedConnections(self._connections, self._packets, self._client_bytes,
                                 self._server_bytes, dict(sorted(self._close.items())))


@dataclass(frozen=True, slots=True)
class Handshake:
    """One handshake that never completed, as ``FloodWatch`` needs it."""

    conn_id: int
    start: int
    """Capture time of its first segment (ns)."""
    source: bytes
    port: int
    syns: int
    incomplete: bool
    """Answered with a SYN-ACK (``handshake-incomplete``), not unanswered (``half-open``)."""
    finding: Finding | None
    """Its own finding, reported unless its target turns out to be flooded (None when that
    rule does not run)."""
    row: ConnectionSummary
    listed: bool
    """Its row is listed whatever happens (the connection has other findings)."""


@dataclass(slots=True)
class _Flood:
    """What a flooded target got, counted as its handshakes arrive."""

    anchor: Handshake
    """The lowest id: the connection the syn-flood finding is anchored to."""
    first: int
    last: int
    handshakes: int = 0
    half_open: int = 0
    syns: int = 0
    per_second: dict[int, int] = field(default_factory=dict)
    sources: dict[bytes, int] = field(default_factory=dict)
    ports: bytearray = field(default_factory=lambda: bytearray(8192))

    def add(self, start: int, source: bytes, port: int, syns: int, incomplete: bool) -> None:
        self.first, self.last = min(self.first, start), max(self.last, start)
        self.handshakes += 1
        self.half_open += not incomplete
        self.syns += syns
        second = start // 1_000_000_000
        self.per_second[second] = self.per_second.get(second, 0) + 1
        sources = self.sources
        if source in sources or len(sources) < MAX_SOURCES:
            sources[source] = sources.get(source, 0) + 1
        self.ports[port >> 3] |= 1 << (port & 7)


class FloodWatch:
    """Handshakes that never completed, per target; see the module's docstring."""

    def __init__(self, threshold: int, window: float) -> None:
        self.threshold = max(1, threshold)
        self.window = window
        self._window_ns = int(window * 1e9)
        self._pending: dict[Target, list[tuple[int, int, Handshake]]] = {}
        self._floods: dict[Target, _Flood] = {}

    def anchor(self, target: Target) -> int | None:
        """The connection id a flooded target's finding is anchored to; None: not flooded."""
        flood = self._floods.get(target)
        return None if flood is None else flood.anchor.conn_id

    def count(self, target: Target, start: int, source: bytes, port: int, syns: int,
              incomplete: bool) -> None:
        """Count a handshake to a flooded target that cannot be its anchor (a higher id)."""
        self._floods[target].add(start, source, port, syns, incomplete)

    def add(self, target: Target, h: Handshake) -> list[Handshake]:
        """Take a handshake; return those that stop being separate: handshakes whose
        findings are now folded into a flood, and a previous anchor that ``h`` replaces."""
        flood = self._floods.get(target)
        if flood is not None:
            flood.add(h.start, h.source, h.port, h.syns, h.incomplete)
            if h.conn_id < flood.anchor.conn_id:
                flood.anchor, h = h, flood.anchor
            return [h]
        pending = self._pending.setdefault(target, [])
        bisect.insort(pending, (h.start, h.conn_id, h))
        if not self._dense(pending, bisect.bisect_left(pending, (h.start, h.conn_id))):
            return []
        del self._pending[target]
        items = [item for _, _, item in pending]
        anchor = min(items, key=lambda item: item.conn_id)
        flood = self._floods[target] = _Flood(anchor, anchor.start, anchor.start)
        for item in items:
            flood.add(item.start, item.source, item.port, item.syns, item.incomplete)
        return [item for item in items if item is not anchor]

    def _dense(self, pending: list[tuple[int, int, Handshake]], i: int) -> bool:
        """Does a window of ``threshold`` handshakes around index ``i`` fit in the window?"""
        n = self.threshold
        for first in range(max(0, i - n + 1), min(i, len(pending) - n) + 1):
            if pending[first + n - 1][0] - pending[first][0] <= self._window_ns:
                return True
        return False

    def unflooded(self) -> list[Handshake]:
        """Handshakes of targets that were never flooded, in order of id."""
        items = [item for pending in self._pending.values() for _, _, item in pending]
        return sorted(items, key=lambda item: item.conn_id)

    def floods(self) -> list[tuple[Handshake, Target, SynFlood]]:
        """Each flooded target with its anchor and its event, in order of the anchor's id."""
        out = []
        for (address, port), f in self._floods.items():
            top = sorted(f.sources.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
            ports = sum(bin(byte).count("1") for byte in f.ports)
            out.append((f.anchor, (address, port), SynFlood(
                f.anchor.row.first_frame, f.first, "server", format_endpoint(address, port),
                f.handshakes, f.half_open, f.handshakes - f.half_open, f.syns,
                (f.last - f.first) / 1e9, max(f.per_second.values()), len(f.sources),
                MAX_SOURCES, ports, tuple((format_address(a), n) for a, n in top),
                self.threshold, self.window)))
        return sorted(out, key=lambda item: item[0].conn_id)
