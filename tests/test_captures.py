"""The bundled captures: real Linux traffic is healthy, crafted captures trip exactly their rule."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from conftest import rules_at
from pcap_edit import records, without_frames

from tcpcheck.pipeline import analyze_files
from tcpcheck.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
REAL = sorted((ROOT / "captures" / "linux").glob("*.pcap"))
CRAFTED = sorted((ROOT / "captures" / "crafted").glob("*.pcap"))
LINUX = load_profile("linux")

REAL_SCENARIOS = {
    "close-client-first", "close-server-first", "half-close", "rst-abort", "refused",
    "syn-retries", "synack-loss", "bulk-loss", "time-wait-reuse", "simultaneous-close",
    "close-client-first-ipv6", "zero-window", "keepalive", "bulk-heavy-loss", "ipv6-bulk-loss",
    "no-timestamps", "no-sack", "no-wscale", "offload", "rto-backoff", "fin-wait-2-timeout",
    "close-wait-stall", "ci-run-1", "ci-run-2", "reuse-challenge-ack",
    "synack-new-isn-after-restart", "handshake-options-off", "syn-doubling", "injected-rst",
    "injected-rst-mac", "injected-fin", "defer-accept",
}
# reply-*: a real connection (or a real listener) into which scripts/reply_captures.py injected
# segments from the client's address, to provoke the replies a receiver owes (issue 14). The
# injected segment may break a sender rule by design: those (rule, frame) at warning or above
# are all such a capture may hold; nothing Linux itself sent may draw one.
PROVOKED: dict[str, list[tuple[str, int]]] = {
    "reply-rst-in-window": [],
    "reply-syn-established": [],
    "reply-data-beyond-window": [("seq-out-of-window", 8)],
    "reply-old-duplicate": [],
    "reply-ack-unsent": [("ack-unsent-data", 8)],
    "reply-paws": [("paws-timestamp-regression", 8)],
    "reply-bad-third-ack": [("handshake-bad-ack", 3)],
    "reply-closed-port": [],
    "reply-ack-to-listener": [],
    "reply-fin-zero-window": [],
}
# Healthy real captures on which today's model still reports errors (issue 13). Strict: the
# marker must go the moment the model reads them right.
FALSE_ALARMS_TODAY: dict[str, str] = {}
REAL_PARAMS = [pytest.param(p, id=p.stem, marks=pytest.mark.xfail(
    strict=True, reason=FALSE_ALARMS_TODAY[p.stem])) if p.stem in FALSE_ALARMS_TODAY
    else pytest.param(p, id=p.stem) for p in REAL]
PROVOKED_PARAMS = [pytest.param(name, id=name, marks=pytest.mark.xfail(
    strict=True, reason=FALSE_ALARMS_TODAY[name])) if name in FALSE_ALARMS_TODAY
    else pytest.param(name, id=name) for name in PROVOKED]


def analyze(path: Path):
    return analyze_files([str(path)], LINUX)


def test_every_required_real_scenario_is_bundled():
    assert {p.stem for p in REAL} >= REAL_SCENARIOS | set(PROVOKED)
    assert set(ANSWERS) == set(PROVOKED)


@pytest.mark.parametrize("path", REAL_PARAMS)
def test_real_linux_capture_has_no_error_finding(path):
    result = analyze(path)
    injected = PROVOKED.get(path.stem, [])
    errors = [f for f in result.findings
              if f.severity.label == "error" and (f.rule, f.frame) not in injected]
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


@pytest.mark.parametrize("name", PROVOKED_PARAMS)
def test_provoked_capture_flags_the_injected_segment_and_nothing_linux_sent(name):
    result = analyze(ROOT / "captures" / "linux" / f"{name}.pcap")
    assert rules_at(result.findings) == PROVOKED[name]


# Each reply-* capture's provoking frame and the frame of Linux's answer to it. A copy without
# the answer is what the reply rules judge; it must still show the receiver (the server,
# 192.0.2.2) sending later, past Linux's 500 ms limit on challenge and out-of-window ACKs and
# the 200 ms delayed-ACK maximum, or nothing could be judged.
ANSWERS: dict[str, tuple[int, int]] = {
    "reply-rst-in-window": (8, 9), "reply-syn-established": (8, 9),
    "reply-data-beyond-window": (8, 9), "reply-old-duplicate": (8, 9),
    "reply-ack-unsent": (8, 9), "reply-paws": (8, 9), "reply-bad-third-ack": (3, 4),
    "reply-closed-port": (1, 2), "reply-ack-to-listener": (1, 2),
    "reply-fin-zero-window": (10, 11),
}
SERVER = bytes([192, 0, 2, 2])


def frame_times(path: Path) -> dict[int, tuple[float, bytes]]:
    """Frame -> (capture time, IPv4 source address) of an Ethernet + IPv4 classic pcap."""
    return {number: (sec + usec / 1e6, frame[26:30])
            for number, (rec, frame) in enumerate(records(path)[1], start=1)
            for sec, usec in [struct.unpack_from("<II", rec)]}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_provoked_receiver_answers_at_once_and_still_sends_later_without_that_answer(
        name, tmp_path):
    provoking, answer = ANSWERS[name]
    path = ROOT / "captures" / "linux" / f"{name}.pcap"
    frames = frame_times(path)
    (start, _), (answered, by) = frames[provoking], frames[answer]
    assert by == SERVER and answered - start < 0.1
    copy = frame_times(without_frames(path, tmp_path / "copy.pcap", {answer}))
    assert any(src == SERVER and ts - start > 0.5 + 0.2 for ts, src in copy.values())


def test_the_old_duplicate_without_linuxs_dsack_ack_is_not_acked_at_the_copy(tmp_path):
    # Frame 9 of reply-old-duplicate is Linux's ACK (with a D-SACK) for the copy at frame 8;
    # without it the server's next segment, a second later, acknowledges only newer data.
    path = without_frames(ROOT / "captures" / "linux" / "reply-old-duplicate.pcap",
                          tmp_path / "copy.pcap", {9})
    assert rules_at(analyze(path).findings) == [("unacceptable-segment-not-acked", 8)]


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


def rules_in(path: Path, profile=LINUX) -> set[str]:
    return {f.rule for f in analyze_files([str(path)], profile).findings}


def test_every_rule_has_an_example_capture_that_triggers_it():
    from tcpcheck.catalog import load_catalog
    for rule in load_catalog():
        assert rule.example, f"{rule.slug} has no example capture"
        assert rule.slug in rules_in(ROOT / rule.example), (rule.slug, rule.example)


def test_real_zero_window_is_probed_not_overrun():
    rules = rules_in(ROOT / "captures" / "linux" / "zero-window.pcap")
    assert {"zero-window", "zero-window-probe"} <= rules
    assert not rules & {"data-beyond-window", "seq-out-of-window", "window-shrink"}


def test_real_keepalives_are_keepalives_not_out_of_window_or_retransmissions():
    rules = rules_in(ROOT / "captures" / "linux" / "keepalive.pcap")
    assert rules == {"keepalive"}


@pytest.mark.parametrize("name", ["no-timestamps", "no-sack", "no-wscale"])
def test_an_option_disabled_on_one_side_is_simply_not_used(name):
    rules = rules_in(ROOT / "captures" / "linux" / f"{name}.pcap")
    assert not rules & {"option-not-negotiated", "synack-options-unsolicited",
                        "paws-timestamp-regression", "data-beyond-window", "window-shrink"}


def test_offload_capture_names_its_artefacts_and_nothing_else():
    result = analyze(ROOT / "captures" / "linux" / "offload.pcap")
    by_rule = {f.rule: f for f in result.findings}
    assert {"checksum-offload", "oversized-segment"} <= set(by_rule)
    assert "bad-checksum" not in by_rule
    assert all(f.severity.label == "info" for f in result.findings)
    assert by_rule["oversized-segment"].message.startswith("39 segments")


def test_one_offloaded_segment_is_counted_in_the_singular(tmp_path):
    # Without the closing frames (82-86) the client's SYN is its only checked segment: offload
    # left its checksum partial, as it did the FIN's.
    path = without_frames(ROOT / "captures" / "linux" / "offload.pcap",
                          tmp_path / "offload-open.pcap", set(range(82, 87)))
    [offload] = [f for f in analyze(path).findings
                 if f.rule == "checksum-offload" and f.side == "client"]
    assert offload.message.startswith("1 checked segment (SYN, FIN, RST) from the client ")
    assert " carries only the pseudo-header sum in its checksum" in offload.message


def test_real_rto_backoff_doubles_as_the_profile_says():
    rules = rules_in(ROOT / "captures" / "linux" / "rto-backoff.pcap")
    assert "retransmission" in rules and "rto-backoff-violation" not in rules


def test_short_linux_teardown_timers_are_seen_with_a_matching_profile(tmp_path):
    # The captures were made with tcp_fin_timeout = 2 and a server that waits 5 s to close.
    path = tmp_path / "short.toml"
    path.write_text('base = "linux"\nfin_timeout = 2.0\nclose_wait_stall = 3.0\n')
    short = load_profile(str(path))
    linux = ROOT / "captures" / "linux"
    assert "fin-wait-2-timeout" in rules_in(linux / "fin-wait-2-timeout.pcap", short)
    stall = analyze_files([str(linux / "close-wait-stall.pcap")], short).findings
    assert [f.rule for f in stall if f.severity.label != "info"] == ["close-wait-stall"]
    assert "fin-wait-2-timeout" not in rules_in(linux / "fin-wait-2-timeout.pcap")
    assert "close-wait-stall" not in rules_in(linux / "close-wait-stall.pcap")
