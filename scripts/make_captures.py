"""Record the real Linux captures in captures/linux/ (``make captures``; needs root).

Each scenario runs ordinary sockets between network namespaces (scripts/netns.py), captures
on the server's veth (a few on the client's) with ``tcpdump -w`` (classic pcap, default
snaplen unless a scenario says otherwise, BPF filter ``tcp`` so ARP/neighbour-discovery
frames never shift the frame numbers), then checks that the file really shows what the
scenario promises. Each capture is healthy Linux behaviour: tcpcheck
must report no error finding on any of them. captures/linux/README.md describes them.
The reply-* scenarios come from scripts/reply_captures.py: there a segment injected with scapy
provokes the reply a receiver owes, and only that injected segment may draw a finding.

    .venv/bin/python scripts/make_captures.py              # all scenarios
    .venv/bin/python scripts/make_captures.py --only refused
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import os
import random
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
# TCP option kinds.
OPT_MSS, OPT_WSCALE, OPT_SACK_PERM, OPT_SACK, OPT_TS = 2, 3, 4, 5, 8
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
    win: int = 0  # the window field as sent (unscaled)
    opts: tuple[tuple[int, bytes], ...] = ()  # (kind, data) of each TCP option

    def has(self, flags: int) -> bool:
        return self.flags & flags == flags

    @property
    def tuple(self) -> tuple[str, int, str, int]:
        return (self.src, self.sport, self.dst, self.dport)

    def opt(self, kind: int) -> bytes | None:
        """The data of this segment's option ``kind``, None if it has none."""
        return next((data for k, data in self.opts if k == kind), None)

    @property
    def pure(self) -> bool:
        """No data and no SYN, FIN or RST: an ACK, window update or probe."""
        return not self.plen and not self.flags & (SYN | FIN | RST)

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
            # iplen comes from the IP header, so it is right when a snaplen cut the payload.
            opts = tuple((k, bytes(d)) for k, d in dpkt.tcp.parse_opts(tcp.opts)
                         if k not in (dpkt.tcp.TCP_OPT_EOL, dpkt.tcp.TCP_OPT_NOP))
            pkts.append(Pkt(frame, float(ts), socket.inet_ntop(_family(ip), ip.src), tcp.sport,
                            socket.inet_ntop(_family(ip), ip.dst), tcp.dport, tcp.seq, tcp.ack,
                            tcp.flags, iplen - 4 * tcp.off, tcp.win, opts))
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
def recording(out: Path, routed: bool = False, *, at: str = "server",
              snaplen: int | None = None, buffer_kib: int | None = None,
              prepare: Callable[[Testbed], None] | None = None) -> Iterator[Testbed]:
    """A fresh test bed with a tcpdump on the server's (or, ``at="client"``, the client's)
    veth for the duration of the body. ``prepare`` runs before the capture starts (sysctls,
    ethtool), so nothing it changes can disturb the capture."""
    with Testbed(routed) as tb:
        if prepare is not None:
            prepare(tb)
        side = tb.client if at == "client" else tb.server
        with Capture(side.ns, side.ifname, out, snaplen=snaplen, buffer_kib=buffer_kib) as cap:
            yield tb
            stats = cap.stop()
        expect(stats.dropped_by_kernel == 0, f"tcpdump dropped {stats.dropped_by_kernel}")


def settle(tb: Testbed, timeout: float = 15.0) -> None:
    """Wait until neither side has a connection still opening or closing (a FIN or SYN
    waiting for its ACK). Under random loss a final FIN may need retransmitting after the
    applications are done; the capture must not stop before that is over."""
    states = ("syn-sent", "syn-recv", "fin-wait-1", "closing", "last-ack")
    argv = ["ss", "-Htn"] + [arg for state in states for arg in ("state", state)]
    deadline = time.monotonic() + timeout
    while any(ns.exec(*argv).strip() for ns in (tb.client.ns, tb.server.ns)):
        expect(time.monotonic() < deadline, "connections still closing after "
               f"{timeout} s")
        time.sleep(0.05)


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


def answer_then_await_fin(conn: socket.socket) -> None:
    """Server side: answer the request, wait for the client's FIN, then PAUSE before closing
    (so the ACK of that FIN and the server's own FIN are separate segments)."""
    recv_exact(conn, len(REQUEST))
    conn.sendall(RESPONSE)
    expect(conn.recv(1) == b"", "expected the client's FIN")
    time.sleep(PAUSE)


def answer_until_reset(conn: socket.socket) -> None:
    """Server side: answer the request, then wait for the client's reset (and fail without
    one)."""
    recv_exact(conn, len(REQUEST))
    conn.sendall(RESPONSE)
    try:
        conn.recv(1)
    except ConnectionResetError:
        return
    raise ScenarioError("the server did not see the client's reset")


