"""Provoke, against a real Linux socket, each reply a TCP receiver owes (issue 14).

Every scenario records ``captures/linux/reply-NAME.pcap`` at the SERVER's veth, the receiver
being judged: scapy builds the provoking segment, a raw socket (``IPPROTO_RAW``) in the client
namespace sends it, and tcpdump records the server kernel's real answer. make_captures.py runs
these scenarios with its own (``make captures``; ``--only reply-NAME`` redoes one).

Where a real connection exists (a real client socket and a real server socket), the injected
segment is built from the values the capture shows so far: the client's SND.NXT (all of it
acknowledged, so it is the server's RCV.NXT), the server's SND.NXT, the window the server last
advertised, and a TSval that continues the client's timestamp clock (its last TSval plus the
milliseconds since). The connection is quiet when the snapshot is taken (PAUSE after the last
segment, longer than a delayed ACK), so those values are exact.

Where scapy plays the whole client (``ScriptedClient``), it uses the client's own address and a
port outside the ephemeral range, and an nft rule in the client namespace's output hook drops
the RSTs its kernel sends from that port (it has no socket there and would otherwise reset
every segment the server sends to scapy's connection). A stray segment to a closed port or a
listener needs no such rule: the kernel never answers an RST.

After every provocation the receiver goes on sending, well past Linux's limits for such replies
(``tcp_invalid_ratelimit`` 500 ms between out-of-window or challenge ACKs per socket, 200 ms
delayed-ACK maximum): LATER (1 s) after it a new request and response, then a clean close. A
copy of the file with the reply deleted therefore still shows that receiver's later traffic.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dpkt
from make_captures import (
    ACK,
    OPT_TS,
    OPT_WSCALE,
    PAUSE,
    PORT,
    REQUEST,
    RESPONSE,
    SEQ_MOD,
    SYN,
    Pkt,
    connect,
    expect,
    read_tcp,
    recording,
    recv_exact,
    scenario,
    serve_one,
)
from netns import Namespace, spawn
from scapy.layers.inet import IP, TCP

# The receiver's later traffic comes this long after each provocation: beyond Linux's
# per-socket rate limit for out-of-window and challenge ACKs (tcp_invalid_ratelimit, 500 ms)
# and the delayed-ACK maximum (200 ms), so a missing reply cannot be excused by either.
LATER = 1.0
# How long a reply may take to reach the capture before a scenario says there is none.
REPLY_WAIT = 0.5
# scapy's own client ports: outside Linux's ephemeral range (32768-60999), so no kernel
# socket of the test bed ever uses them.
SCRIPTED_PORT = 30000
SCRIPTED_ISN = 1_000_000


def seq_add(seq: int, n: int) -> int:
    return (seq + n) % SEQ_MOD


def tsval(p: Pkt) -> tuple[int, int]:
    """(TSval, TSecr) of a segment that carries the timestamps option."""
    data = p.opt(OPT_TS)
    expect(data is not None, f"frame {p.frame} has no timestamps")
    assert data is not None
    return struct.unpack("!II", data)


# ---------------------------------------------------------------- the capture so far


def capture_so_far(out: Path) -> list[Pkt]:
    """The segments tcpdump has written so far (it writes each packet as it captures it; a
    record still being written is simply left for the next read)."""
    try:
        return read_tcp(out)
    except (dpkt.NeedData, dpkt.UnpackError, ValueError):
        return []


def await_segment(out: Path, match: Callable[[Pkt], bool], after: int,
                  timeout: float = 3.0) -> Pkt | None:
    """The first segment after frame ``after`` that ``match``es, once the capture holds it;
    None if none does within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((p for p in capture_so_far(out) if p.frame > after and match(p)), None)
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


@dataclass(frozen=True)
class Snapshot:
    """What the capture shows of a quiet connection: each side's SND.NXT and last TSval, the
    window the server last advertised (scaled), and the client's last window field."""

    last_frame: int
    client: tuple[str, int]
    server: tuple[str, int]
    client_nxt: int
    server_nxt: int
    server_wnd: int
    client_win: int
    client_tsval: int
    client_ts_at: float
    server_tsval: int

    def tsval_now(self) -> int:
        """A TSval continuing the client's timestamp clock (one tick a millisecond) now: never
        below TS.Recent, so the injected segment passes PAWS unless a scenario wants it not to."""
        return seq_add(self.client_tsval, int((time.time() - self.client_ts_at) * 1000))


