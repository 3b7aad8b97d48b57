"""The finished result of an analysis: what every report renderer formats.

Renderers take these values and only format them; no analysis happens after this point.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING

from tcpcheck.model.stats import ConnectionStats

if TYPE_CHECKING:
    from tcpcheck.timeline import Timeline


class Severity(IntEnum):
    """Finding severity; the order matters for ``--fail-on``."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


@dataclass(frozen=True, slots=True)
class Fold:
    """The findings of one capture artefact rule on one host that a report shows as one
    (``tcpcheck.artefacts``): the first of them stands for all."""

    host: str
    """The address of the host the artefact is about (the sender of the offloaded or copied
    segments), without a port; empty when the findings name no endpoint."""
    count: int
    """How many findings were folded, the first included."""
    connections: int
    """How many connections they come from."""
    frames: tuple[int, ...]
    """The frames of the first ones (at most ``tcpcheck.artefacts.FRAMES_SHOWN``)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule violation or diagnostic, anchored to a frame of one connection."""

    rule: str
    """Rule slug, e.g. ``syn-isn-changed`` (public API)."""
    code: str
    """Rule code, e.g. ``HS001`` (public API)."""
    severity: Severity
    connection: int
    """Connection id: 0-based in order of first appearance, like Wireshark's tcp.stream."""
    frame: int
    """1-based frame number (Wireshark's frame.number)."""
    time: float
    """Seconds since the first record of the capture."""
    message: str
    expected: str
    observed: str
    reference: str
    """The RFC section or profile value the finding relies on."""
    input: str = ""
    """The capture file the finding comes from."""
    side: str = ""
    """``client`` or ``server``: the endpoint the finding is about (usually the frame's sender)."""
    position: str = ""
    """Where in the connection, in terms that survive re-capturing the same traffic: sequence
    and acknowledgment numbers relative to the ISNs, e.g. ``ack=5001``; empty for findings
    about the connection as a whole."""
    fingerprint: str = ""
    """16 hex digits naming the finding across captures of the same traffic: a hash of rule,
    side, service port and position; never of frame numbers, times, addresses or ports the OS
    chose. Baselines and SARIF's partialFingerprints use it."""
    fold: Fold | None = None
    """Set when this finding stands for every finding of its artefact rule on its host in its
    capture (its message says so); None for a finding that stands for itself."""
    connection_input: str = ""
    """The capture file that names the finding's connection (``ConnectionSummary.input``)
    when it is not ``input``: in a stitched set (``--stitch``) a connection is named by the
    file of its first frame, its findings by the files of theirs. Empty otherwise."""

    @property
    def connection_key(self) -> ConnectionKey:
        """The finding's connection: its row's capture file and id."""
        return self.connection_input or self.input, self.connection

    @property
    def count(self) -> int:
        """How many findings this one stands for."""
        return 1 if self.fold is None else self.fold.count


@dataclass(frozen=True, slots=True)
class ConnectionSummary:
    """One connection instance (one four-tuple incarnation)."""

    id: int
    client: str
    """``ip:port`` of the sender of the first SYN (or of the first segment seen, mid-stream)."""
    server: str
    first_frame: int
    last_frame: int
    start: float
    """Seconds since the first record of the capture."""
    end: float
    packets: int
    client_bytes: int
    """Payload bytes sent by the client (sequence space covered, retransmissions not counted)."""
    server_bytes: int
    client_state: str
    """The client endpoint's RFC 9293 state at the end of the capture, e.g. ``TIME_WAIT``."""
    server_state: str
    close: str
    """How it ended: fin, reset, refused, half-open, incomplete, open."""
    midstream: bool
    """True when the handshake was not in the capture and the connection was picked up later."""
    input: str = ""
    stats: ConnectionStats | None = None
    """What the model measured while replaying it: RTT, throughput, retransmissions, windows
    (``tcpcheck.model.stats``)."""
    client_profile: str = ""
    """The profile the client side was judged by: with ``--profile auto`` its own
    (``tcpcheck.host_profiles``; the capture's ``hosts`` say why), else the one given."""
    server_profile: str = ""
    """The server side's; empty when the capture shows nothing it sent (a lone SYN)."""


@dataclass(frozen=True, slots=True)
class FoldedConnections:
    """Connections of one capture counted but not listed: beyond ``--max-connections``, none
    of them with a finding. Which ones are listed does not depend on the order connections
    end in: the lowest ids (the earliest to appear) are kept, so reports stay identical."""

    connections: int
    packets: int
    client_bytes: int
    server_bytes: int
    close: dict[str, int]
    """How many ended each way (``ConnectionSummary.close``), in alphabetical order."""


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """Counters over one capture file."""

    input: str
    format: str
    """``pcap`` or ``pcapng`` (with ``+gzip`` when compressed)."""
    packets: int
    """Every record in the file."""
    tcp_packets: int
    skipped: dict[str, int] = field(default_factory=dict)
    """Records not analysed, by reason: non-ip, non-tcp, ip-fragment, truncated, malformed."""
    damage: str | None = None
    """Why reading stopped early (truncated or corrupt file), or None when read to the end."""
    capture_start: float | None = None
    """Epoch seconds of the first record."""
    profile: str = ""
    """The stack profile this capture was checked against (per-path configuration may choose
    a different one per file)."""
    folded: FoldedConnections | None = None
    """Connections counted but not listed (None: every connection is listed)."""
    hosts: tuple[HostProfile, ...] = ()
    """With ``--profile auto``: the profile each host's connection sides were judged by, and
    why (empty when one profile was forced on every side)."""


