"""Inject TCP segments built with scapy into the test bed, from the client's side.

The helpers scripts/reply_captures.py provokes replies with: ``snapshot`` reads a quiet
connection's sequence state from the capture so far (tcpdump writes each packet as it captures
it), ``Injector`` sends a scapy segment through a raw socket in the client namespace, and
``ScriptedClient`` plays a whole TCP client segment by segment, learning what the server sent
from the capture. Everything is read from the capture, so what a scenario reports is what the
file holds.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dpkt
from make_captures import (
    ACK,
    FIN,
    OPT_TS,
    OPT_WSCALE,
    PORT,
    SEQ_MOD,
    SYN,
    Pkt,
    expect,
    read_tcp,
)
from netns import Namespace, Testbed
from scapy.layers.inet import IP, TCP


def seq_add(seq: int, n: int) -> int:
    return (seq + n) % SEQ_MOD


def ts_option(p: Pkt) -> tuple[int, int]:
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
        # Short: a ScriptedClient answers through this loop, and the server's tail loss probe
        # resends a segment left unacknowledged for about 10 ms (twice its tiny SRTT).
        time.sleep(0.001)


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

    def from_client(self, flags: str, seq: int, *, ack: int | None = None,
                    tsval: int | None = None) -> TCP:
        """A segment on this connection as the client sends one: its ports and window field,
        ACK = the server's SND.NXT and timestamps continuing its clock, echoing the server's
        last TSval (unless ``ack`` or ``tsval`` say otherwise)."""
        return TCP(sport=self.client[1], dport=self.server[1], flags=flags, seq=seq,
                   ack=self.server_nxt if ack is None else ack, window=self.client_win,
                   options=timestamps(self.tsval_now() if tsval is None else tsval,
                                      self.server_tsval))


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
    # The server's window field is scaled only if both SYNs carried the option (RFC 7323 §2.2).
    scale = synack.opt(OPT_WSCALE)
    shift = scale[0] if scale is not None and syn.opt(OPT_WSCALE) is not None else 0
    return Snapshot(pkts[-1].frame, client, server, c_last.seg_end, s_last.seg_end,
                    s_last.win << shift, c_last.win, ts_option(c_last)[0], c_last.ts,
                    ts_option(s_last)[0])


# ---------------------------------------------------------------- sending from the client side


def timestamps(value: int, echo: int) -> list[tuple[str, object]]:
    """The timestamps option as Linux lays it out on a segment other than a SYN."""
    return [("NOP", None), ("NOP", None), ("Timestamp", (value, echo))]


def syn_options(value: int) -> list[tuple[str, object]]:
    """A Linux SYN's options: MSS 1460, SACK-permitted, timestamps (TSecr 0), window scale 7."""
    return [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (value, 0)), ("NOP", None),
            ("WScale", WSCALE)]


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


# ---------------------------------------------------------------- scapy as the whole client

SCRIPTED_ISN = 1_000_000
SYN_WINDOW, WINDOW, WSCALE = 64240, 502, 7  # what Linux sends: 502 << 7 = 64256


def drop_kernel_resets(ns: Namespace, port: int) -> None:
    """The client namespace's kernel has no socket on scapy's port and would reset every
    segment the server sends there: drop those RSTs in its output hook (scapy never sends
    one, so nothing else matches)."""
    ns.nft("table inet reply {\n"
           "  chain output {\n"
           "    type filter hook output priority 0;\n"
           f"    tcp sport {port} tcp flags & rst == rst drop\n"
           "  }\n"
           "}\n")