def snapshot(out: Path, client: tuple[str, int], server: tuple[str, int]) -> Snapshot:
    """The state of the connection client -> server in the capture so far; it must be quiet,
    with everything each side sent acknowledged."""
    pkts = [p for p in capture_so_far(out) if {(p.src, p.sport), (p.dst, p.dport)}
            == {client, server}]
    c_side = [p for p in pkts if (p.src, p.sport) == client]
    s_side = [p for p in pkts if (p.src, p.sport) == server]
    syn, synack = c_side[0], s_side[0]
    expect(syn.flags == SYN and synack.flags == SYN | ACK, "the capture must start the handshake")
    c_last, s_last = c_side[-1], s_side[-1]
    expect(s_last.ack == c_last.seg_end and c_last.ack == s_last.seg_end,
           f"not quiet at frame {pkts[-1].frame}: something is unacknowledged")
    both_scale = syn.opt(OPT_WSCALE) is not None and synack.opt(OPT_WSCALE) is not None
    shift = synack.opt(OPT_WSCALE)[0] if both_scale else 0  # type: ignore[index]
    return Snapshot(pkts[-1].frame, client, server, c_last.seg_end, s_last.seg_end,
                    s_last.win << shift, c_last.win, tsval(c_last)[0], c_last.ts,
                    tsval(s_last)[0])


# ---------------------------------------------------------------- sending from the client side


def timestamps(value: int, echo: int) -> list[tuple[str, object]]:
    """The timestamps option as Linux lays it out on a segment other than a SYN."""
    return [("NOP", None), ("NOP", None), ("Timestamp", (value, echo))]


class Injector:
    """A raw IPv4 socket in the client namespace: sends what scapy built, routed by the
    namespace's kernel (so the frame leaves through the client's veth like its own)."""

    def __init__(self, ns: Namespace) -> None:
        with ns.entered():
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def send(self, src: str, dst: str, segment: TCP) -> TCP:
        packet = IP(src=src, dst=dst, ttl=64, flags="DF") / segment
        self._sock.sendto(bytes(packet), (dst, 0))
        return segment

    def close(self) -> None:
        self._sock.close()


def sent(segment: TCP, src: tuple[str, int]) -> Callable[[Pkt], bool]:
    """Matches the captured copy of an injected segment."""
    return lambda p: ((p.src, p.sport) == src and p.seq == segment.seq
                      and p.flags == int(segment.flags) and p.ack == segment.ack)


def from_peer(to: tuple[str, int]) -> Callable[[Pkt], bool]:
    """Matches any segment sent to ``to``."""
    return lambda p: (p.dst, p.dport) == to


# ---------------------------------------------------------------- a provoked conversation


@dataclass(frozen=True)
class Provoked:
    """A real connection with one injected segment: the whole capture, the injected segment
    as captured, and the server's first segment after it (its reply, or its later traffic)."""

    pkts: list[Pkt]
    provoking: Pkt
    next_from_server: Pkt
    snap: Snapshot

    def describe(self, what: str) -> str:
        p, r = self.provoking, self.next_from_server
        return (f"provoking frame {p.frame}; {what} frame {r.frame} "
                f"(+{(r.ts - p.ts) * 1000:.1f} ms, seq {r.seq}, ack {r.ack}, "
                f"flags 0x{r.flags:02x}); {len(self.pkts)} frames")


def answer_twice_then_await_fin(conn: socket.socket) -> None:
    """Server side: answer two requests, wait for the client's FIN, then PAUSE before
    closing (so the ACK of that FIN and the server's own FIN are separate segments)."""
    for _ in range(2):
        recv_exact(conn, len(REQUEST))
        conn.sendall(RESPONSE)
    expect(conn.recv(1) == b"", "expected the client's FIN")
    time.sleep(PAUSE)


def exchange(sock: socket.socket) -> None:
    sock.sendall(REQUEST)
    recv_exact(sock, len(RESPONSE))


def provoke(out: Path, build: Callable[[Snapshot], TCP]) -> Provoked:
    """A real connection: request and response; PAUSE; the segment ``build`` makes from the
    snapshot, injected as if from the client; LATER, a second request and response; a
    client-first close. Returns the capture with the injected segment and what followed."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        task = spawn(serve_one, listener, answer_twice_then_await_fin)
        inject = Injector(tb.client.ns)
        with contextlib.closing(inject), connect(tb) as sock:
            exchange(sock)
            time.sleep(PAUSE)
            client, server = sock.getsockname(), sock.getpeername()
            snap = snapshot(out, client, server)
            segment = inject.send(client[0], server[0], build(snap))
            provoking = await_segment(out, sent(segment, client), snap.last_frame)
            expect(provoking is not None, "the injected segment never reached the capture")
            time.sleep(LATER)
            exchange(sock)
            time.sleep(PAUSE)
        task.result()
    pkts = read_tcp(out)
    assert provoking is not None
    reply = next((p for p in pkts if p.frame > provoking.frame and (p.src, p.sport) == server),
                 None)
    expect(reply is not None, "the server sent nothing after the provocation")
    assert reply is not None
    expect(pkts[-1].src == client[0] and pkts[-1].pure, "the client's last ACK must end it")
    return Provoked(pkts, provoking, reply, snap)


def challenge_ack(run: Provoked, kind: str) -> str:
    """Check that the server's next segment is an immediate ACK <SEQ=SND.NXT><ACK=RCV.NXT>."""
    reply, snap = run.next_from_server, run.snap
    expect(reply.pure and reply.ts - run.provoking.ts < REPLY_WAIT,
           f"no immediate ACK after frame {run.provoking.frame}: frame {reply.frame}")
    expect((reply.seq, reply.ack) == (snap.server_nxt, snap.client_nxt),
           f"frame {reply.frame} is not <SEQ=SND.NXT><ACK=RCV.NXT>")
    return run.describe(kind)


