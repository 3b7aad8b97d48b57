"""Flag rules: which control bits a segment may carry (RFC 9293 §3.1, §3.10.7)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.segment import flag_names


def missing_ack_flag(e: ev.MissingAckFlag, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent a segment with flags [{flag_names(e.flags)}] and no ACK; "
        f"every segment but the initial SYN and a reset must carry ACK, and the receiver "
        f"drops it",
        "ACK flag set",
        f"flags [{flag_names(e.flags)}]",
    )


def invalid_flag_combination(e: ev.InvalidFlags, ctx: Context) -> Explanation:
    names = flag_names(e.flags)
    why = ("no control flag at all" if names in ("none", "ECE", "CWR", "ECE, CWR")
           else "a SYN cannot also close or reset the connection")
    return Explanation(
        f"{ctx.name(e.side)} sent a segment with flags [{names}]: {why}",
        "SYN alone, SYN+ACK, or ACK with any of FIN/RST/PSH/URG",
        f"flags [{names}]",
    )
