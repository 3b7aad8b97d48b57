"""Timer rules, against the stack profile (RFC 6298, RFC 1122 §4.2.3.5, Linux sysctls)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.profiles import Profile
from tcpcheck.timers import Tolerance, backed_off

LEGACY_HINT = ("; these SYNs back off exponentially from the first timeout (each interval "
               "double the one before), as Linux did before tcp_syn_linear_timeouts: for such "
               "a host, check with --profile linux-legacy")
"""Appended to a SYN timer finding when the profile keeps its first timeouts linear and the
SYNs doubled from the first: the host is very likely an older kernel, not a broken one."""
HINT_TOLERANCE = Tolerance(ratio=0.1, slack=0.05)
"""How close to pure doubling an interval must be for the hint: tighter than the rules' 25 %,
which took a Windows host's 3 s for a doubled 4 s (ftp-crack in the wild set)."""


def _exponential_hint(profile: Profile, observed: float, doubling: float) -> str:
    """``LEGACY_HINT`` when ``observed`` is what pure doubling from the initial RTO gives
    (``doubling``) although the profile keeps its first SYN timeouts linear; else nothing."""
    if profile.syn_linear_timeouts and HINT_TOLERANCE.matches(observed, doubling):
        return LEGACY_HINT
    return ""


def _doubled(profile: Profile, nth: int) -> float:
    """The interval before SYN retransmission ``nth`` (1 = the first) under pure doubling."""
    return backed_off(profile.initial_rto, nth - 1, profile.max_rto)


def _because(why: str) -> str:
    """Why the side has the profile that judged it, for the message (``--profile auto``)."""
    return f" ({why})" if why else ""


def _retries(e: ev.SynRetriesExceeded, ctx: Context, knob: str, hint: str = "") -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent its {e.what} {e.transmissions} times over {e.elapsed:.1f} s; "
        f"the {e.profile.name} profile{_because(e.why)} allows {e.limit} transmissions and "
        f"gives up after {e.give_up:g} s{hint}",
        f"at most {e.limit} {e.what}s within {e.give_up:g} s",
        f"{e.what} number {e.transmissions} at {e.elapsed:.1f} s",
        f"RFC 1122 §4.2.3.5; RFC 6298 §5; profile {e.profile.name} {knob}",
    )


def syn_retries_exceeded(e: ev.SynRetriesExceeded, ctx: Context) -> Explanation | None:
    if e.what != "SYN":
        return None
    p = e.profile
    return _retries(e, ctx, f"syn_retries = {p.syn_retries}, syn_linear_timeouts = "
                    f"{p.syn_linear_timeouts}",
                    _exponential_hint(p, e.elapsed, sum(
                        _doubled(p, nth) for nth in range(1, e.transmissions))))


def synack_retries_exceeded(e: ev.SynRetriesExceeded, ctx: Context) -> Explanation | None:
    if e.what != "SYN-ACK":
        return None
    return _retries(e, ctx, f"synack_retries = {e.profile.synack_retries}")


def rto_backoff_violation(e: ev.RtoBackoffViolation, ctx: Context) -> Explanation:
    p = e.profile
    if e.what == "data":
        return Explanation(
            f"{ctx.name(e.side)} retransmitted seq {e.seq} for the {e.nth}th time only "
            f"{e.observed:.3f} s after the previous copy (frame "
            f"{ctx.frame(e.previous_frame, e.frame)}), while the "
            f"{ctx.peer(e.side)} stayed silent: consecutive timeouts must back off, doubling "
            f"the RTO (up to {p.max_rto:g} s), never below rto_min {p.rto_min:g} s"
            f"{_because(e.why)}",
            f"about {e.expected:.3f} s or more",
            f"{e.observed:.3f} s",
            f"RFC 6298 §5.5; profile {p.name} rto_min = {p.rto_min:g} s, "
            f"max_rto = {p.max_rto:g} s",
        )
    # The first retransmission is 1 s after the SYN under both schedules (or a rearm after
    # an RST): only from the second on does doubling tell an older kernel apart.
    hint = (_exponential_hint(p, e.observed, _doubled(p, e.nth))
            if e.what == "SYN" and e.nth >= 2 else "")
    if p.initial_rto_source == "observed":
        hint += (f", doubling from its first retransmission's {p.initial_rto:.3f} s "
                 f"(RFC 6298 §5.5)")
    return Explanation(
        f"{ctx.name(e.side)} sent {e.what} retransmission {e.nth} {e.observed:.3f} s after "
        f"the previous one (frame {ctx.frame(e.previous_frame, e.frame)}); the {p.name} "
        f"profile's schedule says {e.expected:g} s{hint}{_because(e.why)}",
        f"{e.expected:g} s (within 25% + 50 ms)",
        f"{e.observed:.3f} s",
        f"RFC 6298 §5.5; profile {p.name} initial_rto = {p.initial_rto:g} s, "
        f"syn_linear_timeouts = {p.syn_linear_timeouts}",
    )
