"""The bundled captures: real Linux traffic is healthy, crafted captures trip exactly their rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import rules_at

from tcpcheck.engine import analyze_files
from tcpcheck.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
REAL = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
CRAFTED = sorted((ROOT / "captures" / "crafted").glob("*.pcap"))
LINUX = load_profile("linux")

REAL_SCENARIOS = {
    "close-client-first", "close-server-first", "half-close", "rst-abort", "refused",
    "syn-retries", "synack-loss", "bulk-loss", "time-wait-reuse", "simultaneous-close",
    "close-client-first-ipv6",
}


def analyze(path: Path):
    return analyze_files([str(path)], LINUX)


def test_every_required_real_scenario_is_bundled():
    assert {p.stem for p in REAL} >= REAL_SCENARIOS


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_real_linux_capture_has_no_error_finding(path):
    result = analyze(path)
    errors = [f for f in result.findings if f.severity.label == "error"]
    assert errors == [], "\n".join(f"{f.rule} frame {f.frame}: {f.message}" for f in errors)
    assert result.connections


@pytest.mark.parametrize(("name", "client", "server", "close"), [
    ("close-client-first", "TIME_WAIT", "CLOSED", "fin"),
    ("close-server-first", "CLOSED", "TIME_WAIT", "fin"),
    ("half-close", "TIME_WAIT", "CLOSED", "fin"),
    ("simultaneous-close", "TIME_WAIT", "TIME_WAIT", "fin"),
    ("rst-abort", "CLOSED", "CLOSED", "reset"),
    ("refused", "CLOSED", "CLOSED", "refused"),
    ("syn-retries", "SYN_SENT", "LISTEN", "half-open"),
])
def test_real_capture_ends_in_the_rfc_states(name, client, server, close):
    conn = analyze(ROOT / "captures" / "linux" / f"{name}.pcap").connections[0]
    assert (conn.client_state, conn.server_state, conn.close) == (client, server, close)


def test_time_wait_reuse_capture_holds_two_connections_and_an_info_finding():
    result = analyze(ROOT / "captures" / "linux" / "time-wait-reuse.pcap")
    assert len(result.connections) == 2
    assert [f.rule for f in result.findings if f.rule == "time-wait-reuse"] == ["time-wait-reuse"]


def test_bulk_transfer_with_real_loss_shows_retransmissions_and_no_error():
    result = analyze(ROOT / "captures" / "linux" / "bulk-loss.pcap")
    assert any(f.rule == "retransmission" for f in result.findings)
    assert result.counts()["error"] == 0


@pytest.mark.parametrize("path", CRAFTED, ids=lambda p: p.stem)
def test_crafted_capture_reports_exactly_its_sidecar(path):
    sidecar = path.with_name(path.stem + ".expect.json")
    assert sidecar.exists(), f"{path.name} has no .expect.json sidecar"
    expect = json.loads(sidecar.read_text())
    result = analyze(path)
    want = sorted((f["rule"], f["frame"]) for f in expect["findings"])
    assert rules_at(result.findings) == want
    info = set(rules_at(result.findings, 1, edges=True))
    for item in expect.get("info", []):
        assert (item["rule"], item["frame"]) in info


def test_every_error_rule_has_a_crafted_capture_that_triggers_it():
    from tcpcheck.catalog import load_catalog
    triggered = set()
    for path in CRAFTED:
        expect = json.loads(path.with_name(path.stem + ".expect.json").read_text())
        triggered |= {f["rule"] for f in expect["findings"]}
    errors = {r.slug for r in load_catalog() if r.severity.label == "error"}
    assert errors <= triggered, errors - triggered