class ScriptedClient:
    """A TCP client played segment by segment with scapy, from the client's own address.

    It sends through an Injector and learns what the server sent from the capture (every
    server segment after the last one it has consumed, in capture order); it keeps its own
    SND.NXT and RCV.NXT, the server's last TSval and window, and a timestamp clock of one tick
    a millisecond. Its port must have drop_kernel_resets.
    """

    def __init__(self, out: Path, inject: Injector, me: tuple[str, int],
                 server: tuple[str, int]) -> None:
        self.out, self.inject, self.me, self.server = out, inject, me, server
        self.snd_nxt, self.rcv_nxt = SCRIPTED_ISN, 0
        self.peer_tsval, self.peer_window, self.shift = 0, 0, 0
        self.seen = 0  # the last frame consumed
        self._clock0 = time.monotonic()

    def tsval(self) -> int:
        return 100_000 + int((time.monotonic() - self._clock0) * 1000)

    def send(self, flags: str, payload: bytes = b"", *, ack: int | None = None) -> Pkt:
        """Send a segment at SND.NXT (acknowledging RCV.NXT unless ``ack`` says otherwise),
        advance SND.NXT over it, and return it as captured."""
        if "S" in flags:
            segment = TCP(flags=flags, seq=self.snd_nxt, window=SYN_WINDOW,
                          options=syn_options(self.tsval()))
        else:
            segment = TCP(flags=flags, seq=self.snd_nxt, window=WINDOW,
                          ack=self.rcv_nxt if ack is None else ack,
                          options=timestamps(self.tsval(), self.peer_tsval))
        segment.sport, segment.dport = self.me[1], self.server[1]
        self.inject.send(self.me[0], self.server[0], segment / payload if payload else segment)
        captured = await_segment(self.out, sent(segment, self.me), self.seen)
        expect(captured is not None, f"scapy's {flags} segment never reached the capture")
        assert captured is not None
        self.snd_nxt = captured.seg_end
        return captured

    def receive(self, timeout: float = 3.0) -> Pkt:
        """The server's next segment to this client; takes in its data, FIN and TSval."""
        p = await_segment(self.out, from_peer(self.me), self.seen, timeout)
        expect(p is not None, f"the server sent nothing within {timeout} s after frame "
               f"{self.seen}")
        assert p is not None
        self.seen = p.frame
        if p.flags & SYN:
            self.rcv_nxt = p.seg_end
            scale = p.opt(OPT_WSCALE)
            self.shift = scale[0] if scale is not None else 0
        elif p.seq == self.rcv_nxt:
            self.rcv_nxt = p.seg_end
        if p.opt(OPT_TS) is not None:
            self.peer_tsval = ts_option(p)[0]
        self.peer_window = p.win if p.flags & SYN else p.win << self.shift
        return p

    def open(self) -> Pkt:
        """SYN, the server's SYN-ACK (returned); the caller sends the third segment."""
        self.send("S")
        synack = self.receive()
        expect(synack.flags == SYN | ACK and synack.ack == self.snd_nxt,
               f"frame {synack.frame} is not the SYN-ACK")
        return synack

    def read_until_data(self) -> Pkt:
        """Wait for the server's next data segment and ACK it."""
        while not (p := self.receive()).plen:
            pass
        self.send("A")
        return p

    def read_until_fin(self) -> list[Pkt]:
        """ACK every data segment and the FIN the server sends, until its FIN."""
        got = []
        while True:
            p = self.receive()
            got.append(p)
            if p.plen or p.flags & FIN:
                self.send("A")
            if p.flags & FIN:
                return got


def no_resends(pkts: list[Pkt], sender: tuple[str, int]) -> None:
    """Fail (so the scenario runs again) if ``sender`` sent data or a FIN twice: scapy, being
    slow, let a tail loss probe fire, and the file would not have its usual frames."""
    sent_once = [(p.seq, p.plen, p.flags & FIN) for p in pkts
                 if (p.src, p.sport) == sender and (p.plen or p.flags & FIN)]
    expect(len(sent_once) == len(set(sent_once)), f"{sender} resent a segment")


@contextlib.contextmanager
def scripted(out: Path, tb: Testbed, port: int) -> Iterator[ScriptedClient]:
    """A ScriptedClient on ``port`` of the client's address, talking to the server's PORT."""
    drop_kernel_resets(tb.client.ns, port)
    inject = Injector(tb.client.ns)
    with contextlib.closing(inject):
        yield ScriptedClient(out, inject, (tb.client.ipv4, port), (tb.server.ipv4, PORT))