@scenario("rst-abort")
def rst_abort(out: Path) -> str:
    """After the response the client sets SO_LINGER {on, 0 s} and closes: the kernel sends
    RST instead of FIN and forgets the connection at once (no TIME_WAIT)."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

        task = spawn(serve_one, listener, answer_until_reset)
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


def drop_first_synack(tb: Testbed) -> None:
    """Make the router drop the first SYN-ACK only (an nft quota of 100 bytes: the first
    60-byte SYN-ACK fits, every later one exceeds it)."""
    assert tb.router is not None
    tb.router.nft(
        "table inet tcpcheck {\n"
        "  chain forward {\n"
        "    type filter hook forward priority 0;\n"
        "    tcp flags & (syn | ack) == syn | ack quota until 100 bytes drop\n"
        "  }\n"
        "}\n")


@scenario("synack-loss")
def synack_loss(out: Path) -> str:
    """The router drops the first SYN-ACK (an nft quota of 100 bytes: the first 60-byte
    SYN-ACK fits, every later one exceeds it). Captured at the server, so the lost SYN-ACK
    is in the file; the client's SYN retransmission and the server's SYN-ACK retransmission
    follow about 1 s later, then a normal exchange and client-first close."""
    ex = request_response(out, routed=True, setup=drop_first_synack)
    syns = [p for p in ex.pkts if p.flags == SYN]
    synacks = [p for p in ex.pkts if p.has(SYN | ACK)]
    expect(len({p.seq for p in syns}) == 1 and len({p.seq for p in synacks}) == 1,
           "retransmissions must keep the ISNs")
    expect(len(syns) >= 2 or len(synacks) >= 2, "no handshake retransmission")
    return (f"SYN frames {frames(syns)}, SYN-ACK frames {frames(synacks)} "
            f"(frame {synacks[0].frame} lost in the router); {describe_close(ex)}")


def wait_for_state(ns: Namespace, state: str, timeout: float = 5.0) -> str:
    """Wait until ``ss`` lists a TCP socket in ``state`` in a namespace; return its line."""
    deadline = time.monotonic() + timeout
    while not (found := ns.exec("ss", "-Htn", "state", state).strip()):
        expect(time.monotonic() < deadline, f"no socket in {state} after {timeout} s")
        time.sleep(0.01)
    return found


@scenario("synack-new-isn-after-restart")
def synack_new_isn_after_restart(out: Path) -> str:
    """The router drops the server's first SYN-ACK (:func:`drop_first_synack`); while the
    client waits to retransmit its SYN, the server restarts: it closes its listener (the
    half-open request dies with it: Linux drops a request whose listener is gone instead of
    retransmitting its SYN-ACK) and listens again on the same port. The client's SYN
    retransmission (same ISN) reaches the new listener, which answers with a SYN-ACK carrying
    a new ISN; the handshake completes on that one, then a normal exchange and client-first
    close. RFC 9293 allows it: the first SYN-ACK's connection no longer exists anywhere."""
    with recording(out, routed=True, prepare=drop_first_synack) as tb:

        def client() -> None:
            with connect(tb) as sock:
                sock.sendall(REQUEST)
                recv_exact(sock, len(RESPONSE))
                time.sleep(PAUSE)

        old = tb.server.ns.listen(tb.server.ipv4, PORT)
        task = spawn(client)
        half_open = wait_for_state(tb.server.ns, "syn-recv")
        old.close()  # the "restart": the old process's listener and its request go
        with tb.server.ns.listen(tb.server.ipv4, PORT) as new:
            serve_one(new, answer_then_await_fin)
        task.result()
    pkts = read_tcp(out)
    no_rst(pkts)
    syns = [p for p in pkts if p.flags == SYN]
    synacks = [p for p in pkts if p.has(SYN | ACK)]
    expect(len(syns) == 2 and syns[0].seq == syns[1].seq, "expected one SYN retransmission")
    expect(len(synacks) == 2 and synacks[0].seq != synacks[1].seq,
           "expected two SYN-ACKs with different ISNs")
    expect(all(p.ack == syns[0].seg_end for p in synacks), "both SYN-ACKs answer the same SYN")
    expect(synacks[0].frame < syns[1].frame < synacks[1].frame,
           "the second SYN-ACK must answer the retransmitted SYN")
    final = next(p for p in pkts if p.frame > synacks[1].frame)
    expect(final.ack == synacks[1].seg_end, "the handshake must complete on the new ISN")
    return (f"SYN frames {frames(syns)}, SYN-ACK frames {frames(synacks)} with ISNs "
            f"{synacks[0].seq} and {synacks[1].seq} (server ss before the restart: "
            f"{' '.join(half_open.split()[2:4])}); client FIN frame {fins(pkts)[0].frame}")


@dataclass
class Transfer:
    """What a bulk run leaves behind for the scenario's own checks."""

    pkts: list[Pkt]
    client: str
    server: str
    seconds: float  # from connect() to the client's close
    counters: dict[str, int]  # the client's kernel TCP counters afterwards (CLIENT_COUNTERS)
    server_counters: dict[str, int]  # the server's (SERVER_COUNTERS)


# What the sender's kernel says it did (RFC 2012 / Linux TcpExt MIB, per namespace).
CLIENT_COUNTERS = ("Tcp.RetransSegs", "TcpExt.TCPTimeouts", "TcpExt.TCPLossProbes",
                   "TcpExt.TCPFastRetrans", "TcpExt.TCPSackRecovery", "TcpExt.TCPRenoRecovery",
                   "TcpExt.TCPLostRetransmit", "TcpExt.TCPSpuriousRTOs")
# Probes the client sent; duplicate ACKs the server left out (tcp_invalid_ratelimit, 500 ms).
PROBE_COUNTERS = ("TcpExt.TCPWinProbe", "TcpExt.TCPKeepAlive")
SERVER_COUNTERS = ("TcpExt.TCPACKSkippedSeq",)


def kernel_counters(ns: Namespace, names: tuple[str, ...]) -> dict[str, int]:
    """A namespace's TCP MIB counters as "Section.Name" (/proc/net/snmp and
    /proc/net/netstat show the counters of the reading process's namespace)."""
    values = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = ns.exec("cat", path).splitlines()
        for head, row in zip(lines[::2], lines[1::2], strict=True):
            section, *keys = head.split()
            values.update({f"{section.rstrip(':')}.{k}": int(v)
                           for k, v in zip(keys, row.split()[1:], strict=True)})
    return {name: values[name] for name in names}


def bulk_transfer(out: Path, size: int, *, loss: int = 0, family: int = socket.AF_INET,
                  routed: bool = True, at: str = "server", snaplen: int | None = None,
                  buffer_kib: int | None = None,
                  prepare: Callable[[Testbed], None] | None = None,
                  rcvbuf: int | None = None, server_delay: float = 0.0,
                  chunk: int | None = None, pace: float = 0.0) -> Transfer:
    """``size`` zero bytes client -> server, then ``shutdown(SHUT_WR)``; the server reads to
    EOF (after sleeping ``server_delay`` s without reading), answers "received N" and
    closes; the client reads to EOF and closes. With ``loss`` the router drops that
    percentage of forwarded packets at random in both directions, the close included; the
    capture only stops once no FIN is left unacknowledged (:func:`settle`). Checks a
    complete handshake, both FINs, no RST and that every byte arrived. With ``chunk`` the
    client writes that many bytes at a time, ``pace`` s apart, so the data leaves in bursts
    that each end in a tail (where a lost last segment needs a loss probe or an RTO)."""
    with recording(out, routed, at=at, snaplen=snaplen, buffer_kib=buffer_kib,
                   prepare=prepare) as tb:
        if loss:
            tb.drop_forwarded(loss)
        with tb.server.ns.listen(tb.server.addr(family), PORT, rcvbuf=rcvbuf) as listener:

            def server(conn: socket.socket) -> int:
                time.sleep(server_delay)
                total = recv_to_eof(conn)
                conn.sendall(b"received %d\n" % total)
                return total

            task = spawn(serve_one_result, listener, server)
            start = time.monotonic()
            with connect(tb, family) as sock:
                step = chunk or size
                for offset in range(0, size, step):
                    if offset:
                        time.sleep(pace)
                    sock.sendall(bytes(min(step, size - offset)))
                sock.shutdown(socket.SHUT_WR)
                recv_to_eof(sock)
            seconds = time.monotonic() - start
            expect(task.result() == size, "the server did not receive everything")
        settle(tb)
        counters = kernel_counters(tb.client.ns, CLIENT_COUNTERS + PROBE_COUNTERS)
        server_counters = kernel_counters(tb.server.ns, SERVER_COUNTERS)
    result = Transfer(read_tcp(out), tb.client.addr(family), tb.server.addr(family), seconds,
                      counters, server_counters)
    no_rst(result.pkts)
    handshake(result.pkts, result.client)
    fins(result.pkts)
    return result


