"""The HTML report as a document: self-contained, deterministic, escaped, and carrying the
ladders and graphs of the right connections.

Real analyses of bundled captures (``captures/linux``, ``captures/crafted``) with timelines
recorded, rendered and read back with ``html.parser``: the page's static HTML and the JSON
blocks the page's script draws from. What a browser makes of it is checked in
tests/test_report_html_browser.py.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from functools import cache
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sample_results import truncated_copy

from tcpcheck.baseline import apply_baseline, baseline_entries
from tcpcheck.catalog import load_catalog
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report import html as html_report
from tcpcheck.report.html import SCRIPTS, render_html
from tcpcheck.report.ladder import build_ladder
from tcpcheck.report.seqgraph import sequence_graphs
from tcpcheck.result import AnalysisResult, Severity
from tcpcheck.timeline import Recording

REPO = Path(__file__).resolve().parents[1]
CLOSE_SERVER_FIRST = "captures/linux/close-server-first.pcap"
DATA_AFTER_FIN = "captures/crafted/data-after-fin.pcap"
MISSING_TIME_WAIT = "captures/crafted/missing-time-wait-rst.pcap"
HEAVY_LOSS = "captures/linux/bulk-heavy-loss.pcap"
HANDSHAKE_ONLY = "captures/crafted/synack-bad-ack.pcap"
SYN_ISN_CHANGED = "captures/crafted/syn-isn-changed.pcap"

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@cache
def analyse(*paths: str, everything: bool = False) -> AnalysisResult:
    """The real analysis of bundled captures, named from the project root, with timelines."""
    with contextlib.chdir(REPO):
        return analyze_jobs([Job(path, load_profile("linux")) for path in paths],
                            recording=Recording(all=everything))


def render(result: AnalysisResult, fail_on: Severity | None = Severity.ERROR,
           **options: Any) -> str:
    return render_html(result, load_catalog(), fail_on, **options)


class Page(HTMLParser):
    """A rendered report taken apart: elements with their attributes, JSON blocks by id, the
    diagrams' data by section id, inline scripts and styles, and the text outside them."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.json: dict[str, Any] = {}
        self.diagrams: dict[str, Any] = {}
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._raw: tuple[str, dict[str, str | None]] | None = None
        self._chunks: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag in ("script", "style"):
            self._raw = (tag, attributes)
            self._chunks = []

    def handle_data(self, data: str) -> None:
        (self.text if self._raw is None else self._chunks).append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._raw is None or tag != self._raw[0]:
            return
        kind, attributes = self._raw
        content = "".join(self._chunks)
        self._raw = None
        if kind == "style":
            self.styles.append(content)
        elif attributes.get("type") == "application/json":
            self.json[attributes["id"] or ""] = json.loads(content)
        elif attributes.get("type") == "application/x-ndjson":
            assert attributes["id"] == "tcpcheck-diagrams" and content.startswith("\n")
            for line in content.split("\n")[1:-1]:  # not splitlines: U+2028 ends no line here
                anchor, text = line.split("\t")
                self.diagrams[anchor] = json.loads(text)
        else:
            self.scripts.append(content)

    def find(self, tag: str, **attributes: str) -> list[dict[str, str | None]]:
        """Attributes of every ``tag`` element whose attributes include ``attributes``
        (``class_`` for ``class``; a class matches as one of the element's classes)."""
        found = []
        for name, attrs in self.elements:
            if name != tag:
                continue
            if all(_matches(attrs, key.rstrip("_"), value) for key, value in attributes.items()):
                found.append(attrs)
        return found

    @property
    def data(self) -> dict[str, Any]:
        return self.json["tcpcheck-data"]

    def connection(self, capture: int, connection: int) -> dict[str, Any]:
        """The data a connection's section is drawn from."""
        return self.diagrams[f"conn-{capture}-{connection}"]


def _matches(attrs: dict[str, str | None], key: str, value: str) -> bool:
    if key == "class":
        return value in (attrs.get("class") or "").split()
    return attrs.get(key) == value


def summaries(document: str) -> list[str]:
    """The text of each connection section's summary line, in order."""
    return [re.sub(r"<[^>]+>", "", summary)
            for summary in re.findall(r"<summary>(.*?)</summary>", document)]


