"""Live capture throughput: ``tcpcheck sniff`` on a veth under sustained TCP load (needs root).

Builds a client and a server namespace joined by a veth pair (scripts/netns.py; offloads off,
so every frame on the wire is one MSS-sized segment), then:

1. starts ``tcpcheck sniff -i veth-s --duration D --format json:FILE`` in the server's
   namespace (the receiving side), and, unless ``--no-tcpdump``, a parallel
   ``tcpdump -i veth-s`` as a cross-check;
2. once tcpcheck says it is capturing, runs ``--flows`` bulk transfers client → server for
   ``--seconds``, each socket with a small MSS (TCP_MAXSEG) and, unless ``--rate 0``, paced
   with SO_MAX_PACING_RATE so the offered load is steady;
3. reads the server interface's packet counters (rx + tx) just before and just after the
   traffic: the number of packets a lossless capture must contain.

It reports the packets tcpcheck saw (its JSON summary), its packets/s over the traffic
window, the packets dumpcap dropped, tcpcheck's and dumpcap's CPU time, and what tcpdump and
the interface counters saw. The issue's requirement is >= 50,000 packets/s with no capture
loss; the last line says whether this run met it and the exit status is 1 if it did not.
bench/README.md ("Live capture") explains the numbers.

    .venv/bin/python bench/live_bench.py                    # 10 s, 4 flows, MSS 536
    .venv/bin/python bench/live_bench.py --rate 150000      # a heavier offered load
    .venv/bin/python bench/live_bench.py --rate 0           # unpaced: as fast as it goes
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_capture import drain, interface_packets
from netns import Capture, Namespace, Testbed, spawn

ROOT = Path(__file__).resolve().parent.parent
TCPCHECK = ROOT / ".venv" / "bin" / "tcpcheck"
PORT = 5001
REQUIRED_PPS = 50_000
# Seconds the capture (dumpcap's --duration clock starts before tcpcheck says it is
# capturing) goes on beyond the traffic: start-up, the closes, the last frames' way through.
SLACK = 2.5
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A finding printed as it happens: "live:IFACE:FRAME: CODE slug message (connection ...)".
LIVE_LINE = re.compile(r"live:\S+:\d+: ")


@dataclass(frozen=True, slots=True)
class Traffic:
    """What the load generator did: the traffic window and the server's counters over it."""

    seconds: float
    interface_packets: int
    payload_bytes: int


@dataclass(frozen=True, slots=True)
class SniffRun:
    """What ``tcpcheck sniff`` reported and cost."""

    exit_code: int
    packets: int
    dropped: int | None
    cpu_seconds: float
    peak_rss_mb: float
    dumpcap_cpu_seconds: float | None
    wall_seconds: float
    live_lines: int
    findings: dict[str, int]
    """Findings by rule, most frequent first."""
    stderr: str


# ---------------------------------------------------------------- load


def bulk_client(tb: Testbed, mss: int, rate: int, deadline: float) -> None:
    """Send zeros to the server until ``deadline``, then close; ``rate`` bytes/s (0: as fast
    as TCP goes)."""
    sock = tb.client.ns.socket()
    with sock:
        # TCP_MAXSEG before connect() caps the MSS this side announces and uses.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        if rate:
            sock.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, rate)
        sock.connect((tb.server.ipv4, PORT))
        chunk = bytes(64 * 1024)
        while time.monotonic() < deadline:
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # the server's FIN: the transfer is over on both sides


def bulk_server(listener: socket.socket, flows: int) -> int:
    """Accept ``flows`` connections and read each to its end; the bytes received."""
    def one(conn: socket.socket) -> int:
        with conn:
            return drain(conn)
    conns = [listener.accept()[0] for _ in range(flows)]
    tasks = [spawn(one, conn) for conn in conns]
    return sum(task.result(timeout=120) for task in tasks)


