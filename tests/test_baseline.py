"""Baselines: fingerprints that survive re-capturing the same traffic, and what a baseline
suppresses, keeps and reports as gone."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tcpcheck.baseline import (
    ENTRY_FIELDS,
    BaselineError,
    apply_baseline,
    fingerprint,
    load_baseline,
    render_baseline,
    service_port,
)
from tcpcheck.model import events as ev
from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult, BaselineEntry

ROOT = Path(__file__).resolve().parent.parent
RUN_1 = ROOT / "captures" / "linux" / "ci-run-1.pcap"
RUN_2 = ROOT / "captures" / "linux" / "ci-run-2.pcap"
"""Two real captures of one scenario: other client ports, ISNs and timing, the same traffic."""


def analyse(path: Path) -> AnalysisResult:
    return analyze_files([str(path)], load_profile("linux"))


def fingerprints(result: AnalysisResult) -> Counter[tuple[str, str, str, str]]:
    return Counter((f.rule, f.side, f.position, f.fingerprint) for f in result.findings)


def test_every_event_position_names_fields_of_its_event():
    for cls in ev.Event.__subclasses__():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(cls.POSITION) <= fields, cls.__name__
        assert not {"frame", "ts"} & set(cls.POSITION), cls.__name__


def test_two_captures_of_the_same_traffic_give_the_same_fingerprints():
    one, two = analyse(RUN_1), analyse(RUN_2)
    ports = {c.client.rsplit(":", 1)[1] for c in one.connections}
    assert ports.isdisjoint({c.client.rsplit(":", 1)[1] for c in two.connections})
    assert one.findings and fingerprints(one) == fingerprints(two)


def test_the_fingerprint_leaves_out_ports_the_os_chose():
    assert service_port(8080) == 8080
    assert service_port(443) == 443
    assert service_port(40000) is None  # Linux's ephemeral range starts at 32768
    assert fingerprint("keepalive", "client", None, "seq=45") != fingerprint(
        "keepalive", "client", 8080, "seq=45")
    assert len(fingerprint("keepalive", "client", None, "seq=45")) == 16


def test_the_fingerprint_names_rule_side_and_relative_position():
    base = fingerprint("ack-unsent-data", "client", 80, "ack=5001")
    assert base == fingerprint("ack-unsent-data", "client", 80, "ack=5001")
    assert base != fingerprint("ack-unsent-data", "server", 80, "ack=5001")
    assert base != fingerprint("ack-unsent-data", "client", 80, "ack=5002")
    assert base != fingerprint("data-after-fin", "client", 80, "ack=5001")


def test_a_bad_handshake_ack_is_placed_relative_to_the_peer_isn():
    near_wrap = ev.SynAckBadAck(3, 0, "server", 1, 0xFFFFFFFF, 0, 5)
    assert near_wrap.position() == "ack=6"


def test_baseline_of_one_run_suppresses_every_finding_of_the_next(tmp_path: Path):
    capture = tmp_path / "traffic.pcap"
    shutil.copy(RUN_1, capture)
    text = render_baseline(analyse(capture), tmp_path)
    shutil.copy(RUN_2, capture)  # the next CI run writes the same file
    rerun = analyse(capture)
    entries = json.loads(text)["findings"]
    filtered = apply_baseline(rerun, load_baseline_text(tmp_path, text), "b.json", tmp_path)
    assert filtered.findings == ()
    assert filtered.baseline.suppressed == len(rerun.findings) == sum(e["count"] for e in entries)
    assert filtered.baseline.stale == ()


def test_a_new_finding_is_reported_and_a_fixed_one_is_listed_as_gone(tmp_path: Path):
    capture = tmp_path / "traffic.pcap"
    shutil.copy(RUN_1, capture)
    recorded = analyse(capture)
    keepalive = next(f for f in recorded.findings if f.rule == "keepalive")
    # Accept everything but the keepalive, plus a finding that will not occur again.
    gone = dataclasses.replace(keepalive, rule="data-after-fin", code="CL001",
                               fingerprint=fingerprint("data-after-fin", "client", 8080, "seq=9"),
                               position="seq=9")
    accepted = dataclasses.replace(recorded, findings=tuple(
        [f for f in recorded.findings if f.rule != "keepalive"] + [gone]))
    entries = load_baseline_text(tmp_path, render_baseline(accepted, tmp_path))
    shutil.copy(RUN_2, capture)
    filtered = apply_baseline(analyse(capture), entries, "b.json", tmp_path)
    assert [f.rule for f in filtered.findings] == ["keepalive"]
    assert [(e.rule, e.position, e.count) for e in filtered.baseline.stale] == [
        ("data-after-fin", "seq=9", 1)]


def test_a_baseline_counts_findings_with_equal_fingerprints(tmp_path: Path):
    result = analyse(RUN_1)
    twice = dataclasses.replace(result, findings=result.findings + result.findings[:1])
    entries = load_baseline_text(tmp_path, render_baseline(result, tmp_path))
    filtered = apply_baseline(twice, entries, "b.json", tmp_path)
    assert filtered.findings == result.findings[:1]


def test_entries_of_captures_not_analysed_are_not_reported_as_gone(tmp_path: Path):
    capture = tmp_path / "traffic.pcap"
    shutil.copy(RUN_1, capture)
    entries = load_baseline_text(tmp_path, render_baseline(analyse(capture), tmp_path))
    other = analyse(ROOT / "captures" / "linux" / "close-client-first.pcap")
    assert apply_baseline(other, entries, "b.json", tmp_path).baseline.stale == ()


def test_baseline_paths_are_relative_to_the_baseline_file(tmp_path: Path):
    (tmp_path / "artifacts").mkdir()
    capture = tmp_path / "artifacts" / "traffic.pcap"
    shutil.copy(RUN_1, capture)
    doc = json.loads(render_baseline(analyse(capture), tmp_path))
    assert {e["input"] for e in doc["findings"]} == {"artifacts/traffic.pcap"}


def test_baseline_file_is_sorted_and_byte_identical_across_runs(tmp_path: Path):
    first = render_baseline(analyse(RUN_1), tmp_path)
    assert first == render_baseline(analyse(RUN_1), tmp_path)
    doc = json.loads(first)
    assert doc["tool"] == "tcpcheck" and doc["baseline"] == 1
    keys = [(e["input"], e["code"], e["side"], e["position"]) for e in doc["findings"]]
    assert keys == sorted(keys)
    assert "frame" not in first and '"time"' not in first


@pytest.mark.parametrize(("content", "message"), [
    ("{", "invalid JSON"),
    ('{"tool": "ruff"}', "not a tcpcheck baseline"),
    ('{"tool": "tcpcheck", "baseline": 99, "findings": []}', "version 99"),
    ('{"tool": "tcpcheck", "baseline": 1, "findings": [{"input": "a"}]}', "malformed"),
])
def test_a_broken_baseline_file_is_one_clear_error(tmp_path: Path, content: str, message: str):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=message):
        load_baseline(str(path))


def test_a_missing_baseline_file_says_how_to_record_one(tmp_path: Path):
    with pytest.raises(BaselineError, match="--write-baseline"):
        load_baseline(str(tmp_path / "nope.json"))


def load_baseline_text(folder: Path, text: str):
    path = folder / "baseline.json"
    path.write_text(text)
    return load_baseline(str(path))


# -- every field checked -------------------------------------------------------------------


def test_the_field_table_declares_every_entry_field_in_file_order():
    assert list(ENTRY_FIELDS) == [f.name for f in dataclasses.fields(BaselineEntry)]


ENTRY = {"input": "cap.pcap", "rule": "retransmission", "code": "SQ010", "side": "client",
         "service": None, "position": "seq=1", "fingerprint": "0123456789abcdef", "count": 2}


def test_an_entry_with_a_key_a_later_tcpcheck_adds_is_still_read(tmp_path: Path):
    doc = {"tool": "tcpcheck", "baseline": 1, "findings": [ENTRY | {"note": "flaky"}]}
    (entry,) = load_baseline_text(tmp_path, json.dumps(doc))
    assert entry == BaselineEntry(**ENTRY)


@pytest.mark.parametrize(("change", "message"), [
    ({"count": True}, "findings[0].count must be a whole number from 1 to 4294967296, not true"),
    ({"count": 0}, "findings[0].count must be a whole number from 1 to 4294967296, not 0"),
    ({"service": 0}, "findings[0].service must be a whole number from 1 to 65535, or null, "
                     "not 0"),
    ({"side": None}, "findings[0].side must be a string, not null"),
    ({"fingerprint": 7}, "findings[0].fingerprint must be a string, not 7"),
])
def test_every_field_of_an_entry_is_checked_and_named(tmp_path: Path, change, message):
    doc = {"tool": "tcpcheck", "baseline": 1, "findings": [ENTRY | change]}
    with pytest.raises(BaselineError) as error:
        load_baseline_text(tmp_path, json.dumps(doc))
    assert str(error.value) == f"{tmp_path / 'baseline.json'}: {message}"
