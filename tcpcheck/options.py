"""TCP option parsing (RFC 9293 §3.1, RFC 7323, RFC 2018).

Options are parsed in full only where the model needs them (SYNs, segments whose layout is not the
usual one); the model's hot path reads the timestamp of Linux's fixed layouts directly.
"""

from __future__ import annotations

import struct
from collections.abc import Container
from dataclasses import dataclass

EOL, NOP, MSS, WSCALE, SACK_PERMITTED, SACK, TIMESTAMP = 0, 1, 2, 3, 4, 5, 8
_TS = struct.Struct("!II")
MAX_WSCALE = 14
"""The largest window scale shift (RFC 7323 §2.3); a larger one counts as 14."""


@dataclass(frozen=True, slots=True)
class Options:
    """The options of one segment that the model uses."""

    mss: int | None = None
    wscale: int | None = None
    sack_permitted: bool = False
    sack_blocks: int = 0
    tsval: int | None = None
    tsecr: int | None = None
    complete: bool = True
    """False when an option runs past the end of the bytes (cut by a small snaplen)."""


def parse_options(raw: bytes) -> Options:
    """Parse raw option bytes; malformed trailing bytes end the parse (as receivers do)."""
    mss = wscale = tsval = tsecr = None
    sack_permitted = False
    sack_blocks = 0
    i, n = 0, len(raw)
    # The option area is a multiple of 4 bytes (RFC 9293 §3.1, data offset in words): any
    # other length, or an option running past the end, means a snaplen cut it.
    complete = n % 4 == 0
    while i < n:
        kind = raw[i]
        if kind == EOL:
            break
        if kind == NOP:
            i += 1
            continue
        if i + 1 >= n:
            complete = False
            break
        length = raw[i + 1]
        if length < 2 or i + length > n:
            complete = complete and length < 2  # a bad length is malformed, not cut
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
    return Options(mss, wscale, sack_permitted, sack_blocks, tsval, tsecr, complete)


def find_option(raw: bytes, kinds: Container[int]) -> int | None:
    """Where the first option whose kind is in ``kinds`` starts in ``raw`` (None: none before
    the end of the list or a malformed length). One cheap walk, where ``parse_options`` would
    read every option."""
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        if kind == EOL:
            return None
        if kind == NOP:
            i += 1
            continue
        if kind in kinds:
            return i
        if i + 1 >= n or raw[i + 1] < 2:
            return None
        i += raw[i + 1]
    return None
