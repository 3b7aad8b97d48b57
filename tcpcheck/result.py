"""The finished result of an analysis: what every report renderer formats.

Renderers take these values and only format them; no analysis happens after this point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


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


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything one run found, over one or more capture files."""

    tool_version: str
    profile: str
    captures: tuple[CaptureSummary, ...]
    connections: tuple[ConnectionSummary, ...]
    findings: tuple[Finding, ...]
    """Sorted by input file, then connection, then frame."""

    def counts(self) -> dict[str, int]:
        """Findings by severity label, every severity present (zero when none)."""
        out = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            out[f.severity.label] += 1
        return out

    @property
    def packets(self) -> int:
        return sum(c.packets for c in self.captures)

    @property
    def tcp_packets(self) -> int:
        return sum(c.tcp_packets for c in self.captures)
