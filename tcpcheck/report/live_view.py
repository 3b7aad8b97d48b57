"""What a live capture shows while it runs: a view updating in place on a terminal, one line
per finding anywhere else.

Both receive findings from the pipeline as they happen (``add``), on the pipeline's thread,
and do as little as they can there: ``LiveView`` only counts and keeps the last few, and all
its rendering happens in rich's refresh thread, about four times a second; ``FindingLines``
prints the finding's line (the ``--quiet`` format of ``analyze``) and flushes it.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tcpcheck.live_status import LiveStatus
from tcpcheck.report.terminal import SEVERITY_STYLE, finding_line
from tcpcheck.result import Finding, Severity
from tcpcheck.wording import counted

RECENT_FINDINGS = 10
"""Findings listed under the counters, newest last."""
REFRESH_PER_SECOND = 4
STATES_EVERY = 1.0
"""Seconds between two counts of the open connections by state: the count visits every open
connection, so it is kept off most refreshes."""
ENDED_STATES = frozenset({"TIME_WAIT", "CLOSED"})
"""States of connections that are over: still tracked (TIME_WAIT lasts up to 2 MSL, and a
reused tuple is checked against it), but not counted as open."""
RATE_WINDOW = 2.0
"""Seconds of history the packets/s figure averages over."""


class LiveSource(Protocol):
    """The running capture, as the view reads it from rich's refresh thread."""

    def status(self) -> LiveStatus: ...

    def state_counts(self) -> dict[str, int]: ...


class FindingLines:
    """One line per finding as it happens, flushed: ``live:eth0:FRAME: CODE slug message
    (connection N client → server)``. Findings below ``min_severity`` are left out."""

    def __init__(self, console: Console, min_severity: Severity = Severity.INFO) -> None:
        self.console = console
        self.min_severity = min_severity

    def add(self, finding: Finding, endpoints: tuple[str, str] | None) -> None:
        if finding.severity < self.min_severity:
            return
        self.console.print(finding_line(finding, endpoints), soft_wrap=True)
        self.console.file.flush()


class LiveView:
    """The live display: packets and packets/s, open connections by state, findings by
    severity and the last few of them, updating in place.

    Use as a context manager around the capture; ``transient`` removes the display at the end
    (when the final report follows it on the same terminal). Findings below ``min_severity``
    are counted but not listed.
    """

    def __init__(self, console: Console, source: LiveSource, title: str, *,
                 min_severity: Severity = Severity.INFO, transient: bool = False) -> None:
        self.console = console
        self.source = source
        self.title = title
        self.min_severity = min_severity
        self.counts = {severity: 0 for severity in sorted(Severity, reverse=True)}
        self.recent: deque[tuple[Finding, tuple[str, str] | None]] = deque(
            maxlen=RECENT_FINDINGS)
        self._live = Live(self, console=console, refresh_per_second=REFRESH_PER_SECOND,
                          transient=transient, redirect_stdout=False, redirect_stderr=True)
        self._rates: deque[tuple[float, int]] = deque()
        self._states: dict[str, int] = {}
        self._states_at = -STATES_EVERY

    def add(self, finding: Finding, endpoints: tuple[str, str] | None) -> None:
        """Count a finding (the pipeline's thread: no rendering here)."""
        self.counts[finding.severity] += 1
        if finding.severity >= self.min_severity:
            self.recent.append((finding, endpoints))

    def __enter__(self) -> LiveView:
        self._live.start(refresh=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def __rich__(self) -> RenderableType:
        """The display as of now (rich's refresh thread)."""
        status = self.source.status()
        now = time.monotonic()
        if now - self._states_at >= STATES_EVERY:
            self._states = self.source.state_counts()
            self._states_at = now
        parts: list[RenderableType] = [
            Text.assemble(("● ", "red"), ("capturing on ", "bold"), (self.title, "bold"),
                          (f" · {_clock(status.elapsed)} · Ctrl-C stops and reports", "dim")),
            Text.assemble(("packets ", "dim"), f"{status.packets:,}",
                          (" · ", "dim"), f"{self._rate(now, status.packets):,.0f}/s",
                          (" · TCP ", "dim"), f"{status.tcp_packets:,}",
                          *_open_connections(self._states)),
        ]
        if self._states:
            states = Text("  ")
            for i, (state, count) in enumerate(self._states.items()):
                states.append(" · " if i else "", style="dim")
                states.append(f"{state} {count:,}")
            parts.append(states)
        parts.append(self._tally())
        recent = list(self.recent)  # one step under the GIL while the pipeline appends
        if recent:
            parts.append(_recent_table(recent))
        return Group(*parts)

    # ------------------------------------------------------------------ internals

    def _rate(self, now: float, packets: int) -> float:
        """Packets per second over the last ``RATE_WINDOW`` seconds."""
        rates = self._rates
        rates.append((now, packets))
        while len(rates) > 2 and now - rates[0][0] > RATE_WINDOW:
            rates.popleft()
        then, before = rates[0]
        return (packets - before) / (now - then) if now > then else 0.0

    def _tally(self) -> Text:
        line = Text("findings ", style="dim")
        for i, (severity, count) in enumerate(self.counts.items()):
            if i:
                line.append(" · ", style="dim")
            line.append(counted(count, severity.label),
                        style=SEVERITY_STYLE[severity] if count else "dim")
        return line


def _recent_table(recent: list[tuple[Finding, tuple[str, str] | None]]) -> Table:
    """One line per finding; the message takes what the other columns leave and is cut."""
    table = Table.grid(padding=(0, 1, 0, 0), expand=True)
    table.add_column(no_wrap=True)  # code
    table.add_column(no_wrap=True, style="bold")  # slug
    table.add_column(no_wrap=True, justify="right", style="dim")  # frame
    table.add_column(no_wrap=True, style="dim")  # connection
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1, min_width=20)  # message
    for finding, endpoints in recent:
        where = f"conn {finding.connection}"
        if endpoints is not None:
            where += f" {endpoints[0]} → {endpoints[1]}"
        table.add_row(Text("  " + finding.code, style=SEVERITY_STYLE[finding.severity]),
                      Text(finding.rule), Text(f"frame {finding.frame:,}"), Text(where),
                      Text(finding.message))
    return table


def _open_connections(states: dict[str, int]) -> tuple[str | tuple[str, str], ...]:
    """`` · open connections 12 (not counting 3 in TIME_WAIT or CLOSED)``: the connections
    that are not over, and how many tracked ones were left out of that count."""
    ended = sum(count for state, count in states.items() if state in ENDED_STATES)
    parts: tuple[str | tuple[str, str], ...] = (
        (" · open connections ", "dim"), f"{sum(states.values()) - ended:,}")
    if ended:
        parts += ((f" (not counting {ended:,} in TIME_WAIT or CLOSED)", "dim"),)
    return parts


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
