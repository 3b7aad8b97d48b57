"""TCP option parsing (RFC 9293 §3.1, RFC 7323, RFC 2018).

Options are parsed only where the model needs them (SYNs, and the last segment of a side when
a tuple is reused), never per packet: the hot path carries the raw option bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EOL, NOP, MSS, WSCALE, SACK_PERMITTED, SACK, TIMESTAMP = 0, 1, 2, 3, 4, 5, 8
_TS = struct.Struct("!II")


@dataclass(frozen=True, slots=True)
class Options:
    """The options of one segment that the model uses."""

    mss: int | None = None
    wscale: int | None = None
    sack_permitted: bool = False
    sack_blocks: int = 0
    tsval: int | None = None
    tsecr: int | None = None


def parse_options(raw: bytes) -> Options:
    """Parse raw option bytes; malformed trailing bytes end the parse (as receivers do)."""
    mss = wscale = tsval = tsecr = None
    sack_permitted = False
    sack_blocks = 0
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        if kind == EOL:
            break
        if kind == NOP:
            i += 1
            continue
        if i + 1 >= n:
            break
        length = raw[i + 1]
        if length < 2 or i + length > n:
            break
        if kind == MSS and length == 4:
            mss = (raw[i + 2] << 8) | raw[i + 3]
        elif kind == WSCALE and length == 3:
            wscale = raw[i + 2]
        elif kind == SACK_PERMITTED and length == 2:
            sack_permitted = True
        elif kind == SACK:
            sack_blocks = (length - 2) // 8
        elif kind == TIMESTAMP and length == 10:
            tsval, tsecr = _TS.unpack_from(raw, i + 2)
        i += length
    return Options(mss, wscale, sack_permitted, sack_blocks, tsval, tsecr)


def tsval_of(raw: bytes) -> int | None:
    """The TSval of a segment's options, or None without a timestamp option."""
    return parse_options(raw).tsval if raw else None
