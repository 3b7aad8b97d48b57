"""Build the crafted single-rule captures in ``captures/crafted/``.

Each scenario is one small, fully deterministic TCP conversation written like a ladder diagram
(``c.syn()``, ``s.synack()``, ``c.ack()``, ...) and saved as ``NAME.pcap`` (classic microsecond
pcap, Ethernet/IPv4/TCP) beside ``NAME.expect.json``: what is wrong or right in it, the RFC section
that decides it, and exactly the findings tcpcheck must report, by rule slug and 1-based frame
number.
The frame numbers in the sidecars are the values the builder returned while writing the frames, so
they cannot drift from the capture. ``README.md`` (the table of scenarios) is generated too.

The captures look like Linux 6.x on a veth pair, seen half-way between the hosts: client
192.0.2.10:40000+n, server 198.51.100.20:80, 0.1 ms each way (0.2 ms RTT), TTL 64, DF, incrementing
IP IDs, SYN options MSS 1460 / SACK-permitted / timestamps / window scale 7, timestamps on every
later segment except RSTs (RFC 7323 §3.2), TSval a millisecond clock with a fixed per-host offset.
"Random" values (ISNs, timestamp offsets, first IP IDs) are fixed hashes of the scenario number.

Usage: ``python scripts/craft_captures.py [--only NAME] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import ipaddress
import json
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import dpkt

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "captures" / "crafted"

EPOCH = Decimal(1767225600)
"""2026-01-01T00:00:00Z, the time of every capture's first frame."""
SNAPLEN = 262144
ONE_WAY = 0.0001
"""Default gap between frames: 0.1 ms each way, a 0.2 ms round trip."""
APP = 0.0005
"""An application's reaction time (answering a request, closing after the last read)."""
SYN_RTO = 1.0
"""Initial retransmission timeout for a SYN or SYN-ACK (RFC 6298 §2.1, Linux TCP_TIMEOUT_INIT)."""
RTO = 0.2
"""Retransmission timeout once the RTT is known: Linux's tcp_rto_min, 200 ms."""
TIME_WAIT_REUSE_GAP = 5.0
"""Seconds between the end of a connection and the reuse of its four-tuple (Linux TIME_WAIT: 60)."""
KEEPALIVE_TIME = 7200.0
"""Idle seconds before the first keepalive probe (Linux tcp_keepalive_time, RFC 1122 §4.2.3.6)."""
LINUX_SYN_RETRANSMITS = (1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0)
"""When Linux 6.x retransmits an unanswered SYN, in seconds after the first: tcp_syn_retries 6 plus
tcp_syn_linear_timeouts 4, the first five timeouts 1 s, then doubling; it gives up at 131 s."""
LINUX_SYNACK_RETRANSMITS = (1.0, 3.0, 7.0, 15.0, 31.0)
"""When Linux retransmits an unanswered SYN-ACK, in seconds after the first (tcp_synack_retries 5);
it drops the request at 63 s."""

FIN, SYN, RST, PSH, ACK = (dpkt.tcp.TH_FIN, dpkt.tcp.TH_SYN, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH,
                           dpkt.tcp.TH_ACK)
SEQ_SPACE = 1 << 32
MSS = 1460
TS_OPTION_LEN = 12


def seq_add(seq: int, n: int) -> int:
    """``seq + n`` in the 32-bit sequence space."""
    return (seq + n) % SEQ_SPACE


def seq_before(a: int, b: int) -> bool:
    """True when sequence number ``a`` comes before ``b`` (serial-number arithmetic, RFC 1982)."""
    return a != b and (b - a) % SEQ_SPACE < SEQ_SPACE // 2


def opens(flags: int) -> bool:
    """True for SYN and SYN-ACK: the segments that carry SYN options and an unscaled window."""
    return flags & (SYN | FIN | RST) == SYN


def derived(label: str, bits: int = 32) -> int:
    """A fixed value that looks random: the top ``bits`` of SHA-256(label)."""
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big") >> (64 - bits)


@dataclass(frozen=True)
class Host:
    """One machine on the link: its MAC, IPv4 and IPv6 link-local addresses."""

    mac: bytes
    ip: bytes
    link_local: bytes


def _host(mac: str, ip: str, link_local: str) -> Host:
    """A Host from its textual addresses."""
    return Host(bytes.fromhex(mac.replace(":", "")), ipaddress.ip_address(ip).packed,
                ipaddress.ip_address(link_local).packed)


CLIENT = _host("02:00:c0:00:02:0a", "192.0.2.10", "fe80::c0ff:fe00:20a")
SERVER = _host("02:00:c6:33:64:14", "198.51.100.20", "fe80::c6ff:fe33:6414")
SERVER_PORT = 80


class Capture:
    """The frames of one pcap file, in file order, and the clock that stamps them."""

    def __init__(self) -> None:
        self.now_us = 0
        self.frames: list[tuple[int, bytes]] = []

    def wait(self, seconds: float) -> None:
        """Advance the clock."""
        self.now_us += round(seconds * 1_000_000)

    def record(self, frame: bytes) -> int:
        """Append a frame at the current time; return its 1-based frame number."""
        self.frames.append((self.now_us, frame))
        return len(self.frames)

    def arp(self, op: int, sender: Host, target: Host, *, after: float = ONE_WAY) -> int:
        """An ARP request (unicast, as Linux re-validates a stale neighbour) or reply."""
        self.wait(after)
        arp = dpkt.arp.ARP(op=op, sha=sender.mac, spa=sender.ip,
                           tha=target.mac if op == dpkt.arp.ARP_OP_REPLY else b"\x00" * 6,
                           tpa=target.ip)
        eth = dpkt.ethernet.Ethernet(src=sender.mac, dst=target.mac,
                                     type=dpkt.ethernet.ETH_TYPE_ARP, data=arp)
        return self.record(bytes(eth))

    def neighbour_solicitation(self, sender: Host, target: Host, *, after: float = ONE_WAY) -> int:
        """An ICMPv6 Neighbour Solicitation (RFC 4861 §4.3) to the target's solicited-node group."""
        self.wait(after)
        group = bytes.fromhex("ff0200000000000000000001ff") + target.link_local[-3:]
        source_link_layer = struct.pack("!BB6s", 1, 1, sender.mac)
        icmp = dpkt.icmp6.ICMP6(type=135, code=0,
                                data=b"\x00" * 4 + target.link_local + source_link_layer)
        ip6 = dpkt.ip6.IP6(src=sender.link_local, dst=group, nxt=dpkt.ip.IP_PROTO_ICMP6,
                           hlim=255, plen=len(icmp), data=icmp)
        eth = dpkt.ethernet.Ethernet(src=sender.mac, dst=b"\x33\x33" + group[-4:],
                                     type=dpkt.ethernet.ETH_TYPE_IP6, data=ip6)
        return self.record(bytes(eth))

    def pcap_bytes(self) -> bytes:
        """The capture as a classic microsecond pcap (LINKTYPE_ETHERNET), first frame at EPOCH."""
        buf = io.BytesIO()
        writer = dpkt.pcap.Writer(buf, snaplen=SNAPLEN, linktype=dpkt.pcap.DLT_EN10MB)
        origin_us = self.frames[0][0]
        for t_us, frame in self.frames:
            writer.writepkt(frame, ts=EPOCH + Decimal(t_us - origin_us) / 1_000_000)
        return buf.getvalue()