def run_traffic(tb: Testbed, listener: socket.socket, *, flows: int, seconds: float, mss: int,
                pps: int) -> Traffic:
    """``flows`` paced bulk transfers for ``seconds``; the server's counters around them."""
    # Nearly every packet on the wire is a data segment: with a steady stream the receiver
    # sends one stretch ACK per several segments. TCP's pacing counts payload bytes.
    per_flow = round(pps / flows * mss) if pps else 0
    before = interface_packets(tb.server.ns, tb.server.ifname)
    start = time.monotonic()
    server = spawn(bulk_server, listener, flows)
    clients = [spawn(bulk_client, tb, mss, per_flow, start + seconds) for _ in range(flows)]
    for client in clients:
        client.result(timeout=seconds + 60)
    received = server.result(timeout=60)
    elapsed = time.monotonic() - start
    time.sleep(0.2)  # the last ACKs of the closes
    after = interface_packets(tb.server.ns, tb.server.ifname)
    return Traffic(elapsed, after - before, received)


# ---------------------------------------------------------------- the capture side


def _children_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each direct child of ``pid`` that is still running."""
    cpu = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return cpu
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields 14 and 15 of stat(5), utime and stime, counted after the ")" as 12 and 13.
        cpu[int(child)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return cpu


class Sniffer:
    """``tcpcheck sniff`` in a namespace, with its child dumpcap's CPU time sampled while it
    runs (wait4 reports the total of tcpcheck and the children it reaped)."""

    def __init__(self, ns: Namespace, ifname: str, duration: float, workdir: Path,
                 extra: list[str]) -> None:
        self.report = workdir / "live.json"
        self.argv = ["ip", "netns", "exec", ns.name, str(TCPCHECK), "sniff", "-i", ifname,
                     "--duration", f"{duration:g}", "--format", f"json:{self.report}",
                     *extra]
        self._out = open(workdir / "live.stdout", "w+b")  # noqa: SIM115 - closed in result()
        self._err = open(workdir / "live.stderr", "w+b")  # noqa: SIM115
        self._started = time.monotonic()
        self._proc = subprocess.Popen(self.argv, stdout=self._out, stderr=self._err)
        self._dumpcap_cpu: dict[int, float] = {}
        self._done = threading.Event()
        self._sampler = spawn(self._sample)

    def wait_capturing(self, timeout: float = 15) -> None:
        """Return once tcpcheck says it is capturing: dumpcap's stream has begun, so the
        interface is open and nothing sent from now on can be missed."""
        deadline = time.monotonic() + timeout
        while b"tcpcheck: capturing on" not in Path(self._err.name).read_bytes():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tcpcheck sniff did not start capturing: "
                                   + Path(self._err.name).read_text(errors="replace").strip())
            time.sleep(0.05)

    def _sample(self) -> None:
        while not self._done.wait(0.1):
            # `ip netns exec` execs tcpcheck, so the Popen pid is tcpcheck's own.
            self._dumpcap_cpu.update(_children_cpu(self._proc.pid))

    def result(self, timeout: float) -> SniffRun:
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self._proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self._proc.kill()
                raise RuntimeError(f"tcpcheck sniff still running after {timeout} s")
            time.sleep(0.05)
        self._proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4
        self._done.set()
        self._sampler.result()
        self._out.seek(0)
        self._err.seek(0)
        live = [line for line in self._out.read().decode(errors="replace").splitlines()
                if LIVE_LINE.match(line)]
        stderr = self._err.read().decode(errors="replace")
        self._out.close()
        self._err.close()
        packets, dropped, findings = 0, None, {}
        if self.report.exists():
            doc = json.loads(self.report.read_text())
            packets = doc["summary"]["packets"]
            dropped = _dropped(doc, stderr)
            findings = dict(Counter(f["rule"] for f in doc["findings"]).most_common())
        return SniffRun(self._proc.returncode, packets, dropped,
                        usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                        sum(self._dumpcap_cpu.values()) if self._dumpcap_cpu else None,
                        time.monotonic() - self._started, len(live), findings, stderr)


def _dropped(doc: dict, stderr: str) -> int | None:
    """The packets the capture lost: ``skipped.dropped`` in the JSON summary (dumpcap's
    closing statistics), checked against tcpcheck's "captured N packets ..., M lost" line."""
    match = re.search(r"captured .*, ([\d,]+) (?:packet|packets) lost", stderr)
    if match is None:
        return None  # tcpcheck did not say: dumpcap's statistics never came
    lost = int(match.group(1).replace(",", ""))
    reported = doc["summary"]["skipped"].get("dropped", 0)
    if reported != lost:
        raise RuntimeError(f"the JSON report says {reported} dropped, stderr {lost}")
    return lost


# ---------------------------------------------------------------- the report


