"""`tcpcheck sniff` on a real interface: real Linux traffic, real dumpcap, violations injected
with scapy, findings reported while the capture still runs.

A module fixture builds two network namespaces joined by a veth pair (scripts/netns.py,
documentation addresses only): client 192.0.2.1 on veth-c, server 192.0.2.2 on veth-s.
Every test runs ``python -m tcpcheck sniff -i veth-s`` in the server's namespace, as a user
would, and stops it with --duration, --count or SIGINT to its process group (what Ctrl-C
does in a terminal). stdout is a pipe, so tcpcheck prints one plain line per finding as it
happens; a reader thread timestamps each line and notes whether tcpcheck was still running.

The violations are written by hand: scapy builds and parses the segments and a raw IPv4
socket in the client's namespace sends and receives them. The client kernel has no socket for
those connections and would answer the server's segments with a RST; an nftables rule in the
client's namespace drops exactly those (a bare RST from the hand-made ports).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import netns  # noqa: E402 - scripts/ is not a package
from netns import Namespace, spawn  # noqa: E402

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="needs root: network namespaces, veth pairs and packet capture"),
    pytest.mark.skipif(shutil.which("dumpcap") is None,
                       reason="dumpcap is not installed (`make test` installs tshark with it)"),
]

IP_BIN = shutil.which("ip") or "/usr/sbin/ip"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR": "1"}
REQUEST = b"GET /hello HTTP/1.0\r\nHost: server.example\r\n\r\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nhello, world\n"
# Ports of the connections scapy makes by hand; the client kernel's RSTs from them are dropped.
RAW_PORTS = "41000-41999"
BLACKHOLE_PORT = 9  # the server drops SYNs to it in its input hook, after the capture point
# The line tcpcheck prints for each finding as it happens when stdout is not a terminal.
LIVE_LINE = re.compile(r"live:(?P<iface>[^:]+):(?P<frame>\d+): (?P<code>[A-Z]+\d+) "
                       r"(?P<rule>[a-z-]+) .* \(connection \d+ (?P<client>\S+) → \S+\)")
# Long enough for a Linux SYN timeout (1 s): a second SYN sooner would be a concurrent opener.
SYN_RTO = 1.1


# ---------------------------------------------------------------- the test bed


@pytest.fixture(scope="module")
def bed() -> Iterator[netns.Testbed]:
    with netns.Testbed() as tb:
        tb.client.ns.nft(
            "table inet tcpcheck_raw {\n"
            "  chain output {\n"
            "    type filter hook output priority 0;\n"
            f"    tcp sport {RAW_PORTS} tcp flags == rst drop\n"
            "  }\n"
            "}\n")
        tb.server.ns.nft(
            "table inet tcpcheck_blackhole {\n"
            "  chain input {\n"
            "    type filter hook input priority 0;\n"
            f"    tcp dport {BLACKHOLE_PORT} drop\n"
            "  }\n"
            "}\n")
        yield tb


def tcpcheck(ns: Namespace, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m tcpcheck ARGS`` inside a namespace, to the end."""
    return subprocess.run([IP_BIN, "netns", "exec", ns.name, sys.executable, "-m", "tcpcheck",
                           *args], capture_output=True, text=True, timeout=timeout, env=ENV)


@dataclass(frozen=True)
class Line:
    """A line of tcpcheck's stdout, and whether tcpcheck was still running when it came."""

    text: str
    while_running: bool


