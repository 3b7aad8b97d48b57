"""The JSON report: the machine-readable document, schema version 1.

The document is public API. Within one schema version fields are only ever added, never
removed or renamed; a breaking change bumps ``SCHEMA_VERSION``. The output is a pure function
of the result: the same result gives byte-identical text (fixed field order, floats rounded to
``FLOAT_DIGITS`` decimals, nothing about the run itself such as the wall-clock time, unless a
``timestamp`` is given: ``--timestamp`` dates this report as it dates junit, sarif and html).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, TextIO

from tcpcheck.model.stats import ConnectionStats, DirectionStats
from tcpcheck.report.nextstep import NextStep, NextSteps
from tcpcheck.result import (
    AnalysisResult,
    BaselineReport,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    HostProfile,
    Severity,
)
from tcpcheck.spill import on_disk

SCHEMA_VERSION = 1
"""Version of the document's shape; bumped only for a change that is not purely additive."""

FLOAT_DIGITS = 6
"""Decimals kept for every float (times in seconds: microsecond resolution)."""


def render_json(result: AnalysisResult, *, timestamp: str | None = None) -> str:
    """The whole result as a JSON document: indented by 2, ASCII only, ending in a newline.

    ``timestamp`` (ISO 8601 UTC, e.g. 2026-11-21T10:00:00Z), when given, is the run's start
    time, written as the top-level ``timestamp`` field; without it there is no such field.
    """
    out = io.StringIO()
    write_json(result, out, timestamp=timestamp)
    return out.getvalue()


def write_json(result: AnalysisResult, fp: TextIO, *, timestamp: str | None = None) -> None:
    """Write the document of ``render_json`` to ``fp``.

    The small head is indented; each connection and finding is one line. That keeps the file
    readable and greppable, and lets the C encoder do the bulk: the indenting encoder is pure
    Python and, on big captures, cost more time and memory than the analysis itself.
    """
    counts = _counts_by_capture(result)  # one reading of the findings for both tallies
    head: dict[str, Any] = {
        "tool": "tcpcheck",
        "version": result.tool_version,
        "schema": SCHEMA_VERSION,
    }
    if timestamp is not None:
        # Only when asked: without it, the same input gives byte-identical reports.
        head["timestamp"] = timestamp
    head |= {
        "input": _input_field(result.captures),
        "profile": result.profile,
        "summary": {
            "packets": result.packets,
            "tcp_packets": result.tcp_packets,
            "connections": len(result.connections),
            "findings": _totals(counts),
            "skipped": _total_skipped(result.captures),
            "captures": [_capture(c, counts) for c in result.captures],
        },
    }
    folded = sum(c.folded.connections for c in result.captures if c.folded is not None)
    if folded:
        # Only when connections were folded: other reports stay byte-identical.
        head["summary"]["folded_connections"] = folded
    if result.baseline is not None:
        head["summary"]["baseline"] = _baseline(result.baseline)
    text = json.dumps(head, indent=2, ensure_ascii=True, allow_nan=False)
    fp.write(text[:-2])  # reopen the object: drop the closing "\n}"
    encode = json.JSONEncoder(ensure_ascii=True, allow_nan=False,
                              separators=(", ", ": ")).encode
    steps = NextSteps(result.connections, in_order=on_disk(result.connections))
    findings = (_finding(f, steps.of(f)) for f in result.findings)
    tables: list[tuple[str, Iterable[dict[str, Any]]]] = [
        ("connections", map(_connection, result.connections)), ("findings", findings)]
    if any(c.hosts for c in result.captures):
        # Only with --profile auto: a forced profile's reports stay byte-identical.
        tables.append(("hosts", (_host(c.input, h) for c in result.captures for h in c.hosts)))
    for key, rows in tables:
        fp.write(f',\n  "{key}": [')
        sep = "\n    "
        for row in rows:
            fp.write(sep + encode(row))
            sep = ",\n    "
        fp.write("]" if sep == "\n    " else "\n  ]")
    fp.write("\n}\n")


def _input_field(captures: tuple[CaptureSummary, ...]) -> str | list[str]:
    """One capture: its path; several (or none): the list of paths."""
    paths = [c.input for c in captures]
    return paths[0] if len(paths) == 1 else paths