def rows(conn: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The ladder rows of a connection's data by frame."""
    return {item["frame"]: item for item in conn["items"] if "frame" in item}


def findings_table(page: Page) -> list[dict[str, Any]]:
    """The embedded findings rows as dicts of their named fields."""
    fields = page.data["findingFields"]
    return [dict(zip(fields, row, strict=True)) for row in page.data["findings"]]


def connections_table(page: Page) -> list[dict[str, Any]]:
    fields = page.data["connectionFields"]
    return [dict(zip(fields, row, strict=True)) for row in page.data["connections"]]


# -- one self-contained, deterministic file -------------------------------------------------


def test_report_fetches_nothing_every_link_stays_in_the_page_or_goes_to_an_rfc() -> None:
    document = render(analyse(DATA_AFTER_FIN, HEAVY_LOSS, MISSING_TIME_WAIT))
    page = Page(document)
    assert not [attrs for _, attrs in page.elements if "src" in attrs or "srcset" in attrs]
    assert not page.find("link") and not page.find("img") and not page.find("iframe")
    hrefs = [attrs["href"] for _, attrs in page.elements if "href" in attrs]
    assert hrefs and all(href and href.startswith("#") for href in hrefs)
    for css in page.styles:
        assert "url(" not in css and "@import" not in css
    script = "".join(page.scripts)
    for loader in ("fetch(", "XMLHttpRequest", "import(", "importScripts", "WebSocket",
                   "EventSource", ".src"):
        assert loader not in script
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", document))
    assert urls - {SVG_NAMESPACE} and all(
        url == SVG_NAMESPACE or url.startswith("https://www.rfc-editor.org/rfc/rfc")
        for url in urls)


def test_stylesheet_and_script_are_inlined_from_the_package_assets() -> None:
    page = Page(render(analyse(DATA_AFTER_FIN)))
    assets = files("tcpcheck.report") / "assets"
    assert [css.strip() for css in page.styles] == [
        (assets / "report.css").read_text(encoding="utf-8").strip()]
    (script,) = page.scripts
    parts = [(assets / name).read_text(encoding="utf-8") for name in SCRIPTS]
    assert script.strip() == f'(function () {{\n  "use strict";\n{"".join(parts)}}})();'
    assert all("})();" not in part for part in parts)


def test_same_result_renders_byte_identical_html() -> None:
    result = analyse(DATA_AFTER_FIN, HEAVY_LOSS)
    assert render(result) == render(result)
    assert render(result).encode() == render(analyse(DATA_AFTER_FIN, HEAVY_LOSS)).encode()


def test_time_of_generation_appears_only_when_given() -> None:
    result = analyse(DATA_AFTER_FIN)
    assert "generated" not in render(result)
    stamped = render(result, timestamp="2026-11-21T10:00:00Z")
    assert "generated 2026-11-21T10:00:00Z" in stamped


def test_message_with_script_end_tag_or_markup_stays_text() -> None:
    nasty = "</script><script>alert(1)</script><b>bold</b><!-- & \u2028"
    result = analyse(DATA_AFTER_FIN)
    result = replace(result, findings=tuple(replace(f, message=nasty, expected=nasty)
                                            for f in result.findings))
    document = render(result)
    page = Page(document)
    assert "</script><script>alert" not in document and "<b>bold" not in document
    assert not page.find("b")
    assert len(page.find("script")) == 3  # the data, the diagrams' data, the page's script
    assert findings_table(page)[0]["message"] == nasty
    card = page.connection(0, 0)["cards"][0]
    assert card["message"] == card["expected"] == nasty


def test_capture_names_are_escaped_in_the_static_summary(tmp_path: Path) -> None:
    result = analyse(DATA_AFTER_FIN)
    odd = "caps/<i>odd</i> & \"quoted\".pcap"
    result = replace(result, captures=tuple(replace(c, input=odd) for c in result.captures))
    page = Page(render(result))
    assert not page.find("i")
    assert odd in "".join(page.text)


# -- summary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fail_on", "verdict", "gate"), [
    (Severity.ERROR, "fail", "fails at --fail-on error"),
    (Severity.INFO, "fail", "fails at --fail-on info"),
    (None, "pass", "never fails (--fail-on never)"),
])
def test_verdict_is_judged_at_fail_on(fail_on: Severity | None, verdict: str, gate: str) -> None:
    page = Page(render(analyse(MISSING_TIME_WAIT), fail_on))
    (element,) = page.find("p", id="verdict")
    assert element["class"] == f"verdict {verdict}"
    assert gate in "".join(page.text)


