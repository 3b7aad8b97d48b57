"""Record a connection whose reset a middlebox forged (issue 17): captures/linux/injected-rst.pcap.

The routed test bed (client <-> router <-> server, scripts/netns.py) with tcpdump on the
CLIENT's veth. The server answers the client's request with a first chunk, then, once the
router has forged a reset, goes on sending a chunk every 100 ms for a second, as a server that
never sent a reset does. scapy in the ROUTER's namespace forges, towards the client, an RST+ACK
in the server's name, built from what the capture shows of the quiet connection: <SEQ=the
server's SND.NXT><ACK=the client's SND.NXT>, so the client accepts it (RFC 9293 §3.10.7.4;
RFC 5961 §3.2: exactly RCV.NXT). The IP layer gives the forger away, as Weaver, Sommer and
Paxson describe for real injectors ("Detecting Forged TCP Reset Packets", NDSS 2009): the
router originates it with its own TTL, 64, where the server's segments arrive forwarded
through the router, with TTL 63; and its IP ID copies the client's last segment's, the one it
answers. The client's kernel accepts the reset (recv fails with ECONNRESET) and answers the
server's later chunks with <SEQ=SEG.ACK><CTL=RST> (§3.10.7.1), which resets the server.

make_captures.py runs this scenario with its own (``make captures``; ``--only injected-rst``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import dpkt
from make_captures import (
    ACK,
    FIN,
    PAUSE,
    PORT,
    REQUEST,
    RST,
    Pkt,
    expect,
    read_tcp,
    recording,
    recv_exact,
    scenario,
    serve_one,
)
from netns import Namespace, Testbed, spawn
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

CHUNK = b"x" * 1000
# The server keeps sending this many chunks, this far apart, after the forged reset.
LATER_CHUNKS, CHUNK_GAP = 10, 0.1
FORGER_TTL = 64  # what the router's own stack puts in a packet it originates


def ip_ids(path: Path) -> dict[int, tuple[int, int]]:
    """Frame -> (IP ID, TTL) of every IPv4 frame of an Ethernet pcap."""
    found = {}
    with open(path, "rb") as fh:
        for frame, (_, buf) in enumerate(dpkt.pcap.Reader(fh), start=1):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP):
                found[frame] = (ip.id, ip.ttl)
    return found


def forge(router: Namespace, packet: IP) -> None:
    """Send ``packet`` from a raw socket in the router's namespace: the router's kernel
    originates it (its own TTL), it does not forward it."""
    with router.entered():
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    with contextlib.closing(sock):
        sock.sendto(bytes(packet), (packet.dst, 0))


def keep_sending(forged: threading.Event):
    """Server side: the first chunk, then (once the reset is forged) a chunk every CHUNK_GAP;
    the client's kernel resets the connection, after which sending fails."""

    def serve(conn: socket.socket) -> None:
        recv_exact(conn, len(REQUEST))
        conn.sendall(CHUNK)
        expect(forged.wait(10), "the reset was never forged")
        with contextlib.suppress(OSError):  # ECONNRESET/EPIPE once the client's RST arrived
            for _ in range(LATER_CHUNKS):
                time.sleep(CHUNK_GAP)
                conn.sendall(CHUNK)
    return serve


class Quiet(NamedTuple):
    """The connection as the capture shows it when the forger strikes: both ends, their
    latest segments, and the (IP ID, TTL) of every frame so far."""

    me: tuple[str, int]
    server: tuple[str, int]
    c_last: Pkt
    s_last: Pkt
    fields: dict[int, tuple[int, int]]


def quiet(out: Path, sock: socket.socket) -> Quiet:
    """What ``out`` holds so far of the client socket ``sock``'s connection."""
    me, server = sock.getsockname(), sock.getpeername()
    pkts = read_tcp(out)
    return Quiet(me, server, [p for p in pkts if (p.src, p.sport) == me][-1],
                 [p for p in pkts if (p.src, p.sport) == server][-1], ip_ids(out))


def reset_race(out: Path, forge_reset: Callable[[Testbed, Quiet], int],
               prepare: Callable[[Testbed], None] | None = None) -> tuple[Quiet, int]:
    """The RST scenarios' connection: the request, the first chunk, the client's ACK of it;
    then ``forge_reset`` forges the reset (returning its IP ID), the client's kernel must
    accept it, and the server carries on (``keep_sending``)."""
    forged = threading.Event()
    with recording(out, routed=True, at="client", prepare=prepare) as tb, \
            tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        assert tb.router is not None
        task = spawn(serve_one, listener, keep_sending(forged))
        sock = tb.client.ns.socket()
        with contextlib.closing(sock):
            sock.connect((tb.server.ipv4, PORT))
            sock.sendall(REQUEST)
            recv_exact(sock, len(CHUNK))
            time.sleep(PAUSE)  # the client's ACK of the chunk is out: the connection is quiet
            now = quiet(out, sock)
            expect(now.c_last.ack == now.s_last.seg_end,
                   "the client has not acknowledged the chunk")
            copied = forge_reset(tb, now)
            forged.set()
            try:
                sock.recv(1)
                reset = False
            except ConnectionResetError:
                reset = True
            expect(reset, "the client's kernel did not accept the forged reset")
            task.result()
    return now, copied