class Peer:
    """One endpoint of a flow: it builds the segments it sends from its own send/receive state.

    ``snd_nxt`` moves only for segments sent at ``snd_nxt`` (an explicit ``seq`` is a
    retransmission or a deliberate error and leaves it alone); the peer's ``rcv_nxt`` and timestamp
    echo move when a segment is delivered in order, and data delivered beyond ``rcv_nxt`` waits in
    its out-of-order queue (``held``, what its SACK blocks report) until the hole is filled.
    ``delivered=False`` is a segment the peer does not take in (lost after the capture point, or
    discarded as unacceptable); ``captured=False`` one the capture missed (received, never seen).
    The SYN options offered follow ``timestamps``, ``sack_ok`` and ``wscale`` (None: no window
    scale option); the window field is ``syn_window`` on SYN and SYN-ACK, ``window`` otherwise.
    """

    peer: Peer

    def __init__(self, cap: Capture, host: Host, port: int, isn: int, *, label: str,
                 timestamps: bool, syn_window: int, window: int) -> None:
        self.cap = cap
        self.host = host
        self.port = port
        self.isn = isn
        self.snd_nxt = isn
        self.rcv_nxt = 0
        self.timestamps = timestamps
        self.ts_offset = derived(f"{label}/ts")
        self.ts_recent = 0
        self.ip_id = derived(f"{label}/ip-id/{isn}", 16)
        self.syn_window = syn_window
        self.window = window
        self.sack_ok = True
        self.wscale: int | None = 7
        self.held: list[tuple[int, int]] = []
        self.zero_checksums = False
        """Record every TCP checksum as 0, as trace sanitisers leave them (the wire had them
        right: the segments are delivered)."""
        """Out-of-order data taken in, as [start, end) ranges, the most recently extended first."""

    def segment(self, flags: int, data: bytes = b"", *, seq: int | None = None,
                ack: int | None = None, window: int | None = None, tsval: int | None = None,
                sack: Sequence[tuple[int, int]] = (), tcp_options: bytes | None = None,
                extra_options: bytes = b"", after: float = ONE_WAY, captured: bool = True,
                delivered: bool = True, corrupt: bool = False) -> int:
        """Send one segment; return its frame number (0 when ``captured`` is False).

        ``seq`` defaults to ``snd_nxt``, ``ack`` to ``rcv_nxt`` when ACK is set (0 otherwise),
        ``window`` to this side's ``window`` (``syn_window`` on SYN and SYN-ACK, 0 on RST),
        ``tsval`` to the host's millisecond clock,
        the options to what Linux puts on such a segment, with ``sack`` blocks ([start, end)
        pairs) after the timestamps and ``extra_options`` at the end; ``tcp_options`` replaces
        them all. ``corrupt`` flips bits of the TCP checksum (the receiver discards the segment:
        pass ``delivered=False`` too).
        """
        self.cap.wait(after)
        if tsval is None:
            tsval = seq_add(self.ts_offset, self.cap.now_us // 1000)
        if seq is None:
            seq = self.snd_nxt
            self.snd_nxt = seq_add(seq, len(data) + bool(flags & SYN) + bool(flags & FIN))
        if ack is None:
            ack = self.rcv_nxt if flags & ACK else 0
        if tcp_options is None:
            tcp_options = self._options(flags, tsval) + self._sack(sack) + extra_options
        if window is None:
            window = 0 if flags & RST else self.syn_window if opens(flags) else self.window
        tcp = dpkt.tcp.TCP(sport=self.port, dport=self.peer.port, seq=seq, ack=ack, flags=flags,
                           win=window, opts=tcp_options, data=data)
        tcp.off = (20 + len(tcp_options)) // 4
        self.ip_id = (self.ip_id + 1) % 0x10000
        ip = dpkt.ip.IP(src=self.host.ip, dst=self.peer.host.ip, p=dpkt.ip.IP_PROTO_TCP, ttl=64,
                        id=self.ip_id, df=1, data=tcp)
        if delivered:
            self.peer._receive(flags, seq, len(data), tsval if self.timestamps else None)
        if not captured:
            return 0
        eth = dpkt.ethernet.Ethernet(src=self.host.mac, dst=self.peer.host.mac,
                                     type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        frame = bytes(eth)
        if corrupt:
            at = 14 + 20 + 16  # Ethernet, IPv4 without options, TCP checksum field
            frame = frame[:at] + bytes([frame[at] ^ 0x0F]) + frame[at + 1:]
        if self.zero_checksums:
            at = 14 + 20 + 16
            frame = frame[:at] + b"\0\0" + frame[at + 2:]
        return self.cap.record(frame)

    def _options(self, flags: int, tsval: int) -> bytes:
        """Linux's layout: SYN options on SYN and SYN-ACK, NOP NOP timestamps on the rest (a
        SYN+FIN is no handshake segment, it gets those too), none on RST."""
        if flags & RST:
            return b""
        if not opens(flags):
            return b"\x01\x01" + self._timestamp(tsval) if self.timestamps else b""
        mss, sack_ok = struct.pack("!BBH", 2, 4, MSS), b"\x04\x02" if self.sack_ok else b""
        wscale = b"" if self.wscale is None else b"\x01\x03\x03" + bytes([self.wscale])
        if self.timestamps:
            echo = bool(flags & ACK)
            return mss + (sack_ok or b"\x01\x01") + self._timestamp(tsval, echo=echo) + wscale
        return mss + (b"\x01\x01" + sack_ok if sack_ok else b"") + wscale

    @staticmethod
    def _sack(blocks: Sequence[tuple[int, int]]) -> bytes:
        """NOP NOP and a SACK option (RFC 2018 §3) with the given [left, right) blocks."""
        if not blocks:
            return b""
        edges = b"".join(struct.pack("!II", left, right) for left, right in blocks)
        return b"\x01\x01" + struct.pack("!BB", 5, 2 + len(edges)) + edges

    def _timestamp(self, tsval: int, *, echo: bool = True) -> bytes:
        """The timestamps option: TSval, and TS.Recent as TSecr unless on a bare SYN."""
        return struct.pack("!BBII", 8, 10, tsval, self.ts_recent if echo else 0)

    def ts_clock(self) -> int:
        """The TSval this host's timestamp clock shows now."""
        return seq_add(self.ts_offset, self.cap.now_us // 1000)

    def _receive(self, flags: int, seq: int, length: int, tsval: int | None) -> None:
        """Take in a delivered segment: advance ``rcv_nxt`` if it is in order (and over the data
        held out of order that it reaches), hold data beyond ``rcv_nxt``, note its TSval."""
        if flags & RST:
            return
        end = seq_add(seq, length + bool(flags & SYN) + bool(flags & FIN))
        if flags & SYN or (not seq_before(self.rcv_nxt, seq) and seq_before(self.rcv_nxt, end)):
            self.rcv_nxt = end
            self._drain()
        elif length and seq_before(self.rcv_nxt, seq):
            self._hold(seq, end)
        if tsval is not None:
            self.ts_recent = tsval

    def _hold(self, start: int, end: int) -> None:
        """Queue out-of-order data, merging it with the ranges it touches (that block first)."""
        for left, right in list(self.held):
            if not seq_before(right, start) and not seq_before(end, left):
                self.held.remove((left, right))
                start = left if seq_before(left, start) else start
                end = right if seq_before(end, right) else end
        self.held.insert(0, (start, end))

    def _drain(self) -> None:
        """Move ``rcv_nxt`` over the held ranges it has reached, and drop them."""
        reached = [r for r in self.held if not seq_before(self.rcv_nxt, r[0])]
        while reached:
            for left, right in reached:
                self.held.remove((left, right))
                if seq_before(self.rcv_nxt, right):
                    self.rcv_nxt = right
            reached = [r for r in self.held if not seq_before(self.rcv_nxt, r[0])]

    def syn(self, isn: int | None = None, **extra: Any) -> int:
        """SYN with the current ISN (a retransmission when repeated) or a new ``isn``."""
        return self._open(SYN, isn, **extra)

    def synack(self, **extra: Any) -> int:
        """SYN-ACK answering the peer's SYN (a retransmission when repeated)."""
        return self._open(SYN | ACK, None, **extra)

    def _open(self, flags: int, isn: int | None, **extra: Any) -> int:
        """SYN or SYN-ACK at the ISN, which ``isn`` replaces when given."""
        if isn is not None:
            self.isn = isn
        self.snd_nxt = seq_add(self.isn, 1)
        return self.segment(flags, seq=self.isn, **extra)

    def ack(self, **extra: Any) -> int:
        """A pure ACK."""
        return self.segment(ACK, **extra)

    def send(self, data: bytes, *, push: bool = True, **extra: Any) -> int:
        """A data segment (PSH,ACK; ACK only for a segment in the middle of a burst)."""
        return self.segment(ACK | PSH if push else ACK, data, **extra)

    def fin(self, data: bytes = b"", **extra: Any) -> int:
        """FIN,ACK, optionally riding on data (then FIN,PSH,ACK)."""
        return self.segment(FIN | ACK | PSH if data else FIN | ACK, data, **extra)

    def rst(self, seq: int, **extra: Any) -> int:
        """A bare RST at ``seq``: the answer to an unacceptable ACK (RFC 9293 §3.10.7)."""
        return self.segment(RST, seq=seq, **extra)


class Flow(NamedTuple):
    """The two ends of one connection; unpack as ``c, s = Flow.open(cap, n)``."""

    client: Peer
    server: Peer

    @classmethod
    def open(cls, cap: Capture, n: int, *, client_isn: int | None = None,
             server_isn: int | None = None, timestamps: bool = True,
             port: int | None = None) -> Flow:
        """Client 192.0.2.10:40000+n (or ``port``, for a scenario's further connections) and
        server 198.51.100.20:80, ISNs and timestamp offsets fixed hashes unless given."""
        c_label, s_label = (f"{n}/client", f"{n}/server") if port is None else (
            f"{n}/{port}/client", f"{n}/{port}/server")
        client = Peer(cap, CLIENT, 40000 + n if port is None else port,
                      derived(f"{c_label}/isn") if client_isn is None else client_isn,
                      label=c_label, timestamps=timestamps, syn_window=64240, window=502)
        server = Peer(cap, SERVER, SERVER_PORT,
                      derived(f"{s_label}/isn") if server_isn is None else server_isn,
                      label=s_label, timestamps=timestamps, syn_window=65160, window=509)
        client.peer, server.peer = server, client
        return cls(client, server)


def filler(size: int) -> bytes:
    """``size`` bytes of readable, deterministic payload."""
    line = b"tcpcheck crafted capture payload 0123456789\n"
    return (line * (size // len(line) + 1))[:size]


def request(path: str = "/") -> bytes:
    """A small HTTP GET."""
    return f"GET {path} HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n".encode()


def response(body_size: int) -> bytes:
    """An HTTP response with a ``body_size``-byte body."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
    return head % body_size + filler(body_size)


def handshake(c: Peer, s: Peer) -> None:
    """SYN, SYN-ACK, ACK."""
    c.syn()
    s.synack()
    c.ack()


def exchange(c: Peer, s: Peer, path: str = "/", size: int = 300) -> None:
    """The client asks, the server answers in one segment, the client acknowledges."""
    c.send(request(path))
    s.send(response(size), after=APP)
    c.ack()


def client_close(c: Peer, s: Peer) -> None:
    """Four-segment close with the client as the active closer (it ends in TIME_WAIT)."""
    c.fin(after=APP)
    s.ack()
    s.fin(after=APP)
    c.ack()


def upload(size: int) -> bytes:
    """An HTTP POST of exactly ``size`` bytes, headers included."""
    head = b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: %d\r\n\r\n"
    body = size - len(head % size)
    data = head % body + filler(body)
    assert len(data) == size
    return data


class Sent(NamedTuple):
    """One segment of a burst: where it starts and ends in the sequence space, its bytes and its
    frame (0 when the capture missed it)."""

    seq: int
    end: int
    data: bytes
    frame: int


def burst(sender: Peer, data: bytes, *, after: float = ONE_WAY, lost: tuple[int, ...] = (),
          missed: tuple[int, ...] = ()) -> list[Sent]:
    """Send ``data`` in MSS-sized segments 10 µs apart (the first ``after`` seconds from now), PSH
    on the last, with no ACKs in between; segment ``i`` (0-based) in ``lost`` is lost after the
    capture point, in ``missed`` lost before it (never captured, never delivered)."""
    size = MSS - (TS_OPTION_LEN if sender.timestamps else 0)
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    out = []
    for i, chunk in enumerate(chunks):
        seq = sender.snd_nxt
        frame = sender.send(chunk, push=i == len(chunks) - 1,
                            after=after if i == 0 else ONE_WAY / 10,
                            delivered=i not in lost and i not in missed, captured=i not in missed)
        out.append(Sent(seq, sender.snd_nxt, chunk, frame))
    return out


def transfer(sender: Peer, receiver: Peer, data: bytes, *, after: float = ONE_WAY) -> None:
    """Send ``data`` in MSS-sized segments back to back (the first ``after`` seconds from now);
    the receiver ACKs every second segment and the last."""
    size = MSS - (TS_OPTION_LEN if sender.timestamps else 0)
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    for i, chunk in enumerate(chunks, 1):
        sender.send(chunk, push=i == len(chunks), after=after if i == 1 else ONE_WAY / 10)
        if i % 2 == 0 or i == len(chunks):
            receiver.ack()


Mark = tuple[str, int]
"""A finding that must be reported: (rule slug, frame number)."""


@dataclass(frozen=True)
class Expect:
    """What one scenario's sidecar says; ``summary`` is its line in the README table."""

    summary: str
    description: str
    reference: str
    findings: tuple[Mark, ...] = ()
    info: tuple[Mark, ...] = ()

    def sidecar(self) -> dict[str, Any]:
        """The ``NAME.expect.json`` document."""
        return {"description": self.description, "reference": self.reference,
                "findings": [{"rule": r, "frame": f} for r, f in self.findings],
                "info": [{"rule": r, "frame": f} for r, f in self.info]}


ScenarioFn = Callable[[Capture, int], Expect]
SCENARIOS: dict[str, tuple[int, ScenarioFn]] = {}
"""Scenario name -> (n, builder); n fixes the client port 40000+n and the hashed values."""


def scenario(n: int) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a scenario under its function name, with underscores as hyphens."""
    def register(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS[fn.__name__.replace("_", "-")] = (n, fn)
        return fn
    return register


# --- handshake -------------------------------------------------------------------------------

@scenario(1)
def syn_isn_changed(cap: Capture, n: int) -> Expect:
    """SYN X (lost), 1 s later SYN Y on the same tuple, SYN-ACK for Y, data, close."""
    c, s = Flow.open(cap, n)
    first = c.syn(delivered=False)
    old_isn = c.isn
    second = c.syn(isn=seq_add(old_isn, 0x5A5A5A5A), after=SYN_RTO)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="a SYN 'retransmitted' 1 s later with a different ISN, nothing having ended the "
                "first attempt",
        description=f"Frame {first} is the client's SYN with ISN {old_isn}; it gets no answer "
                    f"(lost after the capture point). One RTO (1 s) later frame {second} is a SYN "
                    f"on the same four-tuple with ISN {c.isn}. No RST was seen, the retry budget "
                    "is nowhere near exhausted and the attempt is 1 s old, so the first attempt is "
                    "still live: a retransmitted SYN must carry the same ISN (RFC 9293 §3.5, "
                    "§3.8.1). The server answers the new ISN and the connection then runs "
                    "normally. Not a retransmission, since the sequence number differs.",
        reference="RFC 9293 §3.5",
        findings=(("syn-isn-changed", second),),
    )


@scenario(2)
def syn_new_attempt_after_rst(cap: Capture, n: int) -> Expect:
    """SYN X, RST,ACK (refused), 1 s later SYN Y: a new attempt, data, close."""
    c, s = Flow.open(cap, n)
    syn = c.syn()
    refused = s.segment(RST | ACK, seq=0)
    old_isn = c.isn
    retry = c.syn(isn=seq_add(old_isn, 0x3C0FFEE0), after=SYN_RTO)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="SYN refused by RST,ACK; 1 s later a SYN with a new ISN on the same tuple is a "
                "new attempt (healthy)",
        description=f"Frame {syn} is a SYN with ISN {old_isn}; the port is closed and the server "
                    f"answers with RST,ACK seq 0 ack ISN+1 in frame {refused} (RFC 9293 §3.5.2, "
                    "§3.10.7.1: the SYN carried no ACK). That reset ends the attempt, so the SYN "
                    f"in frame {retry}, 1 s later on the same four-tuple with ISN {c.isn}, is a "
                    "new connection attempt and a changed ISN is expected. It completes, "
                    "exchanges a request and a response and closes normally. No error or "
                    "warning.",
        reference="RFC 9293 §3.5.2",
        info=(("connection-reset", refused),),
    )


@scenario(3)
def synack_isn_changed(cap: Capture, n: int) -> Expect:
    """SYN, SYN-ACK A, ACK (lost), 1 s later SYN-ACK B, challenge ACK, data, close."""
    c, s = Flow.open(cap, n)
    c.syn()
    first = s.synack()
    lost_ack = c.ack(delivered=False)
    other_isn = seq_add(s.isn, 0x2468ACE0)
    # An explicit seq leaves the server's state on the first ISN, which the client acknowledged;
    # the client, ESTABLISHED, does not take the SYN in (delivered=False) but challenges it.
    second = s.segment(SYN | ACK, seq=other_isn, after=SYN_RTO, delivered=False)
    challenge = c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="the server's SYN-ACK retransmitted 1 s later with a different ISN",
        description=f"Frame {first} is the SYN-ACK with server ISN {s.isn}; the client "
                    f"acknowledges it (ack ISN+1) in frame {lost_ack}, but that ACK is lost after "
                    f"the capture point, so the server retransmits its SYN-ACK 1 s later in frame "
                    f"{second}, with ISN {other_isn} instead of the same ISN. A retransmitted "
                    "SYN-ACK must repeat the ISN (RFC 9293 §3.5, §3.8.1). The client, already "
                    "ESTABLISHED, answers the SYN with a challenge ACK (RFC 5961 §4) in frame "
                    f"{challenge} that still acknowledges the first ISN; the connection continues "
                    "in the sequence space of the first SYN-ACK and closes normally.",
        reference="RFC 9293 §3.5",
        findings=(("synack-isn-changed", second),),
    )


@scenario(4)
def synack_bad_ack(cap: Capture, n: int) -> Expect:
    """SYN X, SYN-ACK acking X+1000, the client's bare RST at X+1000."""
    c, s = Flow.open(cap, n)
    syn = c.syn()
    bad = s.synack(ack=seq_add(c.isn, 1000))
    reset = c.rst(seq=seq_add(c.isn, 1000))
    return Expect(
        summary="SYN-ACK acknowledging ISN+1000 instead of ISN+1; the client correctly resets",
        description=f"Frame {syn} is a SYN with ISN {c.isn}; the SYN-ACK in frame {bad} "
                    f"acknowledges {seq_add(c.isn, 1000)} = ISN+1000, but the only acceptable "
                    "acknowledgment in SYN-SENT is ISN+1 (SND.UNA < SEG.ACK =< SND.NXT). The "
                    f"client does what RFC 9293 §3.10.7.3 says: it sends a bare RST with "
                    f"seq = SEG.ACK (frame {reset}, no ACK flag) and discards the SYN-ACK. The "
                    "client's RST is correct; the capture ends there.",
        reference="RFC 9293 §3.10.7.3",
        findings=(("synack-bad-ack", bad),),
        info=(("connection-reset", reset),),
    )


@scenario(5)
def handshake_bad_ack(cap: Capture, n: int) -> Expect:
    """SYN, SYN-ACK A, ACK acking A+500, the server's bare RST at A+500."""
    c, s = Flow.open(cap, n)
    c.syn()
    synack = s.synack()
    bad = c.ack(ack=seq_add(s.isn, 500))
    reset = s.rst(seq=seq_add(s.isn, 500))
    return Expect(
        summary="third handshake segment acknowledges ISN+500 instead of ISN+1; the server "
                "correctly resets",
        description=f"The SYN-ACK in frame {synack} has server ISN {s.isn}. The client's ACK in "
                    f"frame {bad} acknowledges {seq_add(s.isn, 500)} = ISN+500, data the server "
                    "never sent; in SYN-RECEIVED only ISN+1 is acceptable. The server answers "
                    f"with a bare RST, seq = SEG.ACK, in frame {reset}, as RFC 9293 §3.10.7.4 "
                    "(SYN-RECEIVED, unacceptable ACK) requires; that RST is correct.",
        reference="RFC 9293 §3.10.7.4",
        findings=(("handshake-bad-ack", bad),),
        info=(("connection-reset", reset),),
    )


@scenario(6)
def simultaneous_open(cap: Capture, n: int) -> Expect:
    """Crossing SYNs, then a SYN-ACK from each side, data, close."""
    c, s = Flow.open(cap, n)
    c_syn = c.syn()
    s_syn = s.syn(after=ONE_WAY / 2)
    c_synack = c.synack(after=ONE_WAY / 2)
    s_synack = s.synack(after=ONE_WAY / 10)
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="both ends send SYN, the SYNs cross, each answers with SYN-ACK (healthy)",
        description=f"Simultaneous open, RFC 9293 §3.5 Figure 7: frames {c_syn} and {s_syn} are "
                    "the two SYNs crossing in flight (each side CLOSED -> SYN-SENT); each side "
                    "receives the other's SYN (-> SYN-RECEIVED) and sends SYN,ACK with its own "
                    f"ISN again and ack = peer ISN+1 (frames {c_synack} and {s_synack}); each "
                    "SYN-ACK acknowledges the other's SYN, so both reach ESTABLISHED without a "
                    "separate ACK. Data and a normal close follow. Every segment is conformant.",
        reference="RFC 9293 §3.5 Figure 7",
    )


@scenario(7)
def syn_retransmission(cap: Capture, n: int) -> Expect:
    """SYN X (lost), 1 s later SYN X again, then a normal connection."""
    c, s = Flow.open(cap, n)
    first = c.syn(delivered=False)
    again = c.syn(after=SYN_RTO)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="a lost SYN retransmitted after 1 s with the same ISN (healthy counterpart of "
                "syn-isn-changed)",
        description=f"The SYN in frame {first} is lost after the capture point; after the initial "
                    f"RTO of 1 s the client retransmits it in frame {again} with the same ISN "
                    f"{c.isn} (and a newer TSval), as RFC 9293 §3.8.1 and RFC 6298 §5 expect. The "
                    "server answers that SYN and the connection runs and closes normally.",
        reference="RFC 6298 §5",
        info=(("retransmission", again),),
    )


# --- flags and acknowledgments ---------------------------------------------------------------

@scenario(8)
def missing_ack_flag(cap: Capture, n: int) -> Expect:
    """Handshake, the request with PSH only (dropped), resent with PSH,ACK, close."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    seq, get = c.snd_nxt, request()
    bad = c.segment(PSH, get, delivered=False)
    resent = c.send(get, seq=seq, after=RTO)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="an established-state data segment with PSH but no ACK flag",
        description=f"After the handshake the client sends its request in frame {bad} with flags "
                    "PSH only. Every segment after the initial SYN must carry ACK (RFC 9293 §3.1, "
                    "Acknowledgment Number: 'once a connection is established, this is always "
                    "sent'); a receiver drops a segment without ACK (§3.10.7.4, fifth step). The "
                    "server therefore ignores it; the client retransmits the same bytes with "
                    f"PSH,ACK after 200 ms (frame {resent}) and the connection completes and "
                    "closes normally.",
        reference="RFC 9293 §3.10.7.4",
        findings=(("missing-ack-flag", bad),),
    )


@scenario(9)
def invalid_flag_combination(cap: Capture, n: int) -> Expect:
    """Established; SYN+FIN+ACK (challenged), later a null segment; close."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    syn_fin = c.segment(SYN | FIN | ACK, seq=c.snd_nxt, after=APP, delivered=False)
    challenge = s.ack()
    exchange(c, s, "/second")
    null = c.segment(0, seq=c.snd_nxt, after=APP, delivered=False)
    client_close(c, s)
    return Expect(
        summary="one segment with SYN+FIN+ACK and one with no flags at all in an established "
                "connection",
        description=f"Frame {syn_fin} carries SYN, FIN and ACK together at the client's next "
                    "sequence number: SYN opens and FIN closes, no conformant stack combines them "
                    "(a classic scan/evasion pattern; RFC 9293 §3.1). The server, ESTABLISHED, "
                    f"answers the in-window SYN with a challenge ACK (frame {challenge}, RFC 5961 "
                    f"§4) and discards it. Later frame {null} carries no flags at all (a 'null' "
                    "segment: no ACK, which every segment after the SYN must have); the server "
                    "drops it silently (§3.10.7.4). Apart from these two segments the connection "
                    "is healthy and closes normally.",
        reference="RFC 9293 §3.1",
        findings=(("invalid-flag-combination", syn_fin), ("invalid-flag-combination", null)),
    )


def _ack_unsent(cap: Capture, n: int, *, server_isn: int | None, first: int) -> Expect:
    """The server sends ``first`` bytes, the client ACKs ISN+3001, the server resumes at
    ISN+1+first."""
    c, s = Flow.open(cap, n, server_isn=server_isn)
    handshake(c, s)
    c.send(request())
    sent = s.send(filler(first), after=APP)
    bogus = seq_add(s.isn, 3001)
    bad = c.ack(ack=bogus)
    s.ack()
    more = s.send(filler(1000), after=APP)
    c.ack()
    client_close(c, s)
    wraps = " The ACK number has wrapped past 0 while the server's data has not: only " \
            "serial-number comparison sees that it is ahead, not behind." if server_isn else ""
    return Expect(
        summary="the client acknowledges 3000 bytes when the server has sent "
                f"{first}{' (ACK number wrapped past 0)' if server_isn else ''}",
        description=f"With server ISN {s.isn}, frame {sent} carries the server's first {first} "
                    f"bytes [ISN+1, ISN+{first + 1}). The client's ACK in frame {bad} "
                    f"acknowledges {bogus} = ISN+3001, beyond anything sent (SEG.ACK > SND.NXT). "
                    "The server treats it as RFC 9293 §3.10.7.4 says (send an ACK, drop the "
                    f"segment) and its next new data, frame {more}, starts at ISN+{first + 1}, "
                    "below the acknowledged number: proof those bytes were never sent, so this "
                    f"is not capture loss.{wraps} The connection then closes normally.",
        reference="RFC 9293 §3.10.7.4",
        findings=(("ack-unsent-data", bad),),
    )


@scenario(10)
def ack_unsent_data(cap: Capture, n: int) -> Expect:
    """The server sends 1000 bytes; the client ACKs ISN+3001."""
    return _ack_unsent(cap, n, server_isn=None, first=1000)


@scenario(11)
def ack_unsent_data_wrap(cap: Capture, n: int) -> Expect:
    """Server ISN 2^32-600 sends 500 bytes; the client ACKs ISN+3001 (past 0)."""
    return _ack_unsent(cap, n, server_isn=SEQ_SPACE - 600, first=500)


@scenario(12)
def ack_unseen_segment(cap: Capture, n: int) -> Expect:
    """Server segments 1 and 3 captured, 2 missed; the client ACKs segment 2."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    c.send(request())
    seen = s.send(filler(1000), push=False, after=APP)
    s.send(filler(1000), push=False, after=ONE_WAY / 10, captured=False)
    ack = c.ack()
    more = s.send(filler(1000), after=ONE_WAY)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="the client ACKs a server segment the capture missed (capture loss, not an error)",
        description=f"Frame {seen} carries server bytes [ISN+1, ISN+1001); the next 1000 bytes "
                    "[ISN+1001, ISN+2001) were sent but are not in the capture. The client's ACK "
                    f"in frame {ack} acknowledges ISN+2001, and the server's next new data, frame "
                    f"{more}, starts exactly at ISN+2001: the hole was filled by a real segment "
                    "the capture dropped. That is capture loss (Wireshark: 'ACKed unseen "
                    "segment'), not a protocol error: no error or warning.",
        reference="RFC 9293 §3.4",
        info=(("ack-unseen-segment", ack),),
    )


# --- closing ---------------------------------------------------------------------------------

@scenario(13)
def data_after_fin(cap: Capture, n: int) -> Expect:
    """Client FIN, server ACK, 100 client bytes after the FIN, server FIN, ACK."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    fin = c.fin(after=APP)
    s.ack()
    late = c.send(filler(100), after=APP, delivered=False)
    s.fin(after=APP)
    c.ack()
    return Expect(
        summary="the client sends 100 bytes after its own FIN",
        description=f"The client's FIN in frame {fin} (seq S) is its last sequence number; the "
                    f"server ACKs it. Frame {late} is 100 bytes of new data at seq S+1, sent after "
                    "the FIN: a side that has closed must not send more data (RFC 9293 §3.6; "
                    "§3.10.2, SEND in FIN-WAIT: 'connection closing'). The server, in CLOSE-WAIT, "
                    "ignores the text (§3.10.7.4, seventh step) and does not acknowledge it, then "
                    "closes with FIN,ACK acking S+1; the client's last ACK follows.",
        reference="RFC 9293 §3.6",
        findings=(("data-after-fin", late),),
    )


@scenario(14)
def fin_seq_changed(cap: Capture, n: int) -> Expect:
    """Client FIN at S, its ACK lost, the FIN resent at S+10, close."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    fin_seq = c.snd_nxt
    fin = c.fin(after=APP)
    s.ack(delivered=False)
    moved = c.fin(seq=seq_add(fin_seq, 10), after=RTO)
    s.ack()
    s.fin(after=APP)
    c.ack()
    return Expect(
        summary="the client's FIN retransmitted at a sequence number 10 higher",
        description=f"The client's FIN in frame {fin} is at seq S={fin_seq}. The server's ACK is "
                    "lost after the capture point, so after 200 ms the client retransmits its "
                    f"FIN, but frame {moved} puts it at S+10 with no data: a FIN occupies a fixed "
                    "position in the sequence space (seq + payload length) and a retransmission "
                    "must repeat it (RFC 9293 §3.6, §3.8.1). The server answers with a duplicate "
                    "ACK of S+1, then closes normally.",
        reference="RFC 9293 §3.6",
        findings=(("fin-seq-changed", moved),),
    )


@scenario(15)
def fin_retransmission_with_data(cap: Capture, n: int) -> Expect:
    """100 bytes and a FIN lost, resent together as one segment."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    start, tail = c.snd_nxt, filler(100)
    data = c.send(tail, after=APP, delivered=False)
    fin = c.fin(after=ONE_WAY / 10, delivered=False)
    merged = c.fin(tail, seq=start, after=RTO)
    s.ack()
    s.fin(after=APP)
    c.ack()
    return Expect(
        summary="data and FIN retransmitted together in one segment; the FIN does not move "
                "(healthy counterpart of fin-seq-changed)",
        description=f"The client sends 100 bytes at seq S (frame {data}) and a bare FIN at S+100 "
                    f"(frame {fin}); both are lost after the capture point. After 200 ms Linux "
                    "retransmits them collapsed into one segment: seq S, 100 bytes, FIN (frame "
                    f"{merged}). The FIN's position is seq + payload length = S+100, unchanged, "
                    "so this is a plain retransmission, not a moved FIN. The connection closes "
                    "normally.",
        reference="RFC 9293 §3.8.1",
        info=(("retransmission", merged),),
    )


@scenario(16)
def three_segment_close(cap: Capture, n: int) -> Expect:
    """FIN,ACK; FIN,ACK acking it; ACK."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    fin = c.fin(after=APP)
    fin_ack = s.fin(after=ONE_WAY)
    last = c.ack()
    return Expect(
        summary="FIN,ACK answered by FIN,ACK that also acknowledges it, then ACK (healthy)",
        description=f"The client closes with FIN,ACK (frame {fin}); the server, whose application "
                    "closes at once, merges its ACK of that FIN with its own FIN in frame "
                    f"{fin_ack}; the client ACKs it (frame {last}). The client goes FIN-WAIT-1 -> "
                    "TIME-WAIT directly on a FIN that acknowledges its own (RFC 9293 §3.10.7.4 "
                    "FIN-WAIT-1), the server CLOSE-WAIT -> LAST-ACK -> CLOSED. Conformant.",
        reference="RFC 9293 §3.6",
    )


def _time_wait_fin_retransmitted(cap: Capture, n: int) -> tuple[Peer, Peer, int]:
    """Close with the client active; its last ACK is lost and the server retransmits its FIN."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    c.fin(after=APP)
    s.ack()
    server_fin = s.snd_nxt
    s.fin(after=APP)
    c.ack(delivered=False)
    return c, s, s.fin(seq=server_fin, after=RTO)


@scenario(17)
def missing_time_wait_rst(cap: Capture, n: int) -> Expect:
    """The server's FIN retransmitted into TIME-WAIT is answered by RST."""
    c, _, again = _time_wait_fin_retransmitted(cap, n)
    reset = c.rst(seq=c.snd_nxt)
    return Expect(
        summary="the active closer answers the peer's retransmitted FIN with RST instead of an ACK",
        description="The client closes first and ACKs the server's FIN, entering TIME-WAIT; that "
                    "ACK is lost after the capture point, so the server retransmits its FIN "
                    f"200 ms later (frame {again}). A client in TIME-WAIT must acknowledge it "
                    "again and restart the 2·MSL timer (RFC 9293 §3.10.7.4, TIME-WAIT); this one "
                    f"answers with RST (frame {reset}, seq = SEG.ACK), the reply of a closed port: "
                    "it has no TIME-WAIT state, and the server's application sees "
                    "'connection reset by peer'.",
        reference="RFC 9293 §3.10.7.4",
        findings=(("missing-time-wait", reset),),
        info=(("retransmission", again),),
    )


@scenario(18)
def time_wait_re_ack(cap: Capture, n: int) -> Expect:
    """The server's FIN retransmitted into TIME-WAIT is ACKed again."""
    c, _, again = _time_wait_fin_retransmitted(cap, n)
    re_ack = c.ack()
    return Expect(
        summary="the active closer in TIME-WAIT re-ACKs the peer's retransmitted FIN (healthy "
                "counterpart of missing-time-wait-rst)",
        description="The client closes first and ACKs the server's FIN, entering TIME-WAIT; that "
                    "ACK is lost after the capture point, so the server retransmits its FIN "
                    f"200 ms later (frame {again}). The client, still in TIME-WAIT, acknowledges "
                    f"it again (frame {re_ack}), exactly what TIME-WAIT exists for (RFC 9293 "
                    "§3.10.7.4, TIME-WAIT). Conformant.",
        reference="RFC 9293 §3.10.7.4",
        info=(("retransmission", again),),
    )


def _reuse(cap: Capture, n: int, *, timestamps: bool, isn_step: int) -> tuple[int, int, int, int]:
    """Connection 1 closed by the client, then a new SYN on the same four-tuple 5 s later.

    Returns (connection 1's final client seq, its last frame, the new SYN's frame, the new ISN).
    """
    c, s = Flow.open(cap, n, timestamps=timestamps)
    handshake(c, s)
    exchange(c, s)
    client_close(c, s)
    final_seq, last = c.snd_nxt, len(cap.frames)
    new_isn = seq_add(final_seq, isn_step)
    c2, s2 = Flow.open(cap, n, client_isn=new_isn,
                       server_isn=seq_add(s.isn, 0x7E57C0DE), timestamps=timestamps)
    cap.wait(TIME_WAIT_REUSE_GAP)
    syn = c2.syn()
    s2.synack()
    c2.ack()
    exchange(c2, s2)
    client_close(c2, s2)
    return final_seq, last, syn, new_isn


@scenario(19)
def missing_time_wait_reuse(cap: Capture, n: int) -> Expect:
    """Tuple reused 5 s into TIME-WAIT: lower ISN, no timestamps."""
    final_seq, last, syn, new_isn = _reuse(cap, n, timestamps=False, isn_step=-1_000_000)
    return Expect(
        summary="the four-tuple reused 5 s after the client's active close, with an older ISN "
                "and no timestamps",
        description=f"Connection 1 ends in frame {last} with the client as active closer: it is "
                    f"in TIME-WAIT (60 s on Linux, 2·MSL) and its final sequence number is "
                    f"{final_seq}. 5 s later frame {syn} opens a new connection on the same "
                    f"four-tuple with ISN {new_isn}, 1 000 000 BELOW that final number, and "
                    "neither connection uses timestamps. Reuse of a TIME-WAIT tuple is safe only "
                    "when the new ISN is above the old final sequence number or the new "
                    "timestamps are above the old ones (RFC 6191 §2, RFC 9293 §3.4.3 quiet time); "
                    "neither holds, so old duplicates of connection 1 could be accepted by "
                    "connection 2: a missing TIME-WAIT. Connection 2 itself completes normally.",
        reference="RFC 6191 §2",
        findings=(("missing-time-wait", syn),),
    )


@scenario(20)
def time_wait_reuse(cap: Capture, n: int) -> Expect:
    """Tuple reused 5 s into TIME-WAIT: higher ISN and higher timestamps."""
    final_seq, last, syn, new_isn = _reuse(cap, n, timestamps=True, isn_step=0x10000000)
    return Expect(
        summary="the four-tuple reused 5 s after the client's active close, with a higher ISN "
                "and higher timestamps (healthy)",
        description=f"Connection 1 ends in frame {last} with the client in TIME-WAIT, its final "
                    f"sequence number {final_seq}. 5 s later frame {syn} reuses the four-tuple "
                    f"with ISN {new_isn} (2^28 above) and a TSval about 5000 ms above every TSval "
                    "of connection 1 (the same per-host timestamp clock). Both RFC 6191 §2 "
                    "conditions hold, so old duplicates cannot be mistaken for new data: an "
                    "acceptable early reuse, worth an info note only. Both connections are "
                    "otherwise ordinary.",
        reference="RFC 6191 §2",
        info=(("time-wait-reuse", syn),),
    )


# --- sequence space and framing --------------------------------------------------------------

@scenario(21)
def seq_wrap(cap: Capture, n: int) -> Expect:
    """Client ISN 2^32-1500, server ISN 2^32-700, a few KB each way, close."""
    c, s = Flow.open(cap, n, client_isn=SEQ_SPACE - 1500, server_isn=SEQ_SPACE - 700)
    handshake(c, s)
    first = len(cap.frames) + 1
    upload = b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 4000\r\n\r\n"
    transfer(c, s, upload + filler(4000))
    transfer(s, c, response(5000), after=APP)
    client_close(c, s)
    return Expect(
        summary="both directions' sequence and ACK numbers wrap through 0 (healthy)",
        description="Client ISN 2^32-1500 and server ISN 2^32-700: from frame "
                    f"{first} the client uploads about 4 KB and the server answers with 5 KB in "
                    "MSS-sized segments, so both sequence spaces, and the ACK numbers that follow "
                    "them, wrap from 4294967xxx through 0. Every comparison is serial-number "
                    "arithmetic (RFC 9293 §3.4, RFC 1982); a checker using plain < would see "
                    "acknowledgments of unsent data or old segments here. Conformant.",
        reference="RFC 9293 §3.4",
    )


@scenario(22)
def arp_between(cap: Capture, n: int) -> Expect:
    """A short connection with ARP request/reply and an ICMPv6 NS in between."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    probe = cap.arp(dpkt.arp.ARP_OP_REQUEST, SERVER, CLIENT, after=ONE_WAY / 2)
    reply = cap.arp(dpkt.arp.ARP_OP_REPLY, CLIENT, SERVER, after=ONE_WAY / 2)
    get = c.send(request())
    ndp = cap.neighbour_solicitation(CLIENT, SERVER, after=ONE_WAY / 2)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="a short healthy connection with ARP and ICMPv6 neighbour solicitation frames "
                "between its segments",
        description=f"Frames {probe} and {reply} are an ARP request and reply and frame "
                    f"{ndp} an ICMPv6 Neighbour Solicitation, all between TCP segments (the "
                    f"client's request is frame {get}). They are not TCP, but frame numbers count "
                    "every record in the file, as Wireshark's frame.number does. The connection "
                    "is healthy: no findings.",
        reference="Wireshark frame.number",
    )


# --- flow control ----------------------------------------------------------------------------

@scenario(23)
def data_beyond_window(cap: Capture, n: int) -> Expect:
    """A 256-byte receive window; the client sends 600 bytes into it; the rest follows later."""
    c, s = Flow.open(cap, n)
    s.syn_window, s.window = 256, 2  # a 256-byte receive buffer; 2 << 7 once scaling is on
    handshake(c, s)
    post = upload(800)
    start = c.snd_nxt
    c.send(post[:200], push=False)
    edge = s.ack()
    right = seq_add(s.rcv_nxt, 256)
    over = c.send(post[200:], delivered=False)
    # The server keeps the 256 bytes that fit and trims the rest (RFC 9293 §3.10.7.4).
    s.rcv_nxt = right
    trimmed = s.ack()
    resent = c.send(post[456:712], seq=seq_add(start, 456), push=False, after=RTO)
    s.ack()
    tail = c.send(post[712:], seq=seq_add(start, 712))
    s.ack()
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="the client sends 600 bytes into a 256-byte receive window",
        description="Both SYNs carry window scale 7; the server has a 256-byte receive buffer "
                    "(SYN-ACK window 256, never scaled; later window field 2 = 2 << 7 = 256 "
                    f"bytes). Frame {edge} acknowledges the client's first 200 bytes: the right "
                    f"edge is ACK+256 = {right}, the highest the server ever advertised. Frame "
                    f"{over} sends 600 bytes starting at that ACK, so it runs 344 bytes past the "
                    "right edge: a sender must not send data beyond SND.UNA + SND.WND (RFC 9293 "
                    "§3.8.6, §3.10.7.4). The server keeps the 256 bytes that fit and "
                    f"acknowledges them (frame {trimmed}); the client sends the rest again "
                    f"within the window after its 200 ms timeout (frames {resent} and {tail}), and "
                    "the exchange and close are normal.",
        reference="RFC 9293 §3.8.6",
        findings=(("data-beyond-window", over),),
        info=(("retransmission", resent), ("retransmission", tail)),
    )


@scenario(24)
def zero_window_probe(cap: Capture, n: int) -> Expect:
    """The server's 1 KB window fills, the client probes it with 1 byte, the window reopens."""
    c, s = Flow.open(cap, n)
    s.syn_window, s.window = 1024, 8  # a 1 KB receive buffer; 8 << 7 once scaling is on
    handshake(c, s)
    post = upload(2048)
    c.send(post[:1024], push=False)
    s.window = 0
    closed = s.ack()
    probe = c.send(post[1024:1025], seq=c.snd_nxt, after=RTO, delivered=False)
    still = s.ack()
    s.window = 8
    opened = s.ack(after=0.3)
    c.send(post[1024:])
    s.ack()
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="a zero window probed with one byte at the right edge, then reopened (healthy)",
        description="Both SYNs carry window scale 7 and the server has a 1 KB receive buffer "
                    "(SYN-ACK window 1024, later window field 8 = 1024 bytes). The client's "
                    f"first 1024 bytes fill it: frame {closed} acknowledges them with window 0 "
                    "(the right edge stays where the SYN-ACK put it). 200 ms later the client "
                    f"probes the closed window with one byte at the right edge (frame {probe}), "
                    "as RFC 9293 §3.8.6.1 requires; the server cannot take it and answers window "
                    f"0 again (frame {still}). 300 ms later its application reads and frame "
                    f"{opened} reopens the window; the client sends the remaining 1024 bytes, "
                    "starting with the probed byte, and the connection closes normally. "
                    "Conformant: no error or warning.",
        reference="RFC 9293 §3.8.6.1",
        info=(("zero-window", closed), ("zero-window-probe", probe)),
    )


@scenario(25)
def seq_out_of_window(cap: Capture, n: int) -> Expect:
    """Idle 2 h, a keepalive and its ACK, then 100 bytes 1 000 000 beyond SND.NXT."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    keepalive = c.ack(seq=seq_add(c.snd_nxt, -1), after=KEEPALIVE_TIME)
    s.ack()
    far = seq_add(c.snd_nxt, 1_000_000)
    bad = c.send(filler(100), seq=far, after=1.0, delivered=False)
    dup = s.ack()
    exchange(c, s, "/next")
    client_close(c, s)
    return Expect(
        summary="a data segment 1 000 000 bytes beyond the receive window (after a harmless "
                "keepalive)",
        description="After an exchange the connection idles for 2 h (Linux tcp_keepalive_time "
                    f"7200 s); frame {keepalive} is the client's keepalive, seq = SND.NXT-1 with "
                    "no data while the server's window is open (RFC 1122 §4.2.3.6): not a "
                    "retransmission, not a violation, and the server ACKs it. 1 s later frame "
                    f"{bad} carries 100 bytes at seq {far}, 1 000 000 beyond the client's "
                    "SND.NXT and far past the server's right edge (ACK + 65152): wholly outside "
                    "the receive window, neither a retransmission nor a keepalive. The server "
                    f"drops it and answers with an ACK (frame {dup}, RFC 9293 §3.10.7.4 first "
                    "check); the connection then goes on and closes normally.",
        reference="RFC 9293 §3.10.7.4",
        findings=(("seq-out-of-window", bad),),
        info=(("keepalive", keepalive),),
    )


@scenario(26)
def window_shrink(cap: Capture, n: int) -> Expect:
    """The server ACKs with window 509<<7, then with the same ACK window 256<<7."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    post = upload(2000)
    c.send(post[:1000], push=False)
    advertised = s.ack()
    s.window = 256
    shrunk = s.ack(after=APP)
    c.send(post[1000:])
    s.window = 509
    s.ack()
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="the server moves its right window edge left: same ACK, smaller window",
        description="Both SYNs carry window scale 7. Frame "
                    f"{advertised} acknowledges the client's first 1000 bytes with window field "
                    "509 (65152 bytes): right edge ACK+65152. Frame "
                    f"{shrunk}, a window update with the same ACK, advertises window field 256 "
                    "(32768 bytes): the right edge moves 32384 bytes to the left, taking back "
                    "window the client may already have used. RFC 9293 §3.8.6 strongly "
                    "discourages shrinking the window (Linux never does unless "
                    "net.ipv4.tcp_shrink_window is set). The client sends its remaining 1000 "
                    "bytes inside the smaller window, the server reopens to 509 and the "
                    "connection closes normally.",
        reference="RFC 9293 §3.8.6",
        findings=(("window-shrink", shrunk),),
    )


# --- options ---------------------------------------------------------------------------------

MSS_OPTION = struct.pack("!BBH", 2, 4, MSS)


@scenario(27)
def option_not_negotiated(cap: Capture, n: int) -> Expect:
    """Three connections: MSS on a data segment; SACK blocks without SACK-permitted on the
    SYN-ACK; a segment without timestamps after both SYNs carried them."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    mss = c.send(request(), extra_options=MSS_OPTION)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)

    c, s = Flow.open(cap, n, port=40100 + n)
    s.sack_ok = False  # the server runs with net.ipv4.tcp_sack = 0
    c.syn(after=1.0)
    no_sack_ok = s.synack()
    c.ack()
    c.send(request())
    segs = burst(s, response(3000), after=APP, lost=(1,))
    sack = c.ack(sack=c.held)
    s.send(segs[1].data, seq=segs[1].seq, push=False, after=RTO)
    c.ack()
    client_close(c, s)

    c, s = Flow.open(cap, n, port=40200 + n)
    c.syn(after=1.0)
    s.synack()
    c.ack()
    start, get = c.snd_nxt, request()
    bare = c.send(get, tcp_options=b"", delivered=False)
    resent = c.send(get, seq=start, after=RTO)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="options a connection did not negotiate: MSS on a data segment, SACK blocks "
                "without SACK-permitted, a segment without the negotiated timestamps",
        description="Three connections from ports "
                    f"{40000 + n}, {40100 + n} and {40200 + n}. (a) Frame {mss}, the first "
                    "connection's request, carries an MSS option: MSS (like window scale and "
                    "SACK-permitted) may only appear on a SYN (RFC 9293 §3.7.1); the server "
                    "ignores it and the connection is otherwise normal. (b) The second "
                    f"connection's SYN-ACK (frame {no_sack_ok}) carries no SACK-permitted, yet "
                    f"when a server segment is lost the client's ACK in frame {sack} carries a "
                    "SACK block: SACK options must not be sent unless SACK-permitted was "
                    "received (RFC 2018 §2); the server recovers by its retransmission timeout. "
                    "(c) Both SYNs of the third connection carry timestamps, so every later "
                    f"non-RST segment must too (RFC 7323 §3.2); frame {bare}, the client's "
                    "request, has no options at all. The server silently drops it, as RFC 7323 "
                    f"§3.2 recommends, and the client's retransmission with timestamps (frame "
                    f"{resent}) gets through.",
        reference="RFC 7323 §3.2, RFC 2018 §2, RFC 9293 §3.7.1",
        findings=(("option-not-negotiated", mss), ("option-not-negotiated", sack),
                  ("option-not-negotiated", bare)),
        info=(("retransmission", resent),),
    )


@scenario(28)
def sack_permitted(cap: Capture, n: int) -> Expect:
    """Both SYNs SACK-permitted; a lost server segment recovered with SACK."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    c.send(request())
    segs = burst(s, response(6800), after=APP, lost=(1,))
    holes = [c.ack(sack=[(segs[2].seq, seg.end)], after=0.00008 if i == 2 else ONE_WAY / 10)
             for i, seg in enumerate(segs) if i >= 2]
    fast = s.send(segs[1].data, seq=segs[1].seq, push=False)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="SACK blocks after both SYNs carried SACK-permitted: loss and SACK recovery "
                "(healthy counterpart of option-not-negotiated)",
        description="Both SYNs carry SACK-permitted, so SACK is in force (RFC 2018 §2). The "
                    f"server's response goes out in five segments; the second (frame "
                    f"{segs[1].frame}) is lost after the capture point. The client acknowledges "
                    "up to the hole and reports what it holds beyond it with growing SACK "
                    f"blocks (frames {holes[0]}, {holes[1]}, {holes[2]}); with three segments "
                    "SACKed above it the server retransmits the missing one (frame "
                    f"{fast}, RFC 6675), the client acknowledges everything and the connection "
                    "closes normally. Conformant: no error or warning.",
        reference="RFC 2018 §2",
        info=(("duplicate-ack", holes[1]), ("duplicate-ack", holes[2]),
              ("fast-retransmission", fast)),
    )