class Sniff:
    """``tcpcheck sniff ARGS`` running in a namespace, its stdout read line by line as it
    comes."""

    def __init__(self, ns: Namespace, args: tuple[str, ...]) -> None:
        self.ns = ns
        self.started = time.monotonic()
        # A session of its own, so SIGINT can go to the whole process group, as the
        # terminal's Ctrl-C does.
        self.proc = subprocess.Popen(
            [IP_BIN, "netns", "exec", ns.name, sys.executable, "-m", "tcpcheck", "sniff", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
            start_new_session=True)
        self.lines: queue.Queue[Line] = queue.Queue()
        self.seen: list[Line] = []
        self._stderr: list[str] = []
        self._capturing = threading.Event()
        self._readers = [spawn(self._read_stdout), spawn(self._read_stderr)]

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self.lines.put(Line(text.rstrip("\n"), self.proc.poll() is None))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for text in self.proc.stderr:
            self._stderr.append(text)
            if text.startswith("tcpcheck: capturing on"):
                self._capturing.set()

    def wait_capturing(self, timeout: float = 10) -> None:
        """Return once tcpcheck says it is capturing (dumpcap's stream has begun, so the
        interface is open and filtering): nothing sent from now on can be missed."""
        deadline = time.monotonic() + timeout
        while not self._capturing.wait(0.05):
            assert self.proc.poll() is None, f"tcpcheck sniff ended: {''.join(self._stderr)}"
            assert time.monotonic() < deadline, f"not capturing after {timeout} s"

    def wait_for(self, pattern: str, timeout: float = 10) -> Line:
        """The first stdout line matching ``pattern`` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; "
                                     f"stdout so far: {[s.text for s in self.seen]}") from None
            self.seen.append(line)
            if re.search(pattern, line.text):
                return line

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to tcpcheck's process group, as a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float = 20) -> tuple[int, list[str], str]:
        """Wait for the end; exit code, every stdout line, stderr."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"tcpcheck sniff still running after {timeout} s; stderr: "
                                 f"{''.join(self._stderr)}") from None
        for reader in self._readers:
            reader.result(5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.proc.returncode, [s.text for s in self.seen], "".join(self._stderr)


# ---------------------------------------------------------------- traffic


def exchange(bed: netns.Testbed, port: int, count: int) -> list[int]:
    """``count`` connections through the Linux stack: request, response, close (by the server
    first, then by the client first, alternately). Returns the client ports."""
    listener = bed.server.ns.listen(bed.server.ipv4, port)

    def serve() -> None:
        for i in range(count):
            conn, _ = listener.accept()
            with conn:
                conn.recv(len(REQUEST), socket.MSG_WAITALL)
                conn.sendall(RESPONSE)
                if i % 2:
                    conn.recv(1)  # the client closes first

    ports = []
    with listener:
        server = spawn(serve)
        for i in range(count):
            with bed.client.ns.socket() as sock:
                sock.connect((bed.server.ipv4, port))
                ports.append(sock.getsockname()[1])
                sock.sendall(REQUEST)
                assert sock.recv(len(RESPONSE), socket.MSG_WAITALL) == RESPONSE
                if not i % 2:
                    sock.recv(1)  # the server closes first
        server.result(10)
    return ports


class RawPeer:
    """One side of a TCP connection written by hand: scapy builds and parses the segments, a
    raw IPv4 socket in the client's namespace sends them and receives the server's."""

    def __init__(self, bed: netns.Testbed, sport: int, dport: int) -> None:
        with bed.client.ns.entered():
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.src, self.dst = bed.client.ipv4, bed.server.ipv4
        self.sport, self.dport = sport, dport

    def send(self, flags: str, seq: int, ack: int = 0, payload: bytes = b"",
             options: list[tuple[str, int]] | None = None) -> None:
        segment = TCP(sport=self.sport, dport=self.dport, flags=flags, seq=seq % 2**32,
                            ack=ack % 2**32, window=65535, options=options or [])
        packet = IP(src=self.src, dst=self.dst) / segment / payload
        self.sock.sendto(bytes(packet), (self.dst, 0))

    def receive(self, timeout: float = 5) -> TCP:
        """The server's next segment on this connection."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                packet = IP(self.sock.recv(65535))
            except TimeoutError:
                raise AssertionError("no segment from the server") from None
            tcp = packet[TCP]
            if (tcp.sport, tcp.dport) == (self.dport, self.sport):
                return tcp

    def close(self) -> None:
        self.sock.close()


def syn_with_changed_isn(bed: netns.Testbed) -> None:
    """A SYN, and one RTO later a SYN on the same four-tuple with another ISN (the server
    drops both after the capture point, so neither is answered)."""
    peer = RawPeer(bed, 41001, BLACKHOLE_PORT)
    try:
        peer.send("S", 1_000_000)
        time.sleep(SYN_RTO)
        peer.send("S", 1_000_000 + 0x5A5A5A5A)
    finally:
        peer.close()


def ack_of_unsent_data(bed: netns.Testbed, port: int) -> None:
    """A hand-made client against a real Linux listener: handshake, request, 1000 bytes of
    response; the client acknowledges 3000; the server's next new data starts at byte 1001,
    proof the acknowledged bytes were never sent. Then the client resets."""
    listener = bed.server.ns.listen(bed.server.ipv4, port)
    go_on = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.recv(len(REQUEST), socket.MSG_WAITALL)
            conn.sendall(b"a" * 1000)
            assert go_on.wait(5)
            conn.sendall(b"b" * 1000)
            with contextlib.suppress(ConnectionResetError):
                conn.recv(1)  # until the client's reset

    peer = RawPeer(bed, 41002, port)
    with listener:
        server = spawn(serve)
        try:
            isn = 2_000_000
            peer.send("S", isn, options=[("MSS", 1460)])
            synack = peer.receive()
            assert synack.flags == "SA"
            server_isn = synack.seq
            peer.send("A", isn + 1, server_isn + 1)
            peer.send("PA", isn + 1, server_isn + 1, REQUEST)
            seq = isn + 1 + len(REQUEST)
            first = _data(peer)
            assert (first.seq, len(first.payload)) == (server_isn + 1, 1000)
            peer.send("A", seq, server_isn + 3001)  # 2000 bytes beyond what was sent
            go_on.set()
            second = _data(peer, after=first.seq)
            assert second.seq == server_isn + 1001
            peer.send("A", seq, server_isn + 2001)
            peer.send("RA", seq, server_isn + 2001)  # with ACK: the nft rule lets it out
            server.result(10)
        finally:
            go_on.set()
            peer.close()


def _data(peer: RawPeer, after: int | None = None) -> TCP:
    """The server's next segment carrying data (past ``after``, skipping retransmissions)."""
    while True:
        tcp = peer.receive()
        if len(tcp.payload) and (after is None or tcp.seq != after):
            return tcp


# ---------------------------------------------------------------- reports


def report(path: Path) -> dict:
    return json.loads(path.read_text())


def findings(doc: dict) -> set[tuple[str, int, str, str]]:
    """(rule, frame, client, server) of every finding."""
    conns = {c["id"]: c for c in doc["connections"]}
    return {(f["rule"], f["frame"], conns[f["connection"]]["client"],
             conns[f["connection"]]["server"]) for f in doc["findings"]}


def errors(doc: dict) -> list[str]:
    return [f"{f['rule']} frame {f['frame']}: {f['message']}" for f in doc["findings"]
            if f["severity"] == "error"]


# ---------------------------------------------------------------- tests


def test_healthy_connections_give_no_error_finding_exit_0_and_appear_in_the_report(bed,
                                                                                      tmp_path):
    out = tmp_path / "healthy.json"
    sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--duration", "2", "--format", f"json:{out}"))
    sniff.wait_capturing()
    ports = exchange(bed, 8000, 3)
    code, lines, stderr = sniff.finish()
    assert code == 0, (lines, stderr)
    doc = report(out)
    assert errors(doc) == []
    clients = {c["client"] for c in doc["connections"]}
    assert {f"192.0.2.1:{p}" for p in ports} <= clients
    assert all(c["server"] == "192.0.2.2:8000" for c in doc["connections"])


def test_checksum_offload_is_folded_once_per_host_in_the_final_report(bed, tmp_path):
    out = tmp_path / "offload.json"
    bed.server.ns.offloads_on("veth-s")
    try:
        sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--duration", "2",
                                      "--format", f"json:{out}"))
        sniff.wait_capturing()
        exchange(bed, 8000, 3)
        code, lines, stderr = sniff.finish()
    finally:
        bed.server.ns.offloads_off("veth-s")
    assert code == 0, (lines, stderr)
    offload = [f for f in report(out)["findings"] if f["rule"] == "checksum-offload"]
    # The server's three connections each leave checksums to the NIC: one finding stands for
    # them all, as analyze reports it.
    assert len(offload) == 1, offload
    assert offload[0]["fold"]["host"] == "192.0.2.2"
    assert offload[0]["fold"]["connections"] == 3


