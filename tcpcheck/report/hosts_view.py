"""Which hosts a report's "Hosts" table shows (``--profile auto``: the profile each host was
judged by, and why).

The JSON, SARIF and JUnit reports list every host. The terminal and Markdown ones are read
by people: like Wireshark's Endpoints, short by default, they show the hosts of connections
with a warning or error, the ones a reader needs the profile of to weigh those findings.
"""

from __future__ import annotations

from html import escape

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tcpcheck.result import AnalysisResult, HostProfile, Severity


def host_rows(result: AnalysisResult, *, every: bool = False
              ) -> tuple[list[tuple[str, HostProfile]], int]:
    """``(capture, host)`` rows to show, in input order, and how many are left out: all of
    them with ``every``, else those of connections with a warning or error."""
    rows = [(c.input, host) for c in result.distinct_captures() for host in c.hosts]
    if every:
        return rows, 0
    involved = _involved(result)
    shown = [(path, host) for path, host in rows if (path, host.address) in involved]
    return shown, len(rows) - len(shown)


def _involved(result: AnalysisResult) -> set[tuple[str, str]]:
    """``(capture, address)`` of both ends of every connection with a warning or error."""
    keys = {(f.input, f.connection) for f in result.findings
            if f.severity >= Severity.WARNING}
    out: set[tuple[str, str]] = set()
    if not keys:
        return out
    for conn in result.connections:
        if (conn.input, conn.id) in keys:
            out.add((conn.input, _address(conn.client)))
            out.add((conn.input, _address(conn.server)))
    return out


def _address(endpoint: str) -> str:
    """``192.0.2.1`` of ``192.0.2.1:80``, ``2001:db8::1`` of ``[2001:db8::1]:80``."""
    return endpoint.rsplit(":", 1)[0].strip("[]")


def print_hosts(result: AnalysisResult, console: Console) -> None:
    """The terminal's Hosts table, after the captures table: the hosts of connections with a
    warning or error, their profile and why; a line counting the others."""
    rows, left_out = host_rows(result)
    if not rows and not left_out:
        return
    several = len(result.distinct_captures()) > 1
    if rows:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        if several:
            table.add_column("capture", overflow="fold")
        table.add_column("host", no_wrap=True)
        table.add_column("profile", no_wrap=True)
        table.add_column("stack")
        table.add_column("evidence", overflow="fold")
        table.add_column("conns", justify="right", no_wrap=True)
        for path, host in rows:
            frame = "" if host.frame is None else f" (frame {host.frame})"
            table.add_row(*([Text(path)] if several else []), Text(host.address),
                          Text(host.profile, style="bold"), Text(host.label),
                          Text(host.evidence + frame), Text(f"{host.connections:,}"))
        console.print(table)
    if left_out:
        noun = "host" if left_out == 1 else "hosts"
        console.print(Text(f"{left_out:,} more {noun} without a warning or error, each with "
                           "its profile and why: --format json", style="dim"), soft_wrap=True)


def hosts_html(result: AnalysisResult) -> str:
    """The HTML report's Hosts table, every host (a page has room; the table scrolls);
    empty when one profile judged every side."""
    rows, _ = host_rows(result, every=True)
    if not rows:
        return ""
    out = ["<h3 id=\"hosts\">Hosts</h3>\n<p>The profile each host's connection sides were "
           "judged by (<code>--profile auto</code>), and why.</p>\n"
           "<div class=\"scroll\"><table id=\"hosts-table\" class=\"data\">\n"
           "<thead><tr><th>capture</th><th>host</th><th>profile</th><th>stack</th>"
           "<th>evidence</th><th class=\"num\">frame</th>"
           "<th class=\"num\">connections</th></tr></thead>\n<tbody>\n"]
    for path, host in rows:
        frame = "" if host.frame is None else str(host.frame)
        out.append(f"<tr><td><code>{escape(path)}</code></td>"
                   f"<td><code>{escape(host.address)}</code></td>"
                   f"<td>{escape(host.profile)}</td><td>{escape(host.label)}</td>"
                   f"<td>{escape(host.evidence)}</td><td class=\"num\">{frame}</td>"
                   f"<td class=\"num\">{host.connections:,}</td></tr>\n")
    out.append("</tbody>\n</table></div>\n")
    return "".join(out)
