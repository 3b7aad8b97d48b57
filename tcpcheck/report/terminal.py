"""The terminal report: what an SRE wants at a glance, rendered with rich.

Five parts, in order: a summary of the captures and counters, the errors and warnings grouped
by rule, the info findings one line per rule, a table of connections, and a one-line verdict.
Every piece of text taken from the result is passed to rich as a ``Text`` (never as markup), so
brackets in IPv6 endpoints or messages are printed as they are. Colour is left to the console:
with ``no_color`` the same report comes out as plain text; on a ``PlainConsole`` (a pipe or a
file) nothing wraps and each connection is one line (``tcpcheck.report.plain``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from rich import box
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tcpcheck.report.hosts_view import print_hosts
from tcpcheck.report.nextstep import NextSteps
from tcpcheck.report.plain import is_plain
from tcpcheck.report.wording import folded_note
from tcpcheck.result import (
    AnalysisResult,
    CaptureSummary,
    ConnectionKey,
    ConnectionSummary,
    Finding,
    Severity,
    tallies_by_connection,
)
from tcpcheck.wording import counted, plural_noun

DEFAULT_MAX_CONNECTIONS = 20
"""Connections without error or warning findings listed before the rest are summed up."""

STALE_SHOWN = 20
"""Baseline entries that no longer occur, listed before the rest are summed up."""

INFO_SHOWN_PER_RULE = 5
"""Info findings shown per rule and capture before the rest are summed up, where info is
shown in full (``tcpcheck show``); the report of ``analyze`` gives each rule one line."""

FRAMES_LISTED = 5
"""Frames (and hosts) named on the one line of an info rule."""

SHOWN_PER_RULE = 100
"""Error and warning findings shown per rule and capture before the rest are summed up: a
capture with heavy capture loss can hold thousands, which no one reads in a terminal and
which rich takes a millisecond each to lay out (the JSON report has them all)."""

SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "blue",
}

_Tally = dict[Severity, int]
"""Findings of one connection, counted by severity."""


STATS_WIDTH = 110
"""Console columns from which the connections table shows per-side statistics."""

def render_terminal(
    result: AnalysisResult,
    console: Console,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    show_info: bool = True,
    fail_on: Severity | None = Severity.ERROR,
) -> None:
    """Print the human report of ``result`` on ``console``.

    ``max_connections`` bounds the connections listed that have no error or warning finding
    (those that do are always listed); ``show_info=False`` leaves info findings out of the
    findings section (they are still counted in the summary and the verdict). ``fail_on`` is
    the gate's level (None: never fails), which the verdict line judges by.
    """
    multiple_inputs = len(result.captures) > 1
    _print_summary(result, console)
    print_hosts(result, console)
    _print_findings(result, console, show_info, multiple_inputs)
    _print_connections(result, console, max_connections, multiple_inputs)
    _print_baseline(result, console)
    console.print()
    console.print(verdict(result, fail_on))


def render_failures(result: AnalysisResult, console: Console,
                    fail_on: Severity | None) -> None:
    """``--quiet``: only the findings that fail the run, one line each, and nothing else."""
    if fail_on is None:
        return
    connections = {(c.input, c.id): c for c in result.connections}
    for f in result.findings:
        if f.severity < fail_on:
            continue
        conn = connections.get(f.connection_key)
        endpoints = None if conn is None else (conn.client, conn.server)
        console.print(finding_line(f, endpoints), soft_wrap=True)


def finding_line(finding: Finding, endpoints: tuple[str, str] | None) -> Text:
    """One finding on one line, ``INPUT:FRAME: CODE slug message (connection N client →
    server)``: what ``--quiet`` prints, and a live capture as findings happen.

    ``endpoints`` is the connection's ``(client, server)``; None leaves the part in brackets
    out.
    """
    f = finding
    line = Text.assemble((f"{f.input}:{f.frame}", "bold"), ": ",
                         (f.code, SEVERITY_STYLE[f.severity]), " ", (f.rule, "bold"), " ",
                         f.message)
    if endpoints is not None:
        client, server = endpoints
        line.append(f" (connection {f.connection} {client} → {server})", style="dim")
    return line


def verdict(result: AnalysisResult, fail_on: Severity | None = Severity.ERROR) -> Text:
    """The closing line: ``✗ 2 errors, 1 warning, 14 info in 3 connections`` or ``✓ …``.

    It fails when a finding is at or above ``fail_on`` (None: never).
    """
    counts = result.counts()
    in_connections = f"in {counted(result.total_connections, 'connection')}"
    if fail_on is not None and any(f.severity >= fail_on for f in result.findings):
        tally = _severity_tally(counts)
        return Text(f"✗ {tally} {in_connections}", style=SEVERITY_STYLE[Severity.ERROR])
    line = Text(f"✓ {_PASSED[fail_on]} {in_connections}", style="bold green")
    if any(counts.values()):
        line.append(f" ({_severity_tally(counts)})", style="default")
    return line


_PASSED = {
    Severity.ERROR: "no protocol errors",
    Severity.WARNING: "no protocol errors or warnings",
    Severity.INFO: "no findings",
    None: "passed (--fail-on never)",
}


# -- summary -------------------------------------------------------------------------------


def _print_summary(result: AnalysisResult, console: Console) -> None:
    console.print(Text.assemble(("tcpcheck ", "bold"), result.tool_version,
                                " · profile ", (result.profile, "bold")))
    # Per-path configuration may check files against different profiles: then say which.
    per_capture_profile = len({c.profile for c in result.captures}) > 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("capture", overflow="fold")
    if per_capture_profile:
        table.add_column("profile", no_wrap=True)
    table.add_column("format", no_wrap=True)
    table.add_column("packets", justify="right", no_wrap=True)
    table.add_column("TCP", justify="right", no_wrap=True)
    table.add_column("skipped")
    for capture in result.captures:
        profile = [Text(capture.profile)] if per_capture_profile else []
        table.add_row(Text(capture.input), *profile, Text(capture.format),
                      Text(f"{capture.packets:,}"), Text(f"{capture.tcp_packets:,}"),
                      _skipped(capture))
    console.print(table)
    for capture in result.captures:
        if capture.damage:
            console.print(Text.assemble(
                ("damage ", "bold red"), (capture.input, "bold"), ": ",
                (capture.damage, "red"), " (analysed up to there)"))
    counts = result.counts()
    line = Text(counted(result.total_connections, "connection"))
    for severity in sorted(Severity, reverse=True):
        count = counts[severity.label]
        line.append(" · ")
        style = SEVERITY_STYLE[severity] if count else "dim"
        line.append(counted(count, severity.label), style=style)
    console.print(line)


def _skipped(capture: CaptureSummary) -> Text:
    if not capture.skipped:
        return Text("-", style="dim")
    reasons = sorted(capture.skipped.items())
    return Text(", ".join(f"{reason} {count:,}" for reason, count in reasons))


# -- connections ---------------------------------------------------------------------------


def _print_connections(result: AnalysisResult, console: Console, max_connections: int,
                       multiple_inputs: bool) -> None:
    """One table per capture; past ``max_connections`` only flagged connections are listed."""
    console.print()
    _heading(console, "connections")
    folds = {c.input: c.folded for c in result.captures if c.folded is not None}
    if not result.connections and not folds:
        console.print(Text("no TCP connections in the capture", style="dim"))
        return
    tallies = tallies_by_connection(result.findings)
    others_left = max_connections
    one_line = is_plain(console)
    # The statistics columns only on a terminal that leaves the addresses room (an 80-column
    # one, and a pipe's one-line records, keep the table they had; --format json/csv have
    # every figure).
    stats = (not one_line and console.width >= STATS_WIDTH
             and any(c.stats is not None for c in result.connections))
    for input_path, group in groupby(result.connections, key=lambda c: c.input):
        table = _connections_table(stats)
        hidden = 0
        for conn in group:
            tally = tallies.get((conn.input, conn.id), {})
            if not (tally.get(Severity.ERROR) or tally.get(Severity.WARNING)):
                if others_left <= 0:
                    hidden += 1
                    continue
                others_left -= 1
            table.add_row(*_connection_row(conn, tally, one_line, stats))
        if multiple_inputs:
            console.print(Text(input_path, style="bold"))
        if table.row_count:
            console.print(table)
        if hidden:
            more = plural_noun(hidden, "connection")
            console.print(Text(f"… {hidden:,} more {more} without errors or warnings (use "
                               "--format json for all)", style="dim"))
        folded = folds.pop(input_path, None)
        if folded is not None:
            console.print(Text(f"… {folded_note(folded)}", style="dim"))
    for input_path, folded in folds.items():  # captures with no connection listed at all
        if multiple_inputs:
            console.print(Text(input_path, style="bold"))
        console.print(Text(f"… {folded_note(folded)}", style="dim"))


def _connections_table(stats: bool) -> Table:
    """Two lines per connection: the client and its state above, the server and its below;
    with ``stats``, what each side sent (a compact subset of the JSON's statistics)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("client → server", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("frames", no_wrap=True)
    table.add_column("pkts", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    if stats:
        table.add_column("bytes", justify="right", no_wrap=True)
        table.add_column("rtt", justify="right", no_wrap=True)
        table.add_column("retx", justify="right", no_wrap=True)
    table.add_column("close", no_wrap=True)
    table.add_column("findings", no_wrap=True)
    return table


def _stats_cells(conn: ConnectionSummary) -> list[Text]:
    """Bytes, mean RTT and retransmitted segments, the client's above the server's."""
    if conn.stats is None:
        return [Text(""), Text(""), Text("")]
    sides = (conn.stats.client, conn.stats.server)
    return [
        Text("\n".join(f"{d.bytes:,}" for d in sides)),
        Text("\n".join("-" if d.rtt_mean is None else _rtt(d.rtt_mean) for d in sides)),
        Text("\n".join(f"{d.retransmitted_segments:,}" for d in sides)),
    ]


def _rtt(seconds: float) -> str:
    """A round trip: two decimals of a millisecond below one (loopback RTTs are µs)."""
    return f"{seconds * 1000:.2f} ms" if seconds < 0.001 else format_duration(seconds)


def _connection_row(conn: ConnectionSummary, tally: _Tally, one_line: bool,
                    stats: bool) -> list[Text]:
    """The cells of one connection: on two lines (client above server), or on one line for a
    pipe, where every record is one line that grep and awk can take."""
    sep = " " if one_line else "\n"
    close = Text(conn.close, style="red" if conn.close in ("reset", "refused") else "")
    if conn.midstream:
        close.append(f"{',' if one_line else ''}{sep}midstream", style="dim")
    return [
        Text(str(conn.id), style=_worst_style(tally)),
        Text(f"{conn.client}{sep}→ {conn.server}"),
        Text(f"{conn.client_state}{'/' if one_line else sep}{conn.server_state}"),
        Text(f"{conn.first_frame}-{conn.last_frame}"),
        Text(f"{conn.packets:,}"),
        Text(format_duration(conn.end - conn.start)),
        *(_stats_cells(conn) if stats else ()),
        close,
        _tally_cell(tally),
    ]


def _tally_cell(tally: _Tally) -> Text:
    """``2E 1W 3I``: count per severity, zeros left out."""
    cell = Text()
    for severity in sorted(tally, reverse=True):
        if cell:
            cell.append(" ")
        cell.append(f"{tally[severity]}{severity.label[0].upper()}", style=SEVERITY_STYLE[severity])
    return cell


def _worst_style(tally: _Tally) -> str:
    return SEVERITY_STYLE[max(tally)] if tally else ""


def format_duration(seconds: float) -> str:
    """A duration for people: ``0.4 ms``, ``12.35 s``, ``3m07s``, ``2h05m``."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# -- findings ------------------------------------------------------------------------------


def _print_findings(result: AnalysisResult, console: Console, show_info: bool,
                    multiple_inputs: bool) -> None:
    """Errors and warnings in full, grouped by rule; then info, one line per rule."""
    serious = [f for f in result.findings if f.severity > Severity.INFO]
    info = [f for f in result.findings if f.severity is Severity.INFO]
    if serious:
        console.print()
        _heading(console, "findings")
        connections = {(c.input, c.id): c for c in result.connections}
        steps = NextSteps(result.connections)
        # One section per capture file, in input order (findings are sorted by capture).
        for input_path, same_input in groupby(serious, key=lambda f: f.input):
            if multiple_inputs:
                console.print()
                console.print(Text(input_path, style="bold underline"))
            print_rule_groups(list(same_input), connections, console, steps=steps)
    if not info:
        return
    console.print()
    if not show_info:
        # Say how to get them back: the flag that hid them may be set in a CI script the
        # reader of this output never saw.
        console.print(Text(f"{counted(len(info), 'info finding')} not shown (--no-info): "
                           "run without --no-info to list them", style="dim"))
        return
    _heading(console, "info")
    for input_path, same_input in groupby(info, key=lambda f: f.input):
        if multiple_inputs:
            console.print(Text(input_path, style="bold underline"))
        for group in _by_rule(same_input):
            console.print(_info_line(group), soft_wrap=True)
    console.print(Text("each in full: --format json or html; one in its connection: "
                       "tcpcheck show FILE --frame N", style="dim"), soft_wrap=True)


def _heading(console: Console, title: str) -> None:
    """A section heading: a rule across a terminal; a plain line of the title in a pipe, where
    a rule as wide as the widest line would be noise."""
    if is_plain(console):
        console.print(Text(f"── {title} ──", style="bold"))
    else:
        console.rule(Text(title, style="bold"), align="left")


def _by_rule(findings: Iterable[Finding]) -> list[list[Finding]]:
    """Findings grouped by rule, the most severe rules first, then by code."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.code, finding.rule), []).append(finding)
    return sorted(groups.values(),
                  key=lambda fs: (-max(f.severity for f in fs), fs[0].code, fs[0].rule))


def _info_line(findings: list[Finding]) -> Text:
    """``CQ003 checksum-offload · info · 603 · host 127.0.0.1 · frames 1, 2, 12, 13, 22, …``:
    a rule's info findings on one line, with the hosts of folded artefacts."""
    first = findings[0]
    count = sum(f.count for f in findings)
    frames = [frame for f in findings for frame in (f.fold.frames if f.fold else (f.frame,))]
    line = Text.assemble((first.code, SEVERITY_STYLE[Severity.INFO]), " ", (first.rule, "bold"),
                         f" · info · {count:,}")
    hosts = sorted({f.fold.host for f in findings if f.fold is not None and f.fold.host})
    if hosts:
        line.append(f" · {plural_noun(len(hosts), 'host')} {', '.join(hosts[:FRAMES_LISTED])}"
                    + (", …" if len(hosts) > FRAMES_LISTED else ""))
    shown = ", ".join(str(frame) for frame in frames[:FRAMES_LISTED])
    more = ", …" if count > FRAMES_LISTED else ""
    line.append(f" · {plural_noun(count, 'frame')} {shown}{more}", style="dim")
    return line


def print_rule_groups(findings: list[Finding],
                      connections: dict[ConnectionKey, ConnectionSummary], console: Console, *,
                      show_info: bool = True, steps: NextSteps | None = None) -> int:
    """Findings grouped by rule, the most severe rules first, each finding explained (frame,
    message, expected, observed, reference) and, with ``steps``, followed by the commands
    that show its frame. ``connections`` name the endpoints of each finding's connection
    (those missing are not named). Returns the info findings left out when not
    ``show_info``."""
    hidden = 0
    for group in _by_rule(findings):
        severity = max(f.severity for f in group)
        if severity is Severity.INFO and not show_info:
            hidden += len(group)
            continue
        _print_rule_group(group, severity, connections, console, steps)
    return hidden


def _print_rule_group(findings: list[Finding], severity: Severity,
                      connections: dict[ConnectionKey, ConnectionSummary],
                      console: Console, steps: NextSteps | None) -> None:
    first = findings[0]
    style = SEVERITY_STYLE[severity]
    console.print()
    console.print(Text.assemble((first.code, style), " ", (first.rule, "bold"), " · ",
                                (severity.label, style),
                                f" · {sum(f.count for f in findings):,}"))
    shown = findings
    limit = INFO_SHOWN_PER_RULE if severity is Severity.INFO else SHOWN_PER_RULE
    if len(findings) > limit:
        shown = findings[:limit]
    for finding in shown:
        _print_finding(finding, connections.get(finding.connection_key), console)
        if steps is not None:
            _print_next_step(finding, steps, console)
    if len(shown) < len(findings):
        more = len(findings) - len(shown)
        console.print(Text(f"  … and {more:,} more (use --format json for all)", style="dim"))


def _print_finding(finding: Finding, conn: ConnectionSummary | None, console: Console) -> None:
    where = Text.assemble(("frame ", "bold"), (str(finding.frame), "bold"),
                          (f" · {finding.time:.6f} s", "dim"), f" · conn {finding.connection}")
    if conn is not None:
        where.append(f" {conn.client} → {conn.server}")
    details = Table.grid(padding=(0, 1, 0, 0))
    details.add_column(style="dim", no_wrap=True)
    details.add_column()
    details.add_row(Text("expected:"), Text(finding.expected))
    details.add_row(Text("observed:"), Text(finding.observed))
    details.add_row(Text("reference:"), Text(finding.reference, style="italic"))
    console.print(_indent(where, 2))
    console.print(_indent(Text(finding.message), 4))
    console.print(_indent(details, 4))


def _print_next_step(finding: Finding, steps: NextSteps, console: Console) -> None:
    """``look: tshark …`` and ``show: tcpcheck show …``, each on one line however long (a
    command is copied whole), or the filter and why there is no file to run them on."""
    for label, value in steps.of(finding).lines():
        console.print(Text.assemble(" " * 4, (f"{label}: ", "dim"), value), soft_wrap=True)


def _print_baseline(result: AnalysisResult, console: Console) -> None:
    baseline = result.baseline
    if baseline is None:
        return
    console.print()
    stale = len(baseline.stale)
    gone = ("" if not stale else "; " + counted(stale, "baseline entry no longer occurs",
                                                "baseline entries no longer occur"))
    console.print(Text.assemble(("baseline ", "bold"), (baseline.path, "bold"), ": ",
                                f"{counted(baseline.suppressed, 'finding')} suppressed{gone}"),
                  soft_wrap=True)
    shown = baseline.stale[:STALE_SHOWN]
    for e in shown:
        service = "" if e.service is None else f" port {e.service}"
        times = f" ({e.count} times)" if e.count > 1 else ""
        console.print(_indent(Text.assemble(
            (e.code, "dim"), " ", e.rule, f" {e.side}{service}",
            f" {e.position}" if e.position else "", times, (f" · {e.input}", "dim")), 2))
    if len(shown) < len(baseline.stale):
        console.print(Text(f"  … and {len(baseline.stale) - len(shown):,} more", style="dim"))


def _indent(renderable: RenderableType, columns: int) -> Padding:
    """Indented by ``columns``, wrapped lines included, without padding to the full width."""
    return Padding(renderable, (0, 0, 0, columns), expand=False)


# -- wording -------------------------------------------------------------------------------


def _severity_tally(counts: dict[str, int]) -> str:
    """``2 errors, 1 warning, 14 info``; severities with no finding left out."""
    parts = [counted(counts[s.label], s.label) for s in sorted(Severity, reverse=True)
             if counts[s.label]]
    return ", ".join(parts)