@dataclass(frozen=True)
class LiveRun:
    """The run with injected violations: what came out while it ran, and its files."""

    code: int
    lines: list[str]
    hs001: Line
    sq001: Line
    report: dict
    written: Path


@pytest.fixture(scope="module")
def violations(bed, tmp_path_factory) -> LiveRun:
    tmp = tmp_path_factory.mktemp("violations")
    out, written = tmp / "live.json", tmp / "live.pcapng"
    sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--bpf", "tcp", "--duration", "30",
                                  "--write", str(written), "--format", f"json:{out}"))
    try:
        sniff.wait_capturing()
        syn_with_changed_isn(bed)
        hs001 = sniff.wait_for(r": HS001 ")
        ack_of_unsent_data(bed, 8001)
        sq001 = sniff.wait_for(r": SQ001 ")
        sniff.interrupt()
    finally:
        code, lines, stderr = sniff.finish()
    assert code != 2, stderr
    return LiveRun(code, lines, hs001, sq001, report(out), written)


def test_syn_retransmitted_with_another_isn_is_reported_live_as_hs001(violations):
    line = violations.hs001
    assert line.while_running, "the finding was printed only after the capture ended"
    live = LIVE_LINE.fullmatch(line.text)
    assert live, line.text
    assert (live["iface"], live["code"], live["rule"], live["client"]) == (
        "veth-s", "HS001", "syn-isn-changed", "192.0.2.1:41001")
    (finding,) = (f for f in violations.report["findings"] if f["rule"] == "syn-isn-changed")
    assert int(live["frame"]) == finding["frame"]


def test_ack_for_unsent_data_is_reported_live_as_sq001(violations):
    line = violations.sq001
    assert line.while_running, "the finding was printed only after the capture ended"
    live = LIVE_LINE.fullmatch(line.text)
    assert live, line.text
    assert (live["iface"], live["code"], live["rule"], live["client"]) == (
        "veth-s", "SQ001", "ack-unsent-data", "192.0.2.1:41002")
    (finding,) = (f for f in violations.report["findings"] if f["rule"] == "ack-unsent-data")
    assert int(live["frame"]) == finding["frame"]