def test_capture_that_only_has_info_passes_at_fail_on_error() -> None:
    page = Page(render(analyse(HEAVY_LOSS), Severity.ERROR))
    assert page.find("p", id="verdict")[0]["class"] == "verdict pass"
    assert "passes at --fail-on error" in "".join(page.text)


def test_counts_by_severity_are_in_the_header() -> None:
    result = analyse(MISSING_TIME_WAIT, HEAVY_LOSS)
    page = Page(render(result))
    counts = {attrs["class"].split()[0]: int(attrs["data-count"] or 0)
              for attrs in page.find("li") if attrs.get("data-count") is not None}
    assert counts == {f"sev-{label}": n for label, n in result.counts().items()}


def test_summary_gives_packets_skipped_records_and_damage_per_capture(tmp_path: Path) -> None:
    damaged = truncated_copy("captures/crafted/window-shrink.pcap", tmp_path)
    with contextlib.chdir(REPO):
        result = analyze_jobs([Job("captures/crafted/arp-between.pcap", load_profile("linux")),
                               Job(str(damaged), load_profile("linux"))],
                              recording=Recording())
    arp, broken = result.captures
    assert arp.skipped and broken.damage
    page = Page(render(result))
    assert [attrs["data-capture"] for attrs in page.find("tr")
            if attrs.get("data-capture") is not None] == ["0", "1"]
    assert page.find("tr", class_="damaged") == [{"data-capture": "1", "class": "damaged"}]
    text = "".join(page.text)
    for reason, count in arp.skipped.items():
        assert f"{reason} {count:,}" in text
    assert f"{arp.packets:,}" in text and f"{broken.tcp_packets:,}" in text
    assert f"{broken.damage} (analysed up to there)" in text


def test_baseline_summary_gives_suppressed_findings_and_stale_entries() -> None:
    result = analyse(MISSING_TIME_WAIT)
    entries = baseline_entries(result, REPO)
    gone = replace(entries[0], fingerprint="0000000000000000", position="seq=999")
    filtered = apply_baseline(result, [*entries[1:], gone], "tcpcheck-baseline.json", REPO)
    page = Page(render(filtered))
    assert page.find("div", id="baseline")
    text = " ".join("".join(page.text).split())
    assert f"tcpcheck-baseline.json: {filtered.baseline.suppressed} findings suppressed" in text
    assert "1 stale entry" in text and "seq=999" in text


def test_no_baseline_section_without_a_baseline() -> None:
    assert not Page(render(analyse(MISSING_TIME_WAIT))).find("div", id="baseline")


# -- tables ----------------------------------------------------------------------------------


def test_findings_table_data_lists_every_finding_with_its_rule() -> None:
    result = analyse(MISSING_TIME_WAIT, DATA_AFTER_FIN)
    page = Page(render(result))
    table = findings_table(page)
    rules = page.data["rules"]
    assert [(rules[row["rule"]]["slug"], row["capture"], row["connection"], row["frame"],
             row["severity"], row["message"]) for row in table] == [
        (f.rule, [c.input for c in result.captures].index(f.input), f.connection, f.frame,
         int(f.severity), f.message) for f in result.findings]
    catalog = load_catalog()
    assert all(rule["summary"] == catalog.get(rule["slug"]).summary for rule in rules)


def test_findings_table_is_sortable_and_filterable_by_severity_rule_and_connection() -> None:
    page = Page(render(analyse(MISSING_TIME_WAIT, DATA_AFTER_FIN)))
    assert {attrs["data-key"] for attrs in page.find("th") if attrs.get("data-key")} >= {
        "severity", "rule", "connection", "frame", "time", "message", "capture"}
    assert {label: page.find("input", id=f"filter-severity-{label}")[0]["value"]
            for label in ("error", "warning", "info")} == {"error": "3", "warning": "2",
                                                          "info": "1"}
    assert [attrs["value"] for attrs in page.find("option")
            if attrs.get("value") in {"data-after-fin", "missing-time-wait"}] == [
        "data-after-fin", "missing-time-wait"]
    assert page.find("input", id="filter-connection")
    assert page.find("select", id="filter-capture")


def test_connections_table_data_says_which_connections_have_a_diagram() -> None:
    result = analyse(CLOSE_SERVER_FIRST, DATA_AFTER_FIN)
    page = Page(render(result))
    table = connections_table(page)
    assert [(row["capture"], row["id"], row["client_state"], row["server_state"],
             row["diagram"]) for row in table] == [
        (0, 0, "CLOSED", "TIME_WAIT", 0), (1, 0, "TIME_WAIT", "CLOSED", 1)]
    conn = result.connections[1]
    assert (table[1]["packets"], table[1]["client_bytes"], table[1]["server_bytes"],
            table[1]["close"], table[1]["errors"]) == (
        conn.packets, conn.client_bytes, conn.server_bytes, conn.close, 1)


