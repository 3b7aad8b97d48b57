"""Capture artefacts: what the capture shows that was never on the wire, or never whole."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.wording import plural_noun


def oversized_segment(e: ev.OversizedSegment, ctx: Context) -> Explanation:
    return Explanation(
        f"{e.count} segments from the {ctx.name(e.side)} are larger than the "
        f"{ctx.peer(e.side)}'s MSS of {e.mss} bytes (largest {e.largest}): the capture was "
        f"taken on a host that segments later (TSO/GSO) or coalesces on receipt (GRO/LRO); "
        f"a capture artefact, not what was on the wire",
        f"payloads <= {e.mss} bytes on the wire",
        f"{e.count} segments up to {e.largest} bytes in the capture",
    )


def checksum_offload(e: ev.ChecksumOffload, ctx: Context) -> Explanation:
    return Explanation(
        f"{e.count} {plural_noun(e.count, 'checked segment')} (SYN, FIN, RST) from the "
        f"{ctx.name(e.side)} {plural_noun(e.count, 'carries', 'carry')} only the pseudo-header "
        f"sum in {plural_noun(e.count, 'its', 'their')} checksum: checksum offload, the NIC "
        f"fills it in after the capture point; a capture artefact of the sending host",
        "a complete TCP checksum",
        "the partial (pseudo-header) checksum",
    )


def bad_checksum(e: ev.BadChecksum, ctx: Context) -> Explanation:
    return Explanation(
        f"the segment from the {ctx.name(e.side)} has a wrong TCP checksum (not the offload "
        f"pattern): its receiver discards it, so tcpcheck does not apply it either",
        "a valid TCP checksum",
        "a checksum that does not match the segment",
    )


def unusable_checksum(e: ev.UnusableChecksum, ctx: Context) -> Explanation:
    tail = ("tcpcheck applies it, and the connection's other checksums wrong the same way (a "
            "capture artefact, reported once per connection)")
    if e.evidence == "zero":
        return Explanation(
            f"the segment from the {ctx.name(e.side)} has a TCP checksum of 0, wrong for it: "
            f"trace sanitisers write 0 there, a corrupting link does not, so the capture's "
            f"checksums are not what the receiver saw; {tail}",
            "a valid TCP checksum",
            "a checksum field of 0",
        )
    if e.evidence == "reply":
        proof = (f"yet the {ctx.peer(e.side)}'s reply in frame "
                 f"{ctx.frame(e.evidence_frame, e.frame)} "
                 f"acknowledges it: the receiver accepted it, so the checksum on the wire was "
                 f"right")
        observed = (f"a wrong checksum on a segment frame "
                    f"{ctx.frame(e.evidence_frame, e.frame)} acknowledges")
    else:
        proof = (f"and frame {ctx.frame(e.evidence_frame, e.frame)}'s is wrong by exactly the "
                 f"same amount: systematic, not a link's random corruption")
        observed = (f"checksums wrong by the same amount in frames {ctx.frame(e.frame, e.frame)} "
                    f"and {ctx.frame(e.evidence_frame, e.frame)}")
    return Explanation(
        f"the segment from the {ctx.name(e.side)} has a TCP checksum that is wrong for these "
        f"addresses, {proof}; the capture's checksums are stale (the trace's addresses were "
        f"rewritten); {tail}",
        "a valid TCP checksum",
        observed,
    )


def duplicate_frames(e: ev.DuplicateFrames, ctx: Context) -> Explanation:
    frames = plural_noun(e.count, "frame was", "frames were")
    return Explanation(
        f"{e.count} {frames} captured twice, byte for byte (client {e.client}, server "
        f"{e.server}; the first copy is this frame): a capture artefact of a SPAN or mirror "
        f"port, a capture on two interfaces of a bridge, or `-i any` with a bridge; the "
        f"copies were not sent, so tcpcheck does not apply them",
        "each IP packet captured once",
        f"{e.count} exact copies within 1 ms of their original",
    )


def double_capture(e: ev.DoubleCapture, ctx: Context) -> Explanation:
    ttl = (f", TTL {e.kept_ttl} kept and {e.aside_ttl} set aside"
           if e.kept_ttl != e.aside_ttl else f", both with TTL {e.kept_ttl}")
    return Explanation(
        f"{e.count} {plural_noun(e.count, 'packet was', 'packets were')} captured twice, at "
        f"two points across a middlebox that rewrites sequence numbers (a firewall's ISN "
        f"randomisation): the same IP ID, flags and payload, the client's sequence numbers "
        f"offset by {e.client_offset:#010x} and the server's by {e.server_offset:#010x} "
        f"(first pair: frame {ctx.frame(e.kept_frame, e.frame)} kept, frame "
        f"{ctx.frame(e.aside_frame, e.frame)} set aside{ttl}); a capture artefact: tcpcheck "
        f"follows the connection at one point and does not apply the other point's copies",
        "each packet of the connection captured at one point",
        f"{e.count} twins with sequence offsets {e.client_offset:#010x} (client) and "
        f"{e.server_offset:#010x} (server)",
    )


def capture_repeated(e: ev.CaptureRepeated, ctx: Context) -> Explanation:
    return Explanation(
        f"the capture repeats itself from this frame on: it is frame "
        f"{ctx.frame(e.original_frame, e.frame)} again, byte for byte and with the same time "
        f"stamp, {e.jump:.3f} s earlier than the frame before it (two captures of the same "
        f"traffic concatenated); a capture artefact: tcpcheck sets the repeat aside, up to "
        f"the time the capture had reached",
        "capture time that does not go back, each packet once",
        f"time back by {e.jump:.3f} s to a copy of frame "
        f"{ctx.frame(e.original_frame, e.frame)}",
    )


def capture_started_midstream(e: ev.CaptureStartedMidstream, ctx: Context) -> Explanation:
    return Explanation(
        "the capture starts in the middle of this connection (no SYN seen): sequence numbers "
        "are relative to the first segment seen, the client/server roles are guessed from "
        "the ports, and rules that need the handshake (options, windows, timers) are off",
        "the three-way handshake in the capture",
        "first segment without SYN",
    )


def capture_ended_midstream(e: ev.CaptureEndedMidstream, ctx: Context) -> Explanation:
    if e.idle is not None:
        return Explanation(
            f"no segment for {e.idle:g} s (the idle timeout) while the connection was open "
            f"(client {e.client_state}, server {e.server_state}): tcpcheck stopped following "
            "it; if it goes on, it is picked up again as a new connection mid-stream",
            "a segment, a FIN exchange or a RST within the idle timeout",
            f"silence after the last frame (client {e.client_state}, server "
            f"{e.server_state})",
        )
    return Explanation(
        f"the capture ended while the connection was still open (client {e.client_state}, "
        f"server {e.server_state}): what happened next is unknown",
        "a FIN exchange or a RST in the capture",
        f"client {e.client_state}, server {e.server_state} at the last frame",
    )
