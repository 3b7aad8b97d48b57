"""The live pipeline's parts: the stream tee, dumpcap's errors and statistics as real dumpcap
runs print them, the session on a real veth, the idle timeout that bounds memory over hours,
and what the live view and the line-per-finding output show.

The whole ``tcpcheck sniff`` command on real and injected traffic is tests/test_sniff.py.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from formats import ethernet, ipv4, pcapng, tcp, with_checksum
from rich.console import Console
from segments import Ladder

from tcpcheck.engine import Analyzer, combine
from tcpcheck.live import (
    INSTALL_HINT,
    CaptureRequest,
    LiveError,
    LiveSession,
    Tee,
    failure_message,
    list_interfaces,
)
from tcpcheck.live_status import LiveStatus, parse_statistics
from tcpcheck.model.connection import Connection
from tcpcheck.pipeline import analyze_capture
from tcpcheck.profiles import load_profile
from tcpcheck.report.live_view import FindingLines, LiveView
from tcpcheck.report.terminal import render_failures
from tcpcheck.result import AnalysisResult, ConnectionSummary, Finding, Severity
from tcpcheck.segment import Segment
from tcpcheck.sources import CaptureError, open_stream
from tcpcheck.track import Tracker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import netns  # noqa: E402 - scripts/ is not a package

LINUX = load_profile("linux")
DUMPCAP = shutil.which("dumpcap")
needs_capture = pytest.mark.skipif(os.geteuid() != 0 or DUMPCAP is None,
                                   reason="needs root (namespaces, veth, capture) and dumpcap")


# ---------------------------------------------------------------- the tee


def capture_bytes(frames: int = 50) -> bytes:
    segment = with_checksum(tcp(payload=b"x" * 100))
    return pcapng([(1_700_000_000_000_000_000 + i * 1000, ethernet(ipv4(segment)))
                   for i in range(frames)])


def test_the_tee_saves_exactly_the_bytes_the_reader_read_from_a_pipe():
    data = capture_bytes()
    read_end, write_end = os.pipe()

    def write_in_pieces() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as w:
            for i in range(0, len(data), 333):  # records split across writes
                w.write(data[i:i + 333])
                time.sleep(0.001)

    writer = threading.Thread(target=write_in_pieces)
    writer.start()
    saved = io.BytesIO()
    with os.fdopen(read_end, "rb", buffering=0) as r:
        tee = Tee(r, saved)
        assert tee.wait()  # the stream has begun...
        assert saved.getvalue() == data[:len(saved.getvalue())]
        records = list(open_stream(tee, "pipe").records())  # ...and wait consumed nothing
    writer.join()
    assert [r[0] for r in records] == list(range(1, 51))
    assert saved.getvalue() == data


def test_the_tee_wait_says_when_the_stream_ends_before_it_begins():
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as r:
        assert not Tee(r, None).wait()


def test_the_tee_returns_no_more_than_asked():
    tee = Tee(io.BytesIO(b"abcdef"), None)
    assert tee.wait()
    assert tee.read1(2) == b"ab"
    assert tee.read1(-1) == b"cdef"
    assert tee.read1(10) == b""


# ---------------------------------------------------------------- the dumpcap command


def test_the_dumpcap_command_writes_pcapng_to_stdout_with_the_stop_conditions():
    request = CaptureRequest(("eth0", "eth1"), bpf="tcp port 443", duration=2.5, count=1000)
    assert request.argv("dumpcap") == [
        "dumpcap", "-q", "-n", "-w", "-", "-B", "64", "-i", "eth0", "-i", "eth1",
        "-f", "tcp port 443", "-a", "duration:2.5", "-c", "1000"]
    assert request.input_name == "live:eth0,eth1"


# ---------------------------------------------------------------- dumpcap, really run


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
"""Run a command as an unprivileged user (nobody)."""


def dumpcap_stderr(*args: str, unprivileged: bool = False) -> str:
    """What dumpcap prints on stderr for a capture of at most a second."""
    assert DUMPCAP is not None
    argv = [DUMPCAP, "-q", "-n", "-w", "-", "-a", "duration:1", *args]
    if unprivileged:
        argv = [*NOBODY, *argv]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=30).stderr


@pytest.fixture(scope="module")
def bed() -> Iterator[netns.Testbed]:
    if os.geteuid() != 0 or DUMPCAP is None:
        pytest.skip("needs root and dumpcap")
    with netns.Testbed() as tb:
        yield tb


@pytest.mark.parametrize("bpf", ["tcp port 99999", "tcp and", "ether proto \\ip6x"])
@needs_capture
def test_an_invalid_filter_quotes_the_filter_and_dumpcaps_reason(bpf):
    stderr = dumpcap_stderr("-i", "lo", "-f", bpf)
    message = failure_message(stderr, CaptureRequest(("lo",), bpf=bpf))
    reason = stderr.split("valid capture filter (", 1)[1].split(").", 1)[0]
    assert message == f"invalid capture filter {bpf!r}: {reason}"


@needs_capture
def test_no_such_interface_names_the_ones_there_are(bed):
    with bed.server.ns.entered(), pytest.raises(LiveError) as caught, \
            LiveSession(CaptureRequest(("eth9",)), LINUX) as session:
        session.start()
    message = str(caught.value)
    assert message.startswith("no such interface 'eth9' (interfaces here: ")
    assert "veth-s" in message and "lo" in message
    assert message.endswith("tcpcheck interfaces lists them)")


@needs_capture
def test_an_interface_that_is_down_says_how_to_bring_it_up(bed):
    ns = bed.server.ns
    ns.ip("link", "add", "down0", "type", "veth", "peer", "name", "down1")
    try:
        with ns.entered(), pytest.raises(LiveError) as caught, \
                LiveSession(CaptureRequest(("down0",)), LINUX) as session:
            session.start()
    finally:
        ns.ip("link", "del", "down0")
    assert str(caught.value) == "interface down0 is down (bring it up: ip link set down0 up)"


@needs_capture
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing")
def test_no_permission_says_what_is_needed():
    stderr = dumpcap_stderr("-i", "lo", unprivileged=True)
    assert "You do not have permission" in stderr  # what dumpcap says, as an unprivileged user
    message = failure_message(stderr, CaptureRequest(("lo",)))
    assert message.startswith("no permission to capture on lo: run as root, or give dumpcap "
                              "the capabilities: sudo setcap cap_net_raw,cap_net_admin+eip ")
    assert "wireshark group" in message


@needs_capture
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing")
def test_no_permission_is_one_line_and_exit_2_from_the_command():
    proc = subprocess.run(
        [*NOBODY, sys.executable, "-m", "tcpcheck", "sniff", "-i", "lo"],
        capture_output=True, text=True, timeout=60, cwd="/",
        env={"PATH": os.environ["PATH"], "NO_COLOR": "1", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("tcpcheck: error: no permission to capture on lo: ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_without_dumpcap_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LiveError) as caught, \
            LiveSession(CaptureRequest(("lo",)), LINUX) as session:
        session.start()
    assert str(caught.value) == INSTALL_HINT
    assert "apt-get install tshark" in INSTALL_HINT and "brew install wireshark" in INSTALL_HINT


@needs_capture
def test_statistics_are_read_from_what_dumpcap_prints_at_the_end():
    stats = parse_statistics(dumpcap_stderr("-i", "lo", "-i", "any"))
    assert [s.interface for s in stats] == ["Loopback: lo", "any"]
    assert all(s.lost == 0 for s in stats)


def test_loss_counts_the_kernel_and_dumpcap_drops_not_packets_flushed_at_the_stop():
    # The closing lines of a real run (dumpcap 4.0, -c 7 on two interfaces).
    stderr = ("Capturing on 'Loopback: lo' and 'any'\nFile: -\n\rPackets captured: 7\n"
              "Packets received/dropped on interface 'Loopback: lo': 16/10 "
              "(pcap:0/dumpcap:0/flushed:10/ps_ifdrop:0) (61.5%)\n"
              "Packets received/dropped on interface 'any': 900/35 "
              "(pcap:30/dumpcap:5/flushed:0/ps_ifdrop:2) (96.3%)\n")
    lo, any_ = parse_statistics(stderr)
    assert (lo.received, lo.flushed, lo.lost) == (16, 10, 0)
    assert (any_.kernel_dropped, any_.dumpcap_dropped, any_.interface_dropped) == (30, 5, 2)
    assert any_.lost == 35


@needs_capture
def test_interfaces_are_the_ones_of_the_namespace_with_descriptions(bed):
    with bed.server.ns.entered():
        found = {i.name: i.description for i in list_interfaces()}
    assert "veth-s" in found and "veth-c" not in found
    assert found["lo"].startswith("Loopback")


# ---------------------------------------------------------------- a session on a veth


def talk(bed: netns.Testbed, port: int,
         keep_open: bool = False) -> tuple[socket.socket, socket.socket] | None:
    """One request and response over real Linux TCP; closed unless ``keep_open``, which
    returns both sockets (client, server) for the caller to close."""
    listener = bed.server.ns.listen(bed.server.ipv4, port)

    def serve() -> socket.socket:
        conn, _ = listener.accept()
        conn.sendall(conn.recv(100).upper())
        if not keep_open:
            conn.recv(100)
            conn.close()
        return conn

    task = netns.spawn(serve)
    client = bed.client.ns.socket()
    client.connect((bed.server.ipv4, port))
    client.sendall(b"hello")
    assert client.recv(100) == b"HELLO"
    if not keep_open:
        client.close()
    server = task.result()
    listener.close()
    return (client, server) if keep_open else None


@needs_capture
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_ends_the_capture_cleanly_and_the_saved_file_gives_the_same_result(
        bed, tmp_path, signum):
    saved = tmp_path / "live.pcapng"
    seen: list[tuple[Finding, tuple[str, str] | None]] = []
    request = CaptureRequest(("veth-s",), bpf="tcp", write=str(saved))
    with LiveSession(request, LINUX, on_finding=lambda f, e: seen.append((f, e))) as session:
        with bed.server.ns.entered():
            session.start()
        talk(bed, 7001 + 10 * signum)
        still_open = talk(bed, 7002 + 10 * signum, keep_open=True)
        assert still_open is not None
        time.sleep(0.3)  # let the last segments reach the capture
        # What a terminal's Ctrl-C does (SIGINT to tcpcheck, which stops dumpcap in order),
        # or a service manager stopping it (SIGTERM).
        threading.Timer(0.1, os.kill, (os.getpid(), signum)).start()
        live = session.run()
    client_port = still_open[0].getsockname()[1]
    for sock in still_open:
        sock.close()

    summary = live.summary
    assert summary.input == "live:veth-s" and summary.damage is None
    assert summary.packets == summary.tcp_packets > 0
    assert [s.interface for s in live.stats] == ["veth-s"] and live.lost == 0
    closes = sorted(c.close for c in live.analyzer.connections)
    assert closes == ["fin", "open"]  # the open one is open, not an error
    assert all(f.severity is Severity.INFO for f in live.analyzer.findings)
    assert [f.rule for f, _ in seen] == ["capture-ended-midstream"]
    assert seen[0][1] == (f"{bed.client.ipv4}:{client_port}",
                          f"{bed.server.ipv4}:{7002 + 10 * signum}")

    offline_summary, offline = analyze_capture(str(saved), LINUX)
    assert offline_summary.packets == summary.packets and offline_summary.damage is None
    assert same_result(combine([(summary, live.analyzer)]),
                       combine([(offline_summary, offline)]))


def same_result(a: AnalysisResult, b: AnalysisResult) -> bool:
    """Equal but for the input's name (``live:IFACE`` against the saved file's path)."""
    def strip(items: tuple) -> list:
        return [type(x)(**{**{f: getattr(x, f) for f in x.__dataclass_fields__}, "input": ""})
                for x in items]
    return (strip(a.connections) == strip(b.connections)
            and strip(a.findings) == strip(b.findings))


@needs_capture
def test_count_stops_the_capture_after_that_many_packets(bed):
    with LiveSession(CaptureRequest(("veth-s",), bpf="tcp", count=5), LINUX) as session:
        with bed.server.ns.entered():
            session.start()
        talk(bed, 7003)
        live = session.run()
    assert live.summary.packets == 5


@needs_capture
def test_duration_stops_an_idle_capture(bed):
    started = time.monotonic()
    with LiveSession(CaptureRequest(("veth-s",), bpf="tcp", duration=1), LINUX) as session:
        with bed.server.ns.entered():
            session.start()
        live = session.run()
    assert 0.9 < time.monotonic() - started < 10
    assert live.summary.packets == 0 and live.analyzer.connections == []


@needs_capture
def test_an_interface_of_a_link_type_tcpcheck_cannot_decode_leaves_no_file(bed, tmp_path):
    saved = tmp_path / "nflog.pcapng"
    # The reader looks for every interface's description up to the first packet, or the end
    # of the capture: nothing crosses nflog here, so --duration ends it.
    request = CaptureRequest(("nflog",), duration=1, write=str(saved))
    with bed.server.ns.entered(), LiveSession(request, LINUX) as session:
        session.start()
        with pytest.raises(CaptureError, match="unsupported link type 239"):
            session.run()
    assert not saved.exists()


# ---------------------------------------------------------------- the idle timeout


def connection(port: int, start_s: float, every: float = 1.0,
               until: float = 0.0) -> list[Segment]:
    """A handshake at ``start_s``, then one data segment every ``every`` seconds until
    ``until``; never closed."""
    lad = Ladder(client_isn=1000 + port, server_isn=9000 + port)
    lad.ts += int(start_s * 1e9)
    lad.handshake()
    t = start_s
    while t + every <= until:
        lad.data("c", 10, gap=every)
        t += every
    return [seg._replace(sport=port) if seg.sport == 40000 else seg._replace(dport=port)
            for seg in lad.segments]


def by_time(*streams: list[Segment]) -> list[Segment]:
    merged = sorted((seg for stream in streams for seg in stream), key=lambda s: s.ts)
    return [seg._replace(frame=i) for i, seg in enumerate(merged, 1)]


def test_a_connection_idle_past_the_timeout_is_finalised_as_open_and_dropped():
    now = [0]
    finished: list[tuple[Connection, int]] = []
    tracker = Tracker(LINUX, lambda c: finished.append((c, now[0])), idle_timeout=10)
    for seg in by_time(connection(41000, 0.0), connection(41001, 0.0, until=30.0)):
        now[0] = seg.ts
        tracker.feed(seg)
    [(conn, dropped_at)] = finished
    assert conn.client_key[1] == 41000 and conn.close_kind() == "open"
    # At the first sweep after 10 s of silence: sweeps run every 5 s of capture time.
    assert 10e9 < dropped_at - conn.end_ts <= 15e9
    assert tracker.open_connections == 1
    tracker.close()
    assert [c.client_key[1] for c, _ in finished] == [41000, 41001]


def test_a_connection_quiet_for_less_than_the_timeout_is_kept():
    finished: list[Connection] = []
    tracker = Tracker(LINUX, finished.append, idle_timeout=10)
    for seg in by_time(connection(41000, 0.0, every=9.0, until=60.0),
                       connection(41001, 0.0, until=60.0)):
        tracker.feed(seg)
    assert finished == [] and tracker.open_connections == 2


def test_without_an_idle_timeout_nothing_is_dropped_for_silence():
    finished: list[Connection] = []
    tracker = Tracker(LINUX, finished.append)
    for seg in by_time(connection(41000, 0.0), connection(41001, 0.0, until=3600.0)):
        tracker.feed(seg)
    assert finished == [] and tracker.open_connections == 2


def test_memory_stays_bounded_by_the_connections_active_within_the_timeout():
    # A new connection every second for an hour, each left open after a few segments.
    finished: list[Connection] = []
    tracker = Tracker(LINUX, finished.append, idle_timeout=60)
    peak = 0
    for seg in by_time(*(connection(20000 + i, float(i), until=i + 3.0) for i in range(3600))):
        tracker.feed(seg)
        peak = max(peak, tracker.open_connections)
    assert peak <= 70  # those active within the last 60 s plus one sweep interval
    assert len(finished) >= 3600 - 70


def test_an_idle_connection_gives_no_error_only_the_end_of_capture_note():
    analyzer = Analyzer(LINUX, idle_timeout=10)
    for seg in by_time(connection(41000, 0.0, until=2.0), connection(41001, 0.0, until=30.0)):
        analyzer.feed(seg)
    [summary] = analyzer.connections
    assert (summary.id, summary.close, summary.client_state) == (0, "open", "ESTABLISHED")
    assert [(f.rule, f.severity) for f in analyzer.findings] == [
        ("capture-ended-midstream", Severity.INFO)]
    assert analyzer.findings[0].message.startswith("no segment for 10 s (the idle timeout)")


def test_open_connections_are_counted_by_the_state_of_the_side_furthest_along():
    tracker = Tracker(LINUX, lambda c: None)
    half_open = Ladder(client_isn=1)
    half_open.syn("c")
    opening = Ladder(client_isn=2)
    opening.syn("c")
    opening.synack("s")
    established = Ladder(client_isn=3).handshake()
    closing = Ladder(client_isn=4).handshake()
    closing.fin("c")
    done = Ladder(client_isn=5).handshake().close("c")
    for port, lad in enumerate((half_open, opening, established, closing, done), 42000):
        for seg in lad.segments:
            tracker.feed(seg._replace(sport=port) if seg.sport == 40000
                         else seg._replace(dport=port))
    assert list(tracker.state_counts().items()) == [
        ("ESTABLISHED", 1), ("FIN_WAIT_1", 1), ("SYN_RCVD", 1), ("SYN_SENT", 1),
        ("TIME_WAIT", 1)]


# ---------------------------------------------------------------- what the user sees


FINDING = Finding(rule="syn-isn-changed", code="HS001", severity=Severity.ERROR, connection=3,
                  frame=1234, time=1.5, message="client sent a SYN with a different ISN",
                  expected="", observed="", reference="RFC 9293", input="live:veth0")


def test_a_finding_line_is_the_line_analyze_quiet_prints():
    out = io.StringIO()
    FindingLines(Console(file=out, no_color=True, width=80)).add(
        FINDING, ("192.0.2.1:40000", "192.0.2.2:80"))
    quiet = io.StringIO()
    conn = ConnectionSummary(3, "192.0.2.1:40000", "192.0.2.2:80", 1, 2, 0.0, 1.0, 2, 0, 0,
                             "SYN_SENT", "LISTEN", "half-open", False, "live:veth0")
    render_failures(AnalysisResult("0", "linux", (), (conn,), (FINDING,)),
                    Console(file=quiet, no_color=True, width=80), Severity.ERROR)
    assert out.getvalue() == quiet.getvalue() == (
        "live:veth0:1234: HS001 syn-isn-changed client sent a SYN with a different ISN "
        "(connection 3 192.0.2.1:40000 → 192.0.2.2:80)\n")


def test_finding_lines_leave_out_what_is_below_their_severity():
    out = io.StringIO()
    lines = FindingLines(Console(file=out, no_color=True), Severity.ERROR)
    lines.add(Finding(**{**{f: getattr(FINDING, f) for f in FINDING.__dataclass_fields__},
                         "severity": Severity.WARNING}), None)
    assert out.getvalue() == ""


class Counters:
    """A capture's counters as a running session reports them."""

    def status(self) -> LiveStatus:
        return LiveStatus(elapsed=75.0, packets=612_345, tcp_packets=600_000)

    def state_counts(self) -> dict[str, int]:
        return {"ESTABLISHED": 12, "TIME_WAIT": 3, "SYN_SENT": 1}


