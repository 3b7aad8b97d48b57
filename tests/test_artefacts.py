"""Capture artefacts folded: one finding per capture, rule and host (tcpcheck.artefacts).

The capture is the real offload.pcap (a Linux client with checksum and segmentation offload
on) recorded three times over, from three client ports: what a loopback capture of a test
suite looks like, every connection with the same two artefacts of the same host.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pcap_edit import with_connection_copies

from tcpcheck import cli
from tcpcheck.artefacts import fold_artefacts
from tcpcheck.catalog import load_catalog
from tcpcheck.engine import RuleSetup
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report.github import render_github
from tcpcheck.report.jsondoc import render_json
from tcpcheck.report.markdown import render_markdown
from tcpcheck.report.sarif import render_sarif
from tcpcheck.result import Fold, Severity
from tcpcheck.timeline import Recording

OFFLOAD = Path(__file__).resolve().parent.parent / "captures" / "linux" / "offload.pcap"
ARTEFACTS = load_catalog().artefacts()


@pytest.fixture(scope="module")
def three_connections(tmp_path_factory):
    path = with_connection_copies(OFFLOAD, tmp_path_factory.mktemp("fold") / "three.pcap", 3)
    return analyze_jobs([Job(str(path), load_profile("linux"), RuleSetup())], Recording())


def test_catalog_marks_offload_copies_twins_repeats_and_sanitised_checksums_as_artefacts():
    expected = {"checksum-offload", "oversized-segment", "duplicate-frame", "unusable-checksum",
                "double-capture-point", "capture-repeated"}
    assert expected == ARTEFACTS


def test_the_copies_give_each_connection_the_same_two_artefacts(three_connections):
    pairs = [(f.rule, f.connection) for f in three_connections.findings if f.rule in ARTEFACTS]
    assert sorted(pairs) == [("checksum-offload", 0), ("checksum-offload", 1),
                             ("checksum-offload", 2), ("oversized-segment", 0),
                             ("oversized-segment", 1), ("oversized-segment", 2)]


def test_artefacts_of_one_host_become_one_finding_per_rule_with_count_and_first_frames(
        three_connections):
    folded = fold_artefacts(three_connections, ARTEFACTS)
    offload = [f for f in folded.findings if f.rule == "checksum-offload"]
    oversized = [f for f in folded.findings if f.rule == "oversized-segment"]
    assert [(f.frame, f.connection, f.fold) for f in offload] == [
        (1, 0, Fold("192.0.2.1", 3, 3, (1, 87, 173)))]
    assert [(f.frame, f.fold) for f in oversized] == [(4, Fold("192.0.2.1", 3, 3, (4, 90, 176)))]
    assert offload[0].message.startswith(
        "3 times on host 192.0.2.1 in 3 connections, first at frames 1, 87, 173; the first: ")


def test_folding_keeps_every_other_finding_and_the_order(three_connections):
    folded = fold_artefacts(three_connections, ARTEFACTS)
    others = [f for f in three_connections.findings if f.rule not in ARTEFACTS]
    assert [f for f in folded.findings if f.rule not in ARTEFACTS] == others
    keys = [(f.connection, f.frame) for f in folded.findings]
    assert keys == sorted(keys)
    assert sum(f.count for f in folded.findings) == len(three_connections.findings)


def test_a_host_with_one_artefact_keeps_it_unchanged():
    result = analyze_jobs([Job(str(OFFLOAD), load_profile("linux"), RuleSetup())])
    assert fold_artefacts(result, ARTEFACTS) == result


def test_connections_with_only_artefacts_lose_their_timeline_unless_kept(tmp_path):
    path = with_connection_copies(OFFLOAD, tmp_path / "three.pcap", 3)
    # zero-window off: then the copies' only findings are the two artefacts.
    setup = RuleSetup(rules=frozenset(r.slug for r in load_catalog()) - {"zero-window"})
    result = analyze_jobs([Job(str(path), load_profile("linux"), setup)], Recording())
    assert [t.connection for t in result.timelines] == [0, 1, 2]
    assert fold_artefacts(result, ARTEFACTS).timelines == ()
    kept = fold_artefacts(result, ARTEFACTS, keep_timelines=True)
    assert [t.connection for t in kept.timelines] == [0, 1, 2]


def test_json_names_the_fold_only_on_folded_findings(three_connections):
    doc = json.loads(render_json(fold_artefacts(three_connections, ARTEFACTS)))
    by_rule = {f["rule"]: f for f in doc["findings"]}
    assert by_rule["checksum-offload"]["fold"] == {
        "host": "192.0.2.1", "count": 3, "connections": 3, "frames": [1, 87, 173]}
    assert "fold" not in by_rule["zero-window"]
    assert doc["summary"]["findings"]["info"] == len(doc["findings"]) == 5


def test_sarif_counts_the_occurrences_of_a_folded_result(three_connections):
    log = json.loads(render_sarif(fold_artefacts(three_connections, ARTEFACTS), load_catalog()))
    counts = {r["properties"]["rule"]: r.get("occurrenceCount")
              for r in log["runs"][0]["results"]}
    assert counts == {"checksum-offload": 3, "oversized-segment": 3, "zero-window": None}


def analyze_cli(*args: str):
    return CliRunner().invoke(cli.main, ["analyze", *args])


def test_analyze_folds_artefacts_by_default_and_each_artefact_lists_them(tmp_path):
    path = str(with_connection_copies(OFFLOAD, tmp_path / "three.pcap", 3))
    folded = json.loads(analyze_cli("--format", "json", path).stdout)["findings"]
    each = json.loads(analyze_cli("--format", "json", "--each-artefact", path).stdout)["findings"]
    assert [f["rule"] for f in folded].count("checksum-offload") == 1
    assert [f["rule"] for f in each].count("checksum-offload") == 3
    assert not any("fold" in f for f in each)


def test_html_draws_no_diagram_for_connections_with_only_artefacts(tmp_path):
    path = str(with_connection_copies(OFFLOAD, tmp_path / "three.pcap", 3))
    args = ("--format", "html", "--ignore", "zero-window", path)
    assert 'id="conn-0-' not in analyze_cli(*args).stdout
    assert 'id="conn-0-2"' in analyze_cli(*args, "--each-artefact").stdout


def test_baseline_records_every_artefact_not_the_folded_one(tmp_path):
    path = str(with_connection_copies(OFFLOAD, tmp_path / "three.pcap", 3))
    baseline = tmp_path / "baseline.json"
    assert analyze_cli("--write-baseline", str(baseline), path).exit_code == 0
    assert baseline.read_text().count('"checksum-offload"') == 1  # one entry, count 3
    assert '"count": 3' in baseline.read_text()
    again = json.loads(analyze_cli("--format", "json", "--baseline", str(baseline), path).stdout)
    assert again["findings"] == []


def test_statistics_leaves_no_room_for_another_format_on_stdout(tmp_path):
    result = analyze_cli("--statistics", "--format", "json", str(OFFLOAD))
    assert result.exit_code == 2
    assert "--statistics prints to stdout: give --format json a path" in result.stderr


def test_markdown_counts_every_finding_a_folded_artefact_stands_for(three_connections):
    text = render_markdown(fold_artefacts(three_connections, ARTEFACTS), Severity.ERROR)
    assert "| CQ003 checksum-offload | info | 3 | 1 |" in text


def test_github_notice_counts_every_finding_a_folded_artefact_stands_for(three_connections):
    text = render_github(fold_artefacts(three_connections, ARTEFACTS))
    assert "title=CQ003 checksum-offload::3 info findings; first at frame 1," in text
