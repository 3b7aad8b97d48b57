"""Lone SYNs: a SYN that opened a connection and is all the connection has sent so far, kept
packed by ``tcpcheck.track.Tracker`` instead of as a model (a SYN flood sends millions of
them, never answered), and ``LoneSyn``, what such a connection is once finished.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from tcpcheck import timers
from tcpcheck.model import events as ev
from tcpcheck.model.states import State
from tcpcheck.model.stats import ConnectionStats, lone_syn
from tcpcheck.profiles import Profile
from tcpcheck.segment import Segment

# A lone SYN, packed: its connection id, frame, ts, seq, ack, flags, window, checksum state,
# the length of its kept headers and of its kept source MAC, then those headers, that MAC and
# its option bytes. Its addresses and ports are in its key, addresses then ports.
LONE = struct.Struct("<QQqIIBHBHB")
PORTS = struct.Struct("!HH")


class LoneSide(NamedTuple):
    """What is known of one side of a ``LoneSyn``."""

    state: State
    bytes: int
    syns: int


class LoneSyn:
    """A finished connection that saw nothing but the SYN that opened it: what a
    ``Connection`` holds after replaying that SYN and ``finish()`` (half-open, one ``HalfOpen``
    event), without building two endpoints, since a SYN flood finishes millions of them.
    Only for the SYNs ``Tracker`` keeps lone (anything else makes the model note more);
    tests/test_track.py checks that it agrees with the model."""

    __slots__ = ("id", "keys", "client_key", "first_frame", "last_frame", "start_ts",
                 "end_ts", "events", "finished", "profile")
    packets = 1
    midstream = False
    client = LoneSide(State.SYN_SENT, 0, 1)
    # Nothing came back, so nothing shows the SYN ever reached the server (as ``finish``).
    server = LoneSide(State.LISTEN, 0, 0)

    def __init__(self, conn_id: int, syn: Segment, profile: Profile) -> None:
        self.id = conn_id
        self.keys = ((syn.src, syn.sport, syn.dst, syn.dport),
                     (syn.dst, syn.dport, syn.src, syn.sport))
        self.client_key = (syn.src, syn.sport)
        self.first_frame = self.last_frame = syn.frame
        self.start_ts = self.end_ts = syn.ts
        self.events: list[ev.Event] = []
        self.finished = False
        self.profile = profile

    def finish(self, now: int | None = None, idle: float | None = None) -> None:
        """As ``Connection.finish``: a SYN nothing answered is a half-open connection, not
        judged when the capture stopped following it (``now``) before its answer was due."""
        self.finished = True
        self.events.append(ev.HalfOpen(
            self.first_frame, self.start_ts, "client", 1, 0.0,
            timers.answer_pending(self.profile, self.start_ts, now)))

    @staticmethod
    def close_kind() -> str:
        return "half-open"

    def statistics(self) -> ConnectionStats:
        """As ``Connection.statistics``: one SYN, nothing timed, nothing answered."""
        return lone_syn(self.first_frame)


def pack_lone(conn_id: int, seg: Segment, headers: bool) -> bytes:
    """``seg`` as a lone entry keeps it; its IP and TCP headers and its source MAC only when
    ``headers`` (its TTL tells its stack, ``tcpcheck.fingerprint``; TTL and MAC who sent it,
    ``tcpcheck.model.attribution``), as they double its size."""
    header, mac = (seg.header, seg.mac) if headers else (b"", b"")
    return LONE.pack(conn_id, seg.frame, seg.ts, seg.seq, seg.ack, seg.flags, seg.win,
                     seg.csum, len(header), len(mac)) + header + mac + seg.options


def unpack_lone(key: bytes, packed: bytes) -> Segment:
    """The SYN a lone entry keeps, as it was decoded (without its headers and MAC unless
    kept)."""
    half = (len(key) - 4) // 2
    sport, dport = PORTS.unpack_from(key, 2 * half)
    _, frame, ts, seq, ack, flags, win, csum, length, mac_length = LONE.unpack_from(packed)
    mac = LONE.size + length
    options = mac + mac_length
    return Segment(frame, ts, key[:half], sport, key[half:2 * half], dport, seq, ack, flags,
                   win, 0, packed[options:], b"", csum, packed[LONE.size:mac], False,
                   packed[mac:options])
