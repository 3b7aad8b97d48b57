"""What a live capture reports of itself: dumpcap's closing statistics per interface
(``parse_statistics``), the finished capture (``LiveResult``, with the packets it lost) and a
running one's counters for a live view (``LiveStatus``). ``tcpcheck.live`` runs the capture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tcpcheck.engine import Analyzer
from tcpcheck.result import CaptureSummary

_STATS = re.compile(
    r"Packets received/dropped on interface '(?P<name>.*)': (?P<received>\d+)/\d+ "
    r"\(pcap:(?P<pcap>\d+)/dumpcap:(?P<dumpcap>\d+)/flushed:(?P<flushed>\d+)"
    r"/ps_ifdrop:(?P<ifdrop>\d+)\)")


@dataclass(frozen=True, slots=True)
class InterfaceStats:
    """dumpcap's closing statistics for one interface."""

    interface: str
    """As dumpcap names it, e.g. ``Loopback: lo``."""
    received: int
    kernel_dropped: int
    """Dropped because the kernel's capture buffer was full: dumpcap did not read fast enough
    (because tcpcheck did not)."""
    dumpcap_dropped: int
    """Dropped by dumpcap (a write failed)."""
    flushed: int
    """Arrived after the capture was told to stop: not loss."""
    interface_dropped: int
    """Dropped by the interface or its driver, before the capture could see them."""

    @property
    def lost(self) -> int:
        """Packets that passed the interface but are missing from the capture."""
        return self.kernel_dropped + self.dumpcap_dropped


def parse_statistics(stderr: str) -> list[InterfaceStats]:
    """The ``Packets received/dropped on interface ...`` lines dumpcap prints when it ends
    (with and without -q), one per interface."""
    return [InterfaceStats(m["name"], int(m["received"]), int(m["pcap"]), int(m["dumpcap"]),
                           int(m["flushed"]), int(m["ifdrop"]))
            for m in _STATS.finditer(stderr)]


@dataclass(frozen=True, slots=True)
class LiveResult:
    """A finished live capture: its summary (capture loss under ``skipped["dropped"]``), the
    analyzer holding its connections and findings, and dumpcap's statistics."""

    summary: CaptureSummary
    analyzer: Analyzer
    stats: tuple[InterfaceStats, ...]
    elapsed: float
    """Wall-clock seconds from the start of the capture to its end."""
    write_error: str | None = None
    """Why the ``--write`` file ends before the capture did (a full disk), if it does."""

    @property
    def lost(self) -> int:
        return sum(s.lost for s in self.stats)


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """Counters of a running capture, for a live view."""

    elapsed: float
    """Wall-clock seconds since the capture started."""
    packets: int
    tcp_packets: int
