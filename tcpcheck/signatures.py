"""Stack signatures: what a stack's SYN or SYN-ACK looks like, as the ``[[signature]]`` tables
of a profile file (p0f's approach: initial TTL, window, option layout; p0f's README §5 and its
p0f.fp database are the reference for the format and the facts).

A signature is read from a profile file like every other key (``tcpcheck.userfiles``): each
table is checked for unknown keys, types and ranges, and its layout for option names, so a
bad one ends the run with one line naming the key. ``tcpcheck.fingerprint`` matches them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tcpcheck.userfiles import Field, Kind, check_fields, describe, dotted

MAX_SIGNATURES = 256
"""Most ``[[signature]]`` tables one profile file may hold (the bundled ones hold ~20)."""
MAX_LAYOUT = 40
"""Most options in a layout: 40 bytes of option space, at least one byte each."""


class SegmentKind(Enum):
    """Which handshake segment a signature describes: a stack's SYN-ACK echoes what the peer's
    SYN offered (RFC 7323 §2.2, RFC 2018 §2), so the two are told apart."""

    SYN = "syn"
    SYNACK = "synack"
    BOTH = "both"


class Quirk(Enum):
    """Details beyond the layout a signature may require (p0f README §5, "quirks")."""

    TS_ZERO = "ts-zero"
    """The sender's own TSval is 0 (p0f ``ts1-``; Windows XP/2003)."""
    ECN = "ecn"
    """ECN negotiation: ECE and CWR on a SYN, ECE on a SYN-ACK (RFC 3168 §6.1.1)."""


OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "ws", 4: "sok", 5: "sack", 8: "ts"}
"""p0f's names of the option kinds in a layout; any other kind N is written ``?N``."""
_KINDS = {name: kind for kind, name in OPTION_NAMES.items()}
_UNKNOWN = re.compile(r"\?(\d{1,3})")
_MULTIPLE = re.compile(r"mss\*(\d{1,4}|any)")


def layout_token(kind: int) -> str:
    """The layout name of an option kind: ``mss``, or ``?30`` for one p0f does not name."""
    return OPTION_NAMES.get(kind) or f"?{kind}"


_ETHERNET_MSS = (1460, 1448, 1440, 1428)
"""The MSS over a 1500-byte MTU: IPv4 and IPv6, without and with timestamps."""


@dataclass(frozen=True, slots=True)
class WindowTerm:
    """One allowed window: ``exact`` when not 0, else ``mss_times`` times the MSS (any
    multiple when ``mss_times`` is 0)."""

    exact: int = 0
    mss_times: int = 0

    def fits(self, window: int, mss: int | None, timestamps: bool) -> bool:
        """Whether ``window`` is this term. A multiple of the MSS is taken as p0f takes it
        (fp_tcp.c detect_win_multi): of the MSS announced, of the MSS less the 12 bytes of
        timestamps when the segment carries them (Linux sizes its SYN-ACK's window for the
        data it will receive), or of the MSS of a 1500-byte Ethernet MTU (1460, 1448; 1440,
        1428 over IPv6), since middleboxes rewrite the MSS option but not the window."""
        if self.exact:
            return window == self.exact
        sizes = [*_ETHERNET_MSS, *((mss, mss - 12) if mss and timestamps else (mss,))]
        sizes = [size for size in sizes if size and size > 12]
        if self.mss_times:
            return any(window == size * self.mss_times for size in sizes)
        return window > 0 and any(window % size == 0 for size in sizes)

    def text(self) -> str:
        """As written in the profile file: ``8192``, ``mss*4``, ``mss*any``."""
        if self.exact:
            return str(self.exact)
        return f"mss*{self.mss_times or 'any'}"