def repairs(pkts: list[Pkt], sender: str) -> tuple[list[Pkt], list[Pkt], int]:
    """The sender's data segments, those of them that start below the highest sequence
    number sent before (retransmissions), and the number of holes (a segment starting above
    it: what lies between was lost before the capture point or comes later)."""
    data = [p for p in pkts if p.src == sender and p.plen]
    retransmitted, holes, high = [], 0, data[0].seq
    for p in data:
        if seq_lt(p.seq, high):
            retransmitted.append(p)
        elif seq_lt(high, p.seq):
            holes += 1
        high = max_seq(high, p.seg_end)
    return data, retransmitted, holes


def after_silence(tr: Transfer) -> list[Pkt]:
    """The client's data retransmissions that reached the capture point after >= 150 ms in
    which it saw nothing from the client: RTOs (rto_min is 200 ms; the RTT here is tens of
    microseconds, so ACK clocking and loss probes never wait that long)."""
    _, retransmitted, _ = repairs(tr.pkts, tr.client)
    sent = [p for p in tr.pkts if p.src == tr.client]
    previous = {b.frame: a for a, b in itertools.pairwise(sent)}
    return [p for p in retransmitted
            if p.frame in previous and p.ts - previous[p.frame].ts >= 0.15]


def describe_loss(tr: Transfer) -> str:
    """Holes, retransmissions (and how many came after a timer-length silence of the
    sender, i.e. RTOs), SACK-bearing ACKs and the close, for a lossy transfer."""
    pkts = tr.pkts
    data, retransmitted, holes = repairs(pkts, tr.client)
    expect(bool(retransmitted), "no retransmission: the router dropped nothing")
    timed_out = after_silence(tr)
    sacks = sum(1 for p in pkts if p.src == tr.server and p.opt(OPT_SACK) is not None)
    first, second = fins(pkts)
    return (f"{len(pkts)} TCP frames in {tr.seconds:.1f} s, {len(data)} data segments, "
            f"{holes} holes, {len(retransmitted)} retransmitted segments (first frames "
            f"{frames(retransmitted[:5])}), {len(timed_out)} of them after >= 150 ms of "
            f"sender silence (RTO-like: frames {frames(timed_out[:8])}), {sacks} server "
            f"ACKs with SACK blocks; FINs frames {first.frame} and {second.frame}, last "
            f"frame {pkts[-1].frame}; client kernel: "
            + ", ".join(f"{k.split('.')[1]} {tr.counters[k]}" for k in CLIENT_COUNTERS))


@scenario("bulk-loss")
def bulk_loss(out: Path) -> str:
    """1,000,000 bytes client -> server through the router, which drops 2 % of forwarded
    packets at random (both directions). The capture at the server shows real holes, the
    retransmissions that fill them, SACK blocks and dropped ACKs' effects."""
    tr = bulk_transfer(out, 1_000_000, loss=2)
    data, retransmitted, holes = repairs(tr.pkts, tr.client)
    expect(bool(retransmitted), "no retransmission: the router dropped nothing")
    return (f"{len(tr.pkts)} TCP frames, {len(data)} data segments, {holes} holes, "
            f"{len(retransmitted)} retransmitted segments (first frames "
            f"{frames(retransmitted[:5])})")


@scenario("bulk-heavy-loss")
def bulk_heavy_loss(out: Path) -> str:
    """4,000,000 bytes client -> server through the router with 8 % random loss in both
    directions: SACK recovery, fast retransmits, lost retransmissions repaired by RTOs.
    The client writes 64 KB every 5 ms, so the data leaves in ~60 bursts; a burst whose
    tail is lost along with its repair is recovered by an RTO. RTOs stay rare even so
    (RACK repairs nearly everything within microseconds), so the run is repeated, up to six
    times, until the capture holds at least one. Snaplen 128 keeps every header (14 + 20 +
    60 bytes at most) but cuts the payload."""
    for attempt in range(1, 7):
        tr = bulk_transfer(out, 4_000_000, loss=8, snaplen=128, chunk=65536, pace=0.005)
        if after_silence(tr):
            return f"run {attempt}: " + describe_loss(tr)
    raise ScenarioError("no RTO in six runs")


@scenario("ipv6-bulk-loss")
def ipv6_bulk_loss(out: Path) -> str:
    """1,500,000 bytes over IPv6 (2001:db8:1::1 -> 2001:db8:2::2) through the router with
    3 % random loss in both directions."""
    return describe_loss(bulk_transfer(out, 1_500_000, loss=3, family=socket.AF_INET6))


def one_side_without(sysctl: str, option: int, what: str) -> Scenario:
    """A 1,000,000-byte transfer with 3 % loss where the client has ``sysctl`` = 0, so its
    SYN lacks ``option`` and the server's SYN-ACK leaves it out too (Linux only answers
    what the SYN offered): the connection runs without it."""

    def run(out: Path) -> str:
        tr = bulk_transfer(out, 1_000_000, loss=3,
                           prepare=lambda tb: tb.client.ns.sysctl(sysctl, 0))
        syns = [p for p in tr.pkts if p.flags & SYN]
        expect(all(p.opt(option) is None for p in syns),
               f"a SYN carries the option {sysctl} turns off")
        expect(all(p.opt(OPT_MSS) is not None for p in syns), "a SYN without MSS")
        used = [p for p in tr.pkts if p.opt(option) is not None]
        expect(not used, f"option {option} in frames {frames(used[:5])}")
        kinds = {k for p in syns for k, _ in p.opts}
        names = {OPT_MSS: "MSS", OPT_WSCALE: "WS", OPT_SACK_PERM: "SACK_PERM", OPT_TS: "TS"}
        return (f"{what}: SYN/SYN-ACK frames {frames(syns)} carry only "
                f"{', '.join(names.get(k, str(k)) for k in sorted(kinds))}; "
                + describe_loss(tr))

    run.__doc__ = one_side_without.__doc__
    return run


SCENARIOS["no-timestamps"] = one_side_without("net.ipv4.tcp_timestamps", OPT_TS,
                                              "no timestamps")
SCENARIOS["no-sack"] = one_side_without("net.ipv4.tcp_sack", OPT_SACK_PERM, "no SACK")
SCENARIOS["no-wscale"] = one_side_without("net.ipv4.tcp_window_scaling", OPT_WSCALE,
                                          "no window scaling")


def exchange(tb: Testbed, listener: socket.socket) -> None:
    """One request/response connection on a running test bed, the client closing first and
    both sides pausing PAUSE before they close (a four-segment close)."""

    def server(conn: socket.socket) -> None:
        recv_exact(conn, len(REQUEST))
        conn.sendall(RESPONSE)
        expect(conn.recv(1) == b"", "expected the client's FIN")
        time.sleep(PAUSE)

    task = spawn(serve_one, listener, server)
    with connect(tb) as sock:
        sock.sendall(REQUEST)
        recv_exact(sock, len(RESPONSE))
        time.sleep(PAUSE)
    task.result()
    time.sleep(PAUSE)


