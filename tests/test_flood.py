"""SYN floods and huge captures: one syn-flood finding per target, folded connection rows, and
memory that follows the connections open at one time."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from segments import Ladder

from tcpcheck.decode import Decoder
from tcpcheck.engine import Analyzer, RuleSetup
from tcpcheck.pipeline import analyze_capture
from tcpcheck.profiles import load_profile
from tcpcheck.sources import open_capture

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import flood_capture  # noqa: E402 - bench/ is not a package

LINUX = load_profile("linux")
REAL_FLOOD = ROOT / "captures" / "linux" / "syn-flood.pcap"


def flood(tmp_path: Path, syns: int, **kwargs) -> Path:
    path = tmp_path / f"flood-{syns}.pcap"
    flood_capture.write_syn_flood(path, syns, **kwargs)
    return path


def analyze(path: Path, setup: RuleSetup | None = None, max_connections: int | None = None):
    _, analyzer = analyze_capture(str(path), LINUX, setup, max_connections=max_connections)
    return analyzer


def tcpcheck(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tcpcheck", *args], capture_output=True,
                          text=True, timeout=300)


# ---------------------------------------------------------------- the syn-flood rule


def test_a_real_flood_is_one_syn_flood_finding_instead_of_200_incomplete_handshakes():
    analyzer = analyze(REAL_FLOOD)
    [finding] = analyzer.findings
    assert (finding.rule, finding.code, finding.severity.label) == ("syn-flood", "HS008",
                                                                     "warning")
    assert (finding.connection, finding.frame, finding.side) == (0, 1, "server")
    assert finding.message.startswith("192.0.2.2:8000 received 200 handshakes that never "
                                      "completed (200 SYNs)")
    assert "from 100 source addresses and 2 source ports" in finding.message
    assert "200 were answered with a SYN-ACK that was never acknowledged" in finding.message
    assert len(analyzer.connections) == 200  # no cap: every connection is still listed


def test_below_the_threshold_each_unanswered_syn_keeps_its_half_open_finding(tmp_path):
    # The capture goes on 3 s after the SYNs: their answers were due (the end of a capture
    # is no evidence: tests/test_end_of_capture.py).
    analyzer = analyze(flood(tmp_path, 99, then_s=3.0))
    assert [f.rule for f in analyzer.findings] == ["half-open"] * 99
    assert sorted(f.connection for f in analyzer.findings) == list(range(99))


def test_a_flood_cut_by_the_end_of_the_capture_is_still_a_flood(tmp_path):
    # Every SYN's answer could still come when the capture ends, 2 ms after the first: no
    # half-open finding judges one, but a flood is its SYNs' rate, which the capture shows.
    analyzer = analyze(flood(tmp_path, 100))
    assert [f.rule for f in analyzer.findings] == ["syn-flood"]
    assert analyze(flood(tmp_path, 99)).findings == []


def test_the_hundredth_unanswered_syn_makes_it_a_flood(tmp_path):
    analyzer = analyze(flood(tmp_path, 100))
    assert [f.rule for f in analyzer.findings] == ["syn-flood"]
    assert "100 were never answered (half-open)" in analyzer.findings[0].message


def test_handshakes_spread_wider_than_the_window_are_not_a_flood(tmp_path):
    path = flood(tmp_path, 150, rate=5)  # 30 s of SYNs: at most 51 in any 10 s
    assert {f.rule for f in analyze(path).findings} == {"half-open"}
    wide = RuleSetup(params={"syn-flood": {"window": 30.0}})
    assert [f.rule for f in analyze(path, wide).findings] == ["syn-flood"]


def test_without_the_syn_flood_rule_every_half_open_finding_stays(tmp_path):
    setup = RuleSetup(rules=frozenset({"half-open"}))
    analyzer = analyze(flood(tmp_path, 500, then_s=3.0), setup)
    assert [f.rule for f in analyzer.findings] == ["half-open"] * 500


def test_each_flooded_target_gets_its_own_finding_with_counts_and_rates(tmp_path):
    analyzer = analyze(flood(tmp_path, 3000, targets=3, rate=1000))
    findings = sorted(analyzer.findings, key=lambda f: f.connection)
    assert [(f.rule, f.connection) for f in findings] == [("syn-flood", 0), ("syn-flood", 1),
                                                         ("syn-flood", 2)]
    first = findings[0].message
    assert first.startswith("192.0.2.2:8000 received 1,000 handshakes")
    assert "over 2.997 s (334/s on average, 334 in the busiest second)" in first
    assert "from 256 source addresses and 12 source ports" in first
    assert findings[1].message.startswith("192.0.2.2:8001 received 1,000 handshakes")


def test_a_flood_finding_has_a_fingerprint_that_survives_a_new_capture(tmp_path):
    one = analyze(flood(tmp_path, 300)).findings[0]
    other = analyze(flood(tmp_path, 400, start_us=1_800_000_000_000_000)).findings[0]
    assert one.fingerprint == other.fingerprint and one.position == ""


# ---------------------------------------------------------------- folded connection rows


def short_connections(count: int, reset_every: int) -> list:
    """``count`` complete connections one after the other; every ``reset_every``-th one ends
    with a reset (an info finding) instead of FINs."""
    segments = []
    for i in range(count):
        lad = Ladder(client_isn=1000 + i, server_isn=50_000 + i)
        lad.ts += i * 10**9
        lad.handshake()
        lad.data("c", 100)
        lad.data("s", 300)
        if i % reset_every == reset_every - 1:
            lad.rst("c")
        else:
            lad.close(first="c")
        segments += [seg._replace(sport=20_000 + i) if seg.sport == 40000
                     else seg._replace(dport=20_000 + i) for seg in lad.segments]
    return [seg._replace(frame=n) for n, seg in enumerate(segments, 1)]


def run(segments: list, max_connections: int | None) -> Analyzer:
    analyzer = Analyzer(LINUX, start_ts=segments[0].ts, max_connections=max_connections)
    for seg in segments:
        analyzer.feed(seg)
    analyzer.finish()
    return analyzer


def test_folding_keeps_every_connection_with_a_finding_and_counts_the_rest_exactly():
    segments = short_connections(60, reset_every=7)
    everything = run(segments, None)
    capped = run(segments, 5)
    with_findings = {f.connection for f in everything.findings}
    assert len(with_findings) == 8 and capped.findings == everything.findings
    listed = {c.id for c in capped.connections}
    without = sorted(c.id for c in everything.connections if c.id not in with_findings)
    assert listed == with_findings | set(without[:5])
    folded = capped.folded
    rest = [c for c in everything.connections if c.id not in listed]
    assert folded.connections == len(rest) == 60 - 8 - 5
    assert folded.packets == sum(c.packets for c in rest)
    assert folded.client_bytes == sum(c.client_bytes for c in rest) == 100 * len(rest)
    assert folded.server_bytes == sum(c.server_bytes for c in rest) == 300 * len(rest)
    assert folded.close == {"fin": len(rest)}
    assert folded.packets + sum(c.packets for c in capped.connections) == len(segments)


def test_without_a_cap_nothing_is_folded():
    analyzer = run(short_connections(20, reset_every=7), None)
    assert analyzer.folded is None and len(analyzer.connections) == 20


def test_a_flood_beyond_the_cap_lists_its_anchor_and_the_first_connections(tmp_path):
    analyzer = analyze(flood(tmp_path, 1000), max_connections=10)
    assert sorted(c.id for c in analyzer.connections) == list(range(11))
    assert analyzer.folded.connections == 989 and analyzer.folded.packets == 989
    assert analyzer.folded.close == {"half-open": 989}


def test_the_same_flood_gives_byte_identical_reports_in_every_format(tmp_path):
    path = flood(tmp_path, 2000, targets=2)
    for fmt in ("json", "junit", "markdown", "sarif", "html"):
        outputs = []
        for run_ in range(2):
            out = tmp_path / f"{fmt}-{run_}"
            done = tcpcheck("analyze", str(path), "--max-connections", "50", "--format",
                            f"{fmt}:{out}")
            assert done.returncode == 0, done.stderr
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1], fmt


def test_every_report_that_lists_connections_says_how_many_were_folded(tmp_path):
    path = flood(tmp_path, 300)
    done = tcpcheck("analyze", str(path), "--max-connections", "20",
                    "--format", f"json:{tmp_path / 'r.json'}",
                    "--format", f"markdown:{tmp_path / 'r.md'}",
                    "--format", f"junit:{tmp_path / 'r.xml'}",
                    "--format", f"html:{tmp_path / 'r.html'}")
    assert done.returncode == 0, done.stderr
    note = ("279 more connections without findings counted but not listed "
            "(--max-connections): 279 packets, 0 bytes client→server, 0 bytes server→client; "
            "279 half-open")
    assert note in " ".join(done.stdout.split())  # the terminal report, however wrapped
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["summary"]["folded_connections"] == 279
    assert doc["summary"]["captures"][0]["folded"] == {
        "connections": 279, "packets": 279, "client_bytes": 0, "server_bytes": 0,
        "close": {"half-open": 279}}
    assert len(doc["connections"]) == 21
    assert note in (tmp_path / "r.md").read_text()
    assert '<property name="folded.connections" value="279" />' in (
        tmp_path / "r.xml").read_text()
    assert note in (tmp_path / "r.html").read_text()


def test_max_connections_must_be_a_count():
    done = tcpcheck("analyze", str(REAL_FLOOD), "--max-connections", "-1")
    assert done.returncode == 2 and "--max-connections" in done.stderr


# ---------------------------------------------------------------- memory


def test_a_flood_report_stays_small(tmp_path):
    path = flood(tmp_path, 20_000, targets=2)
    out = tmp_path / "report.json"
    done = tcpcheck("analyze", str(path), "--format", "json", "-o", str(out),
                    "--max-connections", "1000")
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert [f["rule"] for f in doc["findings"]] == ["syn-flood", "syn-flood"]
    assert len(doc["connections"]) == 1002
    # Bounded by the listed rows (each ~860 bytes with its statistics), not by the SYNs: a row
    # and a finding per SYN were 18 MB.
    assert out.stat().st_size < 1_000_000


def test_memory_held_per_open_half_open_connection_is_bounded(tmp_path):
    path = flood(tmp_path, 20_000)
    analyzer = Analyzer(LINUX, max_connections=100)
    with open_capture(str(path)) as capture:
        records = capture.records()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for seg in Decoder().segments(records):
                analyzer.feed(seg)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert analyzer.tracker.open_connections == 20_000
    # About 3,400 bytes on main (a Connection with two Endpoints each); packed now.
    assert held / 20_000 < 512
    analyzer.finish()
    assert [f.rule for f in analyzer.findings] == ["syn-flood"]


@pytest.mark.parametrize("name", ["syn-flood", "syn-retries", "synack-loss", "refused"])
def test_a_lone_syn_kept_packed_gives_what_the_full_model_gives(name):
    # An html report records every segment's effect on the model, so it never packs SYNs:
    # both ways must agree on every finding and every connection.
    from tcpcheck.timeline import Recording
    path = str(ROOT / "captures" / "linux" / f"{name}.pcap")
    _, packed = analyze_capture(path, LINUX)
    _, modelled = analyze_capture(path, LINUX, recording=Recording(all=True))
    assert packed.findings == modelled.findings
    assert sorted(packed.connections, key=lambda c: c.id) == sorted(
        modelled.connections, key=lambda c: c.id)


def test_human_reports_count_the_folded_connections_among_those_analysed():
    done = tcpcheck("analyze", str(REAL_FLOOD), "--max-connections", "0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("no protocol errors in 200 connections (1 warning)")
    markdown = tcpcheck("analyze", str(REAL_FLOOD), "--max-connections", "0", "--format",
                        "markdown").stdout
    assert "syn-flood.pcap` | auto | 400 | 200 |" in markdown