# -- which connections get a section ---------------------------------------------------------


def test_only_connections_with_findings_get_a_diagram_by_default() -> None:
    page = Page(render(analyse(CLOSE_SERVER_FIRST, DATA_AFTER_FIN, everything=True)))
    assert [attrs["id"] for attrs in page.find("details", class_="conn")] == ["conn-1-0"]
    assert set(page.json) == {"tcpcheck-data"} and set(page.diagrams) == {"conn-1-0"}


def test_all_connections_draws_every_recorded_connection() -> None:
    page = Page(render(analyse(CLOSE_SERVER_FIRST, DATA_AFTER_FIN, everything=True),
                       all_connections=True))
    sections = page.find("details", class_="conn")
    assert [(s["id"], s["data-capture"], s["data-connection"]) for s in sections] == [
        ("conn-0-0", "0", "0"), ("conn-1-0", "1", "0")]


def test_a_report_without_findings_has_no_diagrams_section() -> None:
    page = Page(render(analyse(CLOSE_SERVER_FIRST, everything=True)))
    assert not page.find("section", id="diagrams")
    assert page.data["findings"] == []


def test_sections_start_closed_when_there_are_too_many_to_show_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = analyse(DATA_AFTER_FIN, MISSING_TIME_WAIT)
    assert all("open" in s for s in Page(render(result)).find("details", class_="conn"))
    monkeypatch.setattr(html_report, "OPEN_SECTIONS", 1)
    assert all("open" not in s for s in Page(render(result)).find("details", class_="conn"))


# -- the ladder ------------------------------------------------------------------------------


def test_ladder_shows_close_wait_then_last_ack_and_time_wait_where_the_model_says() -> None:
    page = Page(render(analyse(CLOSE_SERVER_FIRST, everything=True), all_connections=True))
    conn = page.connection(0, 0)
    by_frame = rows(conn)
    changes = {(side, frame): tuple(row[f"{side}Change"])
               for frame, row in by_frame.items() for side in ("client", "server")
               if row.get(f"{side}Change")}
    # The server closes first: the client passes CLOSE_WAIT and LAST_ACK, the server ends
    # in TIME_WAIT at the client's FIN.
    assert changes[("client", 8)] == ("ESTABLISHED", "CLOSE_WAIT")
    assert changes[("client", 10)] == ("CLOSE_WAIT", "LAST_ACK")
    assert changes[("client", 11)] == ("LAST_ACK", "CLOSED")
    assert changes[("server", 8)] == ("ESTABLISHED", "FIN_WAIT_1")
    assert changes[("server", 10)] == ("FIN_WAIT_2", "TIME_WAIT")
    assert conn["initial"] == {"client": "CLOSED", "server": "LISTEN"}
    assert conn["final"] == {"client": "CLOSED", "server": "TIME_WAIT"}
    assert conn["finalChange"] == {"client": None, "server": None}


def test_ladder_shows_time_wait_cut_short_by_the_rst_it_flags() -> None:
    conn = Page(render(analyse(MISSING_TIME_WAIT))).connection(0, 0)
    by_frame = rows(conn)
    assert by_frame[9]["clientChange"] == ["FIN_WAIT_2", "TIME_WAIT"]
    assert by_frame[9]["serverChange"] == ["CLOSE_WAIT", "LAST_ACK"]
    assert by_frame[12]["clientChange"] == ["TIME_WAIT", "CLOSED"]
    assert by_frame[12]["severity"] == "error"
    assert by_frame[11]["retransmission"] is True and by_frame[11]["severity"] == "info"


def test_a_state_change_the_end_of_the_capture_made_is_shown_at_the_bottom() -> None:
    conn = Page(render(analyse("captures/crafted/syn-retries-exceeded.pcap"))).connection(0, 0)
    assert conn["finalChange"] == {"client": None, "server": ["SYN_RCVD", "LISTEN"]}
    assert conn["final"] == {"client": "SYN_SENT", "server": "LISTEN"}