@scenario(29)
def paws_timestamp_regression(cap: Capture, n: int) -> Expect:
    """1 s after an exchange the client's next request carries a TSval 100 000 lower."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    before, last = c.ts_clock(), len(cap.frames)
    cap.wait(1.0)
    start, get = c.snd_nxt, request("/second")
    old = seq_add(c.ts_clock(), -100_000)
    back = c.send(get, tsval=old, after=0, delivered=False)
    s.ack()
    resent = c.send(get, seq=start, after=RTO)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="the client's TSval goes back by about 100 000 on a data segment 1 s after a "
                "higher one",
        description="Timestamps are in use (both SYNs). The client's TSvals climb with its "
                    f"millisecond clock ({before} on its last ACK of the first exchange, frame "
                    f"{last}); 1 s later frame {back}, its next request, carries TSval {old}, "
                    f"{seq_add(before, -old)} below that one (its clock minus 100 000): not "
                    "reordering (nothing was in flight), "
                    "but a timestamp clock going backwards, which PAWS treats as an old "
                    "duplicate (RFC 7323 §5.3). The server drops it and repeats its ACK; the "
                    f"client's retransmission 200 ms later (frame {resent}) carries a proper "
                    "TSval and the connection completes and closes normally.",
        reference="RFC 7323 §5",
        findings=(("paws-timestamp-regression", back),),
        info=(("retransmission", resent),),
    )


@scenario(30)
def synack_options_unsolicited(cap: Capture, n: int) -> Expect:
    """SYN with MSS and timestamps only; the SYN-ACK adds SACK-permitted and window scale."""
    c, s = Flow.open(cap, n)
    c.sack_ok, c.wscale = False, None  # net.ipv4.tcp_sack = 0, tcp_window_scaling = 0
    c.window, s.window = 64240, 65160  # no scaling in force: windows are plain byte counts
    syn = c.syn()
    synack = s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="the SYN-ACK carries window scale and SACK-permitted that the SYN did not offer",
        description=f"The client's SYN (frame {syn}) offers MSS and timestamps only: no window "
                    f"scale, no SACK-permitted. The server's SYN-ACK (frame {synack}) carries "
                    "both anyway. A SYN-ACK may carry window scale only if the SYN did (RFC 7323 "
                    "§2.2) and SACK-permitted only in answer to it (RFC 2018 §2). The client "
                    "ignores them: neither scaling nor SACK is in force, both sides advertise "
                    "unscaled windows and the connection runs and closes normally.",
        reference="RFC 7323 §2.2, RFC 2018 §2",
        findings=(("synack-options-unsolicited", synack),),
    )


@scenario(52)
def window_scale_too_large(cap: Capture, n: int) -> Expect:
    """The client's SYN offers window scale 15 (lost, then retransmitted); the server uses 14."""
    c, s = Flow.open(cap, n)
    c.wscale = 15  # one past RFC 7323's cap, as a stack that does not clamp its shift sends it
    c.window = 4  # 128 KiB as the client means it (<< 15), 64 KiB as the server reads it (<< 14)
    first = c.syn(delivered=False)
    again = c.syn(after=SYN_RTO)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="the client's SYN offers a window-scale shift of 15; RFC 7323 caps it at 14",
        description=f"The client's SYN (frame {first}) carries Window Scale with shift.cnt 15, "
                    "one past the largest RFC 7323 §2.3 allows; the receiver must log it and "
                    "use 14 instead. The SYN is lost and retransmitted 1 s later with the same "
                    f"options (frame {again}): the offer is reported once, at the first SYN. "
                    "The server answers with shift 7 and reads the client's windows (field 4) "
                    "as 4 << 14 = 64 KiB, half what the client meant; the connection runs and "
                    "closes normally.",
        reference="RFC 7323 §2.3",
        findings=(("window-scale-too-large", first),),
        info=(("retransmission", again),),
    )


