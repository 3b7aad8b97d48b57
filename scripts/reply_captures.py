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

The injection helpers are in scripts/inject.py. Where scapy plays the whole client
(``ScriptedClient``: the bad third ACK, the FIN into a zero window), it uses the client's own
address and a port outside the ephemeral range, and an nft rule in the client namespace's
output hook drops the RSTs its kernel sends from that port (it has no socket there and would
otherwise reset every segment the server sends to scapy's connection). A stray segment to a
closed port or a listener needs no such rule: the kernel never answers an RST.

After every provocation the receiver goes on sending, well past Linux's limits for such replies
(``tcp_invalid_ratelimit`` 500 ms between out-of-window or challenge ACKs per socket, 200 ms
delayed-ACK maximum): LATER (1 s) after it a new request and response (or, after a stray
segment, the stray again and then a normal connection), then a clean close. A copy of the file
with the reply deleted therefore still shows that receiver's later traffic.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inject import (
    SCRIPTED_ISN,
    SYN_WINDOW,
    WINDOW,
    Injector,
    ScriptedClient,
    Snapshot,
    await_segment,
    no_resends,
    scripted,
    sent,
    seq_add,
    snapshot,
    syn_options,
    timestamps,
)
from make_captures import (
    ACK,
    CLOSED_PORT,
    PAUSE,
    PORT,
    REQUEST,
    RESPONSE,
    RST,
    SEQ_MOD,
    SYN,
    Pkt,
    ScenarioError,
    answer_then_await_fin,
    connect,
    expect,
    read_tcp,
    recording,
    recv_exact,
    recv_to_eof,
    scenario,
    serve_one,
)
from netns import spawn
from scapy.layers.inet import TCP

# The receiver's later traffic comes this long after each provocation: beyond Linux's
# per-socket rate limit for out-of-window and challenge ACKs (tcp_invalid_ratelimit, 500 ms)
# and the delayed-ACK maximum (200 ms), so a missing reply cannot be excused by either.
LATER = 1.0
# How long a reply may take to reach the capture before a scenario says there is none.
REPLY_WAIT = 0.5
# scapy's own client ports: outside Linux's ephemeral range (32768-60999), so no kernel
# socket of the test bed ever uses them.
SCRIPTED_PORT = 30000


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
    expect(any((p.src, p.sport) == server and p.ts - provoking.ts > LATER - 0.1 for p in pkts),
           "no traffic from the server LATER after the provocation")
    expect(pkts[-1].src == client[0] and pkts[-1].pure, "the client's last ACK must end it")
    return Provoked(pkts, provoking, reply, snap)


def acked_at_once(run: Provoked, kind: str) -> str:
    """Check that the server's next segment is an immediate ACK <SEQ=SND.NXT><ACK=RCV.NXT>
    (the form of a challenge ACK and of the ACK for an unacceptable segment alike)."""
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
        return snap.from_client("RA", seq_add(snap.client_nxt, 1000))
    return acked_at_once(provoke(out, build), "challenge ACK")


@scenario("reply-syn-established")
def reply_syn_established(out: Path) -> str:
    """A SYN (new ISN 2^28 above RCV.NXT, Linux's SYN options) on the four-tuple of an
    established connection: Linux answers with a challenge ACK (RFC 5961 §4.2)."""
    def build(snap: Snapshot) -> TCP:
        return TCP(sport=snap.client[1], dport=snap.server[1], flags="S",
                   seq=seq_add(snap.client_nxt, 1 << 28), window=SYN_WINDOW,
                   options=syn_options(snap.tsval_now()))
    return acked_at_once(provoke(out, build), "challenge ACK")


@scenario("reply-data-beyond-window")
def reply_data_beyond_window(out: Path) -> str:
    """A request's bytes starting one MSS past the right edge of the server's advertised
    window (RCV.NXT + RCV.WND + 1448): wholly beyond it; Linux drops them and answers with an
    ACK (RFC 9293 §3.10.7.4, first check)."""
    def build(snap: Snapshot) -> TCP:
        return snap.from_client("PA", seq_add(snap.client_nxt, snap.server_wnd + 1448)) / REQUEST
    return acked_at_once(provoke(out, build), "ACK")


@scenario("reply-old-duplicate")
def reply_old_duplicate(out: Path) -> str:
    """The first request again, byte for byte at its own sequence number (wholly below the
    server's RCV.NXT, acknowledged long ago), with the current ACK and a current TSval: an
    old duplicate. Linux drops it and answers at once with an ACK carrying a D-SACK block for
    it (RFC 9293 §3.10.7.4 first check; RFC 2883)."""
    def build(snap: Snapshot) -> TCP:
        return snap.from_client("PA", seq_add(snap.client_nxt, -len(REQUEST))) / REQUEST
    return acked_at_once(provoke(out, build), "ACK")


