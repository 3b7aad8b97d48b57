"""The engine: segments → connections → model events → findings, sans I/O.

``Analyzer`` is the streaming core: feed it segments from any source (a file or a live
capture) and it yields findings as connections reveal them; ``combine`` orders the analysed
captures into the finished ``AnalysisResult`` the reports format. Opening and decoding captures
is ``tcpcheck.pipeline``'s: nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from tcpcheck import __version__
from tcpcheck.baseline import fingerprint, service_port
from tcpcheck.catalog import Catalog, ParamValue, load_catalog
from tcpcheck.checks import CHECKS, Check, Context
from tcpcheck.checks.base import FrameNamer
from tcpcheck.fold import ConnectionPool, FloodWatch, Handshake, Target
from tcpcheck.host_profiles import HostProfiles
from tcpcheck.host_table import HostTable
from tcpcheck.lone_syn import LoneSyn
from tcpcheck.model.connection import Connection
from tcpcheck.model.events import Event, HalfOpen, HandshakeIncomplete
from tcpcheck.profiles import Profile
from tcpcheck.result import (
    RESULT_ROWS,
    AnalysisResult,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    FoldedConnections,
    Severity,
)
from tcpcheck.segment import COPY_REPEAT, Segment, format_endpoint
from tcpcheck.spill import SortedSpill, SpillLimits, chained
from tcpcheck.timeline import Recorder, Recording, Timeline
from tcpcheck.timers import Timing, Tolerance
from tcpcheck.track import Tracker

if TYPE_CHECKING:
    from tcpcheck.set_results import FileResult


@dataclass(frozen=True, slots=True)
class RuleSetup:
    """Which rules run on a capture, at which severity, with which parameters.

    The configuration (``tcpcheck.config``) decides these per file; the default runs every
    rule as the catalog describes it.
    """

    rules: frozenset[str] | None = None
    """Slugs of the rules that run; None for every rule."""
    severity: Mapping[str, Severity] = field(default_factory=dict)
    """Severity overrides by slug."""
    params: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    """Parameter values by slug; a missing one keeps the catalog's default."""
    verify_checksums: bool = True
    """False (``--ignore-checksums``): every segment is taken as intact, none is dropped as
    corrupt and no checksum is judged."""

    def param(self, catalog: Catalog, slug: str, name: str) -> ParamValue:
        """A parameter's value: the configured one, else the catalog's default."""
        value = self.params.get(slug, {}).get(name)
        return catalog.get(slug).defaults()[name] if value is None else value

    def timing(self, catalog: Catalog) -> Timing:
        """The timer tolerances the model applies, from the timer rules' parameters."""
        def tolerance(slug: str) -> Tolerance:
            return Tolerance(float(self.param(catalog, slug, "tolerance")),
                             float(self.param(catalog, slug, "slack")))
        return Timing(backoff=tolerance("rto-backoff-violation"),
                      give_up=tolerance("syn-retries-exceeded"))


