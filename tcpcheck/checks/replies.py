"""Receiver rules: the replies a receiver owes and what it sent (RFC 9293 §3.10.7, RFC 5961).

Each reads ``ReplyOwed`` events of some kinds and one outcome; the others (answered, unjudged,
rate-limited) are healthy and make no finding. ``side`` is the receiver that owed the reply,
``frame`` the segment that made it owe it.
"""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.model.events.replies import ReplyKind, ReplyOutcome

_WHAT = {
    ReplyKind.ACK_UNACCEPTABLE: "an ACK for an unacceptable segment",
    ReplyKind.CHALLENGE_RST: "a challenge ACK",
    ReplyKind.CHALLENGE_SYN: "a challenge ACK",
    ReplyKind.RESET_CLOSED: "a reset",
    ReplyKind.RESET_LISTEN: "a reset",
    ReplyKind.RESET_SYN_RECEIVED: "a reset",
    ReplyKind.ACK_FIN: "an ACK of the FIN",
    ReplyKind.ACK_HOLE: "an immediate ACK of the data that filled a hole",
    ReplyKind.ACK_DATA: "an ACK of the data",
}
_CHALLENGES = frozenset({ReplyKind.CHALLENGE_RST, ReplyKind.CHALLENGE_SYN})
_RESETS = frozenset({ReplyKind.RESET_CLOSED, ReplyKind.RESET_LISTEN,
                     ReplyKind.RESET_SYN_RECEIVED})
_ORDINARY = frozenset({ReplyKind.ACK_FIN, ReplyKind.ACK_HOLE, ReplyKind.ACK_DATA})


def _missing(e: ev.ReplyOwed, ctx: Context, kinds: frozenset[ReplyKind]) -> Explanation | None:
    if e.outcome is not ReplyOutcome.MISSING or e.kind not in kinds:
        return None
    limit = _rate_limit(e, ctx)
    return Explanation(
        f"{ctx.name(e.side)} owed {_WHAT[e.kind]} to the {ctx.peer(e.side)}'s segment at "
        f"frame {ctx.frame(e.frame, e.frame)} ({e.reason}), and went on sending without it{limit}",
        e.expected,
        e.observed,
        e.reference,
    )


def _rate_limit(e: ev.ReplyOwed, ctx: Context) -> str:
    """What the profile's rate limit was found to allow, for the message."""
    if e.kind in _RESETS:
        return ""
    profile = e.profile
    if e.kind in _CHALLENGES and profile.challenge_ack_limit:
        return ""  # such a profile excuses every missing challenge ACK
    if profile.invalid_ratelimit:
        return (f" (the {profile.name} profile's invalid_ratelimit of "
                f"{profile.invalid_ratelimit:g} s was considered: no earlier reply within it "
                f"excuses this one, and a segment with text or FIN is never excused)")
    return f" (the {profile.name} profile has no rate limit for such replies)"


def challenge_ack_missing(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    return _missing(e, ctx, _CHALLENGES)


def unacceptable_segment_not_acked(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    return _missing(e, ctx, frozenset({ReplyKind.ACK_UNACCEPTABLE}))


def reset_not_sent(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    return _missing(e, ctx, _RESETS)


def ack_withheld(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    if e.outcome is not ReplyOutcome.MISSING or e.kind not in _ORDINARY:
        return None
    delay = e.profile.delayed_ack_max
    if e.kind is ReplyKind.ACK_HOLE:
        limit, within = "past the round trip (it owed the ACK at once)", "at once"
    else:
        limit = (f"past the {e.profile.name} profile's delayed-ACK maximum ({delay:g} s, "
                 "plus the round trip)")
        within = f"within {delay:g} s"
    proof = ("its later ACK shows it had it, and the FIN was never sent again"
             if e.kind is ReplyKind.ACK_FIN else
             "that segment's own TSecr shows it had the data, which was never sent again")
    return Explanation(
        f"{ctx.name(e.side)} received the {ctx.peer(e.side)}'s {e.reason} (frame "
        f"{ctx.frame(e.frame, e.frame)}) "
        f"but sent a segment {limit} that did not acknowledge it; {proof}",
        f"{_WHAT[e.kind]} ({e.expected}) {within}",
        e.observed,
        e.reference,
    )


def wrong_reply(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    if e.outcome is not ReplyOutcome.WRONG:
        return None
    return Explanation(
        f"{ctx.name(e.side)} owed {_WHAT[e.kind]} to the {ctx.peer(e.side)}'s segment at "
        f"frame {ctx.frame(e.frame, e.frame)} ({e.reason}); its reply at frame "
        f"{ctx.frame(e.reply_frame, e.frame)} is not in the RFC's form",
        e.expected,
        e.observed,
        e.reference,
    )


def unacceptable_segment_accepted(e: ev.ReplyOwed, ctx: Context) -> Explanation | None:
    if e.outcome is not ReplyOutcome.ACCEPTED:
        return None
    return Explanation(
        f"{ctx.name(e.side)} had to drop the {ctx.peer(e.side)}'s segment at frame "
        f"{ctx.frame(e.frame, e.frame)} "
        f"({e.reason}), yet its ACK at frame {ctx.frame(e.reply_frame, e.frame)} covers that "
        f"sequence space, which the {ctx.peer(e.side)} never sent again: it took the segment",
        e.expected,
        e.observed,
        e.reference,
    )
