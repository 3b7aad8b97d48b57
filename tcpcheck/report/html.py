"""The HTML report: one self-contained page with the summary, the tables and the pictures.

Everything is in the one file (CSS and JavaScript inlined from ``tcpcheck/report/assets/``,
the script's parts, ``SCRIPTS``, joined in one; no fonts, images or scripts fetched from
anywhere), so it opens from disk with no server and no network; the only links leaving the
page are those to the RFCs' text on rfc-editor.org.

What is static and what JavaScript draws:

- The header, the verdict and the captures summary (and the baseline) are HTML written here:
  readable with JavaScript off.
- The findings and connections tables are drawn by the page's script from the JSON block
  ``#tcpcheck-data``, a page of rows at a time (``PAGE_ROWS``; a "show more" button adds the
  next page), so 50,000 findings or 10,000 connections open in a few seconds.
- Each connection with a diagram gets a section whose ladder diagram, time-sequence graphs and
  finding explanation cards are drawn as inline SVG/HTML from its line of the diagrams
  block, when the section (open) scrolls into view, when it is opened, or when a URL hash
  names it: thousands of sections cost nothing until someone looks at them. A closed
  section is one summary line (the capture named only when the report has several), and the
  browser lays out only those near the screen (``content-visibility`` in report.css).

A connection gets a section when ``result.timelines`` holds its timeline and it has findings
(every recorded connection with ``all_connections``). What a ladder shows is decided by
``tcpcheck.report.ladder.build_ladder`` (collapsed middles included) and a graph's layout by
``tcpcheck.report.seqgraph.sequence_graphs``; the report only formats them. This module
assembles the page (header, summary, tables, the inlined assets);
``tcpcheck.report.html_sections`` writes the connection sections and their diagrams' data,
``tcpcheck.report.html_data`` the embedded ``#tcpcheck-data`` block.

Stable hooks for tests and links (``C`` is the capture's index in ``result.captures``, ``I``
a connection id, ``F`` a frame number, ``N`` a finding's index in ``result.findings``):

- ``html[data-ready="1"]`` once the script has set up the tables and handled the URL hash.
- ``#verdict`` (class ``verdict pass`` or ``verdict fail``), ``#counts`` (``li.sev-error``,
  ``li.sev-warning``, ``li.sev-info`` with ``data-count``), ``#captures-table`` (one
  ``tr[data-capture=C]`` per capture), ``#baseline`` when a baseline was used.
- ``#findings-table`` (``tbody`` rows ``tr.finding.sev-*`` with ``data-index=N``,
  ``data-capture``, ``data-connection``, ``data-frame``, the rule in ``td.rule``, kept on one
  line, and ``td.next`` holding two ``button.copy`` whose ``data-copy`` is the finding's
  Wireshark display filter and its ``tcpcheck show`` command; a button with nothing to copy
  is disabled and its title says why), opening sorted by severity (errors first), then
  capture, then frame, sortable by clicking the ``th``
  buttons (``th[data-key]``), filtered by ``#filter-severity-error|warning|info``
  (checkboxes), ``#filter-rule`` (select of rule slugs), ``#filter-connection`` (number),
  ``#filter-capture`` (select, several captures only) and ``#filter-text``;
  ``#findings-count`` says how many match, ``#findings-more`` shows the next page.
- ``#connections-table`` (rows ``tr.connection`` with ``data-capture`` and
  ``data-connection``), filtered by ``#conn-filter-text``, ``#conn-filter-close`` and
  ``#conn-filter-findings``; ``#connections-count``, ``#connections-more``.
- ``details.conn#conn-C-I`` (``data-capture``, ``data-connection``, ``data-rendered="1"``
  once drawn) holding ``div.ladder`` with ``svg.ladder-svg``, ``div.seqgraphs`` with one
  ``svg.seqgraph`` per data direction (``data-direction="client"|"server"``) and
  ``div.cards`` with one ``div.card.sev-*#finding-N`` per finding drawn on a row (its
  ``dd.next`` has the display filter and the show command as ``code.cmd``, each with a
  ``button.copy``). Pictures are laid out to the width of their box (``div.ladder[data-room]``:
  the width laid out for) and again when the window is resized.
- In a ladder: each arrow ``g.seg`` with ``data-frame`` and ``id="frame-C-F"`` (classes
  ``from-client`` or ``from-server``, ``hl sev-error|sev-warning|sev-info`` when findings are
  anchored there, ``rtx`` for a retransmission); a highlighted row's body is an
  ``a.row-link`` to its first finding's card, and each of its codes (``text.code``) an ``a``
  to its own card; a state change ``text.state`` with ``data-side="client"|"server"`` and
  ``data-frame``, its text ``BEFORE → AFTER`` (e.g. ``CLOSE_WAIT → LAST_ACK``); the states
  before the first segment ``text.state.initial`` and at the end ``text.state.final`` (with
  ``data-side``); a collapsed stretch ``g.gap#gap-C-FIRST`` with ``data-first`` and
  ``data-last``, its summary a ``text.summary`` wrapped between the endpoint lines; a ladder
  too narrow for one-line state changes has ``data-split="1"`` and writes each on two
  ``tspan`` lines; ``p.undrawn`` when findings were left off the rows, ``p.unseen-replies``
  when owed replies without a finding were. A card links back to its
  row with ``a.back``. A reply the segment's receiver owed is told under the arrow in a
  ``g.owed`` (``data-frame`` the provoking frame, ``data-reply-frame``, ``data-kind``,
  ``data-outcome``; class ``met`` when answered or rate-limited, ``sev-*`` when the
  obligation became findings) whose ``.settled`` line is an ``a`` to the reply's
  ``#frame-C-F`` when there is one; the reply's row has ``a.answers`` (``data-frame``: the
  segment it answers) linking back; ``path.reply-link`` (``data-frame``,
  ``data-reply-frame``) joins the two rows outside the owing endpoint's line, and takes class
  ``lit`` while either end is pointed at. In a graph (x: seconds since the capture's start,
  over the graph's own points; y: relative sequence numbers, in bytes or MB/GB as the axis
  title says), each series is one path: ``path.bars`` (new data), ``path.bars.rtx``
  (retransmitted data, one ``M`` per segment), ``path.rtx-marks`` (an "R" of fixed size over
  each retransmission, one ``M`` each), ``path.acks``, ``path.windows``; finding marks are
  ``circle.mark.sev-*`` with ``data-frame`` inside an ``a`` (the first ``MARK_LINKS``; the
  rest are one path). A graph is as wide as its box, as tall as its data needs, and zooms
  and pans (wheel, drag, keys): ``data-domain`` on ``svg.seqgraph`` is the domain shown,
  ``t0 t1 lo hi``, and ``button.graph-reset`` (disabled when everything is shown) resets it.
- URL hashes ``#conn-C-I``, ``#frame-C-F`` and ``#finding-N`` open, draw and scroll to
  their target (a frame inside a collapsed stretch scrolls to the stretch).
- A stitched set's (``--stitch``) ladder runs across its files: a ``g.file-change`` with
  ``data-file`` where each next file starts, and the rows after it numbered, and their
  ``id="frame-C-F"`` named, by that file's index and frame.

The data: ``<script type="application/json" id="tcpcheck-data">`` holds the captures, the
rules the findings name (code, slug, catalog summary), the findings and the connections as
rows of the fields ``findingFields`` and ``connectionFields`` name (see ``FINDING_FIELDS``,
``CONNECTION_FIELDS``), and ``nextStep``, the parts of each finding's next step
(``next_step_parts``), all in ``tcpcheck.report.html_data``; a stitched set's report adds
``connectionCaptures``, for each finding past the file its connection is listed in, that
file's index.
``<script type="application/x-ndjson" id="tcpcheck-diagrams">`` has one line per section,
``conn-C-I``, a tab, then its JSON (``tcpcheck.report.html_sections``): ``initial``/``final``/
``finalChange`` states by side, ``items`` (a ladder row ``{frame, time, fromClient, label}``
plus, only when they apply, ``retransmission``, ``observations``, ``clientChange``/
``serverChange`` as ``[before, after]``, ``severity``, ``findings`` as ``[N, code,
severity]``, ``owes`` (the replies the segment's receiver owed: ``{frame, replyFrame, side,
kind, outcome, lines, settled, reason}`` plus ``severity`` when it became findings, ``lines``
and ``settled`` the note already wrapped to ``NOTE_CHARS``; ``kind`` and ``outcome`` are
``ReplyKind`` and ``ReplyOutcome`` values) and ``answers`` (the owed replies this segment
is: ``{frame, text, outcome}``); or ``{collapsed: {count, firstFrame, lastFrame, start, end,
clientBytes, serverBytes, retransmissions}}``; a stitched set's rows add ``shown`` (the frame
number written) and ``at`` (``C-F`` of its own file), its stretches ``shown`` (``[first,
last]``), and ``{file}`` items stand where each next file starts), ``undrawn``,
``unseenReplies``, ``cards`` and ``graphs``. One block rather than one per section: a
browser parses a page of 10,000 sections twice as fast, and the script parses a section's
line only when it draws it.

Every ``<``, ``>`` and ``&`` in the JSON is written ``\\u003c``, ``\\u003e``, ``\\u0026``, so no
text from a capture can end its ``<script>`` element (and JSON escapes newlines and tabs, so
none can start a new line of the diagrams block). Deterministic: the same result gives
byte-identical output; a time of generation only appears when ``timestamp`` is given.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from tcpcheck.catalog import Catalog, RuleMeta
from tcpcheck.report.hosts_view import hosts_html
from tcpcheck.report.html_data import named_rules, page_data, script_json
from tcpcheck.report.html_sections import EMPTY_CELL, connection_section, diagrams_section
from tcpcheck.report.terminal import verdict
from tcpcheck.report.wording import folded_note
from tcpcheck.result import (
    AnalysisResult,
    BaselineReport,
    CaptureSummary,
    ConnectionKey,
    Finding,
    Severity,
)
from tcpcheck.timeline import Timeline
from tcpcheck.wording import counted, plural_noun

OPEN_SECTIONS = 50
"""Connection sections open (drawn as they scroll into view) when there are at most this
many; past it they start closed and draw when opened, so the page stays short."""

STALE_SHOWN = 200
"""Stale baseline entries listed before the rest are counted."""

SCRIPTS = ("base.js", "tables.js", "ladder.js", "seqgraph.js", "report.js")
"""The parts of the page's script in ``assets/``, in the order they are inlined."""