def report(args: argparse.Namespace, traffic: Traffic, sniff: SniffRun,
           tcpdump: tuple[int, int] | None) -> bool:
    """Print the table; True when the run met the requirement."""
    pps = sniff.packets / traffic.seconds
    offered = traffic.interface_packets / traffic.seconds
    print(f"{args.flows} flows, MSS {args.mss}, {traffic.seconds:.1f} s of traffic, "
          f"{traffic.payload_bytes / traffic.seconds / 1e6:.1f} MB/s of payload, "
          f"tcpcheck exit {sniff.exit_code}")
    print(f"{'what':<34} {'packets':>10} {'packets/s':>10}")
    print(f"{'on the wire (veth-s rx + tx)':<34} {traffic.interface_packets:>10,} "
          f"{offered:>10,.0f}")
    print(f"{'seen by tcpcheck sniff':<34} {sniff.packets:>10,} {pps:>10,.0f}")
    dropped = "not reported" if sniff.dropped is None else f"{sniff.dropped:,}"
    print(f"{'lost by the capture (dumpcap)':<34} {dropped:>10}")
    if tcpdump is not None:
        print(f"{'seen by a parallel tcpdump':<34} {tcpdump[0]:>10,}")
        print(f"{'dropped by kernel (tcpdump)':<34} {tcpdump[1]:>10,}")
    print(f"tcpcheck + dumpcap CPU {sniff.cpu_seconds:.2f} s"
          + (f" (dumpcap {sniff.dumpcap_cpu_seconds:.2f} s)"
             if sniff.dumpcap_cpu_seconds is not None else "")
          + f" over {sniff.wall_seconds:.1f} s of wall time; peak RSS {sniff.peak_rss_mb:.0f} MB")
    print(f"{sniff.live_lines} findings printed live: "
          + (", ".join(f"{rule} {n}" for rule, n in sniff.findings.items()) or "none"))
    missed = traffic.interface_packets - sniff.packets
    met = sniff.exit_code in (0, 1) and pps >= REQUIRED_PPS and missed <= 0 \
        and not sniff.dropped
    print(f"requirement (>= {REQUIRED_PPS:,} packets/s, no capture loss): "
          + ("met" if met else f"NOT met ({max(missed, 0):,} packets missed)"))
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="traffic duration")
    parser.add_argument("--flows", type=int, default=4, help="parallel bulk transfers")
    parser.add_argument("--mss", type=int, default=536, help="TCP_MAXSEG of the senders")
    parser.add_argument("--rate", type=int, default=100_000,
                        help="offered packets/s on the wire, data and ACKs (0: unpaced)")
    parser.add_argument("--no-tcpdump", action="store_true",
                        help="no parallel tcpdump (it competes for the same CPUs)")
    parser.add_argument("sniff_args", nargs="*", metavar="-- SNIFF-OPTION",
                        help="more options for tcpcheck sniff, after --")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces, packet capture)")
    if not TCPCHECK.exists():
        parser.error(f"{TCPCHECK} is missing (run `make venv`)")
    duration = args.seconds + SLACK
    with tempfile.TemporaryDirectory(prefix="tcpcheck-live-bench-") as tmp, Testbed() as tb:
        workdir = Path(tmp)
        listener = tb.server.ns.listen(tb.server.ipv4, PORT)
        tcpdump = None
        if not args.no_tcpdump:
            tcpdump = Capture(tb.server.ns, tb.server.ifname, workdir / "tcpdump.pcap", bpf="",
                              snaplen=96, buffer_kib=65536, packet_buffered=False)
            tcpdump.start()
        sniffer = Sniffer(tb.server.ns, tb.server.ifname, duration, workdir, args.sniff_args)
        sniffer.wait_capturing()
        traffic = run_traffic(tb, listener, flows=args.flows, seconds=args.seconds,
                              mss=args.mss, pps=args.rate)
        sniff = sniffer.result(timeout=duration + 60)
        stats = tcpdump.stop(settle=0) if tcpdump is not None else None
        listener.close()
        if sniff.exit_code not in (0, 1):
            print(f"tcpcheck sniff failed (exit {sniff.exit_code}): {sniff.stderr.strip()}")
            return 1
        met = report(args, traffic, sniff,
                     (stats.captured, stats.dropped_by_kernel) if stats else None)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