@dataclass(frozen=True, slots=True)
class Signature:
    """One stack's SYN or SYN-ACK, as a profile file describes it."""

    name: str
    """What it identifies, as reports show it: ``Windows 7-10 / Server 2008 R2-2016``."""
    profile: str
    """The profile file it comes from: the profile such a stack runs."""
    segment: SegmentKind
    ttl: int
    """Initial IP TTL (hop limit): the observed one is at most this, and within ``MAX_HOPS``."""
    layout: tuple[str, ...]
    """Option kinds in order, p0f's names (``mss,nop,ws,nop,nop,sok``); bytes after ``eol``
    are padding."""
    window: tuple[WindowTerm, ...] = ()
    """Allowed window fields (raw, unscaled); empty for any."""
    mss: tuple[int, ...] = ()
    """Allowed MSS values; empty for any."""
    wscale: tuple[int, ...] = ()
    """Allowed window scale shifts; empty for any."""
    df: bool | None = None
    """IPv4 Don't Fragment bit required set (True) or clear (False); None for either."""
    quirks: frozenset[Quirk] = frozenset()
    """Details the segment must show besides its layout."""
    also: tuple[str, ...] = ()
    """Other bundled profiles the same signature may run, less likely first."""
    source: str = ""
    """Where the values come from (p0f.fp lines, vendor documentation, captures)."""

    @property
    def profiles(self) -> tuple[str, ...]:
        """The profile it comes from, then the alternatives."""
        return (self.profile, *self.also)

    @property
    def specificity(self) -> int:
        """How much the signature pins down beyond TTL and layout: an exact window counts 3,
        a window of N MSS 2, any multiple of the MSS 1, and each other constraint 1."""
        window = max((3 if t.exact else 2 if t.mss_times else 1 for t in self.window),
                     default=0)
        return (window + bool(self.mss) + bool(self.wscale) + (self.df is not None)
                + len(self.quirks))

    def text(self) -> str:
        """The signature on one line, for ``tcpcheck profiles NAME``."""
        parts = [self.segment.value, f"TTL {self.ttl}", ",".join(self.layout),
                 "window " + (" | ".join(t.text() for t in self.window) or "any")]
        if self.mss:
            parts.append("MSS " + " | ".join(map(str, self.mss)))
        if self.wscale:
            parts.append("WS " + " | ".join(map(str, self.wscale)))
        if self.df is not None:
            parts.append("DF" if self.df else "no DF")
        parts.extend(sorted(q.value for q in self.quirks))
        return "; ".join(parts)

    def doc(self) -> dict[str, object]:
        """JSON-ready fields, the keys of the profile file."""
        return {"name": self.name, "segment": self.segment.value, "ttl": self.ttl,
                "layout": ",".join(self.layout),
                "window": [t.exact or t.text() for t in self.window] or "any",
                "mss": list(self.mss) or "any", "wscale": list(self.wscale) or "any",
                "df": self.df, "quirks": sorted(q.value for q in self.quirks),
                "profiles": list(self.profiles), "source": self.source}


_TABLE_FIELDS: dict[str, Field] = {
    "name": Field(Kind.TEXT),
    "segment": Field(Kind.CHOICE, choices=tuple(k.value for k in SegmentKind)),
    "ttl": Field(Kind.COUNT, 1, 255),
    "layout": Field(Kind.TEXT),
    "source": Field(Kind.TEXT),
}
_REQUIRED = ("name", "segment", "ttl", "layout", "source")
_LISTS = ("window", "mss", "wscale", "quirks", "also")
_OPTIONAL = ("df", *_LISTS)


