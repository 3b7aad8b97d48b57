"""Record a capture of many short real Linux TCP connections (needs root).

For the HTML report's size test (``bench/html_bench.py``, and a smaller one in
tests/test_report_html_browser.py): a report of thousands of connections, a few hundred of
them with findings so that it also carries ladder diagrams.

Two network namespaces joined by a veth pair (scripts/netns.py, documentation addresses only),
a pool of server threads and of client threads in this process, and tcpdump on the server's
veth. Each client connection sends a request, reads the response and then, in turn:

* closes normally, client first (FIN, FIN, ACK; the client keeps TIME_WAIT);
* every ``abort_every``-th one aborts instead: SO_LINGER {on, 0 s} and close, so the kernel
  sends RST (tcpcheck's info finding ``connection-reset``);
* every ``refused_every``-th attempt goes to a port nobody listens on: SYN, RST/ACK.

    sudo .venv/bin/python scripts/make_many_connections.py /tmp/many.pcap --connections 10000
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import Capture, Testbed, spawn

PORT = 8000
CLOSED_PORT = 8001  # nothing listens here
REQUEST = b"GET /item HTTP/1.1\r\nHost: server.example\r\nConnection: close\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n" + b"x" * 120
THREADS = 8
_LINGER_ZERO = struct.pack("ii", 1, 0)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What went into a capture."""

    path: Path
    connections: int
    """Connection attempts, refused ones included."""
    aborted: int
    refused: int
    packets: int
    """Packets tcpdump captured (it dropped none: recording fails otherwise)."""
    seconds: float


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    """Answer one request per connection, then wait for the client's FIN or RST."""
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            data = b""
            while not data.endswith(b"\r\n\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(RESPONSE)
            try:
                while conn.recv(4096):
                    pass
            except ConnectionResetError:
                pass  # the aborting clients


def _recv_exact(sock: socket.socket, n: int) -> None:
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        got += len(chunk)


def _client(tb: Testbed, numbers: range, abort_every: int, refused_every: int) -> tuple[int, int]:
    """Run the connections whose numbers are given; return (aborted, refused)."""
    aborted = refused = 0
    server = tb.server.ipv4
    with tb.client.ns.entered():
        for n in numbers:
            if refused_every and n % refused_every == refused_every - 1:
                with socket.socket() as sock:
                    try:
                        sock.connect((server, CLOSED_PORT))
                    except ConnectionRefusedError:
                        refused += 1
                        continue
                    raise RuntimeError(f"connection {n} to the closed port was accepted")
            sock = socket.create_connection((server, PORT), timeout=30)
            try:
                sock.sendall(REQUEST)
                _recv_exact(sock, len(RESPONSE))
                if abort_every and n % abort_every == abort_every // 2:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
                    aborted += 1
            finally:
                sock.close()
    return aborted, refused


def record(out: Path, connections: int, *, abort_every: int = 50,
           refused_every: int = 100, threads: int = THREADS) -> Recorded:
    """Record ``connections`` connection attempts into ``out`` (classic pcap, written to a
    ``.partial`` file first and renamed when complete); raise when tcpdump dropped packets."""
    if os.geteuid() != 0:
        raise PermissionError("recording needs root (network namespaces, tcpdump)")
    start = time.monotonic()
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    with Testbed() as tb:
        # Room for the client's TIME_WAIT sockets: one per normally closed connection, 60 s.
        tb.client.ns.sysctl("net.ipv4.ip_local_port_range", "10000 65000")
        listener = tb.server.ns.listen(tb.server.ipv4, PORT, backlog=1024)
        # Not flushed per packet (that would slow the connections down): a 64 MiB ring takes
        # the bursts, and stop() waits out the ring block's 1 s timeout.
        capture = Capture(tb.server.ns, tb.server.ifname, partial, snaplen=128,
                          buffer_kib=64 * 1024, packet_buffered=False)
        with capture, listener:
            stop = threading.Event()
            servers = [spawn(_serve, listener, stop) for _ in range(threads)]
            try:
                clients = [spawn(_client, tb, range(i, connections, threads), abort_every,
                                 refused_every) for i in range(threads)]
                counts = [c.result(timeout=600) for c in clients]
            finally:
                stop.set()
                for task in servers:
                    task.result()
            stats = capture.stop(settle=2.0)
    if stats.dropped_by_kernel:
        partial.unlink()
        raise RuntimeError(f"tcpdump dropped {stats.dropped_by_kernel} packets; the capture "
                           "would have holes that are not loss")
    partial.rename(out)
    return Recorded(out, connections, sum(a for a, _ in counts), sum(r for _, r in counts),
                    stats.captured, time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--abort-every", type=int, default=50,
                        help="every Nth connection ends with RST (0: none; default %(default)s)")
    parser.add_argument("--refused-every", type=int, default=100,
                        help="every Nth attempt goes to a closed port (0: none; "
                             "default %(default)s)")
    args = parser.parse_args(argv)
    rec = record(args.out, args.connections, abort_every=args.abort_every,
                 refused_every=args.refused_every)
    print(f"{rec.path}: {rec.connections:,} connections ({rec.aborted} aborted, "
          f"{rec.refused} refused), {rec.packets:,} packets, recorded in {rec.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