def render_html(result: AnalysisResult, catalog: Catalog, fail_on: Severity | None, *,
                all_connections: bool = False, timestamp: str | None = None) -> str:
    """The HTML report of ``result`` judged at ``fail_on`` (None: ``--fail-on never``).

    ``catalog`` explains the rules; ``all_connections`` draws a diagram for every connection
    with a recorded timeline, not only those with findings; ``timestamp`` is shown as the time
    the report was made when given.
    """
    captures = result.distinct_captures()
    capture_index = {capture.input: index for index, capture in enumerate(captures)}
    finding_index = {id(finding): index for index, finding in enumerate(result.findings)}
    by_connection: dict[ConnectionKey, list[Finding]] = {}
    for finding in result.findings:
        by_connection.setdefault(finding.connection_key, []).append(finding)
    timelines = [t for t in result.timelines
                 if t.input in capture_index and (all_connections or _key(t) in by_connection)]
    drawn = {_key(t) for t in timelines}
    connections = {(c.input, c.id): c for c in result.connections}
    sections: list[str] = []
    diagrams: list[str] = []
    cards: set[int] = set()
    for timeline in timelines:
        section, diagram, shown = connection_section(
            timeline, by_connection.get(_key(timeline), []), connections.get(_key(timeline)),
            capture_index, finding_index,
            open_=len(timelines) <= OPEN_SECTIONS, name_capture=len(captures) > 1)
        sections.append(section)
        diagrams.append(diagram)
        cards |= shown
    rules = named_rules(result.findings, catalog)
    data = page_data(result, captures, capture_index, rules, drawn, cards)
    title = "tcpcheck report" + (f": {captures[0].input}" if len(captures) == 1 else "")
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"generator\" content=\"tcpcheck ", escape(result.tool_version), "\">\n",
        f"<title>{escape(title)}</title>\n<style>\n", _asset("report.css"), "</style>\n",
        "</head>\n<body>\n",
        _header(result, captures, fail_on, timestamp, len(timelines)),
        "<main>\n",
        _summary(result, captures),
        _findings_section(result, captures, rules),
        _connections_section(result, captures),
        diagrams_section(sections, all_connections),
        "</main>\n",
        f"<script type=\"application/json\" id=\"tcpcheck-data\">{script_json(data)}</script>\n",
        "<script type=\"application/x-ndjson\" id=\"tcpcheck-diagrams\">\n",
        *diagrams, "</script>\n",
        "<script>\n", _script(), "</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