def client_resets(pkts: list[Pkt], me: tuple[str, int], after: int) -> list[Pkt]:
    """The client's bare resets after frame ``after``: its kernel answering the server."""
    return [p for p in pkts if p.frame > after and (p.src, p.sport) == me
            and p.flags & RST and not p.flags & ACK]


@scenario("injected-rst")
def injected_rst(out: Path) -> str:
    def from_router(tb: Testbed, now: Quiet) -> int:
        copied = now.fields[now.c_last.frame][0]
        forge(tb.router, IP(src=now.server[0], dst=now.me[0], ttl=FORGER_TTL, id=copied,
                            flags="DF")
              / TCP(sport=now.server[1], dport=now.me[1], flags="RA", seq=now.s_last.seg_end,
                    ack=now.c_last.seg_end, window=0))
        return copied

    now, copied = reset_race(out, from_router)
    pkts = read_tcp(out)
    fields = ip_ids(out)
    rst = next(p for p in pkts if p.flags & RST and (p.src, p.sport) == now.server)
    expect(fields[rst.frame] == (copied, FORGER_TTL), "the forged reset was not captured as sent")
    later = [p for p in pkts if p.frame > rst.frame and (p.src, p.sport) == now.server and p.plen]
    expect(bool(later), "the server sent nothing after the forged reset")
    expect({fields[p.frame][1] for p in later} == {FORGER_TTL - 1},
           "the server's segments must arrive forwarded by the router (TTL 63)")
    answers = client_resets(pkts, now.me, rst.frame)
    expect(bool(answers), "the client's kernel did not answer the server's data with a reset")
    return (f"forged RST frame {rst.frame} (TTL {FORGER_TTL}, IP ID {copied:#06x} copies frame "
            f"{now.c_last.frame}); server data after it from frame {later[0].frame}; client "
            f"resets from frame {answers[0].frame}; {len(pkts)} frames")


BLOCK_PAGE = b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nblocked\n"
SERVER_DELAY = 0.3  # how long after the forgery the real server answers


def answer_late(forged: threading.Event):
    """Server side: the request, then (SERVER_DELAY after the forgery) a real response longer
    than the forged page, as a server that never sent a FIN: the client's kernel, which took
    the forged FIN and has closed, resets the connection on data beyond it (Linux's
    TCPAbortOnData; RFC 9293 §3.10.7.4 would have it ignored)."""

    def serve(conn: socket.socket) -> None:
        recv_exact(conn, len(REQUEST))
        expect(forged.wait(10), "the FIN was never forged")
        time.sleep(SERVER_DELAY)
        with contextlib.suppress(OSError):  # ECONNRESET once the client's RST arrived
            conn.sendall(CHUNK)
            time.sleep(1.0)
    return serve


@scenario("injected-fin")
def injected_fin(out: Path) -> str:
    """A middlebox answers the request with a block page and a FIN in the server's name
    before the server answers (the content injection Nakibly et al. measured, USENIX
    Security 2016): the router forges <SEQ=the server's SND.NXT><ACK=the client's
    SND.NXT><CTL=FIN,PSH,ACK> carrying BLOCK_PAGE, with its own TTL (64; the server's
    segments arrive with 63) and the IP ID of the request it answers. The client reads the
    page and EOF and closes; the real server's response then arrives at the sequence numbers
    the forged page took."""
    forged = threading.Event()
    with recording(out, routed=True, at="client") as tb, \
            tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        assert tb.router is not None
        task = spawn(serve_one, listener, answer_late(forged))
        sock = tb.client.ns.socket()
        with contextlib.closing(sock):
            sock.connect((tb.server.ipv4, PORT))
            sock.sendall(REQUEST)
            time.sleep(PAUSE)  # the server's ACK of the request is out
            me, server, c_last, s_last, fields = quiet(out, sock)
            expect(c_last.plen == len(REQUEST), "the request is not the client's last segment")
            expect(s_last.ack == c_last.seg_end, "the server has not acknowledged the request")
            copied = fields[c_last.frame][0]
            forge(tb.router, IP(src=server[0], dst=me[0], ttl=FORGER_TTL, id=copied, flags="DF")
                  / TCP(sport=server[1], dport=me[1], flags="FPA", seq=s_last.seg_end,
                        ack=c_last.seg_end, window=s_last.win) / BLOCK_PAGE)
            got = recv_exact(sock, len(BLOCK_PAGE))
            expect(got == BLOCK_PAGE and sock.recv(1) == b"",
                   "the client's kernel did not take the forged page and FIN")
        forged.set()  # the client has closed: the server answers now
        task.result()
        time.sleep(0.5)
    pkts = read_tcp(out)
    fields = ip_ids(out)
    fin = next(p for p in pkts if p.flags & FIN and (p.src, p.sport) == server)
    expect(fields[fin.frame] == (copied, FORGER_TTL), "the forged FIN was not captured as sent")
    later = [p for p in pkts if p.frame > fin.frame and (p.src, p.sport) == server and p.plen]
    expect(any(p.seq == fin.seq for p in later),
           "the server's response did not take the forged page's sequence numbers")
    expect({fields[p.frame][1] for p in later} == {FORGER_TTL - 1},
           "the server's segments must arrive forwarded by the router (TTL 63)")
    resets = [p for p in pkts if p.frame > fin.frame and (p.src, p.sport) == me and p.flags & RST]
    return (f"forged FIN frame {fin.frame} ({len(BLOCK_PAGE)} bytes, TTL {FORGER_TTL}, IP ID "
            f"{copied:#06x} copies frame {c_last.frame}); server response from frame "
            f"{later[0].frame}; client resets at {[p.frame for p in resets]}; "
            f"{len(pkts)} frames")


