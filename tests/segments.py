"""Build Segment sequences for model tests, reading like a ladder diagram."""

from __future__ import annotations

import struct

from tcpcheck.segment import ACK, FIN, RST, SYN, Segment

CLIENT = (bytes([192, 0, 2, 10]), 40000)
SERVER = (bytes([198, 51, 100, 20]), 80)
MASK = 0xFFFFFFFF


class Ladder:
    """Two sides with their next sequence numbers; each call appends one segment."""

    def __init__(self, client_isn: int = 1000, server_isn: int = 5000) -> None:
        self.segments: list[Segment] = []
        self.nxt = {"c": client_isn, "s": server_isn}
        self.isn = dict(self.nxt)
        self.ts = 1_700_000_000_000_000_000

    def _emit(self, side: str, flags: int, seq: int, ack: int, plen: int = 0,
              gap: float = 0.0001, options: bytes = b"", win: int = 64240) -> Segment:
        self.ts += int(gap * 1e9)
        src, dst = (CLIENT, SERVER) if side == "c" else (SERVER, CLIENT)
        seg = Segment(len(self.segments) + 1, self.ts, src[0], src[1], dst[0], dst[1],
                      seq & MASK, ack & MASK, flags, win, plen, options, b"x" * plen)
        self.segments.append(seg)
        return seg

    @staticmethod
    def peer(side: str) -> str:
        return "s" if side == "c" else "c"

    def syn(self, side: str = "c", seq: int | None = None, gap: float = 0.0001) -> Segment:
        seq = self.isn[side] if seq is None else seq
        self.nxt[side] = seq + 1
        return self._emit(side, SYN, seq, 0, gap=gap)

    def synack(self, side: str = "s", ack: int | None = None, seq: int | None = None,
               gap: float = 0.0001) -> Segment:
        seq = self.isn[side] if seq is None else seq
        self.nxt[side] = seq + 1
        ack = self.nxt[self.peer(side)] if ack is None else ack
        return self._emit(side, SYN | ACK, seq, ack, gap=gap)

    def ack(self, side: str = "c", ack: int | None = None, gap: float = 0.0001) -> Segment:
        ack = self.nxt[self.peer(side)] if ack is None else ack
        return self._emit(side, ACK, self.nxt[side], ack, gap=gap)

    def data(self, side: str, n: int, seq: int | None = None, gap: float = 0.0001,
             advance: bool = True) -> Segment:
        seq = self.nxt[side] if seq is None else seq
        seg = self._emit(side, ACK, seq, self.nxt[self.peer(side)], plen=n, gap=gap)
        if advance:
            self.nxt[side] = max(self.nxt[side], seq + n)
        return seg

    def fin(self, side: str, seq: int | None = None, gap: float = 0.0001,
            ack: int | None = None) -> Segment:
        seq = self.nxt[side] if seq is None else seq
        self.nxt[side] = seq + 1
        ack = self.nxt[self.peer(side)] if ack is None else ack
        return self._emit(side, FIN | ACK, seq, ack, gap=gap)

    def rst(self, side: str, seq: int | None = None, with_ack: bool = True,
            gap: float = 0.0001) -> Segment:
        seq = self.nxt[side] if seq is None else seq
        flags = RST | ACK if with_ack else RST
        return self._emit(side, flags, seq, self.nxt[self.peer(side)] if with_ack else 0,
                          gap=gap)

    def raw(self, side: str, flags: int, seq: int, ack: int, plen: int = 0,
            gap: float = 0.0001) -> Segment:
        return self._emit(side, flags, seq, ack, plen=plen, gap=gap)

    def handshake(self) -> Ladder:
        self.syn("c")
        self.synack("s")
        self.ack("c")
        return self

    def close(self, first: str = "c") -> Ladder:
        second = self.peer(first)
        self.fin(first)
        self.ack(second)
        self.fin(second)
        self.ack(first)
        return self


def stamped(lad: Ladder, echoes: dict[int, int] | None = None) -> list[Segment]:
    """The ladder's segments with timestamps as Linux lays them out (NOP, NOP, TS; the SYNs
    offer them the same way): each
    side's TSval is its frame number plus 100 (so every segment's is new), and its TSecr the
    peer's latest TSval, or ``echoes[frame]``'s TSval where given."""
    latest: dict[bytes, int] = {}
    out = []
    for seg in lad.segments:
        tsval = 100 + seg.frame
        tsecr = 100 + echoes[seg.frame] if echoes and seg.frame in echoes else latest.get(
            seg.dst, 0)
        options = b"\x01\x01" + struct.pack("!BBII", 8, 10, tsval, tsecr)
        latest[seg.src] = tsval
        out.append(seg._replace(options=options))
    return out
