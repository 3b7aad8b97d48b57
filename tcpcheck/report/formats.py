"""The registry of report formats: each name with its renderer and what it supports.

``--format`` accepts exactly these names, ``--help`` and the README list them, and a run asks
the registry whether a format needs the recorded timelines or takes ``--timestamp``: a new
format is one entry here and one renderer module, nothing else to dispatch.

Each entry imports its renderer when it writes: a run pays only for the formats it asks for
(the others were about 0.03 s of every run's start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console

from tcpcheck.catalog import Catalog
from tcpcheck.result import AnalysisResult, Severity


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """What the command line decides about every report of a run."""

    catalog: Catalog
    fail_on: Severity | None
    """The gate's level (None: ``--fail-on never``)."""
    timestamp: str | None = None
    """The run's start time (ISO 8601 UTC) with ``--timestamp``; None keeps reports
    byte-identical between runs."""
    html_all: bool = False
    """``--html-all``: draw every connection, not only those with findings."""
    quiet: bool = False
    """``-q``: only the findings that fail the run."""
    no_info: bool = False
    """``--no-info``: info findings left out of the terminal report."""


@dataclass(frozen=True, slots=True)
class Sink:
    """Where one report goes: the file (or stdout) for text, and a console on the same file
    for a format drawn with rich (colour and width already chosen for it)."""

    file: TextIO
    console: Console


@dataclass(frozen=True, slots=True)
class ReportFormat:
    """One ``--format`` value."""

    name: str
    write: Callable[[AnalysisResult, Sink, ReportSettings], None]
    extension: str
    """The usual file name extension, without the dot."""
    timestamp: bool = False
    """Dated by ``--timestamp``."""
    timelines: bool = False
    """Draws per-segment timelines, which the analysis records only when asked."""
    streams: bool = False
    """Reads the result's findings and connections in order without holding them, so a big
    result can stay in its spill file (``tcpcheck.spill``); the other formats are given the
    result in memory (``AnalysisResult.in_memory``)."""


def _terminal(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.terminal import render_failures, render_terminal
    if settings.quiet:
        render_failures(result, sink.console, settings.fail_on)
    else:
        render_terminal(result, sink.console, show_info=not settings.no_info,
                        fail_on=settings.fail_on)


def _json(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.jsondoc import write_json
    # Streamed: a big capture's document is tens of megabytes.
    write_json(result, sink.file, timestamp=settings.timestamp)


def _junit(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.junit import render_junit
    sink.file.write(render_junit(result, settings.fail_on, timestamp=settings.timestamp))


def _sarif(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.sarif import write_sarif
    write_sarif(result, settings.catalog, sink.file, timestamp=settings.timestamp)


def _github(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.github import render_github
    sink.file.write(render_github(result))


def _markdown(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.markdown import render_markdown
    sink.file.write(render_markdown(result, settings.fail_on))


def _html(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.html import render_html
    sink.file.write(render_html(result, settings.catalog, settings.fail_on,
                                all_connections=settings.html_all,
                                timestamp=settings.timestamp))


def _csv(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.csvdoc import render_csv
    sink.file.write(render_csv(result))


def _zeek(result: AnalysisResult, sink: Sink, settings: ReportSettings) -> None:
    from tcpcheck.report.zeek import render_zeek
    sink.file.write(render_zeek(result))


REGISTRY: dict[str, ReportFormat] = {f.name: f for f in (
    ReportFormat("terminal", _terminal, "txt"),
    ReportFormat("json", _json, "json", timestamp=True, streams=True),
    ReportFormat("junit", _junit, "xml", timestamp=True),
    ReportFormat("sarif", _sarif, "sarif", timestamp=True, streams=True),
    ReportFormat("github", _github, "txt"),
    ReportFormat("markdown", _markdown, "md"),
    ReportFormat("html", _html, "html", timestamp=True, timelines=True),
    ReportFormat("csv", _csv, "csv"),
    ReportFormat("zeek", _zeek, "log"),
)}
"""Every report format by name, in the order ``--help`` lists them."""

FORMATS = tuple(REGISTRY)
"""The format names, in the registry's order."""
