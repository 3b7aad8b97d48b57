"""Option rules: what the SYNs negotiated governs every later segment (RFC 7323, RFC 2018,
RFC 9293 §3.7.1)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev

_SYN_ONLY = {"MSS": "RFC 9293 §3.7.1", "window scale": "RFC 7323 §2.2",
             "SACK-permitted": "RFC 2018 §2"}


def option_not_negotiated(e: ev.OptionNotNegotiated, ctx: Context) -> Explanation:
    who = ctx.name(e.side)
    once = "; later segments of this side with the same problem are not reported again"
    if e.problem == "on-non-syn":
        return Explanation(
            f"{who} sent the {e.option} option on a segment without SYN; it is only "
            f"meaningful, and only allowed, on SYN and SYN-ACK{once}",
            f"no {e.option} option after the handshake",
            f"{e.option} option present",
            f"{_SYN_ONLY[e.option]}",
        )
    if e.problem == "missing":
        return Explanation(
            f"{who} sent a segment without the timestamps option, although both SYNs "
            f"negotiated timestamps: once negotiated, TSopt must be on every segment but "
            f"resets{once}",
            "a timestamps option (TSval, TSecr)",
            "no timestamps option",
            "RFC 7323 §3.2",
        )
    if e.option == "SACK":
        return Explanation(
            f"{who} sent SACK blocks, but SACK-permitted was not on both SYNs{once}",
            "no SACK option (SACK-permitted not exchanged)",
            "SACK option with blocks",
            "RFC 2018 §2, §3",
        )
    return Explanation(
        f"{who} sent the timestamps option, but not both SYNs carried it, so timestamps "
        f"were not negotiated{once}",
        "no timestamps option",
        "timestamps option present",
        "RFC 7323 §3.2",
    )


def paws_timestamp_regression(e: ev.PawsRegression, ctx: Context) -> Explanation:
    back = (e.previous - e.tsval) & 0xFFFFFFFF
    return Explanation(
        f"{ctx.name(e.side)}'s TSval went back from {e.previous} (frame "
        f"{ctx.frame(e.previous_frame, e.frame)}) "
        f"to {e.tsval} ({back} ticks) on a segment carrying new data or a new ACK; a receiver "
        f"applying PAWS drops it as an old duplicate (further regressions on this side are "
        f"not reported)",
        f"TSval >= {e.previous} (timestamps are monotonic, modulo 2^32)",
        f"TSval {e.tsval}",
    )


def synack_options_unsolicited(e: ev.SynAckOptionsUnsolicited, ctx: Context) -> Explanation:
    names = ", ".join(e.options)
    return Explanation(
        f"{ctx.name(e.side)}'s SYN-ACK carries {names}, which the {ctx.peer(e.side)}'s SYN "
        f"(frame {ctx.frame(e.syn_frame, e.frame)}) did not offer; a SYN-ACK may only answer "
        f"options the SYN carried",
        f"no {names} on the SYN-ACK",
        f"{names} present",
    )


def window_scale_too_large(e: ev.WindowScaleTooLarge, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} offered a window-scale shift of {e.shift} in the handshake; the "
        f"largest allowed is {e.used}, so the {ctx.peer(e.side)} scales its windows by "
        f"{e.used} instead: each window it advertises reads 2^{e.shift - e.used} times "
        f"smaller than it meant",
        f"window scale shift <= {e.used}",
        f"window scale shift {e.shift}",
    )
