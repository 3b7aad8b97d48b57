"""``--profile auto``: each connection side judged by the profile its own SYN or SYN-ACK shows,
the RFC's bounds for an unknown stack, pins from the configuration, and the per-host table in
every report that has a place for it.

Only Linux runs here, so the other stacks are crafted: the test captures are a real Linux
capture (captures/linux/close-client-first.pcap, 192.0.2.1 -> 192.0.2.2:8000) with
connections appended after its last frame, built with scapy from published values:

- a Windows 7-10 client (192.0.2.3): SYN options MSS 1460, NOP, WS 8, NOP, NOP, SACK_PERM,
  window 8192, TTL 128 (p0f.fp ``s:win:Windows:7 or 8``), retransmitting its SYN after 3 and 6
  s (TcpInitialRTT 3 s, doubling, MaxSynRetransmissions 2: KB 942861, as in
  rules/profiles/windows.toml); the server answers the last one with RST (port 9 is closed);
- an unknown stack (192.0.2.4, TTL 255: no signature) retransmitting its SYN on a schedule
  given by the test, answered by RST the same way;
- a side picked up mid-stream (198.51.100.7:5000 -> 192.0.2.2:40000) retransmitting the
  same data while its peer stays silent.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pcap_edit import records, write_pcap
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "captures" / "linux"
BASE = LINUX / "close-client-first.pcap"
SERVER = "192.0.2.2"
WINDOWS = "192.0.2.3"
UNKNOWN = "192.0.2.4"
MIDSTREAM = "198.51.100.7"
WINDOWS_OPTIONS = [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None),
                   ("SAckOK", b"")]
UNKNOWN_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                   ("WScale", 7)]
SYN_DOUBLING = LINUX / "syn-doubling.pcap"
GNUTELLA = ROOT.parent / "shared" / "wild" / "dev" / "ppa__ppa1e__gnutella.pcap"


def frame(src: str, dst: str, sport: int, dport: int, flags: str, seq: int, *, ack: int = 0,
          ttl: int = 64, window: int = 64240, options: list | None = None,
          payload: bytes = b"") -> bytes:
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IP(src=src, dst=dst, ttl=ttl, id=1)
                 / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
                       options=options or [])
                 / payload)


def syn_attempt(src: str, sport: int, ttl: int, options: list,
                intervals: tuple[float, ...]) -> list[tuple[float, bytes]]:
    """A SYN sent again after each of ``intervals`` (same ISN), then the server's RST."""
    isn, at, out = 1_000_000, 0.0, []
    for gap in (0.0, *intervals):
        at += gap
        out.append((at, frame(src, SERVER, sport, 9, "S", isn, ttl=ttl, window=8192,
                              options=options)))
    out.append((at + 0.0005, frame(SERVER, src, 9, sport, "RA", 0, ack=isn + 1)))
    return out


def data_copies(intervals: tuple[float, ...]) -> list[tuple[float, bytes]]:
    """The same 100 bytes from a side picked up mid-stream, sent again after each of
    ``intervals`` while the peer says nothing."""
    at, out = 0.0, []
    for gap in (0.0, *intervals):
        at += gap
        out.append((at, frame(MIDSTREAM, SERVER, 5000, 40000, "PA", 5000, ack=7000,
                              payload=b"x" * 100)))
    return out


def crafted(tmp_path: Path, name: str, *parts: list[tuple[float, bytes]]) -> Path:
    """BASE with ``parts`` appended, each starting 30 s after the previous part's start."""
    head, recs = records(BASE)
    last = struct.unpack_from("<II", recs[-1][0])
    start = last[0] + last[1] / 1e6 + 30
    out = list(recs)
    for index, part in enumerate(parts):
        for at, data in part:
            ts = start + 60 * index + at
            sec, usec = int(ts), round((ts - int(ts)) * 1e6)
            out.append((struct.pack("<IIII", sec, usec, len(data), len(data)), data))
    return write_pcap(tmp_path / name, head, out)


def windows_and_linux(tmp_path: Path) -> Path:
    return crafted(tmp_path, "windows-and-linux.pcap",
                   syn_attempt(WINDOWS, 49200, 128, WINDOWS_OPTIONS, (3.0, 6.0)))


def analyze(path: Path, *args: str, fmt: str = "json") -> str:
    quiet = [] if fmt == "terminal" else ["-q"]  # -q leaves the terminal report out
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", str(path), "--format",
                           fmt, "--fail-on", "never", *quiet, *args],
                          capture_output=True, text=True, cwd=path.parent, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def report(path: Path, *args: str) -> dict:
    return json.loads(analyze(path, *args))


def warnings_of(doc: dict, rule: str) -> list[dict]:
    return [f for f in doc["findings"] if f["rule"] == rule]


