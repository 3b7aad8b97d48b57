"""GitHub Actions workflow annotations: ``::error``/``::warning``/``::notice`` lines.

Printed in a workflow step, each line becomes an annotation on the run's summary page (and on
the pull request's files, for files it changed). Errors and warnings get one line each. Info
findings do not: a lossy capture has tens of thousands of duplicate ACKs, and GitHub shows only
a few annotations per step anyway, so they are summed up as one ``::notice`` per capture and
rule with the count and the first frame. An error or warning's message ends with its next
step, on lines of their own: the ``tshark`` command whose display filter selects its frame and
the ``tcpcheck show`` command that draws its connection. A damaged capture is a
``::warning``; a baseline adds one ``::notice`` (attached to the baseline file) with what it
suppressed and what went stale. With ``--profile auto``, each host of a connection with an
error or warning gets one ``::notice`` with the profile its sides were judged by and why, as
the terminal's Hosts table shows them (the profile weighs those findings).

Escaping is exactly @actions/core's (``toolkit/packages/core/src/command.ts``): in the message
``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in property values also ``:`` and ``,``
become ``%3A`` and ``%2C``. The runner undoes it; without it a message with a newline would
end the command early and a path with a comma would cut the properties short.
"""

from __future__ import annotations

from tcpcheck.report.hosts_view import host_rows
from tcpcheck.report.nextstep import NextSteps
from tcpcheck.result import (
    AnalysisResult,
    BaselineEntry,
    BaselineReport,
    ConnectionKey,
    ConnectionSummary,
    Finding,
    HostProfile,
    Severity,
)
from tcpcheck.wording import counted

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}

STALE_SHOWN = 10
"""Stale baseline entries named in the baseline notice before the rest are counted."""

def render_github(result: AnalysisResult) -> str:
    """The workflow commands for ``result``, one per line (empty when there is nothing to say).

    Per capture, in input order: its damage, its error and warning findings in result order,
    then one notice per rule of its info findings (in rule-code order); the baseline last.
    """
    connections = {(c.input, c.id): c for c in result.connections}
    steps = NextSteps(result.connections)
    by_input: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_input.setdefault(finding.input, []).append(finding)
    lines: list[str] = []
    inputs = list(dict.fromkeys([c.input for c in result.captures] + list(by_input)))
    damage = {c.input: c.damage for c in result.captures if c.damage}
    hosts: dict[str, list[HostProfile]] = {}
    for path, host in host_rows(result)[0]:
        hosts.setdefault(path, []).append(host)
    for path in inputs:
        if path in damage:
            lines.append(command("warning", {"file": path, "title": "capture damaged"},
                                 f"{damage[path]} (analysed up to there)"))
        info: dict[tuple[str, str], list[Finding]] = {}
        for finding in by_input.get(path, []):
            if finding.severity is Severity.INFO:
                info.setdefault((finding.code, finding.rule), []).append(finding)
            else:
                lines.append(_finding_line(finding, connections, steps))
        for key in sorted(info):
            lines.append(_info_line(info[key], connections))
        lines.extend(_host_line(path, host) for host in hosts.get(path, ()))
    if result.baseline is not None:
        lines.append(_baseline_line(result.baseline))
    return "".join(line + "\n" for line in lines)


def command(name: str, properties: dict[str, str], message: str) -> str:
    """One workflow command line, escaped as @actions/core's ``issueCommand`` does (properties
    with an empty value are left out, as there)."""
    props = ",".join(f"{key}={escape_property(value)}"
                     for key, value in properties.items() if value)
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """A command's message: ``%``, CR and LF escaped (``%`` first, so nothing is escaped
    twice)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: as ``escape_data``, and ``:`` and ``,`` as well."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _title(finding: Finding) -> str:
    return f"{finding.code} {finding.rule}"


def _where(finding: Finding, connections: dict[ConnectionKey, ConnectionSummary]) -> str:
    """``frame F, connection N client → server``."""
    conn = connections.get(finding.connection_key)
    where = f"frame {finding.frame}, connection {finding.connection}"
    if conn is not None:
        where += f" {conn.client} → {conn.server}"
    return where


def _finding_line(finding: Finding, connections: dict[ConnectionKey, ConnectionSummary],
                  steps: NextSteps) -> str:
    details = (f"{_where(finding, connections)}; expected {finding.expected}; "
               f"observed {finding.observed}; {finding.reference}")
    next_step = "".join(f"\n{label}: {value}" for label, value in steps.of(finding).lines())
    return command(COMMAND[finding.severity], {"file": finding.input, "title": _title(finding)},
                   f"{finding.message} ({details}){next_step}")


def _info_line(findings: list[Finding],
               connections: dict[ConnectionKey, ConnectionSummary]) -> str:
    first = findings[0]
    count = sum(f.count for f in findings)  # a folded artefact counts all it stands for
    message = (f"{counted(count, 'info finding')}; first at {_where(first, connections)}: "
               f"{first.message} "
               f"({first.reference})")
    return command("notice", {"file": first.input, "title": _title(first)}, message)


def _host_line(path: str, host: HostProfile) -> str:
    return command("notice", {"file": path, "title": f"tcpcheck host {host.address}"},
                   f"judged by profile {host.summary()}")


def _baseline_line(baseline: BaselineReport) -> str:
    message = f"baseline {baseline.path} suppressed {counted(baseline.suppressed, 'finding')}"
    if baseline.stale:
        stale = sum(entry.count for entry in baseline.stale)
        entries = "; ".join(_stale(entry) for entry in baseline.stale[:STALE_SHOWN])
        more = len(baseline.stale) - STALE_SHOWN
        if more > 0:
            entries += f"; … and {more:,} more"
        accepted = counted(stale, "accepted finding no longer occurs",
                           "accepted findings no longer occur")
        message += f"; {accepted} (regenerate it with --write-baseline): {entries}"
    return command("notice", {"file": baseline.path, "title": "tcpcheck baseline"}, message)


def _stale(entry: BaselineEntry) -> str:
    where = ", ".join(part for part in (entry.side, entry.position) if part)
    text = f"{entry.count:,} of {entry.code} {entry.rule} in {entry.input}"
    return f"{text} ({where})" if where else text