OPTIONS_OFF = (("tcp_timestamps", "tcp_sack"), ("tcp_timestamps", "tcp_window_scaling"),
               ("tcp_sack", "tcp_window_scaling"),
               ("tcp_timestamps", "tcp_sack", "tcp_window_scaling"))
"""The client sysctls turned off for each connection of handshake-options-off."""


@scenario("handshake-options-off")
def handshake_options_off(out: Path) -> str:
    """Four request/response connections in a row; before each the client turns off two or
    all three of tcp_timestamps, tcp_sack, tcp_window_scaling (OPTIONS_OFF), so its SYN and
    the server's SYN-ACK carry the option layouts Linux sends with them off."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        for off in OPTIONS_OFF:
            for name in ("tcp_timestamps", "tcp_sack", "tcp_window_scaling"):
                tb.client.ns.sysctl(f"net.ipv4.{name}", 0 if name in off else 1)
            exchange(tb, listener)
    pkts = read_tcp(out)
    syns = [p for p in pkts if p.flags & SYN]
    expect(len(syns) == 2 * len(OPTIONS_OFF), f"{len(syns)} SYN and SYN-ACK frames")
    no_rst(pkts)
    layouts = [",".join(str(k) for k, _ in p.opts) for p in syns]
    return (f"{len(OPTIONS_OFF)} connections; SYN/SYN-ACK frames {frames(syns)} with option "
            f"kinds {'; '.join(layouts)}")


@scenario("syn-doubling")
def syn_doubling(out: Path) -> str:
    """The client's tcp_syn_linear_timeouts = 0 (the SYN timer doubles from the first
    timeout, as before Linux 6.7) and its route to the server carries rto_min 1500 ms; the
    server's input hook drops the first two SYNs (an nft quota of 150 bytes: two 60-byte SYNs
    fit, the third exceeds it), so the third gets through and the connection completes."""

    def prepare(tb: Testbed) -> None:
        tb.client.ns.sysctl("net.ipv4.tcp_syn_linear_timeouts", 0)
        tb.client.ns.ip("route", "replace", "192.0.2.0/24", "dev", tb.client.ifname,
                        "rto_min", "1500ms")
        tb.server.ns.nft(
            "table inet tcpcheck {\n"
            "  chain input {\n"
            "    type filter hook input priority 0;\n"
            f"    tcp dport {PORT} tcp flags & (syn | ack) == syn quota until 150 bytes drop\n"
            "  }\n"
            "}\n")

    with recording(out, prepare=prepare) as tb, \
            tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        exchange(tb, listener)
    pkts = read_tcp(out)
    syns = [p for p in pkts if p.flags == SYN]
    expect(len(syns) == 3 and len({p.seq for p in syns}) == 1,
           f"expected the SYN twice retransmitted, got frames {frames(syns)}")
    no_rst(pkts)
    handshake(pkts[2:], "192.0.2.1")
    offsets = ", ".join(f"{p.ts - syns[0].ts:.2f}" for p in syns[1:])
    return f"SYN frames {frames(syns)}: retransmissions at +{offsets} s, then the handshake"


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


def probes(pkts: list[Pkt], sender: str) -> list[Pkt]:
    """The sender's keepalive and zero-window probes as Linux sends them: no data, no
    flags but ACK, seq = SND.UNA - 1 (the highest ACK the peer has sent so far, minus 1)."""
    una, found = None, []
    for p in pkts:
        if p.src != sender and p.has(ACK):
            una = p.ack if una is None else max_seq(una, p.ack)
        elif p.src == sender and p.pure and una is not None and p.seq == (una - 1) % SEQ_MOD:
            found.append(p)
    return found


@scenario("zero-window")
def zero_window(out: Path) -> str:
    """A slow reader: the server's listening socket has SO_RCVBUF 4096 (the kernel makes it
    8192 and turns autotuning off) and the server does not read for 2 s while the client
    writes 300,000 bytes. The server's window falls to 0; the client's probe timer sends
    zero-window probes (seq = SND.UNA - 1, no data) with exponential backoff; when the
    server starts reading, window updates reopen the window and the rest flows (the
    window may close again briefly); clean client-first close. Direct veth, capture at the
    server."""
    size = 300_000
    tr = bulk_transfer(out, size, routed=False, rcvbuf=4096, server_delay=2.0)
    pkts = tr.pkts
    zero = [p for p in pkts if p.src == tr.server and p.win == 0 and not p.flags & SYN]
    expect(bool(zero), "the server never advertised a zero window")
    found = probes(pkts, tr.client)
    stall = [p for p in found if p.ts - zero[0].ts < 2.5]
    expect(len(stall) >= 3, f"only {len(stall)} zero-window probes")
    reopen = next((p for p in pkts if p.src == tr.server and p.win > 0
                   and p.frame > stall[-1].frame), None)
    expect(reopen is not None, "the window never reopened")
    offsets = ", ".join(f"{p.ts - zero[0].ts:.2f}" for p in stall)
    first, second = fins(pkts)
    return (f"first zero window frame {zero[0].frame}; probes frames {frames(stall)} at "
            f"+{offsets} s after it; window reopened frame {reopen.frame} "
            f"(+{reopen.ts - zero[0].ts:.2f} s); {len(zero)} zero-window segments in all, "
            f"{len(found)} probes in all; FINs frames {first.frame} and {second.frame}; "
            f"client TCPWinProbe {tr.counters['TcpExt.TCPWinProbe']}, server "
            f"TCPACKSkippedSeq {tr.server_counters['TcpExt.TCPACKSkippedSeq']}")


@scenario("offload")
def offload(out: Path) -> str:
    """2,000,000 bytes client -> server over the direct veth with the CLIENT veth's sg,
    tso, gso and tx checksumming on (the server's stay off), captured in the client
    namespace: the sending side records TSO super-segments far above the MSS, with a TCP
    checksum field that holds only the pseudo-header sum (the device would finish it)."""
    # 64 KB frames fill libpcap's default 2 MB ring in a few hundred microseconds.
    tr = bulk_transfer(out, 2_000_000, routed=False, at="client", buffer_kib=65536,
                       prepare=lambda tb: tb.client.ns.offloads_on(tb.client.ifname))
    pkts = tr.pkts
    synack = next(p for p in pkts if p.has(SYN | ACK))
    mss_opt = synack.opt(OPT_MSS)
    assert mss_opt is not None
    mss = struct.unpack("!H", mss_opt)[0] - (12 if synack.opt(OPT_TS) is not None else 0)
    big = [p for p in pkts if p.src == tr.client and p.plen > mss]
    expect(len(big) >= 5, f"only {len(big)} segments above the MSS of {mss}")
    sums = checksums(out)
    partial = [f for f, (src, state) in sums.items() if state == "partial"]
    bad = [f for f, (src, state) in sums.items() if state == "bad"]
    good_client = [f for f, (src, state) in sums.items() if state == "good"
                   and src == tr.client]
    expect(bool(partial) and not bad, f"checksums: {len(partial)} partial, {len(bad)} bad")
    return (f"{len(big)} client segments above the MSS of {mss} (largest "
            f"{max(p.plen for p in big)} bytes, first frame {big[0].frame}); "
            f"{len(partial)} frames with a pseudo-header-only checksum (all from the client: "
            f"{all(sums[f][0] == tr.client for f in partial)}), {len(good_client)} client "
            f"frames with a complete one, {len(sums) - len(partial)} correct in all")


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _words(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def checksums(path: Path) -> dict[int, tuple[str, str]]:
    """Frame -> (source address, "good" | "partial" | "bad") for every TCP/IPv4 frame of a
    full-snaplen Ethernet capture. "partial": the field holds the folded pseudo-header sum,
    which is what Linux leaves for a device with checksum offload (CHECKSUM_PARTIAL)."""
    found = {}
    with open(path, "rb") as fh:
        for frame, (_, buf) in enumerate(dpkt.pcap.Reader(fh), start=1):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            segment = bytes(buf[14 + 4 * ip.hl:14 + ip.len])
            pseudo = _words(ip.src + ip.dst + struct.pack("!HH", socket.IPPROTO_TCP,
                                                          len(segment)))
            stored = ip.data.sum
            if _fold(pseudo + _words(segment)) == 0xFFFF:
                state = "good"
            elif stored == _fold(pseudo):
                state = "partial"
            else:
                state = "bad"
            found[frame] = (socket.inet_ntoa(ip.src), state)
    return found


@scenario("keepalive")
def keepalive(out: Path) -> str:
    """The client socket has SO_KEEPALIVE with TCP_KEEPIDLE 1, TCP_KEEPINTVL 1 and
    TCP_KEEPCNT 5; after a request and a response the connection stays idle for 3.5 s, in
    which the client sends a keepalive probe (seq = SND.NXT - 1, no data) about every
    second and the server answers each with an ACK; then a client-first close."""
    idle = 3.5
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        task = spawn(serve_one, listener, answer_then_await_fin)
        sock = tb.client.ns.socket()
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 5)
            sock.connect((tb.server.ipv4, PORT))
            sock.sendall(REQUEST)
            recv_exact(sock, len(RESPONSE))
            time.sleep(idle)
        task.result()
        settle(tb)
        sent = kernel_counters(tb.client.ns, PROBE_COUNTERS)["TcpExt.TCPKeepAlive"]
    pkts = read_tcp(out)
    client, server_addr = tb.client.ipv4, tb.server.ipv4
    no_rst(pkts)
    handshake(pkts, client)
    first, second = fins(pkts)
    expect(first.src == client, "the client closes first")
    found = probes(pkts, client)
    expect(len(found) >= 3, f"only {len(found)} keepalive probes")
    answers = [next((q for q in pkts if q.frame > p.frame and q.src == server_addr), None)
               for p in found]
    expect(all(a is not None and a.pure and a.ack == (p.seq + 1) % SEQ_MOD
               for p, a in zip(found, answers, strict=True)), "a probe was not ACKed")
    response = next(p for p in pkts if p.src == server_addr and p.plen)
    offsets = ", ".join(f"{p.ts - response.ts:.2f}" for p in found)
    return (f"response frame {response.frame}; keepalive probes frames {frames(found)} at "
            f"+{offsets} s after it, answered by frames "
            f"{frames([a for a in answers if a is not None])}; client TCPKeepAlive {sent}; "
            f"client FIN frame {first.frame}, server FIN frame {second.frame}")


@scenario("rto-backoff")
def rto_backoff(out: Path) -> str:
    """Routed; the client sends 100,000 bytes (all ACKed), then the router starts dropping
    EVERY forwarded packet (its own nft table, both directions) and the client hands the
    socket another 200,000 bytes. Nothing gets through: after a tail loss probe the
    retransmission timer fires at RTO = 200 ms (rto_min) and doubles each time. 5.5 s
    after the second write the table is deleted; the retransmission due at ~6.2 s gets
    through, the rest is repaired, clean close. Captured at the CLIENT, so the lost
    retransmissions are in the file."""
    blackout = 5.5
    with recording(out, routed=True, at="client") as tb:
        with tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
            acked, go = threading.Event(), threading.Event()

            def client() -> None:
                with connect(tb) as sock:
                    sock.sendall(bytes(100_000))
                    time.sleep(PAUSE)
                    acked.set()
                    go.wait(10)
                    sock.sendall(bytes(200_000))
                    sock.shutdown(socket.SHUT_WR)
                    recv_to_eof(sock)

            def server(conn: socket.socket) -> int:
                total = recv_to_eof(conn)
                conn.sendall(b"received %d\n" % total)
                return total

            task = spawn(serve_one_result, listener, server)
            sender = spawn(client)
            expect(acked.wait(10), "the first write never finished")
            tb.drop_forwarded(100, table="blackout")
            go.set()
            time.sleep(blackout)
            tb.stop_dropping("blackout")
            sender.result()
            expect(task.result() == 300_000, "the server did not receive everything")
        settle(tb)
    pkts = read_tcp(out)
    client = tb.client.ipv4
    no_rst(pkts)
    handshake(pkts, client)
    fins(pkts)
    _, retransmitted, _ = repairs(pkts, client)
    # The timer retransmits the first unacknowledged segment again and again: the most
    # retransmitted sequence number (the loss probe before it resends the last segment).
    head = collections.Counter(p.seq for p in retransmitted).most_common(1)[0][0]
    copies = [p for p in pkts if p.src == client and p.plen and p.seq == head]
    times = [p.ts for p in copies]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    expect(len(gaps) >= 5, f"only {len(gaps)} retransmissions of seq {head}")
    expect(all(1.6 < b / a < 2.4 for a, b in itertools.pairwise(gaps[1:])),
           f"no doubling: {gaps}")
    reply = next((p for p in pkts if p.src != client and p.ts > copies[-1].ts), None)
    expect(reply is not None, "no server segment after the blackout")
    probe = [p for p in pkts if p.src == client and copies[0].frame < p.frame < copies[1].frame
             and p.ts - copies[0].ts > 0.001]
    tlp = (f"loss probe frame {frames(probe)} (+{probe[0].ts - copies[0].ts:.4f} s, seq "
           f"{probe[0].seq}); " if probe else "")
    return (f"{tlp}seq {head} sent in frames {frames(copies)}, intervals "
            f"{', '.join(f'{g:.3f}' for g in gaps)} s; first server segment after the "
            f"blackout frame {reply.frame} (+{reply.ts - copies[-1].ts:.4f} s)")


def fin_wait_2(ns: Namespace) -> list[str]:
    """The local:peer pairs of a namespace's FIN_WAIT_2 sockets (``ss``; an orphaned one
    lives on as a timewait socket in FIN_WAIT_2 substate and is listed too)."""
    out = ns.exec("ss", "-Htn", "state", "fin-wait-2")
    return [" ".join(line.split()[2:4]) for line in out.splitlines() if line.strip()]


@scenario("fin-wait-2-timeout")
def fin_wait_2_timeout(out: Path) -> str:
    """Client tcp_fin_timeout = 2: the client sends the request and close()s at once; the
    server's kernel ACKs the FIN, so the orphaned client socket sits in FIN_WAIT_2 (ss) and
    the kernel deletes it after 2 s. The server application waits 4 s after the client's
    EOF before it closes; its FIN finds no socket and the client's kernel answers RST (seq =
    the FIN's ACK, no ACK flag: RFC 9293 §3.10.7.1)."""
    wait = 4.0
    seen: list[tuple[float, list[str]]] = []
    with recording(out, prepare=lambda tb: tb.client.ns.sysctl(
            "net.ipv4.tcp_fin_timeout", 2)) as tb:
        with tb.server.ns.listen(tb.server.ipv4, PORT) as listener:

            def server(conn: socket.socket) -> None:
                recv_exact(conn, len(REQUEST))
                expect(conn.recv(1) == b"", "expected the client's FIN")
                time.sleep(wait)

            task = spawn(serve_one, listener, server)
            with connect(tb) as sock:
                sock.sendall(REQUEST)
            closed = time.monotonic()
            while task.is_alive():
                seen.append((time.monotonic() - closed, fin_wait_2(tb.client.ns)))
                time.sleep(0.1)
            task.result()
            time.sleep(PAUSE)
        client_left = fin_wait_2(tb.client.ns) + time_wait(tb.client.ns)
    pkts = read_tcp(out)
    client, server_addr = tb.client.ipv4, tb.server.ipv4
    handshake(pkts, client)
    first, second = fins(pkts)
    expect(first.src == client, "the client must send the first FIN")
    fin_ack = next((p for p in pkts if p.src == server_addr and p.ack == first.seg_end), None)
    expect(fin_ack is not None and fin_ack.frame < second.frame, "the client FIN is not ACKed")
    present = [t for t, socks in seen if socks]
    expect(bool(present), "ss never showed the client in FIN_WAIT_2")
    gone = next((t for t, socks in seen if not socks and t > present[0]), None)
    expect(gone is not None and gone < second.ts - first.ts,
           "the FIN_WAIT_2 socket was still there when the server's FIN came")
    resets = [p for p in pkts if p.flags & RST]
    expect(len(resets) == 1 and resets[0].src == client and resets[0].flags == RST
           and resets[0].seq == second.ack, "expected one bare RST from the client, seq = "
           "the server FIN's ack")
    expect(resets[0] == pkts[-1], "nothing may follow the RST")
    expect(not client_left, f"client sockets left: {client_left}")
    return (f"client FIN frame {first.frame}; server ACK frame {fin_ack.frame}; ss showed "
            f"the client in FIN_WAIT_2 from +{present[0]:.1f} s to +{present[-1]:.1f} s "
            f"after close(), gone at +{gone:.1f} s; server FIN frame {second.frame} "
            f"(+{second.ts - first.ts:.2f} s); client RST frame {resets[0].frame} "
            f"(+{resets[0].ts - second.ts:.6f} s, seq {resets[0].seq}, ack field "
            f"{resets[0].ack}, flags 0x{resets[0].flags:02x})")