def host(doc: dict, address: str) -> dict:
    (row,) = [h for h in doc["hosts"] if h["address"] == address]
    return row


def judged(doc: dict, address: str) -> set[tuple[str, str]]:
    """(profile, basis) of each of the host's rows."""
    return {(h["profile"], h["basis"]) for h in doc["hosts"] if h["address"] == address}


def test_a_windows_host_backing_off_from_3_s_beside_a_linux_host_is_judged_by_its_own_profile(
        tmp_path):
    doc = report(windows_and_linux(tmp_path))
    assert doc["profile"] == "auto"
    assert warnings_of(doc, "rto-backoff-violation") == []
    assert doc["summary"]["findings"]["error"] == doc["summary"]["findings"]["warning"] == 0
    assert host(doc, WINDOWS)["profile"] == "windows"
    assert host(doc, WINDOWS)["basis"] == "signature"
    assert "TTL 128" in host(doc, WINDOWS)["evidence"]
    assert host(doc, "192.0.2.1")["profile"] == "linux"
    # The server's SYN-ACK shows Linux; it only reset the Windows client's attempt, and a
    # side with no SYN-ACK of its own is judged by the RFC's bounds.
    assert judged(doc, SERVER) == {("linux", "signature"), ("rfc-bounds", "unknown")}


def test_the_same_capture_forced_to_linux_flags_the_windows_host_as_before(tmp_path):
    doc = report(windows_and_linux(tmp_path), "--profile", "linux")
    flagged = warnings_of(doc, "rto-backoff-violation")
    assert [f["side"] for f in flagged] == ["client", "client"]
    assert all(WINDOWS in f["message"] and "the linux profile's schedule says 1 s"
               in f["message"] for f in flagged)
    assert "hosts" not in doc  # one profile for every side: no table, today's report


def test_a_windows_host_sending_its_syn_four_times_is_not_held_to_a_guessed_retry_count(
        tmp_path):
    # SYNs at 0, 3, 9 and 21 s, as gnutella's Windows host sends on 525 connections: the
    # signature tells the stack, not its TcpMaxConnectRetransmissions (2 by default on
    # 2000/XP/2003, 3 on NT 4.0), and RFC 9293 only bounds the retries from below.
    path = crafted(tmp_path, "windows-retries.pcap",
                   syn_attempt(WINDOWS, 49300, 128, WINDOWS_OPTIONS, (3.0, 6.0, 12.0)))
    assert warnings_of(report(path), "syn-retries-exceeded") == []
    (forced,) = warnings_of(report(path, "--profile", "windows"), "syn-retries-exceeded")
    assert "the windows profile allows 3 transmissions" in forced["message"]


def test_syn_gaps_that_skip_uncaptured_transmissions_of_a_guessed_stack_are_not_flagged(
        tmp_path):
    # A capture that began during the attempt (its first SYN captured is the third one, so
    # the next comes 12 s later) and one that lost a SYN (0, 3, then 6 + 12 s later): the
    # capture cannot tell a late timer from a SYN it does not hold. A profile the user
    # gives is their statement of the timers, so there the gaps are flagged.
    path = crafted(tmp_path, "windows-gaps.pcap",
                   syn_attempt(WINDOWS, 49400, 128, WINDOWS_OPTIONS, (12.0,)),
                   syn_attempt(WINDOWS, 49401, 128, WINDOWS_OPTIONS, (3.0, 18.0)))
    assert warnings_of(report(path), "rto-backoff-violation") == []
    forced = warnings_of(report(path, "--profile", "windows"), "rto-backoff-violation")
    assert [f["message"].split(" sent ")[1][:31] for f in forced] == [
        "SYN retransmission 1 12.000 s a", "SYN retransmission 2 18.000 s a"]


def test_an_unknown_stack_doubling_from_2_5_s_is_within_the_rfc_bounds(tmp_path):
    path = crafted(tmp_path, "unknown.pcap",
                   syn_attempt(UNKNOWN, 40100, 255, UNKNOWN_OPTIONS, (2.5, 5.0, 10.0)))
    doc = report(path)
    assert warnings_of(doc, "rto-backoff-violation") == []
    assert host(doc, UNKNOWN)["profile"] == "rfc-bounds"
    assert host(doc, UNKNOWN)["label"] == "unknown stack"


def test_an_unknown_stack_retrying_after_1_1_and_5_s_does_not_double_and_is_flagged(tmp_path):
    path = crafted(tmp_path, "unknown-flat.pcap",
                   syn_attempt(UNKNOWN, 40100, 255, UNKNOWN_OPTIONS, (1.0, 1.0, 5.0)))
    (flagged,) = warnings_of(report(path), "rto-backoff-violation")
    assert "SYN retransmission 2 1.000 s" in flagged["message"]
    assert "the rfc-bounds profile's schedule says 2 s" in flagged["message"]
    assert "doubling from its first retransmission's 1.000 s" in flagged["message"]


