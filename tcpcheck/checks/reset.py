"""Reset diagnostics (RFC 9293 §3.10.7, RFC 5961)."""

from __future__ import annotations

from tcpcheck import events as ev
from tcpcheck.checks.base import Context, Explanation


def connection_reset(e: ev.ConnectionReset, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    if e.refused:
        return Explanation(
            f"{ctx.name(e.side)} refused the connection: RST answering the SYN",
            "SYN-ACK",
            "RST (nothing listening, or the port is rejected)",
        )
    verdict = ("the receiver accepts it" if e.accepted else
               "its sequence number is outside the receiver's window, so the receiver ignores it")
    return Explanation(
        f"{ctx.name(e.side)} reset the connection while the {peer} was in {e.state}; {verdict}",
        "an orderly close with FIN",
        f"RST (receiver in {e.state})",
    )
