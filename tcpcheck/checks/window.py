"""Flow-control rules: the receive window (RFC 9293 §3.8.6, §3.10.7.4; RFC 7323 §2)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev


def data_beyond_window(e: ev.DataBeyondWindow, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    over = e.seq + e.length - e.right_edge
    return Explanation(
        f"{ctx.name(e.side)} sent {e.length} bytes at seq {e.seq}, ending at "
        f"{e.seq + e.length}: {over} bytes past the right edge {e.right_edge} of the window "
        f"the {peer} advertised (window {e.window} bytes, frame "
        f"{ctx.frame(e.window_frame, e.frame)}, the highest edge it ever offered)",
        f"data up to seq {e.right_edge} (ACK + window, scaled per RFC 7323 when both SYNs "
        f"carried window scale)",
        f"data up to seq {e.seq + e.length} ({over} bytes beyond)",
    )


def seq_out_of_window(e: ev.SeqOutOfWindow, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    if e.seq + e.length <= e.left_edge:
        where = f"before the first sequence number after its ISN ({e.left_edge})"
        expected = f"seq >= {e.left_edge}"
    else:
        where = (f"at or beyond the right edge {e.right_edge} of the {peer}'s receive window, "
                 f"with no zero-window probe to excuse it")
        expected = f"seq in [{e.left_edge}, {e.right_edge})"
    return Explanation(
        f"{ctx.name(e.side)} sent {e.length} bytes at seq {e.seq}, wholly {where}; it is "
        f"neither a retransmission nor a keepalive, and the {peer} must drop it (and answer "
        f"with an ACK)",
        expected,
        f"seq {e.seq}, len {e.length}",
    )


def window_shrink(e: ev.WindowShrink, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    return Explanation(
        f"{ctx.name(e.side)} moved the right edge of its window left, from {e.previous_edge} "
        f"to {e.new_edge} (ACK {e.ack}, window {e.window} bytes): the {peer} may already have "
        f"sent data up to the old edge",
        f"right edge >= {e.previous_edge}",
        f"right edge {e.new_edge} ({e.previous_edge - e.new_edge} bytes to the left)",
    )
