"""Serial-number arithmetic for 32-bit TCP sequence space (RFC 1982 style).

The model keeps every sequence position *unwrapped*: a plain Python int that keeps growing past
2**32, anchored at the first sequence number seen. All wrap handling happens here, in ``unwrap``,
so the rest of the model compares positions with ordinary ``<`` and ``-``.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
HALF = 0x80000000


def sdiff(a: int, b: int) -> int:
    """Signed distance ``a - b`` between two 32-bit sequence numbers, in [-2**31, 2**31)."""
    return ((a - b + HALF) & MASK) - HALF


def seq_lt(a: int, b: int) -> bool:
    """``a`` precedes ``b`` in sequence space (wrap-aware)."""
    return sdiff(a, b) < 0


def seq_gt(a: int, b: int) -> bool:
    """``a`` follows ``b`` in sequence space (wrap-aware)."""
    return sdiff(a, b) > 0


def unwrap(seq32: int, near: int) -> int:
    """The unwrapped position of the 32-bit ``seq32`` closest to the unwrapped position ``near``."""
    return near + ((seq32 - near + HALF) & MASK) - HALF
