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
import io
import ipaddress
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
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
    echo move when a segment is delivered in order. ``delivered=False`` is a segment the peer does
    not take in (lost after the capture point, or discarded as unacceptable); ``captured=False`` one
    the capture missed (received, never seen).
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

    def segment(self, flags: int, data: bytes = b"", *, seq: int | None = None,
                ack: int | None = None, tcp_options: bytes | None = None,
                after: float = ONE_WAY, captured: bool = True, delivered: bool = True) -> int:
        """Send one segment; return its frame number (0 when ``captured`` is False).

        ``seq`` defaults to ``snd_nxt``, ``ack`` to ``rcv_nxt`` when ACK is set (0 otherwise), the
        options to what Linux puts on such a segment.
        """
        self.cap.wait(after)
        tsval = seq_add(self.ts_offset, self.cap.now_us // 1000)
        if seq is None:
            seq = self.snd_nxt
            self.snd_nxt = seq_add(seq, len(data) + bool(flags & SYN) + bool(flags & FIN))
        if ack is None:
            ack = self.rcv_nxt if flags & ACK else 0
        if tcp_options is None:
            tcp_options = self._options(flags, tsval)
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
        return self.cap.record(bytes(eth))

    def _options(self, flags: int, tsval: int) -> bytes:
        """Linux's layout: SYN options on SYN and SYN-ACK, NOP NOP timestamps on the rest (a
        SYN+FIN is no handshake segment, it gets those too), none on RST."""
        if flags & RST:
            return b""
        if not opens(flags):
            return b"\x01\x01" + self._timestamp(tsval) if self.timestamps else b""
        mss, sack_ok, wscale = struct.pack("!BBH", 2, 4, MSS), b"\x04\x02", b"\x03\x03\x07"
        if self.timestamps:
            return mss + sack_ok + self._timestamp(tsval, echo=bool(flags & ACK)) + b"\x01" + wscale
        return mss + b"\x01\x01" + sack_ok + b"\x01" + wscale

    def _timestamp(self, tsval: int, *, echo: bool = True) -> bytes:
        """The timestamps option: TSval, and TS.Recent as TSecr unless on a bare SYN."""
        return struct.pack("!BBII", 8, 10, tsval, self.ts_recent if echo else 0)

    def _receive(self, flags: int, seq: int, length: int, tsval: int | None) -> None:
        """Take in a delivered segment: advance ``rcv_nxt`` if it is in order, note its TSval."""
        if flags & RST:
            return
        end = seq_add(seq, length + bool(flags & SYN) + bool(flags & FIN))
        if flags & SYN or (not seq_before(self.rcv_nxt, seq) and seq_before(self.rcv_nxt, end)):
            self.rcv_nxt = end
        if tsval is not None:
            self.ts_recent = tsval

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
             server_isn: int | None = None, timestamps: bool = True) -> Flow:
        """Client 192.0.2.10:40000+n and server 198.51.100.20:80, ISNs fixed hashes unless given."""
        c_label, s_label = f"{n}/client", f"{n}/server"
        client = Peer(cap, CLIENT, 40000 + n,
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