@scenario("reply-ack-unsent")
def reply_ack_unsent(out: Path) -> str:
    """A pure ACK at RCV.NXT whose acknowledgment number is 1000 above the server's SND.NXT
    (it acknowledges data never sent). RFC 9293 §3.10.7.4 fifth and RFC 5961 §5.2: send an
    ACK and drop the segment. Linux 6.18 does exactly that: an immediate ACK
    <SEQ=SND.NXT><ACK=RCV.NXT> (older kernels dropped it silently, tcp_ack returning
    -SKB_DROP_REASON_TCP_ACK_UNSENT_DATA)."""
    def build(snap: Snapshot) -> TCP:
        return snap.from_client("A", snap.client_nxt, ack=seq_add(snap.server_nxt, 1000))
    return acked_at_once(provoke(out, build), "ACK")


@scenario("reply-paws")
def reply_paws(out: Path) -> str:
    """The second request's bytes at RCV.NXT, but with a TSval 1000 ticks below TS.Recent (the
    client's last TSval): the segment fails PAWS. Linux drops it and answers at once with an
    ACK <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 7323 §5.3 R1); LATER the client's own copy of the
    same bytes is accepted. Had Linux accepted the injected copy, the stream would still be
    the same bytes."""
    def build(snap: Snapshot) -> TCP:
        return snap.from_client("PA", snap.client_nxt,
                                tsval=seq_add(snap.client_tsval, -1000)) / REQUEST
    return acked_at_once(provoke(out, build), "ACK")


