"""The HTML report's embedded data: the ``#tcpcheck-data`` JSON block the page's script draws
the tables from (findings and connections as rows of ``FINDING_FIELDS`` and
``CONNECTION_FIELDS``, the rules they name, each finding's next-step parts, the layout figures
shared with the script) and the JSON encoding that no text from a capture can break out of a
``<script>`` with. ``tcpcheck.report.html`` (the page) describes the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from tcpcheck.catalog import Catalog, CatalogError, RuleMeta, paragraphs
from tcpcheck.report.nextstep import connection_filter, show_prefix, unreadable
from tcpcheck.result import (
    AnalysisResult,
    CaptureSummary,
    ConnectionKey,
    Finding,
    Severity,
    tallies_by_connection,
)

PAGE_ROWS = 500
"""Table rows drawn at first and added by each "show more"."""

LADDER_GEOMETRY = {"top": 92, "row": 36, "gap": 46, "bottom": 64, "note": 16}
"""Heights in pixels of a ladder's parts (``gap``: a collapsed stretch with a one-line summary;
``note``: one more line of an owed reply's note or of a summary), shared with the script so
that a section not yet drawn already takes about its final height."""

NOTE_CHARS = 68
"""Characters per line of an owed reply's note when the ladder has room for them (ladder.js
wraps them again, shorter, in a narrow one)."""

RFC_URL = "https://www.rfc-editor.org/rfc/rfc{number}"

FINDING_FIELDS = ("severity", "rule", "capture", "connection", "frame", "time", "side",
                  "message", "card")
"""Columns of the embedded findings rows: severity 3/2/1 (error/warning/info), rule an index
into ``rules``, capture an index into ``captures``, card 1 when the finding's explanation card
is drawn in its connection's section (0 when it has no section or its row is collapsed)."""

CONNECTION_FIELDS = ("capture", "id", "client", "server", "first_frame", "last_frame",
                     "packets", "client_bytes", "server_bytes", "client_state",
                     "server_state", "close", "midstream", "errors", "warnings", "info",
                     "start", "duration", "diagram")
"""Columns of the embedded connections rows; diagram 1 when the connection has a section."""

_REFERENCE_TOKEN = re.compile(r"RFC\s?(\d+)|§(\d+(?:\.\d+)*)")



def page_data(result: AnalysisResult, captures: list[CaptureSummary],
              capture_index: dict[str, int], rules: list[RuleMeta],
              drawn: set[ConnectionKey], cards: set[int]) -> dict[str, Any]:
    """The ``#tcpcheck-data`` block: ``drawn`` are the connections with a section, ``cards``
    the indexes of the findings with an explanation card."""
    rule_index = {rule.slug: index for index, rule in enumerate(rules)}
    findings = [[int(f.severity), rule_index[f.rule], capture_index.get(f.input, 0),
                 f.connection, f.frame, json_time(f.time), f.side, f.message,
                 int(index in cards)]
                for index, f in enumerate(result.findings)]
    tallies = tallies_by_connection(result.findings)
    connections = []
    for c in result.connections:
        tally = tallies.get((c.input, c.id), {})
        connections.append([
            capture_index.get(c.input, 0), c.id, c.client, c.server, c.first_frame,
            c.last_frame, c.packets, c.client_bytes, c.server_bytes, c.client_state,
            c.server_state, c.close, int(c.midstream), tally.get(Severity.ERROR, 0),
            tally.get(Severity.WARNING, 0), tally.get(Severity.INFO, 0), json_time(c.start),
            json_time(c.end - c.start), int((c.input, c.id) in drawn)])
    data = {
        "captures": [capture.input for capture in captures],
        "rules": [{"code": rule.code, "slug": rule.slug, "summary": rule.summary,
                   "what": paragraphs(rule.what), "why": paragraphs(rule.why)}
                  for rule in rules],
        "findingFields": list(FINDING_FIELDS),
        "findings": findings,
        "connectionFields": list(CONNECTION_FIELDS),
        "connections": connections,
        "nextStep": next_step_parts(result, captures, capture_index, tallies),
        "pageRows": PAGE_ROWS,
        "ladder": LADDER_GEOMETRY,
        "noteChars": NOTE_CHARS,
    }
    # A stitched set's findings past the file their connection is listed in: that file's
    # index, where their connection's diagram is (absent otherwise).
    elsewhere = {index: capture_index[f.connection_input]
                 for index, f in enumerate(result.findings)
                 if f.connection_input in capture_index}
    if elsewhere:
        data["connectionCaptures"] = elsewhere
    return data


def next_step_parts(result: AnalysisResult, captures: list[CaptureSummary],
                    capture_index: dict[str, int],
                    with_findings: Iterable[ConnectionKey]) -> dict[str, Any]:
    """What report.js makes each finding's next step from, as ``tcpcheck.report.nextstep``
    does (whole commands per finding would add a third to a big report): per capture the
    show command without its ``--frame F`` (None: no file to show) and why not; per
    connection with findings, by ``C-I``, its four-tuple filter, to which ``&& frame.number
    == F`` is added."""
    keys = set(with_findings)
    return {
        "show": [None if unreadable(c.input) else show_prefix(c.input) for c in captures],
        "unavailable": [unreadable(c.input) for c in captures],
        "filters": {f"{capture_index.get(c.input, 0)}-{c.id}":
                    connection_filter(c.client, c.server)
                    for c in result.connections if (c.input, c.id) in keys},
    }


def named_rules(findings: Iterable[Finding], catalog: Catalog) -> list[RuleMeta]:
    """The rules the findings name, by code; one the catalog lacks keeps its slug and code."""
    seen: dict[str, RuleMeta] = {}
    for finding in findings:
        if finding.rule in seen:
            continue
        try:
            seen[finding.rule] = catalog.get(finding.rule)
        except CatalogError:
            seen[finding.rule] = RuleMeta(finding.code, finding.rule, finding.severity, "",
                                          "", finding.reference, "", "", "", "")
    return sorted(seen.values(), key=lambda rule: (rule.code, rule.slug))


def script_json(value: object) -> str:
    """``value`` as JSON on one line that no text inside it can end its ``<script>`` early
    (json.dumps escapes every control character, so no newline or tab either)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def reference_parts(reference: str) -> list[list[str | None]]:
    """``reference`` cut into ``[text, url]`` pieces, the RFCs and their sections linked to
    rfc-editor.org (``url`` None for plain text such as a profile value)."""
    parts: list[list[str | None]] = []
    rfc: str | None = None
    last = 0
    for match in _REFERENCE_TOKEN.finditer(reference):
        if match.start() > last:
            parts.append([reference[last:match.start()], None])
        if match.group(1):
            rfc = match.group(1)
            parts.append([match.group(0), RFC_URL.format(number=rfc)])
        elif rfc is not None:
            parts.append([match.group(0),
                          RFC_URL.format(number=rfc) + f"#section-{match.group(2)}"])
        else:
            parts.append([match.group(0), None])
        last = match.end()
    if last < len(reference):
        parts.append([reference[last:], None])
    return parts


def json_time(seconds: float) -> float:
    """Capture times to the microsecond: what pcap records hold, and shorter JSON."""
    return round(seconds, 6)
