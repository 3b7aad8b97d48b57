"""The pipeline: capture records → segments → connections → model events → findings.

``Analyzer`` is the streaming core: feed it segments from any source (a file or, later, a live
capture) and it yields findings as connections reveal them. ``analyze_files`` runs it over
capture files and returns the finished ``AnalysisResult`` the reports format.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence

from tcpcheck import __version__
from tcpcheck.catalog import Catalog, load_catalog
from tcpcheck.checks import CHECKS, Check, Context
from tcpcheck.decode import Decoder
from tcpcheck.events import Event
from tcpcheck.model import Connection
from tcpcheck.profiles import Profile
from tcpcheck.result import AnalysisResult, CaptureSummary, ConnectionSummary, Finding
from tcpcheck.segment import Record, Segment, format_endpoint
from tcpcheck.sources import open_capture
from tcpcheck.track import Tracker


class Analyzer:
    """Streaming analysis of one capture: ``feed`` segments, then ``finish``.

    Findings go to ``on_finding`` as soon as the model can tell, so a live view can show them
    as they happen; ``finish`` settles what only the end of the capture decides. All of them
    are also collected in ``findings``.
    """

    def __init__(self, profile: Profile, *, input_name: str = "", start_ts: int = 0,
                 catalog: Catalog | None = None,
                 on_finding: Callable[[Finding], None] | None = None) -> None:
        self.profile = profile
        self.input_name = input_name
        self.start_ts = start_ts
        catalog = catalog or load_catalog()
        self._meta = {rule.slug: rule for rule in catalog}
        self._checks: dict[type[Event], list[Check]] = {}
        for check in CHECKS:
            self._checks.setdefault(check.event, []).append(check)
        self._contexts: dict[int, Context] = {}
        self._on_finding = on_finding
        self.connections: list[ConnectionSummary] = []
        self.findings: list[Finding] = []
        self.tracker = Tracker(profile, self._finished)

    def feed(self, seg: Segment) -> None:
        """Apply one segment to its connection and turn what it revealed into findings."""
        conn = self.tracker.feed(seg)
        if conn.events:
            self._drain(conn)

    def finish(self) -> None:
        """End of input: finalise every connection still open."""
        self.tracker.close()

    # ------------------------------------------------------------------ internals

    def _context(self, conn: Connection) -> Context:
        ctx = self._contexts.get(conn.id)
        if ctx is None:
            client, server = _endpoints(conn)
            ctx = self._contexts[conn.id] = Context(client, server, self.profile)
        return ctx

    def _drain(self, conn: Connection) -> None:
        ctx = self._context(conn)
        for event in conn.events:
            for check in self._checks.get(type(event), ()):
                text = check.explain(event, ctx)
                if text is None:
                    continue
                meta = self._meta[check.slug]
                finding = Finding(
                    rule=meta.slug, code=meta.code, severity=meta.severity,
                    connection=conn.id, frame=event.frame,
                    time=(event.ts - self.start_ts) / 1e9, message=text.message,
                    expected=text.expected, observed=text.observed,
                    reference=text.reference or meta.reference, input=self.input_name)
                self.findings.append(finding)
                if self._on_finding is not None:
                    self._on_finding(finding)
        conn.events.clear()

    def _finished(self, conn: Connection) -> None:
        if conn.events:
            self._drain(conn)
        ctx = self._context(conn)
        del self._contexts[conn.id]
        client, server = ctx.client, ctx.server
        start = self.start_ts
        self.connections.append(ConnectionSummary(
            id=conn.id, client=client, server=server, first_frame=conn.first_frame,
            last_frame=conn.last_frame, start=(conn.start_ts - start) / 1e9,
            end=(conn.end_ts - start) / 1e9, packets=conn.packets,
            client_bytes=conn.client.bytes, server_bytes=conn.server.bytes,
            client_state=conn.client.state.value, server_state=conn.server.state.value,
            close=conn.close_kind(), midstream=conn.midstream, input=self.input_name))


def _endpoints(conn: Connection) -> tuple[str, str]:
    """``(client, server)`` as ``ip:port`` text."""
    src, sport, dst, dport = conn.keys[0]
    if (src, sport) == conn.client_key:
        return format_endpoint(src, sport), format_endpoint(dst, dport)
    return format_endpoint(dst, dport), format_endpoint(src, sport)


def _first_and_rest(records: Iterator[Record]) -> tuple[int | None, Iterable[Record]]:
    """The first record's timestamp (the capture's time origin) and all records again."""
    first = next(records, None)
    if first is None:
        return None, ()
    return first[1], itertools.chain((first,), records)


def analyze_capture(path: str, profile: Profile) -> tuple[CaptureSummary, Analyzer]:
    """Run one capture file through the whole pipeline.

    Raises ``tcpcheck.sources.CaptureError`` when the file cannot be read as a capture at all;
    a file damaged part-way is analysed up to the damage, which the summary reports.
    """
    with open_capture(path) as capture:
        start_ts, records = _first_and_rest(capture.records())
        analyzer = Analyzer(profile, input_name=path, start_ts=start_ts or 0)
        decoder = Decoder()
        feed = analyzer.feed
        for seg in decoder.segments(records):
            feed(seg)
        analyzer.finish()
        counters = decoder.counters
        summary = CaptureSummary(
            input=path, format=capture.format, packets=counters.packets,
            tcp_packets=counters.tcp, skipped=counters.skipped(), damage=capture.damage,
            capture_start=None if start_ts is None else start_ts / 1e9)
    return summary, analyzer


def analyze_files(paths: Sequence[str], profile: Profile) -> AnalysisResult:
    """Analyse capture files in order; one combined, deterministically ordered result."""
    captures: list[CaptureSummary] = []
    connections: list[ConnectionSummary] = []
    findings: list[Finding] = []
    for path in paths:
        summary, analyzer = analyze_capture(path, profile)
        captures.append(summary)
        connections.extend(sorted(analyzer.connections, key=lambda c: c.id))
        findings.extend(sorted(analyzer.findings,
                               key=lambda f: (f.connection, f.frame, f.code)))
    return AnalysisResult(tool_version=__version__, profile=profile.name,
                          captures=tuple(captures), connections=tuple(connections),
                          findings=tuple(findings))