def test_ladder_rows_carry_the_segment_label_terminal_and_html_share() -> None:
    page = Page(render(analyse(CLOSE_SERVER_FIRST, everything=True), all_connections=True))
    by_frame = rows(page.connection(0, 0))
    assert list(by_frame) == list(range(1, 12))
    assert by_frame[2]["label"] == "SYN, ACK seq=0 ack=1 len=0 win=65160"
    assert by_frame[2]["fromClient"] is False and by_frame[1]["fromClient"] is True
    assert not any(row.get("severity") or row.get("findings") for row in by_frame.values())


def test_offending_segment_is_highlighted_and_linked_to_its_explanation() -> None:
    result = analyse(DATA_AFTER_FIN)
    (finding,) = result.findings
    page = Page(render(result))
    conn = page.connection(0, 0)
    highlighted = {frame: row for frame, row in rows(conn).items() if row.get("severity")}
    assert list(highlighted) == [9] and highlighted[9]["severity"] == "error"
    assert highlighted[9]["findings"] == [[0, finding.code, "error"]]
    (card,) = conn["cards"]
    assert card["index"] == 0 and card["frame"] == 9 and card["code"] == finding.code
    assert (card["message"], card["expected"], card["observed"]) == (
        finding.message, finding.expected, finding.observed)
    assert "".join(text for text, _ in card["reference"]) == finding.reference
    assert ["RFC 9293", "https://www.rfc-editor.org/rfc/rfc9293"] in card["reference"]
    assert ["§3.6", "https://www.rfc-editor.org/rfc/rfc9293#section-3.6"] in card["reference"]
    assert findings_table(page)[0]["card"] == 1


def test_references_link_each_rfc_section_to_the_rfc_it_belongs_to() -> None:
    result = analyse(DATA_AFTER_FIN)
    reference = "RFC 9293 §3.8.6.1 (MUST-36); RFC 1122 §4.2.2.17; profile fin_timeout"
    result = replace(result, findings=tuple(replace(f, reference=reference)
                                            for f in result.findings))
    (card,) = Page(render(result)).connection(0, 0)["cards"]
    rfc = "https://www.rfc-editor.org/rfc/rfc"
    assert card["reference"] == [
        ["RFC 9293", f"{rfc}9293"], [" ", None], ["§3.8.6.1", f"{rfc}9293#section-3.8.6.1"],
        [" (MUST-36); ", None], ["RFC 1122", f"{rfc}1122"], [" ", None],
        ["§4.2.2.17", f"{rfc}1122#section-4.2.2.17"], ["; profile fin_timeout", None]]


def test_a_section_names_its_connection_and_tallies_its_findings() -> None:
    result = analyse(MISSING_TIME_WAIT)
    page = Page(render(result))
    (section,) = page.find("details", class_="conn")
    assert section["id"] == "conn-0-0"
    conn = result.connections[0]
    text = "".join(page.text)
    assert f"{conn.client}" in text and f"{conn.server}" in text
    counts = result.counts()
    assert page.find("span", class_="badge")
    assert f"{counts['error']} error" in text and f"{counts['info']} info" in text


def test_a_section_names_its_capture_only_when_the_report_has_several() -> None:
    # One capture is named once, in the summary table; 10,000 summaries repeating it would
    # make an --html-all page slower to open and no clearer.
    (alone,) = summaries(render(analyse(DATA_AFTER_FIN)))
    assert alone.startswith("connection 0 ") and DATA_AFTER_FIN not in alone
    first, second = summaries(render(analyse(DATA_AFTER_FIN, MISSING_TIME_WAIT)))
    assert DATA_AFTER_FIN in first and MISSING_TIME_WAIT in second


def test_long_connection_collapses_the_uneventful_middle_with_counts() -> None:
    result = analyse(HEAVY_LOSS)
    (timeline,) = result.timelines
    page = Page(render(result))
    conn = page.connection(0, 0)
    collapsed = [item["collapsed"] for item in conn["items"] if "collapsed" in item]
    drawn = rows(conn)
    assert collapsed and len(drawn) < len(timeline.steps)
    assert sum(c["count"] for c in collapsed) + len(drawn) == len(timeline.steps)
    assert all(c["firstFrame"] <= c["lastFrame"] for c in collapsed)
    # The handshake and the teardown are drawn.
    assert {s.frame for s in list(timeline.steps)[:3]} <= set(drawn)
    assert timeline.steps[-1].frame in drawn
    ladder = build_ladder(timeline, result.findings)
    assert conn["undrawn"] == ladder.undrawn > 0


