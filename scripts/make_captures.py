"""Record the real Linux captures in captures/linux/ (``make captures``; needs root).

Each scenario runs ordinary sockets between network namespaces (scripts/netns.py), captures
on the server's veth with ``tcpdump -w`` (classic pcap, default snaplen, BPF filter ``tcp``
so ARP/neighbour-discovery frames never shift the frame numbers), then checks that the file
really shows what the scenario promises. Each capture is healthy Linux behaviour: tcpcheck
must report no error finding on any of them. captures/linux/README.md describes them.

    .venv/bin/python scripts/make_captures.py              # all scenarios
    .venv/bin/python scripts/make_captures.py --only refused
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dpkt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import Capture, Namespace, Testbed, spawn

OUT_DIR = Path(__file__).resolve().parent.parent / "captures" / "linux"
PORT = 8000
CLOSED_PORT = 8001  # nothing listens here
REQUEST = b"GET /hello HTTP/1.0\r\nHost: server.example\r\n\r\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nhello, world\n"
# Longer than a delayed ACK can be held (TCP_DELACK_MAX, 200 ms): a pause this long between
# two application steps keeps their segments apart, so each capture has a fixed structure.
PAUSE = 0.25

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
SEQ_MOD = 1 << 32  # sequence numbers wrap


class ScenarioError(Exception):
    """The capture does not show what the scenario is meant to show."""


# ---------------------------------------------------------------- reading a capture back


@dataclass(frozen=True)
class Pkt:
    """One TCP segment of a capture, enough to check a scenario."""

    frame: int
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    plen: int

    def has(self, flags: int) -> bool:
        return self.flags & flags == flags

    @property
    def tuple(self) -> tuple[str, int, str, int]:
        return (self.src, self.sport, self.dst, self.dport)

    @property
    def seg_end(self) -> int:
        """Sequence number just past this segment (SYN and FIN count one each)."""
        return (self.seq + self.plen + bool(self.flags & SYN) + bool(self.flags & FIN)) % SEQ_MOD


def read_tcp(path: Path) -> list[Pkt]:
    """Every TCP segment of an Ethernet pcap, with frame numbers as Wireshark counts them."""
    pkts = []
    with open(path, "rb") as fh:
        for frame, (ts, buf) in enumerate(dpkt.pcap.Reader(fh), start=1):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                continue
            tcp = ip.data
            if not isinstance(tcp, dpkt.tcp.TCP):
                continue
            iplen = ip.len - 4 * ip.hl if isinstance(ip, dpkt.ip.IP) else ip.plen
            pkts.append(Pkt(frame, float(ts), socket.inet_ntop(_family(ip), ip.src), tcp.sport,
                            socket.inet_ntop(_family(ip), ip.dst), tcp.dport, tcp.seq, tcp.ack,
                            tcp.flags, iplen - 4 * tcp.off))
    return pkts


def _family(ip: dpkt.Packet) -> int:
    return socket.AF_INET6 if isinstance(ip, dpkt.ip6.IP6) else socket.AF_INET


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioError(message)


def frames(pkts: list[Pkt]) -> str:
    return ", ".join(str(p.frame) for p in pkts)


def handshake(pkts: list[Pkt], client: str) -> None:
    """Check for a complete three-way handshake opened by ``client``."""
    syn = next((p for p in pkts if p.flags & (SYN | ACK) == SYN and p.src == client), None)
    expect(syn is not None, "no SYN from the client")
    synack = next((p for p in pkts if p.has(SYN | ACK) and p.ack == syn.seg_end), None)
    expect(synack is not None, "no SYN-ACK")
    expect(any(p.src == client and not p.flags & SYN and p.has(ACK) and p.ack == synack.seg_end
               for p in pkts), "the handshake never completes")


def fins(pkts: list[Pkt]) -> tuple[Pkt, Pkt]:
    """The first FIN of each side, in capture order."""
    first = [p for p in pkts if p.flags & FIN]
    expect(len({p.src for p in first}) == 2, "both sides must send a FIN")
    a = first[0]
    b = next(p for p in first if p.src != a.src)
    return a, b


def no_rst(pkts: list[Pkt]) -> None:
    resets = [p for p in pkts if p.flags & RST]
    expect(not resets, f"unexpected RST in frames {frames(resets)}")


def time_wait(ns: Namespace) -> list[str]:
    """The local:peer pairs of a namespace's TIME_WAIT sockets (``ss``)."""
    out = ns.exec("ss", "-Htn", "state", "time-wait")
    return [" ".join(line.split()[2:4]) for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------- socket helpers


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ScenarioError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_to_eof(sock: socket.socket) -> int:
    """Read until the peer's FIN; return the byte count."""
    total = 0
    while chunk := sock.recv(65536):
        total += len(chunk)
    return total


def connect(tb: Testbed, family: int = socket.AF_INET, port: int = PORT,
            bind_port: int | None = None) -> socket.socket:
    sock = tb.client.ns.socket(family)
    if bind_port is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((tb.client.addr(family), bind_port))
    sock.connect((tb.server.addr(family), port))
    return sock


def serve_one(listener: socket.socket, handler: Callable[[socket.socket], None]) -> None:
    """Accept one connection and hand it to ``handler``; the socket is closed afterwards."""
    conn, _ = listener.accept()
    with conn:
        handler(conn)


# ---------------------------------------------------------------- recording


@contextlib.contextmanager
def recording(out: Path, routed: bool = False) -> Iterator[Testbed]:
    """A fresh test bed with a tcpdump on the server's veth for the duration of the body."""
    with Testbed(routed) as tb:
        with Capture(tb.server.ns, tb.server.ifname, out) as cap:
            yield tb
            stats = cap.stop()
        expect(stats.dropped_by_kernel == 0, f"tcpdump dropped {stats.dropped_by_kernel}")


@dataclass
class Exchange:
    """What a request/response run leaves behind for the scenario's own checks."""

    pkts: list[Pkt]
    client: str
    server: str
    client_time_wait: list[str]
    server_time_wait: list[str]


def request_response(out: Path, *, family: int = socket.AF_INET, client_first: bool = True,
                     routed: bool = False,
                     setup: Callable[[Testbed], None] | None = None) -> Exchange:
    """One connection: request, response, then the client or the server closes first.

    The passive closer waits PAUSE before its own close, so its ACK of the first FIN and its
    FIN are separate segments (a four-segment close rather than the merged FIN+ACK variant).
    Checks what every such capture must show: a completed handshake, no RST, the right side's
    FIN first, the active closer's final ACK last, and TIME_WAIT afterwards on the active
    closer's side only (read with ss before the namespaces go).
    """
    with recording(out, routed) as tb:
        if setup is not None:
            setup(tb)
        with tb.server.ns.listen(tb.server.addr(family), PORT) as listener:

            def server(conn: socket.socket) -> None:
                recv_exact(conn, len(REQUEST))
                conn.sendall(RESPONSE)
                if client_first:
                    expect(conn.recv(1) == b"", "expected the client's FIN")
                time.sleep(PAUSE)

            task = spawn(serve_one, listener, server)
            with connect(tb, family) as sock:
                sock.sendall(REQUEST)
                recv_exact(sock, len(RESPONSE))
                if not client_first:
                    expect(sock.recv(1) == b"", "expected the server's FIN")
                time.sleep(PAUSE)
            task.result()
        waiting = time_wait(tb.client.ns), time_wait(tb.server.ns)
    result = Exchange(read_tcp(out), tb.client.addr(family), tb.server.addr(family), *waiting)
    pkts = result.pkts
    no_rst(pkts)
    handshake(pkts, result.client)
    first, second = fins(pkts)
    closer = result.client if client_first else result.server
    expect(first.src == closer, f"the first FIN (frame {first.frame}) is not from {closer}")
    expect(pkts[-1].src == closer and pkts[-1].ack == second.seg_end,
           "the active closer must ACK the second FIN last")
    expect(bool(result.client_time_wait) == client_first != bool(result.server_time_wait),
           f"TIME_WAIT: client {result.client_time_wait}, server {result.server_time_wait}")
    return result


def describe_close(ex: Exchange) -> str:
    first, second = fins(ex.pkts)
    who = {ex.client: "client", ex.server: "server"}
    return (f"{who[first.src]} FIN frame {first.frame}, {who[second.src]} FIN frame "
            f"{second.frame}, last ACK frame {ex.pkts[-1].frame}; TIME_WAIT: client "
            f"{ex.client_time_wait or 'none'}, server {ex.server_time_wait or 'none'}")


# ---------------------------------------------------------------- scenarios

Scenario = Callable[[Path], str]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn
    return register


@scenario("close-client-first")
def close_client_first(out: Path) -> str:
    return describe_close(request_response(out, client_first=True))


@scenario("close-client-first-ipv6")
def close_client_first_ipv6(out: Path) -> str:
    return describe_close(request_response(out, family=socket.AF_INET6, client_first=True))


@scenario("close-server-first")
def close_server_first(out: Path) -> str:
    return describe_close(request_response(out, client_first=False))


@scenario("half-close")
def half_close(out: Path) -> str:
    """The client sends its request and shuts down its sending side; the server reads to
    EOF, then sends five chunks 50 ms apart (so five segments) before closing. The client,
    in FIN_WAIT_2, keeps receiving and ACKing."""
    chunks = 5
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

        def server(conn: socket.socket) -> None:
            recv_to_eof(conn)
            for i in range(chunks):
                conn.sendall(b"chunk %d " % i + b"x" * 200 + b"\n")
                time.sleep(0.05)

        task = spawn(serve_one, listener, server)
        with connect(tb) as sock:
            sock.sendall(REQUEST)
            sock.shutdown(socket.SHUT_WR)
            received = recv_to_eof(sock)
        task.result()
    pkts = read_tcp(out)
    no_rst(pkts)
    client = tb.client.ipv4
    handshake(pkts, client)
    first, second = fins(pkts)
    expect(first.src == client, "the client must send the first FIN")
    after = [p for p in pkts if p.src != client and p.plen and p.frame > first.frame]
    expect(len(after) >= chunks, f"only {len(after)} data segments after the client's FIN")
    expect(all(p.frame < second.frame for p in after), "server data after its own FIN")
    expect(received == sum(p.plen for p in after), "the client did not get all the data")
    return (f"client FIN frame {first.frame}; server data after it in frames {frames(after)}; "
            f"server FIN frame {second.frame}")


@scenario("rst-abort")
def rst_abort(out: Path) -> str:
    """After the response the client sets SO_LINGER {on, 0 s} and closes: the kernel sends
    RST instead of FIN and forgets the connection at once (no TIME_WAIT)."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

        def server(conn: socket.socket) -> None:
            recv_exact(conn, len(REQUEST))
            conn.sendall(RESPONSE)
            try:
                conn.recv(1)
            except ConnectionResetError:
                return
            raise ScenarioError("the server did not see the reset")

        task = spawn(serve_one, listener, server)
        sock = connect(tb)
        sock.sendall(REQUEST)
        recv_exact(sock, len(RESPONSE))
        time.sleep(PAUSE)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        task.result()
    pkts = read_tcp(out)
    handshake(pkts, tb.client.ipv4)
    resets = [p for p in pkts if p.flags & RST]
    expect(len(resets) == 1 and resets[0].src == tb.client.ipv4,
           "expected one RST, from the client")
    expect(not any(p.flags & FIN for p in pkts), "no FIN expected")
    expect(resets[0] == pkts[-1], "nothing may follow the RST")
    return f"RST frame {resets[0].frame} (flags 0x{resets[0].flags:02x}), {len(pkts)} frames"


@scenario("refused")
def refused(out: Path) -> str:
    """connect() to a port nobody listens on: the server's kernel answers the SYN with
    RST,ACK (seq 0, ack = ISN + 1) and connect() fails with ECONNREFUSED."""
    with recording(out) as tb, contextlib.closing(tb.client.ns.socket()) as sock:
        try:
            sock.connect((tb.server.ipv4, CLOSED_PORT))
        except ConnectionRefusedError:
            pass
        else:
            raise ScenarioError("connect() succeeded")
    pkts = read_tcp(out)
    expect(len(pkts) == 2, f"expected SYN and RST, got {len(pkts)} frames")
    syn, rst = pkts
    expect(syn.flags == SYN, "frame 1 must be a bare SYN")
    expect(rst.flags == RST | ACK and rst.ack == syn.seg_end, "frame 2 must be RST,ACK")
    return f"SYN frame 1, RST,ACK frame 2 (seq {rst.seq}, ack = ISN + 1)"


@scenario("syn-retries")
def syn_retries(out: Path) -> str:
    """An input-hook rule in the server namespace drops every SYN to the port; the client
    (tcp_syn_retries=2, default tcp_syn_linear_timeouts=4) retransmits until it gives up."""
    with recording(out) as tb:
        tb.client.ns.sysctl("net.ipv4.tcp_syn_retries", 2)
        tb.server.ns.nft(
            "table inet tcpcheck {\n"
            "  chain input {\n"
            "    type filter hook input priority 0;\n"
            f"    tcp dport {PORT} tcp flags & (syn | ack) == syn drop\n"
            "  }\n"
            "}\n")
        start = time.monotonic()
        with contextlib.closing(tb.client.ns.socket()) as sock:
            try:
                sock.connect((tb.server.ipv4, PORT))
            except TimeoutError:
                pass
            else:
                raise ScenarioError("connect() succeeded")
        gave_up = time.monotonic() - start
    pkts = read_tcp(out)
    expect(all(p.flags == SYN for p in pkts), "only SYNs expected")
    expect(len({p.seq for p in pkts}) == 1, "a retransmitted SYN keeps its ISN")
    expect(len({p.sport for p in pkts}) == 1, "a retransmitted SYN keeps its port")
    expect(len(pkts) >= 3, f"only {len(pkts)} SYNs")
    offsets = ", ".join(f"{p.ts - pkts[0].ts:.2f}" for p in pkts[1:])
    return (f"{len(pkts)} SYNs (frame 1 original, frames 2-{len(pkts)} retransmissions) "
            f"at +{offsets} s; connect() failed with ETIMEDOUT after {gave_up:.1f} s")


@scenario("synack-loss")
def synack_loss(out: Path) -> str:
    """The router drops the first SYN-ACK (an nft quota of 100 bytes: the first 60-byte
    SYN-ACK fits, every later one exceeds it). Captured at the server, so the lost SYN-ACK
    is in the file; the client's SYN retransmission and the server's SYN-ACK retransmission
    follow about 1 s later, then a normal exchange and client-first close."""

    def drop_first_synack(tb: Testbed) -> None:
        assert tb.router is not None
        tb.router.nft(
            "table inet tcpcheck {\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0;\n"
            "    tcp flags & (syn | ack) == syn | ack quota until 100 bytes drop\n"
            "  }\n"
            "}\n")

    ex = request_response(out, routed=True, setup=drop_first_synack)
    syns = [p for p in ex.pkts if p.flags == SYN]
    synacks = [p for p in ex.pkts if p.has(SYN | ACK)]
    expect(len({p.seq for p in syns}) == 1 and len({p.seq for p in synacks}) == 1,
           "retransmissions must keep the ISNs")
    expect(len(syns) >= 2 or len(synacks) >= 2, "no handshake retransmission")
    return (f"SYN frames {frames(syns)}, SYN-ACK frames {frames(synacks)} "
            f"(frame {synacks[0].frame} lost in the router); {describe_close(ex)}")


@scenario("bulk-loss")
def bulk_loss(out: Path) -> str:
    """1,000,000 bytes client -> server through the router, which drops 2 % of forwarded
    packets at random (both directions). The capture at the server shows real holes, the
    retransmissions that fill them, SACK blocks and dropped ACKs' effects."""
    size = 1_000_000

    def lossy(tb: Testbed) -> None:
        assert tb.router is not None
        tb.router.nft(
            "table inet tcpcheck {\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0;\n"
            "    numgen random mod 100 < 2 drop\n"
            "  }\n"
            "}\n")

    with recording(out, routed=True) as tb:
        lossy(tb)
        with tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

            def server(conn: socket.socket) -> int:
                total = recv_to_eof(conn)
                conn.sendall(b"received %d\n" % total)
                return total

            task = spawn(serve_one_result, listener, server)
            with connect(tb) as sock:
                sock.sendall(bytes(size))
                sock.shutdown(socket.SHUT_WR)
                recv_to_eof(sock)
            expect(task.result() == size, "the server did not receive everything")
    pkts = read_tcp(out)
    no_rst(pkts)
    client = tb.client.ipv4
    handshake(pkts, client)
    data = [p for p in pkts if p.src == client and p.plen]
    retransmitted, holes, high = [], 0, data[0].seq
    for p in data:
        if seq_lt(p.seq, high):
            retransmitted.append(p)
        elif seq_lt(high, p.seq):
            holes += 1
        high = max_seq(high, p.seg_end)
    expect(bool(retransmitted), "no retransmission: the router dropped nothing")
    return (f"{len(pkts)} TCP frames, {len(data)} data segments, {holes} holes, "
            f"{len(retransmitted)} retransmitted segments (first frames "
            f"{frames(retransmitted[:5])})")


def serve_one_result(listener: socket.socket,
                     handler: Callable[[socket.socket], int]) -> int:
    """Like serve_one, but hand back what the handler returns."""
    conn, _ = listener.accept()
    with conn:
        return handler(conn)


def seq_lt(a: int, b: int) -> bool:
    """Serial-number a < b in 32-bit sequence space."""
    return a != b and (b - a) % SEQ_MOD < SEQ_MOD // 2


def max_seq(a: int, b: int) -> int:
    return b if seq_lt(a, b) else a


@scenario("time-wait-reuse")
def time_wait_reuse(out: Path) -> str:
    """Two connections on one four-tuple (client port fixed with SO_REUSEADDR + bind). The
    server closes each first, so after the first one the server's socket is in TIME_WAIT
    (checked with ss) when the second SYN arrives 0.25 s later; Linux accepts it because its
    timestamp and ISN are newer than the old connection's (RFC 6191)."""
    client_port = 40000
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

        def server(conn: socket.socket) -> None:
            recv_exact(conn, len(REQUEST))
            conn.sendall(RESPONSE)

        server_tw: list[str] = []
        for second_connection in (False, True):
            if second_connection:
                server_tw = time_wait(tb.server.ns)
            task = spawn(serve_one, listener, server)
            with connect(tb, bind_port=client_port) as sock:
                sock.sendall(REQUEST)
                recv_exact(sock, len(RESPONSE))
                expect(sock.recv(1) == b"", "expected the server's FIN")
            task.result()
            time.sleep(PAUSE)
    tuple_text = f"{tb.server.ipv4}:{PORT} {tb.client.ipv4}:{client_port}"
    expect(server_tw == [tuple_text], f"server TIME_WAIT before the second SYN: {server_tw}")
    pkts = read_tcp(out)
    no_rst(pkts)
    syns = [p for p in pkts if p.flags == SYN]
    expect(len(syns) == 2 and syns[0].tuple == syns[1].tuple, "expected two SYNs, one tuple")
    first = [p for p in pkts if p.frame < syns[1].frame]
    second = [p for p in pkts if p.frame >= syns[1].frame]
    for conn in (first, second):
        handshake(conn, tb.client.ipv4)
        closer, _ = fins(conn)
        expect(closer.src == tb.server.ipv4, "the server closes first")
    server_fin = fins(first)[0]
    gap = syns[1].ts - server_fin.ts
    expect(gap < 60, f"the tuple was reused {gap:.1f} s after the server's FIN")
    expect(syns[1].seq != syns[0].seq, "the new connection has its own ISN")
    return (f"first SYN frame {syns[0].frame}, server FIN frame {server_fin.frame} (server "
            f"TIME_WAIT {server_tw}), second SYN frame {syns[1].frame} {gap:.2f} s later")


@scenario("simultaneous-close")
def simultaneous_close(out: Path) -> str:
    """Both sides shut down within a millisecond while the router holds every packet for
    about 33 ms, so each FIN leaves before the peer's FIN arrives: both sides go FIN_WAIT_1 ->
    CLOSING -> TIME_WAIT. The hold is a tbf qdisc (16 kbit/s = 2000 bytes/s, 200-byte bucket)
    on both router egress interfaces, its bucket emptied by two 100-byte UDP datagrams just
    before the close, so a 66-byte FIN waits 33 ms for tokens (the kernel has no netem). The
    FIN and the ACK that answers it take about 70 ms together, well inside the 200 ms minimum
    RTO, so nothing is retransmitted. The datagrams and the ICMP errors they draw are not TCP
    and so not in the capture."""
    with recording(out, routed=True) as tb:
        router = tb.router
        assert router is not None
        with tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
            exchanged = threading.Barrier(3)
            close_now = threading.Barrier(3)

            def both_close(sock: socket.socket) -> None:
                exchanged.wait()
                close_now.wait()
                sock.shutdown(socket.SHUT_WR)
                expect(sock.recv(1) == b"", "expected the peer's FIN")

            def server(conn: socket.socket) -> None:
                recv_exact(conn, len(REQUEST))
                conn.sendall(RESPONSE)
                both_close(conn)

            def client() -> None:
                with connect(tb) as sock:
                    sock.sendall(REQUEST)
                    recv_exact(sock, len(RESPONSE))
                    time.sleep(PAUSE)
                    both_close(sock)

            tasks = [spawn(serve_one, listener, server), spawn(client)]
            exchanged.wait()
            for ifname in (tb.router_server_if, tb.router_client_if):
                router.tc("qdisc", "add", "dev", ifname, "root", "tbf", "rate", "16kbit",
                          "burst", "200", "latency", "1s")
            with contextlib.closing(router.socket(socket.AF_INET, socket.SOCK_DGRAM)) as udp:
                for target in (tb.server.ipv4, tb.client.ipv4, tb.server.ipv4, tb.client.ipv4):
                    udp.sendto(bytes(58), (target, 9))  # 14 + 20 + 8 + 58 = 100 bytes
            close_now.wait()
            for task in tasks:
                task.result()
            time.sleep(PAUSE)
        server_tw, client_tw = time_wait(tb.server.ns), time_wait(tb.client.ns)
    pkts = read_tcp(out)
    no_rst(pkts)
    client, server_addr = tb.client.ipv4, tb.server.ipv4
    handshake(pkts, client)
    first, second = fins(pkts)
    server_fin, client_fin = (first, second) if first.src == server_addr else (second, first)
    # Captured at the server: its FIN precedes the client's FIN in the file; the client's FIN
    # does not acknowledge the server's FIN, so the client had not received it either.
    expect(server_fin.frame < client_fin.frame, "the server's FIN must be sent first")
    expect(client_fin.ack == server_fin.seq, "the client's FIN must not ACK the server's FIN")
    expect(server_tw and client_tw, f"both must be in TIME_WAIT: {server_tw} / {client_tw}")
    fin_frames = [p for p in pkts if p.flags & FIN]
    expect(len(fin_frames) == 2, f"FIN retransmitted: frames {frames(fin_frames)}")
    delay = client_fin.ts - server_fin.ts
    return (f"server FIN frame {server_fin.frame}, client FIN frame {client_fin.frame} "
            f"{delay * 1000:.0f} ms later with ack = the server FIN's seq (not +1); ACKs in "
            f"frames {frames(pkts[-2:])}; TIME_WAIT on both sides: {server_tw} / {client_tw}")


# ---------------------------------------------------------------- main


def record_count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in dpkt.pcap.Reader(fh))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="regenerate one capture")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces, nft, tcpdump)")
    names = [args.only] if args.only else list(SCENARIOS)
    failed = []
    for name in names:
        out = args.out_dir / f"{name}.pcap"
        # Timing-dependent scenarios (random loss, the held FINs) get up to three tries.
        for attempt in range(1, 4):
            try:
                notes = SCENARIOS[name](out)
            except ScenarioError as exc:
                print(f"{name}: attempt {attempt} failed: {exc}", file=sys.stderr)
                continue
            print(f"{name}.pcap  {out.stat().st_size:>8} bytes  {record_count(out):>5} "
                  f"frames  {notes}")
            break
        else:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