class Analyzer:
    """Streaming analysis of one capture: ``feed`` segments, then ``finish``.

    Findings go to ``on_finding`` as soon as the model can tell, so a live view can show them
    as they happen; ``finish`` settles what only the end of the capture decides. All of them
    are also collected in ``findings``. ``idle_timeout`` (seconds of capture time; None: never)
    finalises connections that have been silent that long (see ``Tracker``). With a
    ``recording``, the connections it chooses keep their ``Timeline`` in ``timelines``.

    ``max_connections`` (None: no limit) bounds the connections without a finding listed in
    ``connections``; the rest are counted in ``folded`` (see ``tcpcheck.fold``). When the
    ``syn-flood`` rule runs, the ``half-open`` and ``handshake-incomplete`` findings of a
    flooded target give way to one ``syn-flood`` finding, so those findings, and the list of
    connections, are complete only after ``finish``. ``fast_path=False`` replays without
    header prediction (``tcpcheck.model.prediction``), for tests that show it changes nothing.

    With ``spill_after`` (None: never), beyond its numbers of findings or connections they
    are written to a temporary file in sorted runs (``tcpcheck.spill``), so a capture of any size
    is analysed in bounded memory; ``findings`` and ``connections`` then hold only those not
    written out yet. ``sorted_findings`` and ``sorted_connections`` give all of them, in the
    report's order.

    ``sharded`` (``--jobs``: this analyzer sees some of a capture's connections, another
    process the rest) leaves what needs every connection to the merge (``tcpcheck.merge``):
    ``finish`` decides no flood (the handshakes are kept in ``handshakes``) and lists no
    connection without a finding (they stay in ``pooled()``), and ``first_frames`` keeps
    each connection's first frame, from which the merge numbers connections over the capture.
    ``frame_names`` words the frames findings' messages name (``Context.frame``; a stitched
    set's, ``tcpcheck.stitched.FrameNames``).
    """

    def __init__(self, profile: Profile | HostProfiles, *, input_name: str = "",
                 start_ts: int = 0,
                 catalog: Catalog | None = None, setup: RuleSetup | None = None,
                 on_finding: Callable[[Finding], None] | None = None,
                 idle_timeout: float | None = None,
                 recording: Recording | None = None,
                 max_connections: int | None = None, fast_path: bool = True,
                 spill_after: SpillLimits | None = None, sharded: bool = False,
                 frame_names: FrameNamer | None = None, twins: bool = True) -> None:
        self.profile = profile
        # False (``tcpcheck sniff``): segments go straight to the model. Looking for a twin
        # holds each segment back until a later one is captured, and on a quiet link that
        # would hold its findings back with it.
        self._twins = twins
        self._frame_names = frame_names
        self.input_name = input_name
        self.start_ts = start_ts
        catalog = catalog or load_catalog()
        setup = setup or RuleSetup()
        self._meta = {rule.slug: rule for rule in catalog}
        self._severity = {rule.slug: setup.severity.get(rule.slug, rule.severity)
                          for rule in catalog}
        self._checks: dict[type[Event], list[Check]] = {}
        for check in CHECKS:
            if setup.rules is None or check.slug in setup.rules:
                self._checks.setdefault(check.event, []).append(check)
        # Per open connection: its endpoints for messages, and its service port for
        # fingerprints.
        self._contexts: dict[int, tuple[Context, int | None]] = {}
        self._on_finding = on_finding
        self._connections = SortedSpill(
            _connection_order, None if spill_after is None else spill_after.connections,
            RESULT_ROWS)
        self._findings = SortedSpill(
            _finding_order, None if spill_after is None else spill_after.findings, RESULT_ROWS)
        self.connections: list[ConnectionSummary] = self._connections.held
        self.findings: list[Finding] = self._findings.held
        self.folded: FoldedConnections | None = None
        self._pool = (None if max_connections is None
                      else ConnectionPool(max_connections, keep_rows=sharded))
        self._flood = None
        if setup.rules is None or "syn-flood" in setup.rules:
            self._flood = FloodWatch(int(setup.param(catalog, "syn-flood", "min_handshakes")),
                                     float(setup.param(catalog, "syn-flood", "window")))
        # A recorder sees every segment applied to its connection's model: no lone SYNs.
        hosts = profile if isinstance(profile, HostProfiles) else None
        self.tracker = Tracker(profile.unknown if hosts else profile, self._finished,
                               setup.timing(catalog), idle_timeout=idle_timeout,
                               lone_syns=recording is None, fast_path=fast_path, hosts=hosts)
        self.timelines: list[Timeline] = []
        self.hosts = HostTable()
        """The profile each host's sides were judged by (``--profile auto``)."""
        self._sharded = sharded
        self.handshakes: list[tuple[Target, Handshake]] | None = (
            [] if sharded and self._flood is not None else None)
        self.first_frames: dict[int, int] | None = {} if sharded else None
        # Sharded: the findings whose message names another connection, with their event and
        # context, for the merge to word them again with that connection's final number.
        self.naming: dict[Finding, tuple[Event, Context]] = {}
        self._recording = recording
        self._recorders: dict[int, Recorder] = {}
        self._found: dict[int, int] = {}  # findings so far per open connection that has any
        if recording is not None:
            self.feed = self._feed_recording  # type: ignore[method-assign]

    def feed(self, seg: Segment) -> None:
        """Apply one segment to its connection and turn what it revealed into findings."""
        conn = self.tracker.feed(seg)
        if conn is not None and conn.events:
            self._drain(conn)

    def feed_all(self, segments: Iterable[Segment]) -> None:
        """``feed`` every segment of ``segments``, in order.

        The same as calling ``feed`` on each, one Python call fewer per segment: with a
        million segments that call alone is ~1 % of the analysis.
        """
        if self._twins:
            segments = self.tracker.twins.filter(segments)
        if self._recording is not None:
            for seg in segments:
                self._feed_recording(seg)
            return
        track = self.tracker.feed
        drain = self._drain
        for seg in segments:
            conn = track(seg)
            if conn is not None and conn.events:
                drain(conn)

    def _feed_recording(self, seg: Segment) -> None:
        """``feed``, also recording the segment in its connection's timeline."""
        conn = self.tracker.feed(seg)
        if conn is None:
            return  # a twin whose connection is gone, a repeat with no connection to name it
        recorder = self._recorders.get(conn.id)
        if recorder is None and conn.packets == 1 and self._recording.starts(conn):
            recorder = self._recorders[conn.id] = Recorder(conn, self.start_ts)
        if recorder is not None and (seg.copy != COPY_REPEAT or conn.client_key in (
                (seg.src, seg.sport), (seg.dst, seg.dport))):  # not in another's timeline
            recorder.add(seg, conn.client_key == (seg.src, seg.sport), conn.events)
        if conn.events:
            self._drain(conn)

    def finish(self) -> None:
        """End of input: finalise every connection still open, then report the handshakes
        that never completed, alone or as floods, and list the connections (sharded: only
        finalise them)."""
        self.tracker.close()
        if self._sharded:
            return
        if self._flood is not None:
            for h in self._flood.unflooded():
                if h.finding is not None:
                    self._report(h.finding)
                if not h.listed:
                    self._list(h.row, h.finding is not None)
            for anchor, target, event in self._flood.floods():
                row = anchor.row
                ctx = Context(row.client, row.server, self._frame_names)
                for finding in self._findings_of(event, anchor.conn_id, ctx,
                                                 service_port(target[1])):
                    self._report(finding)
                if not anchor.listed:
                    self._connections.append(row)
        if self._pool is not None:
            self.folded = self._pool.folded()
            evicted = self._pool.evicted
            if evicted:  # those written out already are left out by sorted_connections
                self.connections[:] = [row for row in self.connections
                                       if row.id not in evicted]

    def sorted_findings(self) -> Collection[Finding]:
        """Every finding by connection, frame and code (after ``finish``): a tuple, or a
        view of the spill file when some were written out."""
        return self._findings.rows()

    def sorted_connections(self) -> Collection[ConnectionSummary]:
        """Every connection listed, by id (after ``finish``): a tuple, or a view of the spill
        file when some were written out."""
        evicted = set() if self._pool is None else self._pool.evicted
        return self._connections.rows((lambda row: row.id in evicted) if evicted else None)

    @property
    def flooded(self) -> bool:
        """Has a target been flooded (so far)?"""
        return self._flood is not None and bool(self._flood.floods())

    def pooled(self) -> tuple[list[ConnectionSummary], FoldedConnections | None]:
        """The connections without a finding a sharded analyzer kept (the lowest ids) and
        those it only counted."""
        if self._pool is None:
            return [], None
        return self._pool.rows(), self._pool.folded()

    def take_pooled(self, rows: Iterable[ConnectionSummary],
                    folded: FoldedConnections | None) -> None:
        """Another analyzer's ``pooled()``: list these rows or count them, as if they had
        finished here."""
        for row in rows:
            self._list(row, False)
        if folded is not None:
            if self._pool is None:
                raise ValueError("folded connections for an analyzer that lists all")
            self._pool.absorb(folded)

    def take_results(self, findings: Iterable[Finding],
                     connections: Iterable[ConnectionSummary]) -> None:
        """Findings and listed rows another analyzer made (a shard's, ``tcpcheck.merge``),
        kept as this one keeps its own: written out beyond ``spill_after``."""
        self._findings.extend(findings)
        self._connections.extend(connections)

    def take_handshake(self, target: Target, handshake: Handshake) -> None:
        """A handshake that never completed, to the flood watch (from ``handshakes``)."""
        for out in self._flood.add(target, handshake):
            if not out.listed:
                self._list(out.row, False)

    def endpoints(self, connection: int) -> tuple[str, str] | None:
        """``(client, server)`` as ``ip:port`` text of a connection while its findings are
        reported (``on_finding`` can name it); None once it is finished and dropped."""
        known = self._contexts.get(connection)
        return None if known is None else (known[0].client, known[0].server)

    # ------------------------------------------------------------------ internals

    def _context(self, conn: Connection | LoneSyn) -> tuple[Context, int | None]:
        known = self._contexts.get(conn.id)
        if known is None:
            client, server = _endpoints(conn)
            service = service_port(conn.keys[0][3] if conn.keys[0][:2] == conn.client_key
                                   else conn.keys[0][1])
            ctx = Context(client, server, self._frame_names)
            known = self._contexts[conn.id] = (ctx, service)
        return known

    def _drain(self, conn: Connection | LoneSyn) -> Event | None:
        """Turn the connection's events into findings; a handshake that never completed is
        returned instead when floods are watched (``_finished`` decides about it)."""
        held = None
        for event in conn.events:
            if self._flood is not None and type(event) in _UNFINISHED:
                held = event
                continue
            ctx, service = self._context(conn)
            for finding in self._findings_of(event, conn.id, ctx, service):
                self._found[conn.id] = self._found.get(conn.id, 0) + 1
                self._report(finding)
        conn.events.clear()
        return held

    def _findings_of(self, event: Event, conn_id: int, ctx: Context,
                     service: int | None) -> list[Finding]:
        """The findings the rules that run make of one event."""
        out = []
        for check in self._checks.get(type(event), ()):
            text = check.explain(event, ctx)
            if text is None:
                continue
            meta = self._meta[check.slug]
            position = event.position()
            out.append(Finding(
                rule=meta.slug, code=meta.code, severity=self._severity[meta.slug],
                connection=conn_id, frame=event.frame,
                time=(event.ts - self.start_ts) / 1e9, message=text.message,
                expected=text.expected, observed=text.observed,
                reference=text.reference or meta.reference, input=self.input_name,
                side=event.side, position=position,
                fingerprint=fingerprint(meta.slug, event.side, service, position)))
        if self._sharded and getattr(event, "previous_connection", None) is not None:
            self.naming.update((finding, (event, ctx)) for finding in out)
        return out

    def renumbered(self, finding: Finding, event: Event, ctx: Context,
                   numbers: Sequence[int]) -> Finding:
        """A sharded analyzer's ``finding`` (``naming``) worded again with the connection
        its event names numbered as ``numbers`` says, and placed in its own connection's."""
        event = replace(event, previous_connection=numbers[event.previous_connection])
        text = next(check.explain(event, ctx) for check in self._checks[type(event)]
                    if check.slug == finding.rule)
        return replace(finding, connection=numbers[finding.connection], message=text.message,
                       expected=text.expected, observed=text.observed)

    def _report(self, finding: Finding) -> None:
        self._findings.append(finding)
        if self._on_finding is not None:
            self._on_finding(finding)

    def _finished(self, conn: Connection | LoneSyn) -> None:
        if self.first_frames is not None:
            self.first_frames[conn.id] = conn.first_frame
        if isinstance(conn, Connection):  # a lone SYN was never matched against a stack
            # A side that sent nothing was judged by nothing: no row for it.
            if conn.client.sent_any:
                self.hosts.add(conn.client_key[0], conn.client.chosen)
            if conn.server.sent_any:
                self.hosts.add(_server(conn)[0], conn.server.chosen)
        recorder = self._recorders.pop(conn.id, None)
        if recorder is not None and conn.events:
            # Obligations the end of the connection settles (nothing came afterwards).
            recorder.settle(conn.events)
        held = self._drain(conn) if conn.events else None
        found = self._found.pop(conn.id, 0)
        if held is not None:
            found += self._unfinished_handshake(conn, held, found)
        else:
            self._keep(conn, found)
        if recorder is not None:
            ctx, _ = self._context(conn)
            timeline = recorder.timeline(self.input_name, ctx.client, ctx.server)
            if self._recording.keeps(timeline, found):
                self.timelines.append(timeline)
        self._contexts.pop(conn.id, None)

    def _unfinished_handshake(self, conn: Connection | LoneSyn, event: Event,
                              found: int) -> int:
        """A half-open or incomplete handshake: to the flood watch, with its finding and row
        unless its target is flooded already and it cannot be the flood's anchor. Returns
        how many findings of its own it may still get (0 or 1)."""
        watch = self._flood
        target = _server(conn)
        source, port = conn.client_key
        syns, incomplete = conn.client.syns, type(event) is HandshakeIncomplete
        anchor = None if self.handshakes is not None else watch.anchor(target)
        if anchor is not None and conn.id > anchor and not found:
            watch.count(target, conn.start_ts, source, port, syns, incomplete)
            self._keep(conn, 0)
            return 0
        ctx, service = self._context(conn)
        findings = self._findings_of(event, conn.id, ctx, service)
        row = self._row(conn)
        if found:
            self._connections.append(row)
        handshake = Handshake(conn.id, conn.start_ts, source, port, syns, incomplete,
                              findings[0] if findings else None, row, found > 0)
        if self.handshakes is not None:
            self.handshakes.append((target, handshake))
        else:
            self.take_handshake(target, handshake)
        return len(findings)

    def _keep(self, conn: Connection | LoneSyn, found: int) -> None:
        """List a finished connection with ``found`` findings, or only count it when it has
        none and the pool is full of lower ids (then its row is never even made)."""
        pool = self._pool
        if found or pool is None or pool.wants(conn.id):
            self._list(self._row(conn), found > 0)
        else:
            pool.fold(conn.packets, conn.client.bytes, conn.server.bytes, conn.close_kind())

    def _list(self, row: ConnectionSummary, has_finding: bool) -> None:
        """List a finished connection's row, or let the pool decide when it has no finding."""
        if has_finding or self._pool is None or self._pool.add(row):
            self._connections.append(row)

    def _row(self, conn: Connection | LoneSyn) -> ConnectionSummary:
        ctx, _ = self._context(conn)
        start = self.start_ts
        client_profile, server_profile = _side_profiles(conn)
        return ConnectionSummary(
            id=conn.id, client=ctx.client, server=ctx.server, first_frame=conn.first_frame,
            last_frame=conn.last_frame, start=(conn.start_ts - start) / 1e9,
            end=(conn.end_ts - start) / 1e9, packets=conn.packets,
            client_bytes=conn.client.bytes, server_bytes=conn.server.bytes,
            client_state=conn.client.state.value, server_state=conn.server.state.value,
            close=conn.close_kind(), midstream=conn.midstream, input=self.input_name,
            stats=conn.statistics(), client_profile=client_profile,
            server_profile=server_profile)


