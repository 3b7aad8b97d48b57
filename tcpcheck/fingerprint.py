"""Which stack sent a SYN or SYN-ACK: the ``[[signature]]`` tables of the bundled profiles
matched against the segment's initial TTL, DF bit, window, MSS, window scale and option
layout (p0f's approach; ``tcpcheck.signatures`` holds the tables).

Called once per SYN or SYN-ACK, never per packet: the signatures are indexed by segment kind
and layout, so a segment is compared with the few that share its layout.

Matching: every signature whose constraints the segment meets matches; the most specific one
wins (``Signature.specificity``: an exact window beats a multiple of the MSS, which beats any
window; each of MSS, window scale, DF and a quirk adds one). When several are equally
specific, the first listed wins (profiles in name order, tables in file order) if they all
name the same profiles; if they name different profiles the stack is not known: None.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from tcpcheck.options import TIMESTAMP, find_option
from tcpcheck.profiles import load_profile, profile_names
from tcpcheck.segment import ACK, CWR, ECE, RST, SYN, Segment
from tcpcheck.signatures import Quirk, SegmentKind, Signature, layout_token

INITIAL_TTLS = (32, 64, 128, 255)
"""The initial TTLs stacks use (p0f's guess_dist rounds up to these)."""
MAX_HOPS = 35
"""Farthest a sender may be, in hops, for its initial TTL to be guessed (p0f: MAX_DIST 35);
an observed TTL further below every initial one matches no signature."""

_EVIDENCE_NAMES = {"eol": "EOL", "nop": "NOP", "sok": "SACK_PERM", "sack": "SACK"}


@dataclass(frozen=True, slots=True)
class StackMatch:
    """What a SYN or SYN-ACK says about the stack that sent it."""

    profiles: tuple[str, ...]
    """Bundled profile names this stack may run, most likely first: ("linux", "linux-legacy"),
    ("windows",), ("bsd",)."""
    label: str
    """The signature's name: "Linux 3.x-6.x", "Windows 7-10 / Server 2008 R2-2016"."""
    evidence: str
    """One line of what was read, without the frame: "TTL 128 (initial 128), DF, window 8192,
    MSS 1460, NOP, WS 8, NOP, NOP, SACK_PERM"."""


class Reading(NamedTuple):
    """What a SYN or SYN-ACK shows of its sender's stack."""

    kind: SegmentKind
    ttl: int
    initial_ttl: int
    df: bool | None
    """The IPv4 DF bit; None for IPv6, which has none."""
    window: int
    layout: tuple[str, ...]
    mss: int | None
    wscale: int | None
    tsval: int | None
    quirks: frozenset[Quirk]

    def describe(self) -> str:
        """The evidence line of ``StackMatch``."""
        ip = [f"TTL {self.ttl} (initial {self.initial_ttl})"] + (["DF"] if self.df else [])
        quirks = ["ECN"] if Quirk.ECN in self.quirks else []
        return ", ".join([*ip, f"window {self.window}", *_evidence(self), *quirks])


class Fingerprints:
    """The [[signature]] tables of the bundled profiles."""

    __slots__ = ("_index",)

    def __init__(self, signatures: Iterable[Signature]) -> None:
        # Each signature with its specificity, worked out once rather than on every match.
        index: dict[tuple[SegmentKind, tuple[str, ...]], list[tuple[int, Signature]]] = {}
        for sig in signatures:
            kinds = ((SegmentKind.SYN, SegmentKind.SYNACK) if sig.segment is SegmentKind.BOTH
                     else (sig.segment,))
            for kind in kinds:
                index.setdefault((kind, sig.layout), []).append((sig.specificity, sig))
        self._index = {key: tuple(sigs) for key, sigs in index.items()}

    @classmethod
    def bundled(cls) -> Fingerprints:
        """The signatures of every bundled profile, read once per process."""
        return _bundled()

    def identify(self, seg: Segment) -> StackMatch | None:
        """The stack that sent ``seg``, a SYN (no ACK) or SYN-ACK as decoded; None when no
        signature matches, the match is ambiguous, or the segment is not a SYN, lacks its IP
        header, or has options cut by the snaplen or malformed."""
        reading = read(seg)
        if reading is None:
            return None
        matches = [(rank, sig) for rank, sig in self._index.get((reading.kind, reading.layout), ())
                   if _fits(sig, reading)]
        if not matches:
            return None
        best = max(rank for rank, _ in matches)
        top = [sig for rank, sig in matches if rank == best]
        if len({sig.profiles for sig in top}) > 1:
            return None
        return StackMatch(top[0].profiles, top[0].name, reading.describe())


@functools.lru_cache(maxsize=1)
def _bundled() -> Fingerprints:
    return Fingerprints(sig for name in profile_names() for sig in load_profile(name).signatures)


def _fits(sig: Signature, r: Reading) -> bool:
    # A multiple of the MSS is judged against the MSS the segment itself announces.
    timestamps = r.tsval is not None
    return (sig.ttl == r.initial_ttl
            and (not sig.window or any(t.fits(r.window, r.mss, timestamps) for t in sig.window))
            and (not sig.mss or r.mss in sig.mss)
            and (not sig.wscale or r.wscale in sig.wscale)
            and (sig.df is None or r.df is None or sig.df == r.df)
            and sig.quirks <= r.quirks)


def read(seg: Segment) -> Reading | None:
    """What ``seg`` shows of its sender's stack, or None (see ``Fingerprints.identify``)."""
    if not seg.flags & SYN or seg.flags & RST:
        return None
    ip = _ip_fields(seg.header)
    options = _options(seg.options)
    if ip is None or options is None:
        return None
    ttl, df = ip
    initial = next((t for t in INITIAL_TTLS if t >= ttl), 255)
    if initial - ttl > MAX_HOPS:
        return None
    layout, mss, wscale, tsval = options
    synack = bool(seg.flags & ACK)
    quirks = set()
    if tsval == 0:
        quirks.add(Quirk.TS_ZERO)
    # RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup SYN-ACK ECE only.
    if seg.flags & ECE and (synack or seg.flags & CWR):
        quirks.add(Quirk.ECN)
    return Reading(SegmentKind.SYNACK if synack else SegmentKind.SYN, ttl, initial, df,
                   seg.win, layout, mss, wscale, tsval, frozenset(quirks))


def _ip_fields(header: bytes) -> tuple[int, bool | None] | None:
    """TTL (hop limit) and DF bit of the IP header at the start of ``header``."""
    version = header[0] >> 4 if header else 0
    if version == 4 and len(header) >= 20:
        return header[8], bool(header[6] & 0x40)
    if version == 6 and len(header) >= 40:
        return header[7], None
    return None


_Options = tuple[tuple[str, ...], int | None, int | None, int | None]
# The lengths RFC 9293 §3.1 (MSS), RFC 7323 §2.2, §3.2 (WS, TS) and RFC 2018 §2 (SACK-permitted)
# give these options; any other length is a malformed option, not a stack's habit.
_FIXED_LENGTHS = {2: 4, 3: 3, 4: 2, 8: 10}


def _options(raw: bytes) -> _Options | None:
    """Layout, MSS, window scale and TSval of ``raw``; None when an option is malformed or
    cut short (the option area is a whole number of 32-bit words)."""
    if len(raw) % 4:
        return None
    layout: list[str] = []
    mss = wscale = tsval = None
    i, end = 0, len(raw)
    while i < end:
        kind = raw[i]
        layout.append(layout_token(kind))
        if kind <= 1:
            if kind == 0:
                break  # the rest is padding
            i += 1
            continue
        length = raw[i + 1] if i + 1 < end else 0
        if length < 2 or i + length > end or _FIXED_LENGTHS.get(kind, length) != length:
            return None
        if kind == 2:
            mss = (raw[i + 2] << 8) | raw[i + 3]
        elif kind == 3:
            wscale = raw[i + 2]
        elif kind == 8:
            tsval = int.from_bytes(raw[i + 2:i + 6], "big")
        i += length
    return tuple(layout), mss, wscale, tsval


def _evidence(r: Reading) -> list[str]:
    """The options as the evidence line names them: ``MSS 1460``, ``NOP``, ``WS 8``."""
    # A TSval is a clock, not a trait of the stack: only XP's 0 says something.
    values = {"mss": f"MSS {r.mss}", "ws": f"WS {r.wscale}",
              "ts": "TS val 0" if r.tsval == 0 else "TS"}
    return [values.get(token) or _EVIDENCE_NAMES.get(token) or f"option {token[1:]}"
            for token in r.layout]


def signature_key(seg: Segment) -> bytes | None:
    """What ``Fingerprints.identify`` reads of ``seg``, as bytes: two segments with the same
    key get the same match (a TSval enters only as zero or not). None without an IP header.
    A run meets the same few stacks thousands of times: the key lets it match each once."""
    head = seg.header
    if not head:
        return None
    version = head[0] >> 4
    ip = bytes((version, head[8], head[6] & 0x40)) if version == 4 else bytes((version, head[7]))
    options = seg.options
    at = find_option(options, (TIMESTAMP,))
    if at is not None and at + 10 <= len(options) and options[at + 1] == 10:
        options = (options[:at + 2] + (b"\0" if options[at + 2:at + 6] == bytes(4) else b"\1")
                   + options[at + 10:])
    return ip + seg.flags.to_bytes(1, "big") + seg.win.to_bytes(2, "big") + options