@scenario(53)
def unexpected_segment(cap: Capture, n: int) -> Expect:
    """The server sends data and FIN before the client's ACK completes the handshake."""
    c, s = Flow.open(cap, n)
    c.syn()
    s.synack()
    data = s.send(response(100), after=ONE_WAY / 10)
    fin = s.fin(after=ONE_WAY / 10)
    final = c.ack(ack=seq_add(s.isn, 1))
    c.ack()
    c.fin(after=APP)
    s.ack()
    return Expect(
        summary="the server sends data and FIN from SYN-RECEIVED, before the handshake's final "
                "ACK",
        description=f"Right after its SYN-ACK the server sends a response (frame {data}) and "
                    f"its FIN (frame {fin}). The client's ACK completing the handshake comes "
                    f"only afterwards (frame {final}): a pure ACK of the SYN-ACK alone, at the "
                    "client's first sequence number, so no ACK lost before the capture point "
                    "explains the server's segments. In SYN-RECEIVED a TCP queues data, and a "
                    "FIN behind data, until it is ESTABLISHED (RFC 9293 §3.10.2, §3.10.4): an "
                    "IDS evasion pattern. The client then acknowledges the data and the FIN and "
                    "closes its side.",
        reference="RFC 9293 §3.10.2, §3.10.4",
        findings=(("unexpected-segment", data), ("unexpected-segment", fin)),
    )