def test_a_midstream_side_doubling_from_2_5_s_is_fine_and_one_that_stops_doubling_is_flagged(
        tmp_path):
    fine = report(crafted(tmp_path, "doubling.pcap", data_copies((2.5, 5.0, 10.0))))
    assert warnings_of(fine, "rto-backoff-violation") == []
    assert host(fine, MIDSTREAM)["basis"] == "unknown"
    flat = report(crafted(tmp_path, "flat.pcap", data_copies((2.5, 5.0, 2.5))))
    (flagged,) = warnings_of(flat, "rto-backoff-violation")
    assert "the rfc-bounds profile" not in flagged["message"]  # data: the doubling itself
    # Picked up mid-stream, the side on the lower port is taken for the server.
    assert "(server: unknown stack, no SYN or SYN-ACK of it" in flagged["message"]


def test_a_pin_in_the_configuration_beats_the_signature(tmp_path):
    path = windows_and_linux(tmp_path)
    (tmp_path / "tcpcheck.toml").write_text(f'[hosts]\n"{WINDOWS}/32" = "linux"\n'
                                            '"2001:db8::/32" = "windows"\n')
    doc = report(path)
    assert host(doc, WINDOWS)["basis"] == "pinned"
    assert host(doc, WINDOWS)["profile"] == "linux"
    assert len(warnings_of(doc, "rto-backoff-violation")) == 2
    assert ("linux", "signature") in judged(doc, SERVER)


@pytest.mark.parametrize(("table", "message"), [
    ('"192.0.2.300" = "linux"', 'hosts."192.0.2.300": not an address or prefix'),
    ('"192.0.2.1/24" = "linux"', "has host bits set"),
    ('"192.0.2.0/24" = "auto"', "a pin names one profile, not 'auto'"),
    ('"192.0.2.0/24" = "solaris"', "unknown profile 'solaris'"),
])
def test_a_bad_pin_is_one_clear_line_and_exit_2(tmp_path, table, message):
    (tmp_path / "tcpcheck.toml").write_text(f"[hosts]\n{table}\n")
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", str(BASE)],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_every_report_with_a_place_for_it_names_each_host_s_profile_and_why(tmp_path):
    path = windows_and_linux(tmp_path)
    sarif = json.loads(analyze(path, fmt="sarif"))
    (artifact,) = sarif["runs"][0]["artifacts"]
    hosts = {h["address"]: h for h in artifact["properties"]["hosts"]}
    assert hosts[WINDOWS]["label"] == "Windows Vista-10 / Server 2008-2016"
    suite = ET.fromstring(analyze(path, fmt="junit")).find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties[f"host.{WINDOWS}"].startswith("windows: Windows Vista-10")
    html = analyze(path, fmt="html")
    assert 'id="hosts-table"' in html and f"<code>{WINDOWS}</code>" in html
    # The terminal and Markdown show the hosts of connections with a warning or error: here
    # none, so a line says where the others are.
    assert "4 more hosts without a warning or error" in analyze(path, fmt="terminal")
    assert "4 more hosts without a warning or error" in analyze(path, fmt="markdown")


def test_the_terminal_and_markdown_show_the_hosts_of_a_flagged_connection(tmp_path):
    path = crafted(tmp_path, "unknown-flat.pcap",
                   syn_attempt(UNKNOWN, 40100, 255, UNKNOWN_OPTIONS, (1.0, 1.0, 5.0)))
    terminal = analyze(path, fmt="terminal")
    assert UNKNOWN in terminal and "rfc-bounds" in terminal and "unknown stack" in terminal
    markdown = analyze(path, fmt="markdown")
    assert "**Hosts**" in markdown and f"`{UNKNOWN}` | rfc-bounds | unknown stack" in markdown


def test_the_per_connection_reports_name_each_side_s_profile(tmp_path):
    # The Windows client's attempt is connection 1 (the Linux exchange before it is 0); the
    # server's RST is all the capture shows of the server side, no SYN-ACK: the RFC's bounds.
    path = windows_and_linux(tmp_path)
    connections = report(path)["connections"]
    assert [(c["client_profile"], c["server_profile"]) for c in connections] == [
        ("linux", "linux"), ("windows", "rfc-bounds")]
    rows = list(csv.DictReader(io.StringIO(analyze(path, fmt="csv"))))
    assert [(r["client_profile"], r["server_profile"]) for r in rows] == [
        ("linux", "linux"), ("windows", "rfc-bounds")]
    zeek = [line.split("\t") for line in analyze(path, fmt="zeek").splitlines()
            if not line.startswith("#")]
    assert [row[-2:] for row in zeek] == [["linux", "linux"], ["windows", "rfc-bounds"]]


