"""Timer rules, against the stack profile (RFC 6298, RFC 1122 §4.2.3.5, Linux sysctls)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev


def _retries(e: ev.SynRetriesExceeded, ctx: Context, knob: str) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent its {e.what} {e.transmissions} times over {e.elapsed:.1f} s; "
        f"the {ctx.profile.name} profile allows {e.limit} transmissions and gives up after "
        f"{e.give_up:g} s",
        f"at most {e.limit} {e.what}s within {e.give_up:g} s",
        f"{e.what} number {e.transmissions} at {e.elapsed:.1f} s",
        f"RFC 1122 §4.2.3.5; RFC 6298 §5; profile {ctx.profile.name} {knob}",
    )


def syn_retries_exceeded(e: ev.SynRetriesExceeded, ctx: Context) -> Explanation | None:
    if e.what != "SYN":
        return None
    p = ctx.profile
    return _retries(e, ctx, f"syn_retries = {p.syn_retries}, syn_linear_timeouts = "
                    f"{p.syn_linear_timeouts}")


def synack_retries_exceeded(e: ev.SynRetriesExceeded, ctx: Context) -> Explanation | None:
    if e.what != "SYN-ACK":
        return None
    return _retries(e, ctx, f"synack_retries = {ctx.profile.synack_retries}")


def rto_backoff_violation(e: ev.RtoBackoffViolation, ctx: Context) -> Explanation:
    p = ctx.profile
    if e.what == "data":
        return Explanation(
            f"{ctx.name(e.side)} retransmitted seq {e.seq} for the {e.nth}th time only "
            f"{e.observed:.3f} s after the previous copy (frame {e.previous_frame}), while the "
            f"{ctx.peer(e.side)} stayed silent: consecutive timeouts must back off, doubling "
            f"the RTO (up to {p.max_rto:g} s), never below rto_min {p.rto_min:g} s",
            f"about {e.expected:.3f} s or more",
            f"{e.observed:.3f} s",
            f"RFC 6298 §5.5; profile {p.name} rto_min = {p.rto_min:g} s, "
            f"max_rto = {p.max_rto:g} s",
        )
    return Explanation(
        f"{ctx.name(e.side)} sent {e.what} retransmission {e.nth} {e.observed:.3f} s after "
        f"the previous one (frame {e.previous_frame}); the {p.name} profile's schedule says "
        f"{e.expected:g} s",
        f"{e.expected:g} s (within 25% + 50 ms)",
        f"{e.observed:.3f} s",
        f"RFC 6298 §5.5; profile {p.name} initial_rto = {p.initial_rto:g} s, "
        f"syn_linear_timeouts = {p.syn_linear_timeouts}",
    )