def _side_profiles(conn: Connection | LoneSyn) -> tuple[str, str]:
    """The names of the profiles ``conn``'s client and server sides were judged by (a lone
    SYN's server sent nothing to judge)."""
    if isinstance(conn, LoneSyn):
        return conn.profile.name, ""
    client, server = conn.client.profile, conn.server.profile
    return "" if client is None else client.name, "" if server is None else server.name


def _finding_order(finding: Finding) -> tuple[int, int, str]:
    return finding.connection, finding.frame, finding.code


def _connection_order(row: ConnectionSummary) -> int:
    return row.id


_UNFINISHED = (HalfOpen, HandshakeIncomplete)
"""Events of handshakes that never completed: a flood makes millions of them."""


def _server(conn: Connection | LoneSyn) -> Target:
    src, sport, dst, dport = conn.keys[0]
    return (dst, dport) if (src, sport) == conn.client_key else (src, sport)


def _endpoints(conn: Connection | LoneSyn) -> tuple[str, str]:
    """``(client, server)`` as ``ip:port`` text."""
    src, sport, dst, dport = conn.keys[0]
    if (src, sport) == conn.client_key:
        return format_endpoint(src, sport), format_endpoint(dst, dport)
    return format_endpoint(dst, dport), format_endpoint(src, sport)


