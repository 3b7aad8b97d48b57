"""``--statistics``: findings per rule, one line each (tcpcheck.report.statistics)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pcap_edit import with_connection_copies
from sample_results import BULK, error_finding, sample_result

from tcpcheck.artefacts import fold_artefacts
from tcpcheck.catalog import load_catalog
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.report.statistics import RuleCount, render_statistics, rule_counts
from tcpcheck.result import Severity

OFFLOAD = Path(__file__).resolve().parent.parent / "captures" / "linux" / "offload.pcap"


def test_one_aligned_line_per_rule_most_severe_first():
    assert render_statistics(sample_result()) == (
        "1  HS001  syn-isn-changed    error\n"
        "1  RS002  rst-out-of-window  error\n"
        "1  WN003  window-shrunk      warning\n"
        "2  SQ010  retransmission     info\n")


def test_within_a_severity_the_commonest_rule_comes_first():
    result = sample_result()
    more = tuple(error_finding(BULK, 1, frame) for frame in (1300, 1301))
    rows = rule_counts(replace(result, findings=result.findings + more))
    assert [(r.code, r.count) for r in rows] == [("HS001", 3), ("RS002", 1), ("WN003", 1),
                                                 ("SQ010", 2)]


def test_a_folded_artefact_counts_every_finding_it_stands_for(tmp_path):
    result = analyze_files([str(with_connection_copies(OFFLOAD, tmp_path / "c.pcap", 4))],
                           load_profile("linux"))
    folded = fold_artefacts(result, load_catalog().artefacts())
    assert len(folded.findings) < len(result.findings)
    assert rule_counts(folded) == rule_counts(result)
    assert RuleCount("CQ003", "checksum-offload", Severity.INFO, 4) in rule_counts(folded)


def test_no_finding_prints_nothing():
    result = analyze_files([str(OFFLOAD.parent / "close-client-first.pcap")],
                           load_profile("linux"))
    assert result.findings == ()
    assert render_statistics(result) == ""
