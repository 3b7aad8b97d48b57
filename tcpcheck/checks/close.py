"""Teardown rules (RFC 9293 §3.6) and four-tuple reuse (RFC 6191)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev


def data_after_fin(e: ev.DataAfterFin, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent {e.length} bytes at seq {e.seq} after its FIN at seq "
        f"{e.fin_seq} (frame {ctx.frame(e.fin_frame, e.frame)}); a side's FIN is the last "
        f"sequence number it sends",
        f"no payload at or beyond seq {e.fin_seq}",
        f"{e.length} bytes at seq {e.seq}",
    )


def fin_seq_changed(e: ev.FinSeqChanged, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent a FIN at seq {e.new_fin_seq}, but its FIN in frame "
        f"{ctx.frame(e.first_frame, e.frame)} was at seq {e.original_fin_seq}",
        f"FIN at seq {e.original_fin_seq}",
        f"FIN at seq {e.new_fin_seq}",
    )


def reset_in_time_wait(e: ev.ResetInTimeWait, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} answered the {ctx.peer(e.side)}'s retransmitted FIN (frame "
        f"{ctx.frame(e.fin_frame, e.frame)}) with RST {e.time_wait_since:.3f} s into TIME_WAIT; "
        f"the {e.profile.name} profile keeps TIME_WAIT for {e.time_wait:g} s to re-ACK it",
        "an ACK of the retransmitted FIN (TIME_WAIT restarts its 2*MSL timer)",
        "RST",
        f"RFC 9293 §3.6.1, §3.10.7.4; profile {e.profile.name} time_wait = {e.time_wait:g} s",
    )


def reopened_without_protection(e: ev.TupleReopened, ctx: Context) -> Explanation | None:
    if e.safe:
        return None
    return Explanation(
        f"a new SYN from the {ctx.name('client')} reopened the four-tuple of connection "
        f"{e.previous_connection} only {e.time_wait_since:.3f} s after its {e.time_wait_side} "
        f"entered TIME_WAIT ({e.time_wait:g} s in the {e.profile.name} profile), and RFC 6191 "
        f"does not allow it: {e.reason}",
        f"no reuse before {e.time_wait:g} s, or a SYN with a newer timestamp or an ISN beyond "
        f"the old sequence space",
        f"reuse after {e.time_wait_since:.3f} s: {e.reason}",
        f"RFC 9293 §3.6.1; RFC 6191 §2; profile {e.profile.name} time_wait = {e.time_wait:g} s",
    )


def time_wait_reuse(e: ev.TupleReopened, ctx: Context) -> Explanation | None:
    if not e.safe:
        return None
    return Explanation(
        f"a new SYN from the {ctx.name('client')} reopened the four-tuple of connection "
        f"{e.previous_connection} {e.time_wait_since:.3f} s after its {e.time_wait_side} "
        f"entered TIME_WAIT; RFC 6191 allows it because {e.reason}",
        "a SYN that proves it is newer than the old connection",
        e.reason,
    )


def close_wait_stall(e: ev.CloseWaitStall, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    end = (f"its FIN came only in frame {ctx.frame(e.fin_frame, e.frame)}"
           if e.fin_frame is not None
           else "it had not closed when the capture ended")
    return Explanation(
        f"{ctx.name(e.side)} was in CLOSE_WAIT: it received the {peer}'s FIN and then sent "
        f"nothing for {e.seconds:.1f} s, longer than the {e.profile.name} profile's "
        f"close_wait_stall of {e.threshold:g} s; {end}. The application has not closed its "
        f"socket",
        f"a FIN within {e.threshold:g} s of the last activity",
        f"{e.seconds:.1f} s in CLOSE_WAIT without sending",
        f"RFC 9293 §3.6; profile {e.profile.name} close_wait_stall = {e.threshold:g} s",
    )


def fin_wait_2_timeout(e: ev.FinWait2Timeout, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} waited {e.seconds:.1f} s in FIN_WAIT_2 for the "
        f"{ctx.peer(e.side)}'s FIN, longer than the {e.profile.name} profile's fin_timeout "
        f"of {e.timeout:g} s: a stack that closed the socket has deleted the connection by "
        f"now and answers what follows with RST",
        f"the peer's FIN within {e.timeout:g} s",
        f"no FIN after {e.seconds:.1f} s",
        f"RFC 9293 §3.6; profile {e.profile.name} fin_timeout = {e.timeout:g} s",
    )