def test_github_annotations_name_the_profile_of_each_host_of_a_flagged_connection(tmp_path):
    path = crafted(tmp_path, "unknown-flat.pcap",
                   syn_attempt(UNKNOWN, 40100, 255, UNKNOWN_OPTIONS, (1.0, 1.0, 5.0)))
    notices = [line for line in analyze(path, fmt="github").splitlines()
               if ",title=tcpcheck host " in line]
    # In the Hosts table's order (by address): the server's row (linux, from its SYN-ACKs to
    # the Linux client), then its RST-only side here (the RFC's bounds), then the client.
    hosts = [line.split("title=tcpcheck host ")[1].split("::") for line in notices]
    assert [(address, text.split(":")[0]) for address, text in hosts] == [
        (SERVER, "judged by profile linux"), (SERVER, "judged by profile rfc-bounds"),
        (UNKNOWN, "judged by profile rfc-bounds")]
    assert hosts[2][1].startswith("judged by profile rfc-bounds: unknown stack (unknown; ")
    # Without a warning or error, no host is named (the JSON and SARIF list them all).
    assert ",title=tcpcheck host " not in analyze(windows_and_linux(tmp_path), fmt="github")


def test_jobs_two_gives_the_hosts_and_findings_of_one_process(tmp_path):
    path = crafted(tmp_path, "mixed.pcap",
                   syn_attempt(WINDOWS, 49200, 128, WINDOWS_OPTIONS, (3.0, 6.0)),
                   syn_attempt(UNKNOWN, 40100, 255, UNKNOWN_OPTIONS, (1.0, 1.0, 5.0)),
                   data_copies((2.5, 5.0, 10.0)))
    assert analyze(path, "--jobs", "2") == analyze(path, "--jobs", "1")


@pytest.mark.skipif(not GNUTELLA.exists(), reason="../shared/wild/dev is not present")
def test_a_windows_host_s_hundreds_of_3_6_12_s_backoffs_are_no_longer_flagged():
    doc = report(GNUTELLA)
    # 388 under the linux profile. What is left are attempts whose first SYNs the capture
    # does not hold (it started 1.6 s into one): their first interval is 12 s, not 3.
    flagged = warnings_of(doc, "rto-backoff-violation")
    assert len(flagged) <= 7
    assert all("the windows profile's schedule" in f["message"] for f in flagged)
    assert judged(doc, "10.1.4.176") == {("windows", "signature")}
    assert report(GNUTELLA, "--jobs", "2") == doc


@pytest.mark.parametrize("path", sorted(LINUX.glob("*.pcap")), ids=lambda p: p.name)
def test_every_real_linux_side_that_sent_a_syn_is_linux_and_the_findings_are_the_linux_ones(
        path):
    auto, forced = report(path), report(path, "--profile", "linux")
    # A side that only refused (RST, no SYN-ACK) showed no stack: the RFC's bounds.
    assert {(h["profile"], h["basis"]) for h in auto["hosts"]} <= {
        ("linux", "signature"), ("rfc-bounds", "unknown"), ("linux-legacy", "signature")}
    if path.name != SYN_DOUBLING.name:
        assert auto["findings"] == forced["findings"]


def test_a_linux_host_whose_syns_double_from_1_s_is_narrowed_to_linux_legacy():
    """syn-doubling.pcap: a real client with tcp_syn_linear_timeouts = 0 (captures/linux)."""
    auto = report(SYN_DOUBLING)
    client = host(auto, "192.0.2.1")
    assert client["profile"] == "linux-legacy"
    assert "its SYN retransmission (frame 3) fits linux-legacy, not linux" in client["evidence"]
    assert warnings_of(auto, "rto-backoff-violation") == []
    (flagged,) = warnings_of(report(SYN_DOUBLING, "--profile", "linux"), "rto-backoff-violation")
    assert "--profile linux-legacy" in flagged["message"]


def test_tcpcheck_profiles_names_auto_as_the_default_and_says_what_it_does():
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "profiles", "auto"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("auto (default): each connection side gets the profile")
    listing = subprocess.run([sys.executable, "-m", "tcpcheck", "profiles"],
                             capture_output=True, text=True, check=False).stdout
    assert "auto (default)" in listing and "rfc-bounds" in listing


BENCH = next((path for path in (ROOT / "bench" / "data" / "bench.pcap", Path("/tmp/bench.pcap"))
              if path.exists()), None)


@pytest.mark.skipif(BENCH is None, reason="no bench capture (make bench records one)")
def test_the_bench_capture_of_real_linux_traffic_is_linux_on_both_sides_and_clean():
    doc = report(BENCH)
    assert doc["summary"]["findings"]["error"] == doc["summary"]["findings"]["warning"] == 0
    assert {(h["profile"], h["basis"]) for h in doc["hosts"]} == {("linux", "signature")}