# --- reset -----------------------------------------------------------------------------------

@scenario(31)
def rst_out_of_window(cap: Capture, n: int) -> Expect:
    """An RST 10 000 000 beyond RCV.NXT, ignored; the connection goes on and closes."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    bogus = seq_add(c.snd_nxt, 10_000_000)
    reset = c.rst(seq=bogus, after=0.5)
    again = c.send(request("/again"), after=0.5)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="an RST far outside the receive window, which the server rightly ignores",
        description=f"Frame {reset} is an RST from the client's address and port with seq "
                    f"{bogus}, 10 000 000 beyond the server's RCV.NXT and far outside its "
                    "receive window (ACK + 65152): a reset that cannot come from the client's "
                    "TCP (typically an off-path injection). RFC 9293 §3.10.7.4 and RFC 5961 §3.2 "
                    "say such an RST is discarded silently, and the server does exactly that: "
                    f"it stays ESTABLISHED, and frame {again}, the client's next request, is "
                    "answered normally before both sides close with FINs.",
        reference="RFC 9293 §3.10.7.4, RFC 5961 §3",
        findings=(("rst-out-of-window", reset),),
    )


@scenario(32)
def rst_seq_not_exact(cap: Capture, n: int) -> Expect:
    """Client RST at RCV.NXT+100, the server's challenge ACK, the client's RST at RCV.NXT."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    c.send(filler(100), after=APP, captured=False, delivered=False)
    first = c.rst(seq=c.snd_nxt, after=ONE_WAY / 10)
    challenge = s.ack()
    exact = c.rst(seq=s.rcv_nxt)
    return Expect(
        summary="an in-window RST not at RCV.NXT answered by a challenge ACK, then the exact RST "
                "(healthy, RFC 5961)",
        description="The client sends 100 more bytes, lost before the capture point, and "
                    f"aborts: its RST in frame {first} is at its SND.NXT, which is the server's "
                    "RCV.NXT+100: inside the receive window but not exact. An RFC 5961 §3.2 "
                    "receiver does not reset on it but answers with a challenge ACK (frame "
                    f"{challenge}, ack = RCV.NXT). The client, which has no connection any more, "
                    f"answers that ACK with an RST at seq = SEG.ACK (frame {exact}, RFC 9293 "
                    "§3.10.7.1), exactly RCV.NXT, and that one resets the connection. "
                    "Conformant on both sides: no error or warning.",
        reference="RFC 5961 §3.2",
        info=(("rst-seq-not-exact", first), ("connection-reset", exact)),
    )


