"""Record bench/data/bench.pcap: over a million packets of real Linux TCP (needs root).

The traffic runs between network namespaces built by scripts/netns.py, through a forwarding
router namespace, and is captured on the server's veth (snaplen 128, so the file stays near
150 MB; offloads off, so every frame is one MSS-sized segment):

* short connections: several client threads each run thousands of connect / request /
  response / close cycles against a pool of server threads; half are closed by the client
  first and half by the server first, so both sides accumulate TIME_WAIT sockets and the
  client's ephemeral ports come round again on four-tuples still in the server's TIME_WAIT;
* bulk transfers, one in each direction at a time, on a port where the router drops 1.5 %
  of forwarded packets at random: holes, SACK, fast retransmits and RTOs, repeated until the
  server's interface has seen the target packet count.

The file is written only once: an existing one is kept unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from netns import Capture, Namespace, Testbed, spawn

from tcpcheck.sources import open_capture

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "bench.pcap"
TARGET_PACKETS = 1_050_000
SHORT_PORT, BULK_PORT = 8000, 9000
SHORT_CLIENTS = 8
SHORT_PER_CLIENT = 1500
BULK_BYTES = 64 * 1024 * 1024
REQUEST = b"GET /item HTTP/1.1\r\nHost: server.example\r\nConnection: close\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + b"x" * 300


def count_records(path: Path) -> int:
    """Packets in a capture, read with tcpcheck's own streaming reader.

    Streaming keeps this process small: run_bench spawns the timed tools from it, and a
    child's peak RSS starts from its parent's at exec (an mmap of the whole file here once
    inflated tcpcheck's measured peak from 69 MB to 151 MB).
    """
    with open_capture(path) as capture:
        return sum(1 for _ in capture.records())

def interface_packets(ns: Namespace, ifname: str) -> int:
    """Packets received plus sent on an interface so far (what a capture on it sees)."""
    stats = Path("/sys/class/net") / ifname / "statistics"
    rx, tx = (ns.exec("cat", str(stats / name)) for name in ("rx_packets", "tx_packets"))
    return int(rx) + int(tx)


def recv_exact(sock: socket.socket, n: int) -> None:
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        got += len(chunk)


def drain(sock: socket.socket) -> int:
    """Read until the peer's FIN; return the byte count."""
    buf, total = bytearray(1 << 20), 0
    while n := sock.recv_into(buf):
        total += n
    return total


def short_server(listener: socket.socket, stop: threading.Event) -> None:
    """Answer one request per connection; close first when the client asks for it
    (request ends in ``!``), otherwise wait for the client's FIN."""
    listener.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            data = b""
            while not data.endswith((b"\r\n\r\n", b"\r\n\r\n!")):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(RESPONSE)
            if not data.endswith(b"!"):
                drain(conn)


def short_client(tb: Testbed, index: int) -> int:
    """Run SHORT_PER_CLIENT request/response connections; odd ones are closed by the server."""
    with tb.client.ns.entered():
        for i in range(SHORT_PER_CLIENT):
            server_first = (i + index) % 2 == 1
            with socket.create_connection((tb.server.ipv4, SHORT_PORT)) as sock:
                sock.sendall(REQUEST + (b"!" if server_first else b""))
                recv_exact(sock, len(RESPONSE))
                if server_first:
                    drain(sock)
    return SHORT_PER_CLIENT


def bulk_pair(tb: Testbed, listener: socket.socket, upload: bool) -> None:
    """One BULK_BYTES transfer, client -> server when ``upload``, else server -> client."""
    payload = bytes(BULK_BYTES)

    def server() -> None:
        conn, _ = listener.accept()
        with conn:
            if upload:
                drain(conn)
            else:
                conn.sendall(payload)

    task = spawn(server)
    sock = tb.client.ns.socket()
    with sock:
        sock.connect((tb.server.ipv4, BULK_PORT))
        if upload:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        drain(sock)
    task.result(timeout=300)


def generate(out: Path, target: int) -> None:
    partial = out.with_name(out.name + ".partial")
    with Testbed(routed=True) as tb:
        router = tb.router
        assert router is not None
        # Loss on the bulk port only: short connections stay quick (a lost SYN costs 1 s).
        router.nft(
            "table inet bench {\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0;\n"
            f"    tcp dport {BULK_PORT} numgen random mod 1000 < 15 drop\n"
            f"    tcp sport {BULK_PORT} numgen random mod 1000 < 15 drop\n"
            "  }\n"
            "}\n")
        # Room for the client's TIME_WAIT sockets (one per client-closed connection, 60 s).
        tb.client.ns.sysctl("net.ipv4.ip_local_port_range", "10000 65000")
        server = tb.server
        short_listener = server.ns.listen(server.ipv4, SHORT_PORT, backlog=1024)
        bulk_listener = server.ns.listen(server.ipv4, BULK_PORT)
        # No per-packet flushing here: a 256 MiB kernel ring absorbs the bursts and the
        # file is written in large blocks (stop() then waits out the ring's block timeout).
        capture = Capture(server.ns, server.ifname, partial, bpf="", snaplen=128,
                          buffer_kib=256 * 1024, packet_buffered=False)
        with capture, short_listener, bulk_listener:
            stop = threading.Event()
            servers = [spawn(short_server, short_listener, stop) for _ in range(SHORT_CLIENTS)]
            clients = [spawn(short_client, tb, i) for i in range(SHORT_CLIENTS)]
            transfers = 0
            while (any(c.is_alive() for c in clients)
                   or interface_packets(server.ns, server.ifname) < target):
                bulk_pair(tb, bulk_listener, upload=transfers % 2 == 0)
                transfers += 1
            connections = sum(c.result() for c in clients)
            stop.set()
            for task in servers:
                task.result()
            stats = capture.stop(settle=2.0)
        if stats.dropped_by_kernel:
            partial.unlink()
            raise SystemExit(f"tcpdump dropped {stats.dropped_by_kernel} packets; "
                             "the capture would have holes that are not loss. Try again.")
    partial.rename(out)
    print(f"{connections} short connections, {transfers} bulk transfers of "
          f"{BULK_BYTES >> 20} MiB; tcpdump captured {stats.captured}, dropped 0")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="regenerate an existing file")
    parser.add_argument("--target", type=int, default=TARGET_PACKETS,
                        help="minimum packet count (default %(default)s)")
    args = parser.parse_args(argv)
    ensure(args.out, target=args.target, force=args.force)
    return 0


def ensure(out: Path = DEFAULT_OUT, *, target: int = TARGET_PACKETS,
           force: bool = False) -> int:
    """Make the capture unless it already exists; print and return its packet count."""
    if force or not out.exists():
        if os.geteuid() != 0:
            raise SystemExit("recording the benchmark capture needs root (netns, tcpdump)")
        out.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        generate(out, target)
        print(f"recorded in {time.monotonic() - start:.0f} s")
    packets = count_records(out)
    print(f"{out}: {packets:,} packets, {out.stat().st_size / 1e6:.0f} MB")
    return packets


if __name__ == "__main__":
    sys.exit(main())
