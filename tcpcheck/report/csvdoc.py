"""The CSV report: one row per connection with the model's statistics, for pandas and
spreadsheets (``--format csv``).

RFC 4180: a header row, comma-separated fields, CRLF line ends, a field quoted when it holds a
comma, a quote or a line break (quotes doubled). Numbers are plain (no thousands separators),
times in seconds; an unknown value (no RTT sample, the window scale never seen) is an empty
field, which pandas reads as NaN. The columns are public API like the JSON's: only ever added,
at the end.
"""

from __future__ import annotations

import csv
import io

from tcpcheck.model.stats import DirectionStats
from tcpcheck.result import AnalysisResult, ConnectionSummary, Severity, tallies_by_connection

DIRECTION_FIELDS = ("packets", "bytes", "throughput", "retransmitted_segments",
                    "retransmitted_bytes", "rtt_samples", "rtt_min", "rtt_mean", "rtt_max",
                    "max_window", "zero_window", "missed_bytes")
"""Per-side columns, each once with ``client_`` and once with ``server_`` in front
(``DirectionStats``' fields of the same names; ``bytes`` is tcptrace's "unique bytes")."""

COLUMNS = ("input", "connection", "client", "server", "first_frame", "last_frame", "start",
           "end", "duration", "packets", "client_state", "server_state", "close", "midstream",
           "errors", "warnings", "info", "timestamps",
           *(f"{side}_{name}" for side in ("client", "server") for name in DIRECTION_FIELDS),
           "client_profile", "server_profile")
"""The header row, in order."""


def render_csv(result: AnalysisResult) -> str:
    """Every listed connection as one CSV row, under the header row ``COLUMNS``."""
    tallies = tallies_by_connection(result.findings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for conn in result.connections:
        writer.writerow(_row(conn, tallies.get((conn.input, conn.id), {})))
    return out.getvalue()


def _row(conn: ConnectionSummary, tally: dict[Severity, int]) -> list[object]:
    stats = conn.stats
    row: list[object] = [
        conn.input, conn.id, conn.client, conn.server, conn.first_frame, conn.last_frame,
        _number(conn.start), _number(conn.end), _number(conn.end - conn.start), conn.packets,
        conn.client_state, conn.server_state, conn.close, _flag(conn.midstream),
        tally.get(Severity.ERROR, 0), tally.get(Severity.WARNING, 0),
        tally.get(Severity.INFO, 0), "" if stats is None else _flag(stats.timestamps),
    ]
    for side in (None, None) if stats is None else (stats.client, stats.server):
        row.extend(_direction(side))
    row += (conn.client_profile, conn.server_profile)
    return row


def _direction(d: DirectionStats | None) -> list[object]:
    if d is None:
        return [""] * len(DIRECTION_FIELDS)
    return [_number(getattr(d, name)) for name in DIRECTION_FIELDS]


def _number(value: float | int | None) -> str:
    """An empty field for an unknown value; floats to the microsecond, as the JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
    return str(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"