def test_retransmissions_are_marked_on_their_arrows() -> None:
    result = analyse(HEAVY_LOSS)
    (timeline,) = result.timelines
    conn = Page(render(result)).connection(0, 0)
    marked = {frame for frame, row in rows(conn).items() if row.get("retransmission")}
    assert marked and marked == {frame for frame in rows(conn)
                                 if timeline.step_at(frame).retransmission}


def test_findings_whose_rows_are_collapsed_have_no_card_and_link_to_no_card() -> None:
    page = Page(render(analyse(HEAVY_LOSS)))
    conn = page.connection(0, 0)
    carded = {card["index"] for card in conn["cards"]}
    table = findings_table(page)
    assert {i for i, row in enumerate(table) if row["card"]} == carded
    assert len(carded) < len(table)


# -- time-sequence graphs --------------------------------------------------------------------


def test_a_graph_for_each_direction_that_carries_data() -> None:
    result = analyse(CLOSE_SERVER_FIRST, everything=True)
    page = Page(render(result, all_connections=True))
    graphs = page.connection(0, 0)["graphs"]
    assert [(g["direction"], g["sender"], g["receiver"]) for g in graphs] == [
        ("client", "192.0.2.1:55280", "192.0.2.2:8000"),
        ("server", "192.0.2.2:8000", "192.0.2.1:55280")]


def test_a_handshake_without_data_has_no_graph() -> None:
    conn = Page(render(analyse(HANDSHAKE_ONLY))).connection(0, 0)
    assert conn["graphs"] == [] and rows(conn)


def test_graph_series_are_the_layouts_numbers_as_flat_arrays() -> None:
    result = analyse(HEAVY_LOSS)
    (timeline,) = result.timelines
    layout = sequence_graphs(timeline, result.findings)
    graphs = Page(render(result)).connection(0, 0)["graphs"]
    for data, graph in zip(graphs, layout, strict=True):
        assert data["bars"][1::4] == [bar.start for bar in graph.bars]
        assert data["bars"][3::4] == [int(bar.retransmission) for bar in graph.bars]
        assert data["acks"][1::2] == [point.value for point in graph.acks]
        assert data["windows"][1::2] == [point.value for point in graph.windows]
        assert sorted(m[2] for m in data["marks"]) == sorted(m.frame for m in graph.marks)
        assert (data["segments"], data["retransmissions"], data["binned"]) == (
            graph.segments, graph.retransmissions, graph.binned)
    assert any(data["retransmissions"] for data in graphs)


def test_graph_time_axis_spans_its_own_points_not_the_wait_before_them() -> None:
    """syn-isn-changed: a SYN, a second's wait, a SYN with another ISN (the finding), then the
    handshake and the data within 2 ms. Each graph spans its own segments, ACKs and finding
    marks, so those 2 ms fill it; times stay seconds since the capture's start."""
    result = analyse(SYN_ISN_CHANGED)
    (timeline,) = result.timelines
    layouts = sequence_graphs(timeline, result.findings)
    graphs = Page(render(result)).connection(0, 0)["graphs"]
    assert timeline.steps[0].time == 0.0 and len(graphs) == 2
    for data, graph in zip(graphs, layouts, strict=True):
        times = [item.time for series in (graph.bars, graph.acks, graph.marks)
                 for item in series]
        assert (data["start"], data["end"]) == (round(min(times), 6), round(max(times), 6))
        assert 1.0 <= data["start"] <= data["bars"][0] < data["end"] < 1.003


def test_graph_marks_link_to_a_card_only_when_the_finding_has_one() -> None:
    page = Page(render(analyse(HEAVY_LOSS)))
    conn = page.connection(0, 0)
    carded = {card["index"] for card in conn["cards"]}
    targets = [mark[5] for graph in conn["graphs"] for mark in graph["marks"]]
    assert any(t >= 0 for t in targets) and any(t < 0 for t in targets)
    assert {t for t in targets if t >= 0} <= carded


# -- several captures ------------------------------------------------------------------------


def test_ids_name_the_capture_by_its_index_so_connection_ids_never_clash() -> None:
    page = Page(render(analyse(DATA_AFTER_FIN, MISSING_TIME_WAIT)))
    assert [s["id"] for s in page.find("details", class_="conn")] == ["conn-0-0", "conn-1-0"]
    assert page.data["captures"] == [DATA_AFTER_FIN, MISSING_TIME_WAIT]
    assert page.connection(1, 0)["capture"] == 1