def _total_skipped(captures: tuple[CaptureSummary, ...]) -> dict[str, int]:
    """Skipped records by reason over every capture, reasons in alphabetical order."""
    total: dict[str, int] = {}
    for capture in captures:
        for reason, count in capture.skipped.items():
            total[reason] = total.get(reason, 0) + count
    return dict(sorted(total.items()))


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), FLOAT_DIGITS)


def _counts_by_capture(result: AnalysisResult) -> dict[str, dict[str, int]]:
    """Findings of each capture by severity label, every severity present."""
    zero = {s.label: 0 for s in sorted(Severity, reverse=True)}
    out = {c.input: dict(zero) for c in result.captures}
    for f in result.findings:
        out.setdefault(f.input, dict(zero))[f.severity.label] += 1
    return out


def _totals(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """The findings of every capture by severity label (``AnalysisResult.counts``)."""
    out = {s.label: 0 for s in sorted(Severity, reverse=True)}
    for tally in counts.values():
        for label, count in tally.items():
            out[label] += count
    return out


def _capture(capture: CaptureSummary, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    out = {
        "input": capture.input,
        "format": capture.format,
        "packets": capture.packets,
        "tcp_packets": capture.tcp_packets,
        "skipped": dict(sorted(capture.skipped.items())),
        "damage": capture.damage,
        "capture_start": _seconds(capture.capture_start),
        "profile": capture.profile,
        "findings": counts[capture.input],
    }
    if capture.folded is not None:
        out["folded"] = asdict(capture.folded)
    return out


def _host(path: str, host: HostProfile) -> dict[str, Any]:
    return {"input": path} | asdict(host)


def _baseline(baseline: BaselineReport) -> dict[str, Any]:
    return {
        "path": baseline.path,
        "suppressed": baseline.suppressed,
        "stale": [asdict(e) for e in baseline.stale],
    }


def _connection(conn: ConnectionSummary) -> dict[str, Any]:
    out = {
        "id": conn.id,
        "input": conn.input,
        "client": conn.client,
        "server": conn.server,
        "first_frame": conn.first_frame,
        "last_frame": conn.last_frame,
        "start": _seconds(conn.start),
        "end": _seconds(conn.end),
        "packets": conn.packets,
        "client_bytes": conn.client_bytes,
        "server_bytes": conn.server_bytes,
        "client_state": conn.client_state,
        "server_state": conn.server_state,
        "close": conn.close,
        "midstream": conn.midstream,
        "client_profile": conn.client_profile,
        "server_profile": conn.server_profile,
    }
    if conn.stats is not None:
        out["stats"] = _stats(conn.stats)
    return out


def _stats(stats: ConnectionStats) -> dict[str, Any]:
    """The model's statistics of a connection (README: "Per-connection statistics")."""
    return {"duration": _seconds(stats.duration), "timestamps": stats.timestamps,
            "client": _direction(stats.client), "server": _direction(stats.server)}


_DIRECTION_FIELDS = DirectionStats._fields[:-1]  # all but the history (Zeek's letters)
_DIRECTION_FLOATS = ("throughput", "rtt_min", "rtt_mean", "rtt_max", "zero_window")


def _direction(d: DirectionStats) -> dict[str, Any]:
    """One side's figures, named as ``DirectionStats`` names them (one line per connection
    of a big capture: built by zip, not field by field)."""
    out = dict(zip(_DIRECTION_FIELDS, d, strict=False))
    for key in _DIRECTION_FLOATS:
        out[key] = _seconds(out[key])
    return out


def _finding(finding: Finding, step: NextStep) -> dict[str, Any]:
    out = {
        "rule": finding.rule,
        "code": finding.code,
        "severity": finding.severity.label,
        "input": finding.input,
        "connection": finding.connection,
        "frame": finding.frame,
        "time": _seconds(finding.time),
        "message": finding.message,
        "expected": finding.expected,
        "observed": finding.observed,
        "reference": finding.reference,
        "side": finding.side,
        "position": finding.position,
        "fingerprint": finding.fingerprint,
        "display_filter": step.display_filter,
        "show_command": step.show,
    }
    if finding.fold is not None:
        # Only on a folded artefact finding: other findings stay as they were.
        out["fold"] = asdict(finding.fold)
    if finding.connection_input:
        # Only in a stitched set, on a finding past the file its connection is listed in.
        out["connection_input"] = finding.connection_input
    return out