def parse_signatures(tables: object, profile: str, origin: str, known: Sequence[str],
                     fail: Callable[[str], Exception]) -> tuple[Signature, ...]:
    """The ``signature`` key of profile ``profile`` (read from ``origin``) as Signatures;
    ``known`` are the profile names ``also`` may give; ``fail(message)`` builds the error."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise fail(f"{origin}: signature must be a list of tables ([[signature]]), not "
                   f"{describe(tables)}")
    if len(tables) > MAX_SIGNATURES:
        raise fail(f"{origin}: {len(tables)} [[signature]] tables, more than {MAX_SIGNATURES}")
    return tuple(_signature(table, profile, ("signature", i), known,
                            lambda message: fail(f"{origin}: {message}"))
                 for i, table in enumerate(tables))


def _signature(table: dict[str, Any], profile: str, where: tuple[str | int, ...],
               known: Sequence[str], fail: Callable[[str], Exception]) -> Signature:
    unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise fail(f"{dotted(where)}: unknown key(s): {', '.join(sorted(unknown))}")
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise fail(f"{dotted(where)}: missing key(s): {', '.join(missing)}")
    values = check_fields({k: table[k] for k in _REQUIRED}, _TABLE_FIELDS, fail, where)

    def reject(key: str, expected: str) -> Exception:
        return fail(f"{dotted((*where, key))} must be {expected}, not {describe(table[key])}")

    items: dict[str, tuple[Any, ...]] = {}
    for key in _LISTS:
        raw = _list(table.get(key, "any" if key in ("window", "mss", "wscale") else []), key)
        parsed = None if raw is None else _items(key, raw, known)
        if parsed is None:
            prefix = '"any" or ' if key in ("window", "mss", "wscale") else ""
            raise reject(key, f"{prefix}a list of {_ITEM_TEXT[key]}")
        items[key] = parsed
    df = table.get("df")
    if df is not None and not isinstance(df, bool):
        raise reject("df", "true or false")
    layout = _layout(values["layout"])
    if layout is None:
        raise reject("layout", "option names joined by commas (eol, nop, mss, ws, sok, sack, "
                     "ts, ?N), at most 40")
    return Signature(values["name"], profile, SegmentKind(values["segment"]), values["ttl"],
                     layout, window=items["window"], mss=items["mss"],
                     wscale=items["wscale"], df=df, quirks=frozenset(items["quirks"]),
                     also=items["also"], source=values["source"])


_ITEM_TEXT = {"window": 'windows (1-65535, "mss*N" or "mss*any")',
              "mss": "MSS values (0-65535)",
              "wscale": "window scale shifts (0-255)", "quirks": "ts-zero, ecn",
              "also": "bundled profile names"}


def _list(value: object, key: str) -> list[Any] | None:
    """``any`` as the empty list, a list as itself, anything else None."""
    if value == "any" and key not in ("quirks", "also"):
        return []
    return value if isinstance(value, list) else None


def _items(key: str, values: list[Any], known: Sequence[str]) -> tuple[Any, ...] | None:
    """The items of list key ``key`` parsed, or None when one does not fit."""
    parse = {"window": _window_term, "mss": lambda v: _int(v, 65535),
             "wscale": lambda v: _int(v, 255), "quirks": _quirk,
             "also": lambda v: v if v in known else None}[key]
    out = tuple(parse(v) for v in values)
    return None if any(v is None for v in out) else out


def _int(value: object, high: int) -> int | None:
    fits = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high
    return value if fits else None  # type: ignore[return-value]


def _window_term(value: object) -> WindowTerm | None:
    if isinstance(value, str):
        match = _MULTIPLE.fullmatch(value)
        if match is None:
            return None
        if match.group(1) == "any":
            return WindowTerm()
        times = int(match.group(1))
        return WindowTerm(mss_times=times) if times else None
    exact = _int(value, 65535)
    return WindowTerm(exact=exact) if exact else None


def _quirk(value: object) -> Quirk | None:
    return next((q for q in Quirk if q.value == value), None)


def _layout(text: str) -> tuple[str, ...] | None:
    tokens = tuple(t.strip() for t in text.split(","))
    # Bytes after an end-of-option-list are padding (RFC 9293 §3.1): nothing follows it.
    if len(tokens) > MAX_LAYOUT or "eol" in tokens[:-1]:
        return None
    for token in tokens:
        unknown = _UNKNOWN.fullmatch(token)
        if token not in _KINDS and not (unknown and int(unknown.group(1)) <= 255):
            return None
    return tokens