@scenario("reply-bad-third-ack")
def reply_bad_third_ack(out: Path) -> str:
    """scapy plays the client (port 30006): SYN, the server's SYN-ACK, then a third segment
    whose ACK is 1000 above the server's ISN + 1. Linux, in SYN-RECEIVED, answers with
    <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.4 fifth) and keeps the request: its SYN-ACK
    timer resends the SYN-ACK about 1 s later. scapy then completes the handshake properly,
    sends the request, reads the response and closes first."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        task = spawn(serve_one, listener, answer_then_await_fin)
        with scripted(out, tb, SCRIPTED_PORT + 6) as client:
            synack = client.open()
            bad = client.send("A", ack=seq_add(client.rcv_nxt, 1000))
            reset = client.receive()
            again = client.receive()
            expect(again.flags == SYN | ACK and again.seq == synack.seq,
                   f"frame {again.frame} is not the SYN-ACK retransmission")
            client.send("A")
            client.send("PA", REQUEST)
            client.read_until_data()
            time.sleep(PAUSE)
            client.send("FA")
            client.read_until_fin()
        task.result()
    no_resends(read_tcp(out), client.server)
    expect(reset.flags == RST and reset.seq == bad.ack,
           f"frame {reset.frame} is not <SEQ=SEG.ACK><CTL=RST>")
    return (f"provoking frame {bad.frame} (ack ISN + 1001); RST frame {reset.frame} "
            f"(seq {reset.seq}, flags 0x{reset.flags:02x}, +{(reset.ts - bad.ts) * 1000:.1f} "
            f"ms); SYN-ACK retransmission frame {again.frame} (+{again.ts - bad.ts:.2f} s); "
            f"{len(read_tcp(out))} frames")


# ---------------------------------------------------------------- a stray segment, twice


STRAY_ACK = 0x2000_0000  # the acknowledgment number of the stray segments: arbitrary, fixed


def stray_then_connection(out: Path, port: int, dport: int, flags: str,
                          payload: bytes) -> tuple[list[Pkt], list[Pkt]]:
    """The same stray segment from the client's address and ``port`` (no connection there)
    to the server's ``dport``, twice LATER apart; LATER after the second, a normal connection
    from the client to the listener (request, response, client-first close), so the capture
    shows the server host answering that client afterwards. Returns the whole capture and the
    two stray segments as captured."""
    with recording(out) as tb, tb.server.ns.listen(tb.server.ipv4, PORT) as listener:
        me = (tb.client.ipv4, port)
        inject = Injector(tb.client.ns)
        strays = []
        with contextlib.closing(inject):
            for _ in range(2):
                segment = TCP(sport=port, dport=dport, flags=flags, seq=SCRIPTED_ISN,
                              ack=STRAY_ACK, window=WINDOW, options=timestamps(
                                  int(time.monotonic() * 1000) % SEQ_MOD, 0x1000))
                last = strays[-1].frame if strays else 0
                inject.send(me[0], tb.server.ipv4, segment / payload if payload else segment)
                captured = await_segment(out, sent(segment, me), last)
                expect(captured is not None, "the stray segment never reached the capture")
                assert captured is not None
                strays.append(captured)
                time.sleep(LATER)
        task = spawn(serve_one, listener, answer_then_await_fin)
        with connect(tb) as sock:
            exchange(sock)
            time.sleep(PAUSE)
        task.result()
    pkts = read_tcp(out)
    for stray in strays:
        reply = next((p for p in pkts if p.frame > stray.frame), None)
        expect(reply is not None and reply.flags == RST and reply.seq == STRAY_ACK
               and (reply.dst, reply.dport) == me,
               f"frame {stray.frame} is not answered with <SEQ=SEG.ACK><CTL=RST>")
    return pkts, strays


def describe_strays(pkts: list[Pkt], strays: list[Pkt]) -> str:
    replies = [next(p for p in pkts if p.frame > s.frame) for s in strays]
    pairs = ", ".join(f"stray {s.frame} -> RST {r.frame} (seq {r.seq}, flags 0x{r.flags:02x}, "
                      f"+{(r.ts - s.ts) * 1000:.2f} ms)"
                      for s, r in zip(strays, replies, strict=True))
    return f"{pairs}; connection frames {replies[-1].frame + 1}-{pkts[-1].frame}"


@scenario("reply-closed-port")
def reply_closed_port(out: Path) -> str:
    """A request's bytes with ACK (seq 1000000, ack 0x20000000) from the client's port 30007
    to the server's port 8001, where nothing listens, sent twice 1 s apart: Linux answers each
    with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1, the segment had ACK). 1 s later a normal
    connection from the client to port 8000."""
    return describe_strays(*stray_then_connection(out, SCRIPTED_PORT + 7, CLOSED_PORT, "PA",
                                                  REQUEST))


@scenario("reply-ack-to-listener")
def reply_ack_to_listener(out: Path) -> str:
    """A bare ACK (seq 1000000, ack 0x20000000; no SYN ever sent) from the client's port 30008
    to the listener on port 8000, twice 1 s apart: Linux answers each with
    <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.2). 1 s later a normal connection from the
    client to that listener."""
    return describe_strays(*stray_then_connection(out, SCRIPTED_PORT + 8, PORT, "A", b""))


# ---------------------------------------------------------------- a FIN into a zero window


def fill_window(client: ScriptedClient) -> Pkt:
    """Send the server exactly what its window allows, MSS by MSS, until it advertises a zero
    window with everything acknowledged (so nothing is left unsent); return that ACK."""
    for _ in range(50):
        space = client.peer_window
        while space > 0:
            client.send("PA", b"x" * min(space, 1448))
            space -= min(space, 1448)
        while (p := client.receive()).ack != client.snd_nxt:
            pass
        if p.win == 0:
            return p
    raise ScenarioError("the server's window never closed")


@scenario("reply-fin-zero-window")
def reply_fin_zero_window(out: Path) -> str:
    """scapy plays the client (port 30009) against a server that does not read: its listening
    socket has SO_RCVBUF 4096 (the kernel makes it 8192, no autotuning). scapy sends exactly
    what the window allows until the server's ACK shows a zero window with everything
    acknowledged, waits PAUSE, then sends a bare FIN at RCV.NXT into the zero window. RFC 9293
    §3.10.7.4: not acceptable (zero window, SEG.LEN 1 for the FIN), drop it and ACK
    <SEQ=SND.NXT><ACK=RCV.NXT>. Linux 6.18 accepts a bare FIN into a zero window
    (tcp_data_queue: "Some stacks are known to send bare FIN packets in a loop even if we send
    RWIN 0 in our ACK"): its ACK covers the FIN. LATER the application reads to EOF, answers and
    closes; scapy ACKs the response and the server's FIN."""
    resume = threading.Event()

    def server(conn: socket.socket) -> None:
        expect(resume.wait(30), "never resumed")
        recv_to_eof(conn)
        conn.sendall(RESPONSE)

    with (recording(out) as tb,
          tb.server.ns.listen(tb.server.ipv4, PORT, rcvbuf=4096) as listener):
        task = spawn(serve_one, listener, server)
        with scripted(out, tb, SCRIPTED_PORT + 9) as client:
            client.open()
            client.send("A")
            zero = fill_window(client)
            time.sleep(PAUSE)
            fin = client.send("FA")
            reply = client.receive()
            time.sleep(LATER)
            resume.set()
            after = client.read_until_fin()
        task.result()
    no_resends(read_tcp(out), client.server)
    expect(reply.pure and reply.ack == fin.seg_end,
           f"frame {reply.frame} does not acknowledge the FIN: Linux no longer accepts it")
    expect(any(p.plen for p in after), "no response after the FIN")
    return (f"zero window frame {zero.frame}; provoking FIN frame {fin.frame}; ACK covering it "
            f"frame {reply.frame} (ack {reply.ack} = FIN + 1, window {reply.win}, "
            f"+{(reply.ts - fin.ts) * 1000:.1f} ms); the server's later traffic from frame "
            f"{after[0].frame} (+{after[0].ts - fin.ts:.2f} s); {len(read_tcp(out))} frames")