@scenario(33)
def data_after_rst(cap: Capture, n: int) -> Expect:
    """Client RST at RCV.NXT, then 100 bytes of data; the server answers with RST."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    reset = c.rst(seq=c.snd_nxt, after=APP)
    late = c.send(filler(100), after=0.001, delivered=False)
    answer = s.rst(seq=s.snd_nxt)
    return Expect(
        summary="the client sends 100 bytes after its own accepted RST",
        description=f"Frame {reset} is the client's RST at exactly the server's RCV.NXT: "
                    "acceptable, it resets the connection (RFC 9293 §3.10.7.4) and both sides "
                    f"are CLOSED. 1 ms later frame {late} carries 100 bytes of data from the "
                    "client on the same four-tuple: a side that has reset a connection must not "
                    "send on it any more (RFC 9293 §3.5.2). The server has no connection and "
                    f"answers with an RST at seq = SEG.ACK (frame {answer}, §3.10.7.1).",
        reference="RFC 9293 §3.5.2",
        findings=(("data-after-rst", late),),
        info=(("connection-reset", reset),),
    )


# --- retransmission and timers ---------------------------------------------------------------

def _resent_request(cap: Capture, n: int, again: bytes) -> tuple[int, int]:
    """The client's request lost after the capture point, then ``again`` sent at the same seq
    after the 200 ms timeout; a normal close. Returns both frames."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    start, get = c.snd_nxt, request("/a")
    assert len(again) == len(get)
    first = c.send(get, delivered=False)
    resent = c.send(again, seq=start, after=RTO)
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return first, resent


@scenario(34)
def retransmission_data_mismatch(cap: Capture, n: int) -> Expect:
    """GET /a lost, retransmitted at the same seq as GET /b."""
    first, resent = _resent_request(cap, n, request("/b"))
    return Expect(
        summary="a retransmission with the same sequence numbers and length but different bytes",
        description=f"Frame {first} is the client's request 'GET /a', lost after the capture "
                    f"point; 200 ms later frame {resent} retransmits the same sequence range "
                    "(same seq, same length) but the bytes say 'GET /b'. A retransmission must "
                    "repeat the data that occupied those sequence numbers (RFC 9293 §3.8.1, "
                    "§3.4): the receiver keeps whichever copy it got first, so the two ends can "
                    "disagree on the stream (the classic IDS-evasion overlap). The connection "
                    "otherwise completes normally.",
        reference="RFC 9293 §3.8.1",
        findings=(("retransmission-data-mismatch", resent),),
    )


@scenario(35)
def retransmission_same_data(cap: Capture, n: int) -> Expect:
    """GET /a lost, retransmitted unchanged."""
    first, resent = _resent_request(cap, n, request("/a"))
    return Expect(
        summary="a lost request retransmitted with the same bytes (healthy counterpart of "
                "retransmission-data-mismatch)",
        description=f"Frame {first} is the client's request, lost after the capture point; 200 "
                    f"ms later frame {resent} retransmits it byte for byte (RFC 9293 §3.8.1). An "
                    "ordinary retransmission: info only.",
        reference="RFC 9293 §3.8.1",
        info=(("retransmission", resent),),
    )


def _close_wait(cap: Capture, n: int, *, server_closes_after: float | None) -> tuple[int, int, int]:
    """The client sends its request with FIN and the server ACKs it; the server answers and
    closes ``server_closes_after`` seconds later, or never (None). 70 s after the client's FIN a
    second connection from another port runs a normal exchange. Returns (client FIN, server ACK,
    server FIN or 0)."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    fin = c.fin(request())
    acked = s.ack()
    server_fin = 0
    gap = 70.0
    if server_closes_after is not None:
        server_fin = s.fin(response(300), after=server_closes_after)
        c.ack()
        gap -= server_closes_after + ONE_WAY
    c2, s2 = Flow.open(cap, n, port=40100 + n)
    c2.syn(after=gap)
    s2.synack()
    c2.ack()
    exchange(c2, s2)
    client_close(c2, s2)
    return fin, acked, server_fin


@scenario(36)
def close_wait_stall(cap: Capture, n: int) -> Expect:
    """Request+FIN, the server's ACK, nothing more; another connection 70 s later."""
    fin, acked, _ = _close_wait(cap, n, server_closes_after=None)
    return Expect(
        summary="the server acknowledges the client's FIN and then neither answers nor closes "
                "for 70 s while the capture goes on",
        description=f"Frame {fin} is the client's request with FIN (it half-closes: nothing "
                    f"more to send). The server acknowledges both in frame {acked} and so enters "
                    "CLOSE-WAIT (RFC 9293 §3.6), where it stays until its application closes "
                    "the socket. It never does: no response, no FIN, while the capture goes on "
                    "for 70 s more (a second connection from another port runs normally at the "
                    "end), beyond the linux profile's 60 s close_wait_stall. A socket stuck in "
                    "CLOSE-WAIT is an application that never closes: a leak. The client, "
                    "meanwhile, sits in FIN-WAIT-2 for more than tcp_fin_timeout (60 s).",
        reference="RFC 9293 §3.6",
        findings=(("close-wait-stall", fin),),
        info=(("fin-wait-2-timeout", acked),),
    )


@scenario(37)
def close_wait_slow(cap: Capture, n: int) -> Expect:
    """Request+FIN, the server's ACK, the response and FIN 30 s later."""
    fin, acked, server_fin = _close_wait(cap, n, server_closes_after=30.0)
    return Expect(
        summary="the server answers and closes 30 s after the client's FIN (healthy counterpart "
                "of close-wait-stall)",
        description=f"Frame {fin} is the client's request with FIN; the server acknowledges it "
                    f"(frame {acked}) and is in CLOSE-WAIT while its application works on the "
                    f"answer. 30 s later frame {server_fin} carries the response with the "
                    "server's FIN, well under the linux profile's 60 s close_wait_stall (and the "
                    "client's 60 s FIN-WAIT-2 timeout): a slow application, not a leak. A second "
                    "connection from another port follows 70 s after the first FIN. No error or "
                    "warning.",
        reference="RFC 9293 §3.6",
    )


@scenario(38)
def fin_wait_2_timeout(cap: Capture, n: int) -> Expect:
    """Client FIN, server ACK, the server's FIN 70 s later answered by RST."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    fin = c.fin(after=APP)
    acked = s.ack()
    late = s.fin(after=70.0)
    reset = c.rst(seq=c.snd_nxt)
    return Expect(
        summary="the server's FIN arrives 70 s after the client entered FIN-WAIT-2 and is "
                "answered by RST (Linux's tcp_fin_timeout); the server's 70 s in CLOSE-WAIT is a "
                "stall",
        description="The client closes; the server's ACK of its FIN (frame "
                    f"{acked}) moves it to FIN-WAIT-2, where it waits for the server's FIN. Linux "
                    "keeps an orphaned FIN-WAIT-2 socket only tcp_fin_timeout (60 s) and then "
                    f"drops it. The server's FIN comes 70 s later (frame {late}); the client no "
                    "longer has the connection and answers with an RST at seq = SEG.ACK (frame "
                    f"{reset}, RFC 9293 §3.10.7.1). That is expected behaviour of a Linux "
                    "client, not a violation: info only. The server, for its part, sat in "
                    f"CLOSE-WAIT for those 70 s after the client's FIN (frame {fin}), beyond the "
                    "linux profile's 60 s close_wait_stall: a warning. With both thresholds at "
                    "60 s, a peer FIN late enough to meet a killed FIN-WAIT-2 socket always "
                    "follows such a stall.",
        reference="RFC 9293 §3.6; Linux tcp_fin_timeout",
        findings=(("close-wait-stall", fin),),
        info=(("fin-wait-2-timeout", acked), ("connection-reset", reset)),
    )


@scenario(39)
def syn_retries_exceeded(cap: Capture, n: int) -> Expect:
    """SYN at 0, retransmitted on the Linux schedule and once more at 131 s; no answer."""
    c, _ = Flow.open(cap, n)
    syns = [c.syn(delivered=False)]
    previous = 0.0
    for at in (*LINUX_SYN_RETRANSMITS, 131.0):
        syns.append(c.syn(after=at - previous, delivered=False))
        previous = at
    return Expect(
        summary="a SYN retransmitted 11 times, one more than Linux's schedule allows; never "
                "answered",
        description=f"The client's SYN (frame {syns[0]}) is never answered. Linux 6.x "
                    "(tcp_syn_retries 6, tcp_syn_linear_timeouts 4) retransmits it at 1, 2, 3, "
                    f"4, 5, 7, 11, 19, 35 and 67 s (frames {syns[1]}-{syns[10]}, same ISN) and "
                    "gives up at 131 s. Frame "
                    f"{syns[11]} is an 11th retransmission at 131 s: beyond the stack's retry "
                    "limit (RFC 9293 §3.8.3 R2 gives up after a bounded time). The connection "
                    "stays half-open: nothing ever answered.",
        reference="RFC 9293 §3.8.3; Linux tcp_syn_retries",
        findings=(("syn-retries-exceeded", syns[11]),),
        info=(("half-open", syns[0]), ("retransmission", syns[1])),
    )


@scenario(40)
def synack_retries_exceeded(cap: Capture, n: int) -> Expect:
    """One SYN; SYN-ACKs at +0, +1, +3, +7, +15, +31 and +63 s, never acknowledged."""
    c, s = Flow.open(cap, n)
    syn = c.syn()
    synacks = [s.synack(delivered=False)]
    previous = 0.0
    for at in (*LINUX_SYNACK_RETRANSMITS, 63.0):
        synacks.append(s.synack(after=at - previous, delivered=False))
        previous = at
    return Expect(
        summary="the server retransmits its SYN-ACK 6 times on its timer, one more than Linux's "
                "tcp_synack_retries 5",
        description=f"One SYN (frame {syn}) from a client that never answers (a "
                    "spoofed source or a host that went away: no ACK, no RST, no SYN "
                    f"retransmission). The server's SYN-ACK (frame {synacks[0]}) is retransmitted "
                    "by its timer 1, 3, 7, 15 and 31 s later (frames "
                    f"{synacks[1]}-{synacks[5]}), Linux's tcp_synack_retries 5; Linux then drops "
                    f"the request at 63 s. Frame {synacks[6]} is a 6th timer-driven SYN-ACK at "
                    "63 s, beyond the limit. The handshake never completes.",
        reference="RFC 9293 §3.8.3; Linux tcp_synack_retries",
        findings=(("synack-retries-exceeded", synacks[6]), ("handshake-incomplete", synacks[0])),
        info=(("retransmission", synacks[1]),),
    )


@scenario(41)
def rto_backoff_violation(cap: Capture, n: int) -> Expect:
    """SYNs at 0, 1, 2, 3, 4, 5 and 6 s; the last is answered; data, close."""
    c, s = Flow.open(cap, n)
    syns = [c.syn(delivered=False)]
    syns += [c.syn(after=SYN_RTO, delivered=False) for _ in range(5)]
    early = c.syn(after=SYN_RTO)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="the 6th SYN retransmission comes 1 s after the 5th where Linux backs off to 2 s",
        description=f"The client's SYN (frame {syns[0]}) is retransmitted at 1, 2, 3, 4 and 5 s "
                    f"(frames {syns[1]}-{syns[5]}), which matches Linux's initial 1 s RTO and "
                    "its four linear timeouts (tcp_syn_linear_timeouts 4). After those the "
                    "timeout must double (RFC 6298 §5.5), so the 6th retransmission is due 2 s "
                    f"after the 5th, at 7 s; frame {early} sends it at 6 s, 1 s after the 5th. "
                    "The server answers that SYN and the connection runs and closes normally.",
        reference="RFC 6298 §5.5",
        findings=(("rto-backoff-violation", early),),
        info=(("retransmission", syns[1]),),
    )


@scenario(42)
def rto_backoff_violation_data(cap: Capture, n: int) -> Expect:
    """A request retransmitted every 200 ms four times without backing off."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    start, get = c.snd_nxt, request()
    first = c.send(get, delivered=False)
    resent = [c.send(get, seq=start, after=RTO, delivered=i == 3) for i in range(4)]
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="a data segment retransmitted at fixed 200 ms intervals, the timeout never "
                "doubling",
        description=f"The client's request (frame {first}) gets no answer (lost after the "
                    "capture point), and the server stays silent. The client retransmits it "
                    f"after 200 ms (frame {resent[0]}, the rto_min), then again 200 ms later "
                    f"(frame {resent[1]}), and again at 200 ms intervals (frames {resent[2]}, "
                    f"{resent[3]}). After each timeout the RTO must double (RFC 6298 §5.5, "
                    "exponential backoff). The first two intervals are not judged (the first "
                    "copy may be a tail loss probe, and the RTO then fires sooner after it); "
                    f"frame {resent[2]} is the first whose interval fails to double the one "
                    f"before it, and frame {resent[3]} fails again (200 ms where at least "
                    "400 ms is due). The last copy gets through; the exchange and close are "
                    "normal.",
        reference="RFC 6298 §5.5",
        findings=(("rto-backoff-violation", resent[2]), ("rto-backoff-violation", resent[3])),
        info=(("retransmission", resent[0]),),
    )


