"""Sequence and acknowledgment rules (RFC 9293 §3.4, §3.10.7.4)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev


def ack_unsent_data(e: ev.AckOfUnsentData, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    return Explanation(
        f"ACK {e.ack} from the {ctx.name(e.side)} acknowledges bytes the {peer} never sent; "
        f"the {peer}'s highest sequence number was {e.peer_max}, and its next new "
        f"{e.evidence_kind} (frame {ctx.frame(e.evidence_frame, e.frame)}) still starts at "
        f"{e.evidence_seq}",
        f"ACK <= {e.peer_max} (the {peer}'s SND.NXT)",
        f"ACK {e.ack} ({e.ack - e.peer_max} bytes beyond)",
    )


def ack_unseen_segment(e: ev.AckOfUnseenSegment, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    if e.hole is not None:
        start, stop = e.hole
        return Explanation(
            f"ACK {e.ack} from the {ctx.name(e.side)} covers the {peer}'s {stop - start} "
            f"bytes at seq {start} (up to {stop}), a hole below the highest sequence captured "
            f"({e.peer_max}) that the capture never filled: the {ctx.name(e.side)} received "
            f"them, the capture missed them (capture loss, not a protocol error)",
            f"the {peer}'s segments from seq {start} up to {stop} in the capture before "
            f"ACK {e.ack}",
            f"none of seq {start} up to {stop} captured",
        )
    if e.evidence_frame is None:
        later = "the capture ended before the peer sent more"
    else:
        later = (f"the {peer}'s next segment (frame {ctx.frame(e.evidence_frame, e.frame)}) "
                 f"starts at or beyond it")
    return Explanation(
        f"ACK {e.ack} from the {ctx.name(e.side)} covers {e.ack - e.peer_max} bytes of the "
        f"{peer} that the capture never saw (capture loss, not a protocol error): {later}",
        f"the {peer}'s segments up to {e.ack} in the capture",
        f"highest {peer} sequence captured {e.peer_max}",
    )


def retransmission(e: ev.Retransmission, ctx: Context) -> Explanation:
    what = f"{e.length} bytes at seq {e.seq}" if e.what == "data" else f"its {e.what}"
    return Explanation(
        f"{ctx.name(e.side)} retransmitted {what}",
        "new sequence space",
        f"{e.what} already seen (seq {e.seq}, len {e.length})",
    )


def retransmission_data_mismatch(e: ev.RetransmissionDataMismatch, ctx: Context) -> Explanation:
    if e.first_end is not None:
        return Explanation(
            f"{ctx.name(e.side)} re-sent {e.length} bytes at seq {e.seq}, but the bytes of seq "
            f"{e.offset} up to {e.first_end} differ from the first copy (frame "
            f"{ctx.frame(e.first_frame, e.frame)}),"
            f" which the peer had already acknowledged: the receiver kept the first copy, so "
            f"two receivers (or an IDS and the host) can see different streams (an injection "
            f"race looks like this)",
            f"the same bytes as frame {ctx.frame(e.first_frame, e.frame)}",
            f"different bytes in seq {e.offset} up to {e.first_end}",
        )
    return Explanation(
        f"{ctx.name(e.side)} retransmitted {e.length} bytes at seq {e.seq}, but the bytes "
        f"differ from the first copy (frame {ctx.frame(e.first_frame, e.frame)}) from seq "
        f"{e.offset} on; a "
        f"receiver keeps whichever copy it got first, so two receivers (or an IDS and the "
        f"host) can see different streams",
        f"the same bytes as frame {ctx.frame(e.first_frame, e.frame)}",
        f"different bytes from seq {e.offset}",
    )