def test_the_live_view_shows_counters_states_tallies_and_the_last_findings():
    view = LiveView(Console(file=io.StringIO()), Counters(), "live:veth0")
    for i in range(12):
        view.add(Finding(**{**{f: getattr(FINDING, f) for f in FINDING.__dataclass_fields__},
                            "frame": 1000 + i}), ("192.0.2.1:40000", "192.0.2.2:80"))
    out = io.StringIO()
    Console(file=out, no_color=True, width=160).print(view)
    text = out.getvalue()
    assert "capturing on live:veth0 · 01:15" in text
    assert "packets 612,345" in text and "TCP 600,000" in text
    assert "open connections 13 (not counting 3 in TIME_WAIT or CLOSED)" in text
    assert "ESTABLISHED 12 · TIME_WAIT 3 · SYN_SENT 1" in text
    assert "findings 12 errors · 0 warnings · 0 info" in text
    assert "frame 1,001" not in text and "frame 1,002" in text  # the last ten
    assert "HS001 syn-isn-changed" in text and "conn 3 192.0.2.1:40000 → 192.0.2.2:80" in text


class Closing(Counters):
    """A capture where most tracked connections are over: TIME_WAIT after a burst of
    short-lived connections, CLOSED after resets."""

    def state_counts(self) -> dict[str, int]:
        return {"TIME_WAIT": 60, "CLOSED": 4, "ESTABLISHED": 2, "FIN_WAIT_2": 1}


def test_the_live_view_counts_as_open_only_connections_not_in_time_wait_or_closed():
    out = io.StringIO()
    Console(file=out, no_color=True, width=160).print(
        LiveView(Console(file=io.StringIO()), Closing(), "live:veth0"))
    text = out.getvalue()
    assert "open connections 3 (not counting 64 in TIME_WAIT or CLOSED)" in text
    assert "TIME_WAIT 60 · CLOSED 4 · ESTABLISHED 2 · FIN_WAIT_2 1" in text
