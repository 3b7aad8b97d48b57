"""The Markdown report: a summary fit for a pull-request comment or a job summary.

A headline with the verdict, a table of the captures, the baseline when there is one, then a
section per capture: a table of the findings that decide the verdict (those at or above
``fail_on``; errors and warnings when nothing fails the run), at most ``ROWS_PER_CAPTURE`` of
them, and the others counted per rule in a collapsed ``<details>`` block.

Text from the result is escaped so that it never becomes Markdown: a ``|`` in a message does
not end its table cell, ``*`` or ``<b>`` does not change the formatting, a newline does not end
the row. Paths and endpoints are code spans, where GitHub does not turn ``@name`` or ``#12``
into links. The whole comment stays under ``SIZE_LIMIT`` characters (GitHub refuses comments
over 65,536): past it, the rest is cut at a row or section boundary and a note says so.
"""

from __future__ import annotations

import re

from tcpcheck.report.hosts_view import host_rows
from tcpcheck.report.nextstep import NextSteps
from tcpcheck.report.wording import folded_note
from tcpcheck.result import (
    AnalysisResult,
    BaselineReport,
    CaptureSummary,
    ConnectionKey,
    ConnectionSummary,
    Finding,
    Severity,
)
from tcpcheck.wording import counted, plural_noun

ROWS_PER_CAPTURE = 50
"""Findings listed per capture before the rest are counted."""

STALE_SHOWN = 20
"""Stale baseline entries listed before the rest are counted."""

SIZE_LIMIT = 60_000
"""Characters the comment may take (GitHub's limit is 65,536; the rest is headroom)."""

TRUNCATED = ("\n_… cut here to keep this comment under GitHub's size limit; the full report "
             "is in `tcpcheck analyze --format json`._\n")

_ESCAPED = re.compile(r"([\\`*_\[\]<>|~&$])")
"""Characters that could start Markdown, HTML or GitHub math inline: backslash-escaped."""

def render_markdown(result: AnalysisResult, fail_on: Severity | None) -> str:
    """The Markdown summary of ``result`` judged at ``fail_on`` (None: ``--fail-on never``)."""
    blocks = [_headline(result, fail_on), *_summary(result), *_hosts(result)]
    if result.baseline is not None:
        blocks += _baseline(result.baseline)
    connections = {(c.input, c.id): c for c in result.connections}
    steps = NextSteps(result.connections)
    by_input: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_input.setdefault(finding.input, []).append(finding)
    for capture in result.distinct_captures():
        blocks += _capture_section(capture, by_input.get(capture.input, []), connections,
                                   steps, fail_on)
    return _fit(blocks)


def text(value: str) -> str:
    """``value`` as literal Markdown text on one line: specials escaped, newlines as spaces."""
    return _ESCAPED.sub(r"\\\1", " ".join(value.split()))