@scenario("close-wait-stall")
def close_wait_stall(out: Path) -> str:
    """Request and response; the client close()s (orphaned, default tcp_fin_timeout 60
    s). The server's kernel ACKs the FIN, but the server application keeps its socket
    open for 5 s (ss: the server in CLOSE_WAIT, the client in FIN_WAIT_2), then closes;
    the client's last ACK puts it in TIME_WAIT."""
    stall = 5.0
    states: dict[str, list[str]] = {}
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        got_fin = threading.Event()

        def server(conn: socket.socket) -> None:
            recv_exact(conn, len(REQUEST))
            conn.sendall(RESPONSE)
            expect(conn.recv(1) == b"", "expected the client's FIN")
            got_fin.set()
            time.sleep(stall)

        task = spawn(serve_one, listener, server)
        with connect(tb) as sock:
            sock.sendall(REQUEST)
            recv_exact(sock, len(RESPONSE))
            time.sleep(PAUSE)
        expect(got_fin.wait(5), "the server never saw the FIN")
        time.sleep(stall / 2)
        states["server close-wait"] = [
            " ".join(line.split()[2:4]) for line in
            tb.server.ns.exec("ss", "-Htn", "state", "close-wait").splitlines()]
        states["client fin-wait-2"] = fin_wait_2(tb.client.ns)
        task.result()
        settle(tb)
        states["client time-wait"] = time_wait(tb.client.ns)
    pkts = read_tcp(out)
    client, server_addr = tb.client.ipv4, tb.server.ipv4
    no_rst(pkts)
    handshake(pkts, client)
    first, second = fins(pkts)
    expect(first.src == client, "the client must send the first FIN")
    fin_ack = next((p for p in pkts if p.src == server_addr and p.ack == first.seg_end), None)
    expect(fin_ack is not None and fin_ack.frame < second.frame, "the client FIN is not ACKed")
    expect(second.ts - first.ts > stall - 0.5, "the server closed too early")
    expect(pkts[-1].src == client and pkts[-1].ack == second.seg_end,
           "the client must ACK the server's FIN last")
    expect(all(states.values()), f"ss: {states}")
    return (f"client FIN frame {first.frame}; server ACK frame {fin_ack.frame}; server FIN "
            f"frame {second.frame} (+{second.ts - first.ts:.2f} s); last ACK frame "
            f"{pkts[-1].frame}; ss: {states}")


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


