"""Handshake rules (RFC 9293 §3.5)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.wording import plural_noun


def syn_isn_changed(e: ev.SynIsnChanged, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} retransmitted its SYN {e.elapsed:.3f} s after frame "
        f"{ctx.frame(e.first_frame, e.frame)} with ISN {e.new_isn} instead of {e.original_isn}; "
        f"the attempt was still live (no reset, within the {e.profile.name} profile's "
        f"{e.profile.syn_give_up:g} s SYN give-up time)",
        f"seq {e.original_isn} (the ISN of the SYN in frame {ctx.frame(e.first_frame, e.frame)})",
        f"seq {e.new_isn}",
    )


def synack_isn_changed(e: ev.SynAckIsnChanged, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent a SYN-ACK with ISN {e.new_isn}, but its SYN in frame "
        f"{ctx.frame(e.first_frame, e.frame)} used ISN {e.original_isn}",
        f"seq {e.original_isn} (as in frame {ctx.frame(e.first_frame, e.frame)})",
        f"seq {e.new_isn}",
    )


def synack_bad_ack(e: ev.SynAckBadAck, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)}'s SYN-ACK acknowledges {e.observed_ack}, but the "
        f"{ctx.peer(e.side)}'s SYN (frame {ctx.frame(e.syn_frame, e.frame)}) had ISN "
        f"{e.peer_isn}: a SYN-ACK must acknowledge ISN+1",
        f"ack {e.expected_ack} (ISN {e.peer_isn} + 1)",
        f"ack {e.observed_ack}",
    )


def handshake_bad_ack(e: ev.HandshakeBadAck, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)}'s ACK completing the handshake acknowledges {e.observed_ack}, but "
        f"the {ctx.peer(e.side)}'s SYN-ACK (frame {ctx.frame(e.synack_frame, e.frame)}) had ISN "
        f"{e.peer_isn}",
        f"ack {e.expected_ack} (ISN {e.peer_isn} + 1)",
        f"ack {e.observed_ack}",
    )


def half_open(e: ev.HalfOpen, ctx: Context) -> Explanation | None:
    if e.unjudged:
        return None  # the capture ended before an answer was due: it cannot tell
    over = f" over {e.duration:.1f} s" if e.syns > 1 else ""
    return Explanation(
        f"{ctx.name(e.side)} sent {e.syns} {plural_noun(e.syns, 'SYN')}{over} to "
        f"{ctx.server}; none was answered with a SYN-ACK or RST",
        "a SYN-ACK (or a RST if nothing listens)",
        f"no answer to {e.syns} {plural_noun(e.syns, 'SYN')}",
    )


def handshake_incomplete(e: ev.HandshakeIncomplete, ctx: Context) -> Explanation | None:
    if e.unjudged:
        return None  # the capture ended before the client's ACK was due: it cannot tell
    return Explanation(
        f"{ctx.name(e.side)} answered with {e.synacks} {plural_noun(e.synacks, 'SYN-ACK')} "
        f"but the {ctx.peer(e.side)} never sent the ACK that completes the handshake",
        "an ACK of the SYN-ACK, moving the server to ESTABLISHED",
        "no ACK before the capture ended; the server stays in SYN_RCVD",
    )


def concurrent_syn(e: ev.ConcurrentSyn, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent a SYN with ISN {e.new_isn} only {e.gap * 1000:.0f} ms after "
        f"its SYN with ISN {e.previous_isn} (frame {ctx.frame(e.previous_frame, e.frame)}) on "
        f"the same four-tuple, "
        f"while that handshake was pending: too soon for a retransmission (the "
        f"{e.profile.name} profile's first SYN timeout is {e.profile.initial_rto:g} s), so "
        f"two openers share the port, as a SYN flood or scanning tool does; the server can "
        f"only answer one of them",
        "one SYN (and its retransmissions, same ISN) per four-tuple at a time",
        f"a second ISN after {e.gap * 1000:.0f} ms",
    )


def syn_flood(e: ev.SynFlood, ctx: Context) -> Explanation:
    rate = f"{e.handshakes / e.duration:,.0f}/s on average, " if e.duration > 0 else ""
    at_least = "at least " if e.sources >= e.sources_limit else ""
    top = ", ".join(f"{address} ({count:,})" for address, count in e.top_sources)
    kinds = []
    if e.half_open:
        kinds.append(f"{e.half_open:,} were never answered (half-open)")
    if e.incomplete:
        kinds.append(f"{e.incomplete:,} were answered with a SYN-ACK that was never acknowledged "
                     f"(handshake-incomplete)")
    return Explanation(
        f"{e.target} received {e.handshakes:,} handshakes that never completed "
        f"({e.syns:,} SYNs) over {e.duration:.3f} s ({rate}{e.peak:,} in the busiest second) "
        f"from {at_least}{e.sources:,} "
        f"{plural_noun(e.sources, 'source address', 'source addresses')} and "
        f"{e.ports:,} {plural_noun(e.ports, 'source port')}; busiest sources: {top}. "
        f"Of them, {'; '.join(kinds)}. Their individual findings are folded into this one",
        f"fewer than {e.threshold:,} unfinished handshakes to one target within "
        f"{e.window:g} s",
        f"{e.handshakes:,} unfinished handshakes, {e.peak:,} begun in one second",
    )


def unexpected_segment(e: ev.UnexpectedSegment, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    if e.what == "SYN-ACK":
        return Explanation(
            f"{ctx.name(e.side)} sent a SYN-ACK answering the {peer}'s SYN after refusing that "
            f"very SYN with a reset (frame {ctx.frame(e.evidence_frame, e.frame)}): in {e.state} "
            f"it has no connection and no SYN to acknowledge, and a CLOSED TCP sends only resets",
            f"nothing but a reset from {e.state} (the refusal in frame "
            f"{ctx.frame(e.evidence_frame, e.frame)} ended the attempt)",
            f"a SYN-ACK from {e.state}",
            "RFC 9293 §3.10.7.1, §3.3.2",
        )
    return Explanation(
        f"{ctx.name(e.side)} sent {e.what} while still in {e.state}: the {peer}'s ACK completing "
        f"the handshake (frame {ctx.frame(e.evidence_frame, e.frame)}, acknowledging only the "
        f"SYN-ACK) came after "
        f"it, so no ACK the capture missed explains it; in SYN-RECEIVED a TCP queues data, and "
        f"a FIN behind data, until it is ESTABLISHED",
        f"{e.what} only once ESTABLISHED (after the final ACK in frame "
        f"{ctx.frame(e.evidence_frame, e.frame)})",
        f"{e.what} in {e.state}, before the handshake completed",
        "RFC 9293 §3.10.2 (SEND), §3.10.4 (CLOSE)",
    )
