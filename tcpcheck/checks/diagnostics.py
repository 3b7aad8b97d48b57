"""Diagnostics: normal TCP behaviour worth seeing when chasing a stall (all info)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.timers import backed_off


def duplicate_ack(e: ev.DuplicateAck, ctx: Context) -> Explanation:
    if e.answers is not None:
        return Explanation(
            f"{ctx.name(e.side)} repeated ACK {e.ack} (duplicate #{e.count} of frame "
            f"{ctx.frame(e.original_frame, e.frame)}) in reply to the {ctx.peer(e.side)}'s "
            f"segment at frame {ctx.frame(e.answers, e.frame)}, which it had to drop and answer "
            f"(RFC 9293 §3.10.7.4, RFC 5961): not a hole in the data",
            "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> for the dropped segment",
            f"ACK {e.ack} again, same window, no data",
            "RFC 9293 §3.10.7.4; RFC 5961 §3.2, §4.2; RFC 7323 §5.3",
        )
    return Explanation(
        f"{ctx.name(e.side)} repeated ACK {e.ack} (duplicate #{e.count} of frame "
        f"{ctx.frame(e.original_frame, e.frame)}): it received a segment beyond a hole and asks "
        f"for {e.ack} again",
        "a new ACK, or a window update",
        f"ACK {e.ack} again, same window, no data",
    )


def accept_deferred(e: ev.AcceptDeferred, ctx: Context) -> Explanation:
    p = e.profile
    timeouts = [backed_off(p.initial_rto, i, p.max_rto) for i in range(e.next_timeout)]
    due = ", ".join(f"{sum(timeouts[:i + 1]):g}" for i in range(e.next_timeout))
    return Explanation(
        f"{ctx.name(e.side)} sent its SYN-ACK again {e.interval:.3f} s after frame "
        f"{ctx.frame(e.synack_frame, e.frame)}, although the {ctx.peer(e.side)} had "
        f"acknowledged it (frame {ctx.frame(e.ack_frame, e.frame)}) and sent nothing since: "
        f"a listener deferring accept (Linux TCP_DEFER_ACCEPT) drops that bare ACK, lets "
        f"{e.silent} SYN-ACK timeout{'s' if e.silent != 1 else ''} pass without sending and "
        f"resends at the deferral's last, for the {ctx.peer(e.side)} to acknowledge again; "
        f"accept() returns on that ACK or on data",
        f"a SYN-ACK again only at a timeout of the {p.name} profile's SYN-ACK timer ({due} s "
        f"after frame {ctx.frame(e.synack_frame, e.frame)})",
        f"SYN-ACK again at timeout {e.next_timeout}, +{e.interval:.3f} s",
        f"profile {p.name} bare_third_ack = {p.bare_third_ack}; RFC 6298 §5.5",
    )


def out_of_order(e: ev.OutOfOrder, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)}'s {e.length} bytes at seq {e.seq} arrived "
        f"{e.gap_ns / 1e6:.3f} ms after higher sequence numbers, sooner than a round trip: "
        f"reordered on the path, not a retransmission",
        "segments in sequence order",
        f"seq {e.seq} after higher sequence numbers",
    )


def zero_window(e: ev.ZeroWindow, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} advertised a zero window at ACK {e.ack}: its receive buffer is "
        f"full (the application is not reading), and the {ctx.peer(e.side)} must stop sending",
        "a window > 0",
        "window 0",
    )


def zero_window_probe(e: ev.ZeroWindowProbe, ctx: Context) -> Explanation:
    what = f"{e.length} byte" if e.length else "no data"
    return Explanation(
        f"{ctx.name(e.side)} probed the {ctx.peer(e.side)}'s zero window (seq {e.seq}, "
        f"{what}); the persist timer keeps asking until the window opens. Wireshark labels "
        f"Linux's form (SND.UNA - 1, no data) a keep-alive",
        "a probe while the window is zero",
        f"probe at seq {e.seq}",
    )


def keepalive(e: ev.Keepalive, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent a keepalive (seq {e.seq} = SND.NXT - 1, {e.length} bytes) "
        f"after {e.idle:.1f} s without sending; the {e.profile.name} profile's first "
        f"keepalive comes after {e.profile.keepalive_time:g} s idle unless the application "
        f"shortened it",
        "a keepalive on an idle connection",
        f"keepalive after {e.idle:.1f} s",
    )


def fast_retransmission(e: ev.FastRetransmission, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} fast-retransmitted {e.length} bytes at seq {e.seq} after "
        f"{e.dupacks} duplicate ACKs asked for exactly that byte",
        "a retransmission after 3 duplicate ACKs (or SACK loss detection)",
        f"retransmission after {e.dupacks} duplicate ACKs",
    )


def spurious_retransmission(e: ev.SpuriousRetransmission, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} retransmitted {e.length} bytes at seq {e.seq} that the "
        f"{ctx.peer(e.side)} had already acknowledged (ACK {e.acked}): the timer fired too "
        f"early or the ACK was lost",
        f"no retransmission of bytes below ACK {e.acked}",
        f"seq {e.seq}-{e.seq + e.length} sent again",
    )


def isn_weak(e: ev.IsnWeak, ctx: Context) -> Explanation:
    if e.previous_connection is None:
        text = f"{ctx.name(e.side)} chose ISN 0"
    else:
        text = (f"{ctx.name(e.side)} chose ISN {e.isn}, the same as the same host's "
                f"connection {e.previous_connection}")
    return Explanation(
        f"{text}: RFC 6528 ISNs come from a clock plus a keyed hash of the four-tuple, so they "
        f"are unpredictable and repeat only by chance (1 in 2^32)",
        "an unpredictable ISN",
        f"ISN {e.isn}",
    )