@scenario("reply-rst-in-window")
def reply_rst_in_window(out: Path) -> str:
    """An RST,ACK 1000 bytes above the server's RCV.NXT, inside its window, on an established
    connection: Linux answers with a challenge ACK (RFC 5961 §3.2) and keeps the connection."""
    def build(snap: Snapshot) -> TCP:
        expect(snap.server_wnd > 1000, f"window {snap.server_wnd} too small")
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="RA",
                   seq=seq_add(snap.client_nxt, 1000), ack=snap.server_nxt, window=snap.client_win,
                   options=timestamps(snap.tsval_now(), snap.server_tsval))
    return challenge_ack(provoke(out, build), "challenge ACK")


@scenario("reply-syn-established")
def reply_syn_established(out: Path) -> str:
    """A SYN (new ISN 2^28 above RCV.NXT, Linux's SYN options) on the four-tuple of an
    established connection: Linux answers with a challenge ACK (RFC 5961 §4.2)."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="S",
                   seq=seq_add(snap.client_nxt, 1 << 28), window=64240,
                   options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (snap.tsval_now(), 0)),
                            ("NOP", None), ("WScale", 7)])
    return challenge_ack(provoke(out, build), "challenge ACK")


@scenario("reply-data-beyond-window")
def reply_data_beyond_window(out: Path) -> str:
    """A request's bytes starting one MSS past the right edge of the server's advertised
    window (RCV.NXT + RCV.WND + 1448): wholly beyond it; Linux drops them and answers with an
    ACK (RFC 9293 §3.10.7.4, first check)."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="PA",
                   seq=seq_add(snap.client_nxt, snap.server_wnd + 1448), ack=snap.server_nxt,
                   window=snap.client_win,
                   options=timestamps(snap.tsval_now(), snap.server_tsval)) / REQUEST
    return challenge_ack(provoke(out, build), "ACK")


@scenario("reply-old-duplicate")
def reply_old_duplicate(out: Path) -> str:
    """The first request again, byte for byte at its own sequence number (wholly below the
    server's RCV.NXT, acknowledged long ago), with the current ACK and a current TSval: an
    old duplicate. Linux drops it and answers at once with an ACK carrying a D-SACK block for
    it (RFC 9293 §3.10.7.4 first check; RFC 2883)."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="PA",
                   seq=seq_add(snap.client_nxt, -len(REQUEST)), ack=snap.server_nxt,
                   window=snap.client_win,
                   options=timestamps(snap.tsval_now(), snap.server_tsval)) / REQUEST
    return challenge_ack(provoke(out, build), "ACK")


@scenario("reply-ack-unsent")
def reply_ack_unsent(out: Path) -> str:
    """A pure ACK at RCV.NXT whose acknowledgment number is 1000 above the server's SND.NXT
    (it acknowledges data never sent). RFC 9293 §3.10.7.4 fifth and RFC 5961 §5.2: send an
    ACK and drop the segment. Linux 6.18 does exactly that: an immediate ACK
    <SEQ=SND.NXT><ACK=RCV.NXT> (older kernels dropped it silently, tcp_ack returning
    -SKB_DROP_REASON_TCP_ACK_UNSENT_DATA)."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="A",
                   seq=snap.client_nxt, ack=seq_add(snap.server_nxt, 1000),
                   window=snap.client_win,
                   options=timestamps(snap.tsval_now(), snap.server_tsval))
    return challenge_ack(provoke(out, build), "ACK")


@scenario("reply-paws")
def reply_paws(out: Path) -> str:
    """The second request's bytes at RCV.NXT, but with a TSval 1000 ticks below TS.Recent (the
    client's last TSval): the segment fails PAWS. Linux drops it and answers at once with an
    ACK <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 7323 §5.3 R1); LATER the client's own copy of the
    same bytes is accepted. Had Linux accepted the injected copy, the stream would still be
    the same bytes."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="PA",
                   seq=snap.client_nxt, ack=snap.server_nxt, window=snap.client_win,
                   options=timestamps(seq_add(snap.client_tsval, -1000),
                                      snap.server_tsval)) / REQUEST
    return challenge_ack(provoke(out, build), "ACK")