# -- header and summary --------------------------------------------------------------------


def _header(result: AnalysisResult, captures: list[CaptureSummary], fail_on: Severity | None,
            timestamp: str | None, diagrams: int) -> str:
    fails = fail_on is not None and any(f.severity >= fail_on for f in result.findings)
    gate = f"--fail-on {fail_on.label}" if fail_on is not None else "--fail-on never"
    judged = (f"fails at {gate}" if fails else
              f"passes at {gate}" if fail_on is not None else "never fails (--fail-on never)")
    meta = [f"tcpcheck {escape(result.tool_version)}",
            f"profile <code>{escape(result.profile)}</code>",
            counted(len(captures), "capture"), counted(result.total_connections, "connection")]
    if timestamp is not None:
        meta.append(f"generated {escape(timestamp)}")
    counts = result.counts()
    items = "".join(
        f"<li class=\"sev-{s.label}{'' if counts[s.label] else ' zero'}\" "
        f"data-count=\"{counts[s.label]}\">{counted(counts[s.label], s.label)}</li>"
        for s in sorted(Severity, reverse=True))
    nav = [("summary", "Summary"), ("findings", f"Findings ({len(result.findings):,})"),
           ("connections", f"Connections ({len(result.connections):,})")]
    if diagrams:
        nav.append(("diagrams", f"Diagrams ({diagrams:,})"))
    links = " ".join(f"<a href=\"#{anchor}\">{label}</a>" for anchor, label in nav)
    return (f"<header>\n<h1>tcpcheck report</h1>\n<p class=\"meta\">{' · '.join(meta)}</p>\n"
            f"<p id=\"verdict\" class=\"verdict {'fail' if fails else 'pass'}\">"
            f"{escape(verdict(result, fail_on).plain)} <span class=\"gate\">— "
            f"{escape(judged)}</span></p>\n"
            f"<ul id=\"counts\" class=\"counts\">{items}</ul>\n"
            f"<nav>{links}</nav>\n</header>\n")