def test_error_findings_make_the_live_run_exit_1(violations):
    assert violations.code == 1
    assert {"syn-isn-changed", "ack-unsent-data"} <= {e.split()[0] for e in
                                                      errors(violations.report)}


def test_written_capture_analysed_afterwards_gives_the_same_findings(bed, violations):
    proc = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", str(violations.written),
                           "--format", "json"], capture_output=True, text=True, timeout=60,
                          env=ENV)
    assert proc.returncode == 1, proc.stderr
    after = json.loads(proc.stdout)
    assert findings(after) == findings(violations.report)
    assert after["summary"]["packets"] == violations.report["summary"]["packets"]


def test_ctrl_c_ends_the_capture_cleanly_open_connections_reported_as_open(bed, tmp_path):
    out, written = tmp_path / "open.json", tmp_path / "open.pcapng"
    sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--write", str(written),
                                  "--format", f"json:{out}"))
    listener = bed.server.ns.listen(bed.server.ipv4, 8002)
    with listener, bed.client.ns.socket() as client:
        sniff.wait_capturing()
        client.connect((bed.server.ipv4, 8002))
        conn, _ = listener.accept()
        with conn:
            client.sendall(REQUEST)
            conn.recv(len(REQUEST), socket.MSG_WAITALL)
            conn.sendall(RESPONSE)
            client.recv(len(RESPONSE), socket.MSG_WAITALL)
            time.sleep(0.3)  # the last ACK on the wire
            sniff.interrupt()
            code, lines, stderr = sniff.finish()
    assert code == 0, (lines, stderr)
    assert "Traceback" not in stderr
    assert "✓ no protocol errors" in lines[-1], "no final report on stdout"
    doc = report(out)
    (open_conn,) = (c for c in doc["connections"] if c["server"] == "192.0.2.2:8002")
    assert open_conn["close"] == "open"
    assert (open_conn["client_state"], open_conn["server_state"]) == ("ESTABLISHED",
                                                                      "ESTABLISHED")
    assert not [f for f in doc["findings"] if f["connection"] == open_conn["id"]
                and f["severity"] != "info"]
    analysed = subprocess.run([sys.executable, "-m", "tcpcheck", "analyze", str(written),
                               "--format", "json"], capture_output=True, text=True, timeout=60,
                              env=ENV)
    assert analysed.returncode == 0, analysed.stderr
    summary = json.loads(analysed.stdout)["summary"]
    assert summary["captures"][0]["damage"] is None
    assert summary["packets"] == doc["summary"]["packets"]
    capinfos = subprocess.run(["capinfos", "-c", "-M", str(written)], capture_output=True,
                              text=True, timeout=30)
    assert capinfos.returncode == 0, capinfos.stderr
    assert re.search(rf"Number of packets:\s+{doc['summary']['packets']}\b", capinfos.stdout)


def test_count_stops_after_that_many_packets(bed, tmp_path):
    out = tmp_path / "count.json"
    sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--bpf", "tcp", "--count", "12",
                                  "--duration", "20", "--format", f"json:{out}"))
    sniff.wait_capturing()
    exchange(bed, 8003, 3)  # about 30 packets
    code, _, stderr = sniff.finish()
    assert code in (0, 1), stderr
    assert time.monotonic() - sniff.started < 15, "--count did not end the capture"
    assert report(out)["summary"]["packets"] == 12


def test_duration_stops_in_time(bed, tmp_path):
    sniff = Sniff(bed.server.ns, ("-i", "veth-s", "--duration", "1.5"))
    code, _, stderr = sniff.finish(timeout=15)
    elapsed = time.monotonic() - sniff.started
    assert code == 0, stderr
    # 1.5 s of capture plus start-up (Python, dumpcap opening the interface) and shutdown.
    assert 1.5 <= elapsed < 6, f"took {elapsed:.1f} s"


def test_no_such_interface_is_one_line_on_stderr_and_exit_2(bed):
    proc = tcpcheck(bed.server.ns, "sniff", "-i", "nosuch0", "--duration", "1")
    assert proc.returncode == 2
    assert "nosuch0" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_invalid_bpf_filter_exits_2_quoting_the_problem(bed):
    proc = tcpcheck(bed.server.ns, "sniff", "-i", "veth-s", "--bpf", "tcp and and",
                    "--duration", "1")
    assert proc.returncode == 2
    assert "tcp and and" in proc.stderr and "syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_interfaces_lists_the_veth_of_its_namespace(bed):
    proc = tcpcheck(bed.server.ns, "interfaces")
    assert proc.returncode == 0, proc.stderr
    assert "veth-s" in proc.stdout
    assert "veth-c" not in proc.stdout