# --- diagnostics -----------------------------------------------------------------------------

@scenario(43)
def isn_weak(cap: Capture, n: int) -> Expect:
    """Three connections: client ISN 0, then ISN 1000 twice, on three ports."""
    syns = []
    for port, isn in ((None, 0), (40100 + n, 1000), (40200 + n, 1000)):
        c, s = Flow.open(cap, n, client_isn=isn, port=port)
        syns.append(c.syn(after=1.0 if syns else ONE_WAY))
        s.synack()
        c.ack()
        exchange(c, s)
        client_close(c, s)
    return Expect(
        summary="predictable client ISNs: 0, then the same ISN 1000 on two connections",
        description=f"Frame {syns[0]} opens a connection with ISN 0; frames {syns[1]} and "
                    f"{syns[2]} open two more, from other ports, both with ISN 1000. ISNs "
                    "should be unpredictable: a clock plus a keyed hash of the four-tuple (RFC "
                    "6528 §3, RFC 9293 §3.4.1). ISN 0, and an ISN repeated across connections, "
                    "make blind injection and spoofing easy. Every connection is otherwise "
                    "normal: info only.",
        reference="RFC 6528 §3",
        info=(("isn-weak", syns[0]), ("isn-weak", syns[2])),
    )


@scenario(44)
def fast_retransmission(cap: Capture, n: int) -> Expect:
    """Client sends 5 segments, the 2nd lost before the capture point; 3 dup ACKs with SACK;
    fast retransmission."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    segs = burst(c, upload(6800), missed=(1,))
    ack = s.ack(ack=segs[1].seq, after=0.00006)
    dups = [s.ack(ack=segs[1].seq, sack=[(segs[2].seq, seg.end)], after=ONE_WAY / 5 if i == 2
                  else ONE_WAY / 10) for i, seg in enumerate(segs) if i >= 2]
    # The client reacts to the third duplicate ACK 50 µs after it passes the capture point.
    fast = c.send(segs[1].data, seq=segs[1].seq, push=False, after=ONE_WAY + 0.00005)
    s.ack()
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="three duplicate ACKs with SACK blocks and a fast retransmission of the hole "
                "(healthy)",
        description="The client uploads in five MSS-sized segments; the second is lost before "
                    "the capture point (the capture never sees it). The server acknowledges "
                    f"the first (frame {ack}), then answers each later segment with a duplicate "
                    "ACK of the same number whose SACK block grows (frames "
                    f"{dups[0]}, {dups[1]}, {dups[2]}). On the third duplicate ACK the client "
                    f"retransmits exactly the missing segment (frame {fast}, RFC 5681 §3.2 fast "
                    "retransmit) without waiting for its timer; the server then acknowledges "
                    "everything and the connection closes normally. No error or warning.",
        reference="RFC 5681 §3.2",
        info=(("duplicate-ack", dups[0]), ("duplicate-ack", dups[1]), ("duplicate-ack", dups[2]),
              ("fast-retransmission", fast)),
    )


@scenario(45)
def duplicate_ack(cap: Capture, n: int) -> Expect:
    """Client sends 3 segments, the 2nd lost; one duplicate ACK; retransmission on timeout."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    segs = burst(c, upload(3600), lost=(1,))
    first = s.ack(ack=segs[1].seq, after=0.00008)
    dup = s.ack(sack=[(segs[2].seq, segs[2].end)], after=ONE_WAY / 5)
    resent = c.send(segs[1].data, seq=segs[1].seq, push=False, after=RTO)
    s.ack()
    s.send(response(300), after=APP)
    c.ack()
    client_close(c, s)
    return Expect(
        summary="one duplicate ACK (with a SACK block) after a lost segment; recovery by "
                "timeout (healthy)",
        description="The client uploads in three segments; the second (frame "
                    f"{segs[1].frame}) is lost after the capture point. The server acknowledges "
                    f"the first (frame {first}) and, when the third arrives out of order, "
                    f"repeats that ACK with a SACK block for it (frame {dup}): a duplicate ACK "
                    "(same ACK, same window, no data; RFC 5681 §2). One duplicate is not enough "
                    "for a fast retransmit; the client retransmits the lost segment after its "
                    f"200 ms timeout (frame {resent}) and the connection closes normally.",
        reference="RFC 5681 §2",
        info=(("duplicate-ack", dup), ("retransmission", resent)),
    )


@scenario(46)
def spurious_retransmission(cap: Capture, n: int) -> Expect:
    """The response is ACKed (the ACK lost after the capture point) and retransmitted anyway."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    c.send(request())
    start, body = s.snd_nxt, response(300)
    sent = s.send(body, after=APP)
    acked = c.ack(delivered=False)
    again = s.send(body, seq=start, after=RTO)
    dsack = c.ack(sack=[(start, seq_add(start, len(body)))])
    client_close(c, s)
    return Expect(
        summary="a segment retransmitted 200 ms after the capture saw its ACK (healthy)",
        description=f"The server's response (frame {sent}) is acknowledged by the client in "
                    f"frame {acked}, but that ACK is lost after the capture point, so the "
                    f"server's timer retransmits the response 200 ms later (frame {again}). "
                    "Seen from the capture point the bytes were already acknowledged: a "
                    "spurious retransmission. The client answers with a D-SACK (frame "
                    f"{dsack}, RFC 2883) reporting the duplicate; the connection closes "
                    "normally.",
        reference="RFC 2883 §4",
        info=(("spurious-retransmission", again),),
    )


@scenario(47)
def out_of_order(cap: Capture, n: int) -> Expect:
    """The server's two response segments swapped on the path, 50 µs apart."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    c.send(request())
    start, body = s.snd_nxt, response(2000)
    size = MSS - TS_OPTION_LEN
    later = s.send(body[size:], seq=seq_add(start, size), after=APP)
    earlier = s.send(body[:size], seq=start, push=False, after=0.00005)
    s.snd_nxt = seq_add(start, len(body))  # both were sent, in order; the path swapped them
    sack = c.ack(ack=start, sack=[(seq_add(start, size), s.snd_nxt)], after=ONE_WAY / 2)
    c.ack(after=ONE_WAY / 2)
    client_close(c, s)
    return Expect(
        summary="two segments swapped on the path, the earlier arriving 50 µs after the later "
                "(reordering, healthy)",
        description="The server sends its response in two segments; a path that reorders "
                    f"(veth, multiple queues) delivers the second one first (frame {later}) and "
                    f"the first 50 µs later (frame {earlier}), well within the handshake round "
                    "trip of 0.2 ms: the hole is filled by reordering, not by a retransmission. "
                    f"The client's ACK for the early arrival (frame {sack}) SACKs it; the next "
                    "acknowledges both. No error or warning, and no retransmission.",
        reference="RFC 9293 §3.10.7.4",
        info=(("out-of-order", earlier),),
    )


@scenario(48)
def midstream(cap: Capture, n: int) -> Expect:
    """A capture that starts after the handshake and ends before the close."""
    c, s = Flow.open(cap, n)
    c.syn(captured=False)
    s.synack(captured=False)
    c.ack(captured=False)
    first = c.send(request("/a"), after=5.0)
    s.send(response(300), after=APP)
    c.ack()
    c.send(request("/b"), after=1.0)
    s.send(response(300), after=APP)
    last = c.ack()
    return Expect(
        summary="a capture that starts in the middle of a connection and ends before it closes",
        description="The capture starts 5 s into an established connection: frame "
                    f"{first}, a request, is the first segment seen, with no SYN before it, so "
                    "sequence numbers are relative to it and handshake-dependent checks are "
                    f"off. Two exchanges follow and the capture stops at frame {last}, an ACK, "
                    "with no FIN or RST: the connection is still open. Both are capture "
                    "boundaries, not protocol errors: info only.",
        reference="RFC 9293 §3.3.2",
        info=(("capture-started-midstream", first), ("capture-ended-midstream", last)),
    )



@scenario(49)
def bad_checksum(cap: Capture, n: int) -> Expect:
    """A FIN corrupted on the way, discarded by the server, then retransmitted intact."""
    c, s = Flow.open(cap, n)
    handshake(c, s)
    exchange(c, s)
    fin_seq = c.snd_nxt
    bad = c.fin(after=APP, corrupt=True, delivered=False)
    good = c.fin(seq=fin_seq, after=RTO)
    s.ack()
    s.fin(after=APP)
    c.ack()
    return Expect(
        summary="a segment with a wrong TCP checksum, dropped by its receiver",
        description=f"The client's FIN in frame {bad} carries a TCP checksum with four bits "
                    "flipped: neither the right sum nor the pseudo-header-only sum that "
                    "checksum offload leaves. The server discards it (RFC 9293 §3.1) and does "
                    f"not answer; the client's retransmission timer resends the FIN intact in "
                    f"frame {good}, which the server acknowledges before closing its side. "
                    "tcpcheck reports the corrupt segment and, like the receiver, does not "
                    f"apply it, so frame {good} is the first FIN the model sees.",
        reference="RFC 9293 §3.1",
        findings=(("bad-checksum", bad),),
    )


@scenario(54)
def unusable_checksum(cap: Capture, n: int) -> Expect:
    """A healthy exchange recorded by a trace sanitiser: every TCP checksum is 0."""
    c, s = Flow.open(cap, n)
    c.zero_checksums = s.zero_checksums = True
    syn = c.syn()
    synack = s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="a sanitised trace: every TCP checksum is 0, yet each reply proves its segment "
                "arrived (healthy)",
        description="A request, its answer and a client-first close, with every TCP checksum "
                    "recorded as 0, as trace sanitisers leave them. A checksum of 0 is wrong "
                    f"for these segments, but the server's SYN-ACK (frame {synack}) "
                    f"acknowledges the client's SYN (frame {syn}), so the SYN arrived intact: "
                    "the checksums on the wire were right and the capture's are unusable. "
                    "tcpcheck names that once, at the SYN, and applies every segment: the "
                    "connection opens and closes normally. No error or warning.",
        reference="RFC 9293 §3.1",
        info=(("unusable-checksum", syn),),
    )


@scenario(50)
def concurrent_syn(cap: Capture, n: int) -> Expect:
    """Three SYNs with three ISNs 100 ms apart from one port, as a SYN flood tool sends them."""
    c, s = Flow.open(cap, n)
    first = c.syn(delivered=False)
    second = c.syn(isn=seq_add(c.isn, 0x10203040), after=0.1, delivered=False)
    third = c.syn(isn=seq_add(c.isn, 0x10203040), after=0.1)
    s.synack()
    c.ack()
    exchange(c, s)
    client_close(c, s)
    return Expect(
        summary="SYNs with new ISNs on one four-tuple every 100 ms: not retransmissions",
        description=f"Frames {first}, {second} and {third} are SYNs from the same client port "
                    "with three different ISNs, 100 ms apart. No SYN timer fires that fast (the "
                    "initial RTO is 1 s, RFC 6298 §2), and a retransmission would repeat the ISN "
                    "(RFC 9293 §3.8.1): several openers share the port, as hping or a SYN flood "
                    f"tool does. The server answers the last one; frames {second} and {third} "
                    "are reported as concurrent SYNs (warning), not as a SYN that changed its "
                    "ISN (error). The connection then runs normally.",
        reference="RFC 9293 §3.8.1",
        findings=(("concurrent-syn", second), ("concurrent-syn", third)),
    )

# --- capture artefacts from real traffic -------------------------------------------------------

REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"
MIRROR_DELAY_US = 1
"""How long after the original a mirror port's copy is stamped: microseconds, as a SPAN
session that copies both directions of a port delivers it."""


def mirror(cap: Capture, source: Path, copied: Sequence[int]) -> dict[int, int]:
    """Every frame of the real capture ``source`` (microsecond pcap, Ethernet), with an exact
    copy of each frame in ``copied`` (1-based) right behind its original, ``MIRROR_DELAY_US``
    later. Returns the new frame number of each original frame, and of each copy under the
    original's number negated."""
    with source.open("rb") as f:
        records = [(round(Decimal(str(ts)) * 1_000_000), bytes(buf))
                   for ts, buf in dpkt.pcap.Reader(f)]
    origin = records[0][0]
    where: dict[int, int] = {}
    for number, (t_us, frame) in enumerate(records, 1):
        cap.now_us = t_us - origin
        where[number] = cap.record(frame)
        if number in copied:
            cap.wait(MIRROR_DELAY_US / 1_000_000)
            where[-number] = cap.record(frame)
    return where