def code(value: str, *, in_table: bool = True) -> str:
    """``value`` as a code span on one line, fenced by more backticks than it contains.

    In a table cell ``|`` is escaped too: GitHub splits rows on it even inside code spans.
    """
    value = " ".join(value.split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    if value.startswith("`") or value.endswith("`"):
        value = f" {value} "
    if in_table:
        value = value.replace("|", "\\|")
    return f"{fence}{value}{fence}"


# -- head ----------------------------------------------------------------------------------


def _headline(result: AnalysisResult, fail_on: Severity | None) -> str:
    counts = result.counts()
    shown = [Severity.ERROR, Severity.WARNING]
    if fail_on is Severity.INFO:
        shown.append(Severity.INFO)
    tally = ", ".join(counted(counts[s.label], s.label) for s in shown if counts[s.label])
    if not tally:
        tally = "no findings" if fail_on is Severity.INFO else "no errors or warnings"
    if fail_on is None:
        verdict = "✅", "passes (`--fail-on never`)"
    elif any(f.severity >= fail_on for f in result.findings):
        verdict = "❌", f"fails at `--fail-on {fail_on.label}`"
    else:
        verdict = "✅", f"passes at `--fail-on {fail_on.label}`"
    line = (f"tcpcheck {text(result.tool_version)} · profile {code(result.profile)} · "
            f"{counted(len(result.captures), 'capture')} · "
            f"{counted(result.total_connections, 'connection')} · "
            + " · ".join(counted(counts[s.label], s.label) for s in sorted(Severity, reverse=True)))
    return f"### {verdict[0]} tcpcheck: {tally} — {verdict[1]}\n\n{line}\n"


def _summary(result: AnalysisResult) -> list[str]:
    """The captures table: a block for its head, one per row (the cut may fall between)."""
    if not result.captures:
        return ["\nNo capture files were analysed.\n"]
    counts = result.counts_by_capture()
    conns = result.connections_by_capture()
    blocks = ["\n| capture | profile | packets | connections | errors | warnings | info |\n"
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"]
    for capture in result.distinct_captures():
        tally = counts.get(capture.input, {})
        damaged = " (damaged)" if capture.damage else ""
        blocks.append(
            f"| {code(capture.input)}{damaged} | {text(capture.profile or result.profile)} | "
            f"{capture.packets:,} | {conns.get(capture.input, 0):,} | "
            f"{tally.get(Severity.ERROR, 0):,} | {tally.get(Severity.WARNING, 0):,} | "
            f"{tally.get(Severity.INFO, 0):,} |\n")
    folds = [c for c in result.distinct_captures() if c.folded is not None]
    if folds:
        blocks.append("\n" + "".join(f"- {code(c.input, in_table=False)}: "
                                     f"{text(folded_note(c.folded))}\n" for c in folds))
    return blocks


def _hosts(result: AnalysisResult) -> list[str]:
    """The Hosts table (``--profile auto``): the profile each host of a connection with a
    warning or error was judged by, and why; a block per row, as the captures table."""
    rows, left_out = host_rows(result)
    if not rows and not left_out:
        return []
    blocks = ["\n**Hosts**: the profile each host was judged by "
              "(hosts of connections with a warning or error)\n"]
    if rows:
        blocks.append("\n| capture | host | profile | stack | evidence | connections |\n"
                      "| --- | --- | --- | --- | --- | ---: |\n")
    for path, host in rows:
        frame = "" if host.frame is None else f" (frame {host.frame})"
        blocks.append(f"| {code(path)} | {code(host.address)} | {text(host.profile)} | "
                      f"{text(host.label)} | {text(host.evidence + frame)} | "
                      f"{host.connections:,} |\n")
    if left_out:
        blocks.append(f"\n{left_out:,} more {'host' if left_out == 1 else 'hosts'} without a "
                      "warning or error: every host is in `--format json`.\n")
    return blocks


def _baseline(baseline: BaselineReport) -> list[str]:
    head = (f"\n**Baseline** {code(baseline.path, in_table=False)}: "
            f"{counted(baseline.suppressed, 'finding')} suppressed")
    if not baseline.stale:
        return [head + "; no stale entries.\n"]
    gone = sum(entry.count for entry in baseline.stale)
    entries = counted(len(baseline.stale), "stale entry", "stale entries")
    verb = plural_noun(gone, "occurs", "occur")
    blocks = [f"{head}; {entries}: {counted(gone, 'accepted finding')} no longer {verb} "
              "(regenerate the baseline with `--write-baseline`).\n\n"
              "| capture | rule | side | position | count |\n"
              "| --- | --- | --- | --- | ---: |\n"]
    for entry in baseline.stale[:STALE_SHOWN]:
        blocks.append(f"| {code(entry.input)} | {text(entry.code)} {text(entry.rule)} | "
                      f"{text(entry.side)} | {_code_or_blank(entry.position)} | "
                      f"{entry.count:,} |\n")
    if len(baseline.stale) > STALE_SHOWN:
        blocks.append(f"\n_… and {len(baseline.stale) - STALE_SHOWN:,} more stale entries._\n")
    return blocks


# -- per capture ---------------------------------------------------------------------------


def _capture_section(capture: CaptureSummary, findings: list[Finding],
                     connections: dict[ConnectionKey, ConnectionSummary], steps: NextSteps,
                     fail_on: Severity | None) -> list[str]:
    threshold = fail_on if fail_on is not None else Severity.WARNING
    listed = [f for f in findings if f.severity >= threshold]
    others = [f for f in findings if f.severity < threshold]
    head = f"\n#### {code(capture.input, in_table=False)}\n"
    if capture.damage:
        head += f"\n> **Damaged capture:** {text(capture.damage)} (analysed up to there)\n"
    if not findings:
        return [head + "\nNo findings.\n"]
    blocks = [head]
    if listed:
        blocks.append("\n| severity | rule | frame | connection | message | next step |\n"
                      "| --- | --- | ---: | --- | --- | --- |\n")
        blocks += [_finding_row(f, connections, steps) for f in listed[:ROWS_PER_CAPTURE]]
        if len(listed) > ROWS_PER_CAPTURE:
            blocks.append(f"\n_… and {len(listed) - ROWS_PER_CAPTURE:,} more._\n")
    if others:
        blocks.append(_others(others, fail_on))
    return blocks


def _finding_row(finding: Finding, connections: dict[ConnectionKey, ConnectionSummary],
                 steps: NextSteps) -> str:
    conn = connections.get(finding.connection_key)
    where = str(finding.connection)
    if conn is not None:
        where += " " + code(f"{conn.client} → {conn.server}")
    return (f"| {finding.severity.label} | {text(finding.code)} {text(finding.rule)} | "
            f"{finding.frame} | {where} | {text(finding.message)} | "
            f"{_next_step(finding, steps)} |\n")


def _next_step(finding: Finding, steps: NextSteps) -> str:
    """The show command, then the Wireshark filter (no ``<br>``: a cell stays plain text)."""
    step = steps.of(finding)
    show = text(step.unavailable) if step.show is None else code(step.show)
    return f"{show} · Wireshark: {code(step.display_filter)}"


def _others(findings: list[Finding], fail_on: Severity | None) -> str:
    """The findings not listed, counted per rule in a collapsed block."""
    groups: dict[tuple[str, str, Severity], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.code, finding.rule, finding.severity), []).append(finding)
    if fail_on is None:
        summary = counted(len(findings), "info finding")
    else:
        summary = (f"{counted(len(findings), 'finding')} below "
                   f"<code>--fail-on {fail_on.label}</code>")
    # A folded artefact counts every finding it stands for: 603 offloaded segments, not 1.
    rows = [f"| {text(code_)} {text(rule)} | {severity.label} | {sum(f.count for f in fs):,} | "
            f"{fs[0].frame} |"
            for (code_, rule, severity), fs in sorted(groups.items(),
                                                      key=lambda kv: (-kv[0][2], kv[0][0]))]
    return ("\n<details><summary>" + summary + "</summary>\n\n"
            "| rule | severity | count | first frame |\n| --- | --- | ---: | ---: |\n"
            + "\n".join(rows) + "\n\n</details>\n")


# -- assembly ------------------------------------------------------------------------------


def _fit(blocks: list[str]) -> str:
    """The blocks joined, cut before the first one that would pass ``SIZE_LIMIT``."""
    out: list[str] = []
    size = 0
    budget = SIZE_LIMIT - len(TRUNCATED)
    for block in blocks:
        if size + len(block) > budget:
            out.append(TRUNCATED)
            break
        out.append(block)
        size += len(block)
    return "".join(out)



def _code_or_blank(value: str) -> str:
    return code(value) if value else ""