REUSE_PORT = 40000  # the client port both connections of reuse-challenge-ack bind


@scenario("reuse-challenge-ack")
def reuse_challenge_ack(out: Path) -> str:
    """A client reuses a four-tuple the server still holds in ESTABLISHED. The client binds
    port 40000, exchanges a request and response, then aborts (SO_LINGER {1, 0}) while an
    nft rule in its own output hook drops its RST: the client's kernel has forgotten the
    connection, the server's has not. 0.25 s later the client binds the same port and
    connects again. The server answers the new SYN with a challenge ACK (RFC 5961 §4: the
    old connection's SND.NXT and RCV.NXT); the client, in SYN-SENT, answers that unacceptable
    ACK with RST seq = SEG.ACK (RFC 9293 §3.10.7.3), which is exactly the server's RCV.NXT,
    so the server drops the old connection; the client's SYN retransmission (same ISN) then
    finds only the listener and opens the new connection normally. It comes about 10 ms
    later, not after the 1 s initial RTO: having sent that RST, Linux rearms the SYN timer to
    TCP_TIMEOUT_MIN (tcp_rcv_synsent_state_process: "Previous FIN/ACK or RST/ACK might be
    ignored")."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        old_task = spawn(serve_one, listener, answer_until_reset)
        sock = connect(tb, bind_port=REUSE_PORT)
        sock.sendall(REQUEST)
        recv_exact(sock, len(RESPONSE))
        time.sleep(PAUSE)
        tb.client.ns.nft(
            "table inet tcpcheck {\n"
            "  chain output {\n"
            "    type filter hook output priority 0;\n"
            "    tcp flags & rst == rst drop\n"
            "  }\n"
            "}\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        tb.client.ns.exec("nft", "delete", "table", "inet", "tcpcheck")
        still_held = tb.server.ns.exec("ss", "-Htn", "state", "established").strip()
        time.sleep(PAUSE)
        new_task = spawn(serve_one, listener, answer_then_await_fin)
        with connect(tb, bind_port=REUSE_PORT) as sock:
            sock.sendall(REQUEST)
            recv_exact(sock, len(RESPONSE))
            time.sleep(PAUSE)
        old_task.result()
        new_task.result()
    expect(f":{REUSE_PORT}" in still_held, f"the server must hold the old tuple: {still_held!r}")
    pkts = read_tcp(out)
    client = tb.client.ipv4
    syns = [p for p in pkts if p.flags == SYN]
    expect(len(syns) == 3 and syns[1].seq == syns[2].seq != syns[0].seq,
           f"expected a SYN, a new SYN and its retransmission: frames {frames(syns)}")
    new_syn = syns[1]
    between = [p for p in pkts if new_syn.frame < p.frame < syns[2].frame]
    expect(len(between) == 2, f"expected two segments before the retransmission: {between}")
    challenge, reset = between
    old = [p for p in pkts if p.frame < new_syn.frame]
    old_client_next = max((p for p in old if p.src == client), key=lambda p: p.frame).seg_end
    expect(challenge.src != client and challenge.pure and challenge.ack == old_client_next,
           "the server must answer the new SYN with an ACK of the old connection")
    expect(reset.src == client and reset.flags == RST and reset.seq == challenge.ack,
           "the client must answer the challenge ACK with RST seq = SEG.ACK")
    expect(not any(p.flags & RST for p in old), "the aborting RST must not reach the wire")
    handshake([p for p in pkts if p.frame >= syns[2].frame], client)
    held_text = " ".join(still_held.split()[2:4])
    return (f"first connection frames 1-{old[-1].frame} (the client's abort RST dropped "
            f"before the wire; ss at the server: {held_text}); new SYN frame {new_syn.frame}, "
            f"challenge ACK {challenge.frame} (ack {challenge.ack}), RST "
            f"{reset.frame} (seq {reset.seq}), SYN retransmission {syns[2].frame} "
            f"+{syns[2].ts - new_syn.ts:.2f} s; client FIN frame {fins(pkts)[0].frame}")


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


CI_PORT = 8080  # the service an integration-test run exercises
CI_CLOSED_PORT = 8081  # a port the tests expect to be closed
CI_STALL = 3.0  # seconds the service keeps one socket in CLOSE_WAIT
CI_IDLE = 1.5  # keepalive idle 1 s, interval 1 s: exactly one probe, 0.5 s from either edge


def by_client_port(pkts: list[Pkt], service_ports: set[int]) -> dict[int, list[Pkt]]:
    """The segments of each connection, keyed by the client's (OS-chosen) port, in the order
    the connections first appear."""
    conns: dict[int, list[Pkt]] = {}
    for p in pkts:
        conns.setdefault(p.sport if p.dport in service_ports else p.dport, []).append(p)
    return conns


def integration_run(out: Path) -> str:
    """What tcpdump sees on a CI runner while a test suite exercises a small service on port
    8080: six connections one after the other, each from a port the client's kernel picks.
    (1) request, response, the client closes first; (2) the same, but the service closes first;
    (3) the service answers, then aborts with SO_LINGER {1, 0} (RST); (4) a connect() to port
    8081, where nothing listens (refused); (5) a client with SO_KEEPALIVE (idle 1 s, interval
    1 s) idles 1.5 s after the response, so exactly one keepalive probe, then closes first;
    (6) request, response, the client closes, and the service keeps its socket in CLOSE_WAIT
    for 3 s before it closes. Registered twice (ci-run-1, ci-run-2): the two files differ only
    in ports, ISNs and timing, which is what baseline fingerprints must survive."""
    cw_states: dict[str, list[str]] = {}
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, CI_PORT) as listener:

        def exchange(conn: socket.socket) -> None:
            recv_exact(conn, len(REQUEST))
            conn.sendall(RESPONSE)

        def passive_close(conn: socket.socket) -> None:
            exchange(conn)
            expect(conn.recv(1) == b"", "expected the client's FIN")
            time.sleep(PAUSE)

        def active_close(conn: socket.socket) -> None:
            exchange(conn)
            time.sleep(PAUSE)  # the client's ACK of the response goes out on its own

        def abort(conn: socket.socket) -> None:
            exchange(conn)
            time.sleep(PAUSE)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        got_fin = threading.Event()

        def stall(conn: socket.socket) -> None:
            exchange(conn)
            expect(conn.recv(1) == b"", "expected the client's FIN")
            got_fin.set()
            time.sleep(CI_STALL)

        def client(handler: Callable[[socket.socket], None], *, keepalive: bool = False,
                   server_first: bool = False, reset: bool = False) -> None:
            task = spawn(serve_one, listener, handler)
            with contextlib.closing(tb.client.ns.socket()) as sock:
                if keepalive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
                sock.connect((tb.server.ipv4, CI_PORT))
                sock.sendall(REQUEST)
                recv_exact(sock, len(RESPONSE))
                if reset:
                    with contextlib.suppress(ConnectionResetError):
                        sock.recv(1)
                        raise ScenarioError("the client did not see the reset")
                    task.result()
                    return
                if server_first:
                    expect(sock.recv(1) == b"", "expected the service's FIN")
                time.sleep(CI_IDLE if keepalive else PAUSE)
            if handler is stall:
                expect(got_fin.wait(5), "the service never saw the FIN")
                time.sleep(CI_STALL / 2)
                cw_states["service close-wait"] = [
                    " ".join(line.split()[2:4]) for line in
                    tb.server.ns.exec("ss", "-Htn", "state", "close-wait").splitlines()]
                cw_states["client fin-wait-2"] = fin_wait_2(tb.client.ns)
            task.result()

        client(passive_close)
        client(active_close, server_first=True)
        client(abort, reset=True)
        with contextlib.closing(tb.client.ns.socket()) as sock:
            try:
                sock.connect((tb.server.ipv4, CI_CLOSED_PORT))
            except ConnectionRefusedError:
                pass
            else:
                raise ScenarioError("connect() to the closed port succeeded")
        client(passive_close, keepalive=True)
        client(stall)
        settle(tb)
    pkts = read_tcp(out)
    c, s = tb.client.ipv4, tb.server.ipv4
    conns = list(by_client_port(pkts, {CI_PORT, CI_CLOSED_PORT}).values())
    expect(len(conns) == 6, f"expected 6 connections, got {len(conns)}")
    ok, server_first, aborted, refused_, kept, stalled = conns
    for conn in (ok, server_first, aborted, kept, stalled):
        handshake(conn, c)
    for conn in (ok, server_first, kept, stalled):
        no_rst(conn)
        first, second = fins(conn)
        closer = s if conn is server_first else c
        expect(first.src == closer, f"the first FIN (frame {first.frame}) is not from {closer}")
        expect(conn[-1].src == closer and conn[-1].ack == second.seg_end,
               f"the active closer must ACK the second FIN last (frame {conn[-1].frame})")
    resets = [p for p in aborted if p.flags & RST]
    expect(len(resets) == 1 and resets[0].src == s and resets[0].has(RST | ACK),
           "expected one RST,ACK from the service")
    expect(not any(p.flags & FIN for p in aborted), "no FIN expected in the aborted one")
    expect(resets[0] == aborted[-1], "nothing may follow the RST")
    expect([p.flags for p in refused_] == [SYN, RST | ACK]
           and refused_[0].dport == CI_CLOSED_PORT and refused_[1].ack == refused_[0].seg_end,
           "the refused connection must be SYN, RST,ACK")
    found = probes(kept, c)
    expect(len(found) == 1, f"expected one keepalive probe, got {len(found)}")
    answer = next((q for q in kept if q.frame > found[0].frame and q.src == s), None)
    expect(answer is not None and answer.pure and answer.ack == (found[0].seq + 1) % SEQ_MOD,
           "the keepalive probe was not ACKed")
    response = next(p for p in kept if p.src == s and p.plen)
    first, second = fins(stalled)
    expect(CI_STALL - 0.5 < second.ts - first.ts < CI_STALL + 1, "the stall is not ~3 s")
    expect(all(cw_states.values()), f"ss: {cw_states}")
    spans = "; ".join(f"{conn[0].frame}-{conn[-1].frame}" for conn in conns)
    return (f"connections in frames {spans}; RST frame {resets[0].frame}; refused "
            f"{refused_[0].frame}-{refused_[1].frame}; keepalive probe frame {found[0].frame} "
            f"(+{found[0].ts - response.ts:.2f} s after the response), answer {answer.frame}; "
            f"close-wait: client FIN frame {first.frame}, service FIN frame {second.frame} "
            f"(+{second.ts - first.ts:.2f} s); ss: {cw_states}")


FLOOD_SOURCES = 100  # spoofed source addresses, 198.51.100.1-100 ...
FLOOD_PORTS = (40000, 40001)  # ... each sending from these two ports: 200 SYNs


def spoofed_syn(src: str, sport: int, dst: str, isn: int) -> bytes:
    """An IPv4 SYN as Linux sends one (MSS, SACK-permitted, timestamps, window scale), from
    a source address the sender does not own (dpkt fills in both checksums)."""
    opts = (struct.pack("!BBH", OPT_MSS, 4, 1460) + struct.pack("!BB", OPT_SACK_PERM, 2)
            + struct.pack("!BBII", OPT_TS, 10, isn >> 8, 0) + b"\x01"
            + struct.pack("!BBB", OPT_WSCALE, 3, 7))
    tcp = dpkt.tcp.TCP(sport=sport, dport=PORT, seq=isn, flags=SYN, win=64240, opts=opts)
    tcp.off = (20 + len(opts)) // 4
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP,
                    ttl=64, id=isn & 0xFFFF, data=tcp)
    ip.len = 20 + len(tcp)
    return bytes(ip)


@scenario("syn-flood")
def syn_flood(out: Path) -> str:
    """A SYN flood: 200 SYNs from 100 spoofed addresses in 198.51.100.0/24 (two ports each),
    sent through a raw socket in the client namespace, to a listener that never accepts. The
    server routes 198.51.100.0/24 back through the client, which does not forward: its
    SYN-ACKs are on the wire and never answered. The capture stops 0.5 s after the last SYN,
    before the first SYN-ACK retransmission (1 s)."""
    rng = random.Random(12)  # fixed ISNs: the same file on every run
    with recording(out) as tb:
        tb.server.ns.ip("route", "add", "198.51.100.0/24", "via", tb.client.ipv4)
        with tb.client.ns.entered():
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        listener = tb.server.ns.listen(tb.server.ipv4, PORT)
        with contextlib.closing(listener), contextlib.closing(raw):
            for port, host in itertools.product(FLOOD_PORTS, range(1, FLOOD_SOURCES + 1)):
                packet = spoofed_syn(f"198.51.100.{host}", port, tb.server.ipv4,
                                     rng.getrandbits(32))
                raw.sendto(packet, (tb.server.ipv4, 0))
            time.sleep(0.5)
    pkts = read_tcp(out)
    syns = [p for p in pkts if p.flags == SYN]
    synacks = [p for p in pkts if p.flags == SYN | ACK]
    expect(len(syns) == FLOOD_SOURCES * len(FLOOD_PORTS), f"{len(syns)} SYNs captured")
    expect(len({(p.src, p.sport) for p in syns}) == len(syns), "a SYN per source and port")
    answered = {(p.dst, p.dport) for p in synacks}
    expect(answered == {(p.src, p.sport) for p in syns}, "not every SYN got a SYN-ACK")
    expect(len(pkts) == len(syns) + len(synacks), "a segment other than SYN or SYN-ACK")
    span = syns[-1].ts - syns[0].ts
    return (f"{len(syns)} SYNs in {span * 1000:.1f} ms, {len(synacks)} SYN-ACKs, no ACK; "
            f"first SYN-ACK frame {synacks[0].frame}")


# Two names, one function: the same traffic recorded twice, into ci-run-1.pcap and ci-run-2.pcap.
SCENARIOS["ci-run-1"] = integration_run
SCENARIOS["ci-run-2"] = integration_run


# ---------------------------------------------------------------- main


def record_count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in dpkt.pcap.Reader(fh))


def main(argv: list[str] | None = None) -> int:
    # The reply-* scenarios (scripts/reply_captures.py) and injected-rst
    # (scripts/forged_captures.py) register themselves here; they reuse
    # this module's helpers, so that module imports this one.
    import forged_captures  # noqa: F401
    import reply_captures  # noqa: F401
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
    # One module whichever way it is reached: reply_captures imports "make_captures", and its
    # scenarios must land in this SCENARIOS and raise this ScenarioError.
    sys.modules["make_captures"] = sys.modules[__name__]
    sys.exit(main())