def _summary(result: AnalysisResult, captures: list[CaptureSummary]) -> str:
    tallies = result.counts_by_capture()
    conns = result.connections_by_capture()
    out = ["<section id=\"summary\">\n<h2>Summary</h2>\n"]
    if not captures:
        out.append("<p>No capture files were analysed.</p>\n")
    else:
        out.append("<div class=\"scroll\"><table id=\"captures-table\" class=\"data\">\n"
                   "<thead><tr><th>capture</th><th>format</th><th>profile</th>"
                   "<th class=\"num\">packets</th><th class=\"num\">TCP packets</th>"
                   "<th>skipped</th><th class=\"num\">connections</th>"
                   "<th class=\"num\">errors</th><th class=\"num\">warnings</th>"
                   "<th class=\"num\">info</th><th>damage</th></tr></thead>\n<tbody>\n")
        for index, capture in enumerate(captures):
            tally = tallies.get(capture.input, {})
            skipped = ", ".join(f"{escape(reason)} {count:,}"
                                for reason, count in sorted(capture.skipped.items())) or EMPTY_CELL
            damage = (f"<span class=\"damage\">{escape(capture.damage)} (analysed up to "
                      "there)</span>" if capture.damage else EMPTY_CELL)
            damaged = " class=\"damaged\"" if capture.damage else ""
            out.append(
                f"<tr data-capture=\"{index}\"{damaged}>"
                f"<td><code>{escape(capture.input)}</code></td>"
                f"<td>{escape(capture.format)}</td>"
                f"<td>{escape(capture.profile or result.profile)}</td>"
                f"<td class=\"num\">{capture.packets:,}</td>"
                f"<td class=\"num\">{capture.tcp_packets:,}</td><td>{skipped}</td>"
                f"<td class=\"num\">{conns.get(capture.input, 0):,}</td>"
                + "".join(f"<td class=\"num{f' sev-{s.label}' if tally.get(s) else ''}\">"
                          f"{tally.get(s, 0):,}</td>" for s in sorted(Severity, reverse=True))
                + f"<td>{damage}</td></tr>\n")
        out.append("</tbody>\n</table></div>\n")
    out.append(hosts_html(result))
    if result.baseline is not None:
        out.append(_baseline(result.baseline))
    out.append("</section>\n")
    return "".join(out)