# The routed bed's veths get fixed MACs for injected-rst-mac, so the file and its README row
# name the same addresses whenever it is made (the kernel picks random ones otherwise).
CLIENT_MAC, ROUTER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:fe"
FORGER_MAC = "02:00:00:00:00:99"  # the on-LAN forger: no interface of the bed has it


def fixed_macs(tb: Testbed) -> None:
    """Give the client's veth and the router's client-facing one their ``*_MAC``."""
    assert tb.router is not None
    tb.client.ns.ip("link", "set", "dev", tb.client.ifname, "address", CLIENT_MAC)
    tb.router.ip("link", "set", "dev", tb.router_client_if, "address", ROUTER_MAC)


def forge_frame(ns: Namespace, ifname: str, frame: bytes) -> None:
    """Put the Ethernet ``frame`` on ``ifname`` as it is (an AF_PACKET socket in ``ns``):
    the kernel adds nothing, so its source MAC, TTL and IP ID are the forger's choice."""
    with ns.entered():
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((ifname, 0))
    with contextlib.closing(sock):
        sock.send(frame)


@scenario("injected-rst-mac")
def injected_rst_mac(out: Path) -> str:
    """captures/linux/injected-rst-mac.pcap: as injected-rst, but the forger is a device on
    the client's LAN with a MAC of its own, FORGER_MAC, that copies the server's TTL as the
    client sees it (63): only the link layer and the copied IP ID give it away. It sends its
    RST+ACK as a whole Ethernet frame on the router's client-facing veth, where every segment
    of the server arrives from the router's ROUTER_MAC."""
    def from_the_lan(tb: Testbed, now: Quiet) -> int:
        copied, server_ttl = now.fields[now.c_last.frame][0], now.fields[now.s_last.frame][1]
        forge_frame(tb.router, tb.router_client_if, bytes(
            Ether(src=FORGER_MAC, dst=CLIENT_MAC)
            / IP(src=now.server[0], dst=now.me[0], ttl=server_ttl, id=copied, flags="DF")
            / TCP(sport=now.server[1], dport=now.me[1], flags="RA", seq=now.s_last.seg_end,
                  ack=now.c_last.seg_end, window=0)))
        return copied

    now, copied = reset_race(out, from_the_lan, prepare=fixed_macs)
    return check_mac_forgery(out, now.me, now.server, copied)


def source_macs(path: Path) -> dict[int, str]:
    """Frame -> source MAC (Wireshark's eth.src) of every frame of an Ethernet pcap."""
    with open(path, "rb") as fh:
        return {frame: buf[6:12].hex(":")
                for frame, (_, buf) in enumerate(dpkt.pcap.Reader(fh), start=1)}


def check_mac_forgery(out: Path, me: tuple[str, int], server: tuple[str, int],
                      copied: int) -> str:
    """What injected-rst-mac.pcap must show before it is kept: the forged reset from the
    forger's MAC with the server's TTL, the server's data after it from the router's MAC,
    and the client's kernel answering that data with resets."""
    pkts, fields, macs = read_tcp(out), ip_ids(out), source_macs(out)
    rst = next(p for p in pkts if p.flags & RST and (p.src, p.sport) == server)
    own = [p for p in pkts if (p.src, p.sport) == server and p.frame != rst.frame]
    expect({macs[p.frame] for p in own} == {ROUTER_MAC}, "the server's segments must arrive "
           "from the router's MAC")
    expect({fields[p.frame][1] for p in own} == {fields[rst.frame][1]},
           "the forged reset must carry the server's own TTL")
    expect((macs[rst.frame], fields[rst.frame][0]) == (FORGER_MAC, copied),
           "the forged reset was not captured as sent")
    later = [p for p in own if p.frame > rst.frame and p.plen]
    expect(bool(later), "the server sent nothing after the forged reset")
    answers = client_resets(pkts, me, rst.frame)
    expect(bool(answers), "the client's kernel did not answer the server's data with a reset")
    return (f"forged RST frame {rst.frame} (MAC {FORGER_MAC}, TTL {fields[rst.frame][1]}, IP ID "
            f"{copied:#06x}); server data after it from frame {later[0].frame}; client resets "
            f"from frame {answers[0].frame}; {len(pkts)} frames")