@scenario(51)
def duplicate_frame(cap: Capture, n: int) -> Expect:
    """captures/linux/ci-run-1.pcap as a mirror port that copies some frames twice shows it."""
    where = mirror(cap, REAL / "ci-run-1.pcap", (1, 2, 4, 6, 10, 32, 40))
    return Expect(
        summary="real traffic (ci-run-1) with 7 frames captured twice, as a SPAN port does: "
                "the copies are not retransmissions",
        description="captures/linux/ci-run-1.pcap with exact copies of its frames 1, 2, 4, 6, "
                    "10 (connection 0: SYN, SYN-ACK, request, response, server FIN), 32 (the "
                    "RST refusing connection 3) and 40 (the keepalive probe of "
                    "connection 4), each 1 µs behind its original, byte for byte, as a mirror "
                    "port that copies both directions delivers them. The copies were never "
                    "sent: one duplicate-frame note per run of copies, at its first copy "
                    f"(frames {where[-1]} for the copies of the SYN and the SYN-ACK, which "
                    f"follow each other, {where[-4]}, {where[-6]}, {where[-10]}, {where[-32]} "
                    f"and {where[-40]}), and none of them is a "
                    "retransmission, a duplicate ACK or a timer. Its frames 2 and 32 carry IP ID 0 "
                    "(Linux's SYN-ACK and RST), so equal bytes alone do not prove a copy: the "
                    "peer sent one segment (the SYN) before the original and none between, "
                    "too little to draw two replies. The real "
                    f"findings stay: connection-reset at {where[30]} and {where[32]}, keepalive "
                    f"at {where[40]}.",
        reference="Capture artefact (editcap -d removes such copies)",
        info=(("duplicate-frame", where[-1]), ("duplicate-frame", where[-4]),
              ("duplicate-frame", where[-6]), ("duplicate-frame", where[-10]),
              ("connection-reset", where[30]),
              ("duplicate-frame", where[-32]), ("connection-reset", where[32]),
              ("keepalive", where[40]), ("duplicate-frame", where[-40])),
    )

TWIN_OFFSET = 0x9E3779B9
"""What the crafted firewall adds to the inside host's sequence numbers (any non-zero value)."""
TWIN_DELAY_US = 5
"""How long after the inside copy the outside copy is captured: a firewall's forwarding delay."""


def behind_firewall(frame: bytes, inside: bytes, offset: int) -> bytes:
    """``frame`` as it leaves a firewall that randomises the sequence numbers of the ``inside``
    host (packed IPv4 or IPv6 address), as Cisco PIX/ASA does: that host's sequence numbers,
    and the other host's acknowledgment numbers, plus ``offset`` (mod 2**32); TTL (hop limit)
    one lower (a routing hop); IP ID, flags, options and payload unchanged; checksums
    recomputed. (The frames this is used on carry no SACK blocks, which such a firewall would
    shift too.)"""
    eth = dpkt.ethernet.Ethernet(frame)
    ip, tcp = eth.data, eth.data.data
    if ip.src == inside:
        tcp.seq = (tcp.seq + offset) & 0xFFFFFFFF
    elif tcp.flags & dpkt.tcp.TH_ACK:
        tcp.ack = (tcp.ack + offset) & 0xFFFFFFFF
    if isinstance(ip, dpkt.ip6.IP6):
        ip.hlim -= 1
    else:
        ip.ttl -= 1
        ip.sum = 0
    tcp.sum = 0  # dpkt computes the checksums again
    return bytes(eth)


def two_points(cap: Capture, source: Path, *, inside: bool = True, outside: bool = True,
               client: str = "192.0.2.1") -> dict[int, int]:
    """The real capture ``source`` taken at two points across a sequence-randomising firewall
    in front of its ``client``: each frame as captured inside, and its copy from outside
    (``behind_firewall``) ``TWIN_DELAY_US`` later, in time order as ``mergecap`` merges the two
    points' files (``inside`` or ``outside`` False: that point's file alone). Returns the new
    frame number of each frame, and of its outside copy under the number negated."""
    with source.open("rb") as f:
        records = [(round(Decimal(str(ts)) * 1_000_000), bytes(buf))
                   for ts, buf in dpkt.pcap.Reader(f)]
    rewritten = ipaddress.ip_address(client).packed
    frames = []  # (time, point, original number, number in ``where``, frame)
    for number, (t_us, frame) in enumerate(records, 1):
        if inside:
            frames.append((t_us, 0, number, number, frame))
        if outside:
            frames.append((t_us + TWIN_DELAY_US, 1, number, -number,
                           behind_firewall(frame, rewritten, TWIN_OFFSET)))
    origin = records[0][0]
    where: dict[int, int] = {}
    for t_us, _, _, number, frame in sorted(frames):
        cap.now_us = t_us - origin
        where[number] = cap.record(frame)
    return where


@scenario(55)
def double_capture_point(cap: Capture, n: int) -> Expect:
    """captures/linux/ci-run-1.pcap captured on both sides of a sequence-randomising firewall."""
    where = two_points(cap, REAL / "ci-run-1.pcap")
    return Expect(
        summary="real traffic (ci-run-1) captured twice, on both sides of a firewall that "
                "randomises the client's sequence numbers: one artefact, the findings of one copy",
        description="captures/linux/ci-run-1.pcap merged with a copy of itself as a firewall "
                    "in front of the client 192.0.2.1 forwards it (scripts/craft_captures.py "
                    f"behind_firewall): the client's sequence numbers + {TWIN_OFFSET:#x}, the "
                    "server's acknowledgment numbers + the same, TTL one lower, IP ID and "
                    f"payload unchanged, captured {TWIN_DELAY_US} µs after the original. Every "
                    "packet is there twice; one copy of each is set aside, and the findings are "
                    "those of ci-run-1 (connection-reset at its frames 30 and 32, keepalive at "
                    "40) plus one double-capture-point note for the capture (one per connection, "
                    f"folded on host 192.0.2.1) at frame {where[1]}, the first SYN's first copy.",
        reference="Capture artefact (RFC 9293 §3.10.7: a copy never sent is not a segment that "
                  "arrived)",
        info=(("double-capture-point", where[1]), ("connection-reset", where[30]),
              ("connection-reset", where[32]), ("keepalive", where[40])),
    )


@scenario(56)
def capture_repeated(cap: Capture, n: int) -> Expect:
    """captures/linux/ci-run-1.pcap twice in one file, as ``mergecap -a`` of it with itself."""
    with (REAL / "ci-run-1.pcap").open("rb") as f:
        records = [(round(Decimal(str(ts)) * 1_000_000), bytes(buf))
                   for ts, buf in dpkt.pcap.Reader(f)]
    origin = records[0][0]
    for t_us, frame in records + records:
        cap.now_us = t_us - origin
        cap.record(frame)
    again = len(records) + 1
    return Expect(
        summary="real traffic (ci-run-1) twice in one file: the repeat is one artefact, not "
                "every connection again",
        description="captures/linux/ci-run-1.pcap followed by itself, frame for frame and time "
                    "stamp for time stamp (`mergecap -a -w OUT ci-run-1.pcap ci-run-1.pcap`): "
                    f"at frame {again} the time jumps back to frame 1's and frame 1 repeats. "
                    f"One capture-repeated note at frame {again}; the repeat is set aside, so the "
                    "findings are those of ci-run-1 alone (connection-reset at frames 30 and 32, "
                    "keepalive at 40) and no retransmission 0 s after frame 1.",
        reference="Capture artefact (RFC 9293 §3.10.7: a copy never sent is not a segment that "
                  "arrived)",
        info=(("capture-repeated", again), ("connection-reset", 30), ("connection-reset", 32),
              ("keepalive", 40)),
    )

REFUSED_RETRY = 0.5
"""Seconds after a refusal at which a Windows client sends the same SYN again: Winsock keeps a
refused connect() going with the same ISN and port, "will not double the time-out value" and
retries 3 extra times by default (Microsoft KB 175523, "Winsock TCP Connection Performance to
Unused Ports"); ../shared/wild/dev/ppa__ppa1e__gnutella.pcap (Windows XP) shows it, port 3684:
SYN frames 2, 4, 6, 32 at 0.03, 0.50, 1.00, 1.50 s, one ISN, each refused."""


@scenario(170)
def refused_retried_same_isn(cap: Capture, n: int) -> Expect:
    """captures/linux/refused.pcap, then the same SYN twice more, as a Windows client retries
    a refused connect(), each refused the way the first was."""
    with (REAL / "refused.pcap").open("rb") as f:
        records = [(round(Decimal(str(ts)) * 1_000_000), bytes(buf))
                   for ts, buf in dpkt.pcap.Reader(f)]
    origin = records[0][0]
    for retry in range(3):
        for t_us, frame in records:
            cap.now_us = t_us - origin + round(retry * REFUSED_RETRY * 1_000_000)
            eth = dpkt.ethernet.Ethernet(frame)
            if eth.data.data.flags & dpkt.tcp.TH_SYN:
                # A new datagram: its IP ID moves on (Windows counts up), the TCP bytes do not.
                eth.data.id = (eth.data.id + retry) & 0xFFFF
                eth.data.sum = 0
            cap.record(bytes(eth))
    return Expect(
        summary="a refused SYN sent again 0.5 s and 1 s later with the same ISN and port, as "
                "Windows retries a refused connect(): three attempts, not retransmissions",
        description="Real Linux traffic (captures/linux/refused.pcap: frame 1 SYN to a port "
                    "nothing listens on, frame 2 RST,ACK with ack = ISN + 1) recorded three "
                    f"times, {REFUSED_RETRY} s apart; each later SYN keeps the ISN, port and "
                    "options (only its IP ID moves on, the IP checksum recomputed). The RST "
                    "ended each attempt (RFC 9293 §3.10.7.3: the SYN-SENT side enters CLOSED "
                    "and deletes its TCB), so the next SYN opens a new one, whose timers start "
                    "afresh: three connections, each refused (connection-reset, info), and no "
                    "rto-backoff-violation (0.5 s is not the 1 s initial RTO), "
                    "syn-isn-changed, isn-weak or time-wait-reuse. Wireshark keeps the three "
                    "in one tcp.stream and marks frames 3 and 5 as suspected retransmissions.",
        reference="RFC 9293 §3.10.7.3; Microsoft KB 175523",
        info=(("connection-reset", 2), ("connection-reset", 4), ("connection-reset", 6)),
    )

# --- cut from real captures ------------------------------------------------------------------

def _sibling(name: str) -> ModuleType:
    """Import ``scripts/NAME.py`` (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # NamedTuple looks its module up while the class is built
    spec.loader.exec_module(module)
    return module


def _from_real(builder: Callable[[], Any]) -> ScenarioFn:
    """A scenario whose frames are a real capture's, edited (``scripts/craft_replies.py``)."""
    def scenario_fn(cap: Capture, n: int) -> Expect:
        crafted = builder()
        cap.frames = list(crafted.frames)
        return Expect(summary=crafted.summary, description=crafted.description,
                      reference=crafted.reference, findings=crafted.findings,
                      info=crafted.info)
    return scenario_fn


for _n, (_name, _builder) in enumerate(_sibling("craft_replies").SCENARIOS.items(), start=900):
    SCENARIOS[_name] = (_n, _from_real(_builder))


# --- output ----------------------------------------------------------------------------------

def build(name: str) -> tuple[bytes, Expect]:
    """Run one scenario: its pcap file's bytes and its expectations."""
    n, fn = SCENARIOS[name]
    cap = Capture()
    expect = fn(cap, n)
    return cap.pcap_bytes(), expect


def sidecar_text(expect: Expect) -> str:
    """``NAME.expect.json`` as written to disk."""
    return json.dumps(expect.sidecar(), indent=2, ensure_ascii=False) + "\n"


def readme_text(expects: dict[str, Expect]) -> str:
    """The README table, one row per scenario."""
    rows = []
    for name, expect in expects.items():
        rule = ", ".join(dict.fromkeys(r for r, _ in expect.findings)) or "healthy"
        frames = "; ".join([", ".join(f"{r} @{f}" for r, f in expect.findings),
                            ", ".join(f"info {r} @{f}" for r, f in expect.info)]).strip("; ")
        rows.append(f"| `{name}` | {rule} | {expect.summary} | {frames} |")
    return "\n".join([
        "# Crafted single-rule captures",
        "",
        "Generated by `scripts/craft_captures.py` (`make crafted`); do not edit by hand: "
        "`tests/test_crafted_reproducible.py` checks that every file here is byte-identical to "
        "what the script writes. Each `NAME.pcap` has a `NAME.expect.json` with the exact error "
        "and warning findings tcpcheck must report (`findings`) and info findings that must be "
        "among its output (`info`); frame numbers are 1-based over every record, like "
        "Wireshark's `frame.number`. The frames column lists the findings, then the info "
        "marks.",
        "",
        "| NAME | rule | what is wrong (or why it is healthy) | frames |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
    ])


def write(names: list[str], out: Path) -> None:
    """Write the named scenarios and the README (always the full table) into ``out``."""
    built = {name: build(name) for name in SCENARIOS}
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        pcap, expect = built[name]
        (out / f"{name}.pcap").write_bytes(pcap)
        (out / f"{name}.expect.json").write_text(sidecar_text(expect), encoding="utf-8")
    readme = readme_text({name: expect for name, (_, expect) in built.items()})
    (out / "README.md").write_text(readme, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--only NAME`` writes one scenario, ``--out DIR`` picks the folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), metavar="NAME",
                        help="write only this scenario")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: captures/crafted)")
    args = parser.parse_args(argv)
    write([args.only] if args.only else list(SCENARIOS), args.out)


if __name__ == "__main__":
    main()