def _baseline(baseline: BaselineReport) -> str:
    head = (f"<div id=\"baseline\">\n<h3>Baseline</h3>\n<p><code>{escape(baseline.path)}"
            f"</code>: {counted(baseline.suppressed, 'finding')} suppressed")
    if not baseline.stale:
        return head + "; no stale entries.</p>\n</div>\n"
    gone = sum(entry.count for entry in baseline.stale)
    verb = plural_noun(gone, "occurs", "occur")
    rows = "".join(
        f"<tr><td><code>{escape(e.input)}</code></td>"
        f"<td class=\"rule\">{escape(e.code)} {escape(e.rule)}</td>"
        f"<td>{escape(e.side)}</td><td>{'' if e.service is None else e.service}</td>"
        f"<td><code>{escape(e.position)}</code></td><td class=\"num\">{e.count:,}</td></tr>\n"
        for e in baseline.stale[:STALE_SHOWN])
    more = len(baseline.stale) - STALE_SHOWN
    tail = f"<p>… and {more:,} more stale entries.</p>\n" if more > 0 else ""
    return (f"{head}; {counted(len(baseline.stale), 'stale entry', 'stale entries')}: "
            f"{counted(gone, 'accepted finding')} no longer {verb} (regenerate the baseline "
            "with <code>--write-baseline</code>).</p>\n"
            "<div class=\"scroll\"><table class=\"data stale\">\n<thead><tr><th>capture</th>"
            "<th>rule</th><th>side</th><th>service</th><th>position</th>"
            "<th class=\"num\">count</th></tr></thead>\n<tbody>\n"
            f"{rows}</tbody>\n</table></div>\n{tail}</div>\n")


# -- tables (drawn by tables.js) -----------------------------------------------------------


def _findings_section(result: AnalysisResult, captures: list[CaptureSummary],
                      rules: list[RuleMeta]) -> str:
    if not result.findings:
        return ("<section id=\"findings\">\n<h2>Findings</h2>\n<p class=\"empty\">No findings."
                "</p>\n</section>\n")
    counts = result.counts()
    boxes = "".join(
        f"<label class=\"sev-{s.label}\"><input type=\"checkbox\" "
        f"id=\"filter-severity-{s.label}\" value=\"{int(s)}\" checked> {s.label} "
        f"<span class=\"n\">{counts[s.label]:,}</span></label>"
        for s in sorted(Severity, reverse=True))
    options = "".join(f"<option value=\"{escape(rule.slug)}\">{escape(rule.code)} "
                      f"{escape(rule.slug)}</option>" for rule in rules)
    capture_filter = _capture_select("filter-capture", captures)
    capture_th = _th("capture", "capture", "num", right=False) if len(captures) > 1 else ""
    return (
        "<section id=\"findings\">\n<h2>Findings</h2>\n"
        "<div class=\"controls\" id=\"findings-controls\">\n"
        f"<fieldset class=\"severities\"><legend>severity</legend>{boxes}</fieldset>\n"
        "<label>rule <select id=\"filter-rule\"><option value=\"\">all rules</option>"
        f"{options}</select></label>\n{capture_filter}"
        "<label>connection <input type=\"number\" id=\"filter-connection\" min=\"0\" "
        "step=\"1\" placeholder=\"all\"></label>\n"
        "<label>search <input type=\"search\" id=\"filter-text\" "
        "placeholder=\"message, rule, side\"></label>\n</div>\n"
        "<p class=\"count\" id=\"findings-count\"></p>\n"
        "<div class=\"scroll\"><table id=\"findings-table\" class=\"data sortable\">\n"
        f"<thead><tr>{_th('severity', 'severity', 'num')}{_th('rule', 'rule', 'text')}"
        f"{capture_th}{_th('connection', 'connection', 'num')}{_th('frame', 'frame', 'num')}"
        f"{_th('time', 'time (s)', 'num')}{_th('side', 'side', 'text')}"
        f"{_th('message', 'message', 'text')}<th>next step</th></tr></thead>\n<tbody></tbody>\n"
        "</table></div>\n"
        "<button type=\"button\" class=\"more\" id=\"findings-more\" hidden>show more"
        "</button>\n<noscript><p>The findings table needs JavaScript; "
        "<code>tcpcheck analyze --format json</code> lists them without.</p></noscript>\n"
        "</section>\n")