@dataclass(frozen=True, slots=True)
class HostProfile:
    """One host's sides judged by one profile for one reason, over one capture."""

    address: str
    profile: str
    basis: str
    """``signature``, ``unknown`` (the RFC's bounds) or ``pinned``
    (``tcpcheck.host_profiles.Basis``)."""
    label: str
    """What the host was taken for: ``Linux 3.x-6.x``, ``unknown stack``."""
    evidence: str
    """What it rests on, read from ``frame`` (the earliest such side's)."""
    frame: int | None
    connections: int
    """Connection sides of this host judged so."""

    def summary(self) -> str:
        """One line for the reports without columns: ``windows: Windows 7-10 (signature;
        its SYN: TTL 127 ..., frame 2), 525 connections``."""
        frame = "" if self.frame is None else f", frame {self.frame}"
        noun = "connection" if self.connections == 1 else "connections"
        return (f"{self.profile}: {self.label} ({self.basis}; {self.evidence}{frame}), "
                f"{self.connections} {noun}")


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    """Accepted findings of one fingerprint in one capture file, as a baseline file keeps them."""

    input: str
    rule: str
    code: str
    side: str
    service: int | None
    """The server's port when it is a service port (below 32768), else None."""
    position: str
    fingerprint: str
    count: int


@dataclass(frozen=True, slots=True)
class BaselineReport:
    """What a baseline did to a run: findings it suppressed, entries that no longer occur."""

    path: str
    suppressed: int
    """Findings left out of the result because the baseline accepts them."""
    stale: tuple[BaselineEntry, ...] = ()
    """Baseline entries (``count`` = how many of them) the run did not find any more."""


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything one run found, over one or more capture files."""

    tool_version: str
    profile: str
    captures: tuple[CaptureSummary, ...]
    connections: Collection[ConnectionSummary]
    """In input order, then by id. A tuple, or for a big capture a view that reads them from a
    temporary file on each iteration (``tcpcheck.spill``): iterate it, take its ``len``,
    never index it."""
    findings: Collection[Finding]
    """Sorted by input file, then connection, then frame; a tuple or a view, as
    ``connections``."""
    baseline: BaselineReport | None = None
    """Set when a baseline filtered the findings."""
    timelines: tuple[Timeline, ...] = ()
    """Per-connection timelines from the reference model, when the run recorded them (for the
    pictures: ``--format html``, ``tcpcheck show``); in capture order, then by connection."""

    def in_memory(self) -> AnalysisResult:
        """This result with its connections and findings held as tuples (itself when they
        are): for a report that looks them up, indexes them or holds all of them anyway."""
        if isinstance(self.connections, tuple) and isinstance(self.findings, tuple):
            return self
        return replace(self, connections=tuple(self.connections),
                       findings=tuple(self.findings))

    def timeline(self, input_name: str, connection: int) -> Timeline | None:
        """The recorded timeline of one connection, or None."""
        for timeline in self.timelines:
            if timeline.input == input_name and timeline.connection == connection:
                return timeline
        return None

    def counts(self) -> dict[str, int]:
        """Findings by severity label, every severity present (zero when none)."""
        out = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            out[f.severity.label] += 1
        return out

    def distinct_captures(self) -> list[CaptureSummary]:
        """Each capture file once, in input order (a file named twice is one artifact)."""
        seen: dict[str, CaptureSummary] = {}
        for capture in self.captures:
            seen.setdefault(capture.input, capture)
        return list(seen.values())

    def counts_by_capture(self) -> dict[str, dict[Severity, int]]:
        """Findings by capture file and severity (only those present)."""
        out: dict[str, dict[Severity, int]] = {}
        for finding in self.findings:
            tally = out.setdefault(finding.input, {})
            tally[finding.severity] = tally.get(finding.severity, 0) + 1
        return out

    def connections_by_capture(self) -> dict[str, int]:
        """How many connections each capture file has, listed or folded."""
        out: dict[str, int] = {}
        for conn in self.connections:
            out[conn.input] = out.get(conn.input, 0) + 1
        for capture in self.captures:
            if capture.folded is not None:
                out[capture.input] = out.get(capture.input, 0) + capture.folded.connections
        return out

    @property
    def total_connections(self) -> int:
        """Every connection analysed: those listed and those folded."""
        return len(self.connections) + sum(c.folded.connections for c in self.captures
                                           if c.folded is not None)

    @property
    def packets(self) -> int:
        return sum(c.packets for c in self.captures)

    @property
    def tcp_packets(self) -> int:
        return sum(c.tcp_packets for c in self.captures)


RESULT_ROWS = (Finding, Fold, ConnectionSummary)
"""The dataclasses a result's findings and connections are made of: what a spill file pickles
by their fields (``tcpcheck.spill.SpillFile``)."""

ConnectionKey = tuple[str, int]
"""A connection is identified by its capture file and its id within that file."""


def tallies_by_connection(findings: Iterable[Finding]) -> dict[ConnectionKey, dict[Severity, int]]:
    """Each connection's findings counted by severity (connections without one are absent)."""
    tallies: dict[ConnectionKey, dict[Severity, int]] = {}
    for finding in findings:
        tally = tallies.setdefault(finding.connection_key, {})
        tally[finding.severity] = tally.get(finding.severity, 0) + 1
    return tallies