def combine(runs: Sequence[tuple[CaptureSummary, Analyzer | FileResult]]) -> AnalysisResult:
    """The result of analysed captures, in the order given: connections by id and findings by
    connection, frame and code within each capture.

    The result's connections and findings are tuples when every analyzer kept them in
    memory, else ``tcpcheck.spill.Chained`` views that read the spill files again on each
    iteration."""
    captures: list[CaptureSummary] = []
    connections: list[Collection[ConnectionSummary]] = []
    findings: list[Collection[Finding]] = []
    timelines: list[Timeline] = []
    for summary, analyzer in runs:
        captures.append(summary)
        timelines.extend(sorted(analyzer.timelines, key=lambda t: t.connection))
        if isinstance(analyzer, Analyzer):
            connections.append(analyzer.sorted_connections())
            findings.append(analyzer.sorted_findings())
        else:  # one file of a stitched set, in memory
            connections.append(tuple(sorted(analyzer.connections, key=_connection_order)))
            findings.append(tuple(sorted(analyzer.findings, key=_finding_order)))
    profiles = list(dict.fromkeys(summary.profile for summary in captures))
    return AnalysisResult(tool_version=__version__, profile=", ".join(profiles),
                          captures=tuple(captures), connections=chained(connections),
                          findings=chained(findings), timelines=tuple(timelines))