def _connections_section(result: AnalysisResult, captures: list[CaptureSummary]) -> str:
    if not result.connections:
        return ("<section id=\"connections\">\n<h2>Connections</h2>\n<p class=\"empty\">"
                "No TCP connections in the capture.</p>\n</section>\n")
    closes = sorted({c.close for c in result.connections})
    options = "".join(f"<option value=\"{escape(c)}\">{escape(c)}</option>" for c in closes)
    capture_th = _th("capture", "capture", "num", right=False) if len(captures) > 1 else ""
    return (
        "<section id=\"connections\">\n<h2>Connections</h2>\n"
        "<div class=\"controls\" id=\"connections-controls\">\n"
        "<label>show <select id=\"conn-filter-findings\"><option value=\"0\">all connections"
        "</option><option value=\"1\">with findings</option><option value=\"2\">with "
        "warnings or errors</option><option value=\"3\">with errors</option></select>"
        "</label>\n"
        f"<label>close <select id=\"conn-filter-close\"><option value=\"\">any</option>"
        f"{options}</select></label>\n{_capture_select('conn-filter-capture', captures)}"
        "<label>search <input type=\"search\" id=\"conn-filter-text\" "
        "placeholder=\"address, port, state, id\"></label>\n</div>\n"
        "<p class=\"count\" id=\"connections-count\"></p>\n"
        f"{_folded(captures)}"
        "<div class=\"scroll\"><table id=\"connections-table\" class=\"data sortable\">\n"
        f"<thead><tr>{capture_th}{_th('id', 'id', 'num')}{_th('client', 'client', 'text')}"
        f"{_th('server', 'server', 'text')}{_th('packets', 'packets', 'num')}"
        f"{_th('client_bytes', 'bytes c→s', 'num')}{_th('server_bytes', 'bytes s→c', 'num')}"
        f"{_th('client_state', 'client state', 'text')}"
        f"{_th('server_state', 'server state', 'text')}{_th('close', 'close', 'text')}"
        f"{_th('findings', 'findings', 'num')}{_th('duration', 'duration', 'num')}"
        "</tr></thead>\n<tbody></tbody>\n</table></div>\n"
        "<button type=\"button\" class=\"more\" id=\"connections-more\" hidden>show more"
        "</button>\n<noscript><p>The connections table needs JavaScript.</p></noscript>\n"
        "</section>\n")


def _folded(captures: list[CaptureSummary]) -> str:
    """A line per capture whose connections beyond ``--max-connections`` are only counted."""
    return "".join(f"<p class=\"folded\"><code>{escape(c.input)}</code>: "
                   f"{escape(folded_note(c.folded))}</p>\n"
                   for c in captures if c.folded is not None)


def _th(key: str, label: str, kind: str, *, right: bool | None = None) -> str:
    """A sortable column's head: ``kind`` num or text says how it sorts; numbers are
    right-aligned unless ``right`` says otherwise."""
    align = " class=\"num\"" if (kind == "num" if right is None else right) else ""
    return (f"<th data-key=\"{key}\" data-type=\"{kind}\"{align}>"
            f"<button type=\"button\">{escape(label)}</button></th>")


def _capture_select(element_id: str, captures: list[CaptureSummary]) -> str:
    if len(captures) < 2:
        return ""
    options = "".join(f"<option value=\"{index}\">{escape(capture.input)}</option>"
                      for index, capture in enumerate(captures))
    return (f"<label>capture <select id=\"{element_id}\"><option value=\"\">all captures"
            f"</option>{options}</select></label>\n")


# -- assets --------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return (files("tcpcheck.report") / "assets" / name).read_text(encoding="utf-8")


def _script() -> str:
    """The page's one script: the ``SCRIPTS`` parts in one function scope, which they share."""
    return ("(function () {\n  \"use strict\";\n"
            + "".join(_asset(name) for name in SCRIPTS) + "})();\n")


# -- small pieces --------------------------------------------------------------------------


def _key(timeline: Timeline) -> ConnectionKey:
    return timeline.input, timeline.connection


