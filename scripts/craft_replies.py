"""Crafted copies of the real provoked captures (``captures/linux/reply-*.pcap``), with the
receiver's reply deleted or changed: one capture per receiver rule of issue 14.

``scripts/reply_captures.py`` made the originals: scapy injected a provoking segment into a real
Linux connection, and tcpdump recorded Linux's real answer. Each copy here removes that answer
(or changes one of its numbers, the TCP checksum recomputed), so the receiver visibly goes on
without it; every other byte is Linux's. ``scripts/craft_captures.py`` writes them with its own
scenarios (``make crafted``), so the files, sidecars and README table are checked by the same
byte-identical test (``tests/test_crafted_reproducible.py``).

Each scenario is a function returning the frames of the new capture (microseconds since the
first, frame bytes) and its expectation: (summary, description, reference, findings, info),
findings and info as (rule, 1-based frame) over the *new* numbering.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import dpkt

REAL = Path(__file__).resolve().parent.parent / "captures" / "linux"

Mark = tuple[str, int]
Frames = list[tuple[int, bytes]]


class Crafted(NamedTuple):
    """One copy: its frames and what tcpcheck must say about them."""

    frames: Frames
    summary: str
    description: str
    reference: str
    findings: tuple[Mark, ...]
    info: tuple[Mark, ...] = ()


def real_frames(name: str) -> Frames:
    """(microseconds since the first frame, frame bytes) of ``captures/linux/NAME.pcap``."""
    with (REAL / f"{name}.pcap").open("rb") as f:
        stamped = [(round(ts * 1_000_000), bytes(buf)) for ts, buf in dpkt.pcap.Reader(f)]
    origin = stamped[0][0]
    return [(t - origin, buf) for t, buf in stamped]


def without(frames: Frames, *numbers: int) -> Frames:
    """``frames`` without the given 1-based frame numbers."""
    return [frame for i, frame in enumerate(frames, start=1) if i not in numbers]


def with_tcp(frames: Frames, number: int, **fields: int) -> Frames:
    """``frames`` with TCP header fields of frame ``number`` changed and its TCP checksum
    recomputed (dpkt fills a zero checksum in when the frame is serialised)."""
    out = list(frames)
    t, buf = out[number - 1]
    eth = dpkt.ethernet.Ethernet(buf)
    tcp = eth.data.data
    for name, value in fields.items():
        setattr(tcp, name, value)
    tcp.sum = 0
    out[number - 1] = (t, bytes(eth))
    return out


def tcp_field(frames: Frames, number: int, name: str) -> int:
    """One TCP header field of frame ``number``."""
    return getattr(dpkt.ethernet.Ethernet(frames[number - 1][1]).data.data, name)


# Frame numbers in the originals (scripts/reply_captures.py): the handshake (1-3), a request and
# its answer (4-7), the provoking segment (8), Linux's answer (9), then the genuine client's
# next request 1 s later (10) and its answer (11), and the close.
PROVOKING = 8
ANSWER = 9


def challenge_ack_missing() -> Crafted:
    frames = without(real_frames("reply-rst-in-window"), ANSWER)
    return Crafted(
        frames,
        "reply-rst-in-window without Linux's challenge ACK: the server answers the next request "
        "1 s later as if no RST had come",
        f"Real Linux traffic (captures/linux/reply-rst-in-window.pcap) with one frame removed: "
        f"the RST in frame {PROVOKING} is inside the server's window but 1000 past RCV.NXT, so "
        "RFC 5961 §3.2 makes the server answer it with a challenge ACK "
        "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Linux sent it (frame 9 of the original); here it "
        "is gone, and the server's next segment (frame 10, its answer to the client's next "
        "request a second later) is data, far past any round trip.",
        "RFC 5961 §3.2",
        (("challenge-ack-missing", PROVOKING),),
        (("rst-seq-not-exact", PROVOKING),),
    )


def challenge_ack_missing_syn() -> Crafted:
    frames = without(real_frames("reply-syn-established"), ANSWER)
    return Crafted(
        frames,
        "reply-syn-established without Linux's challenge ACK to the SYN on the established "
        "tuple",
        f"Real Linux traffic (captures/linux/reply-syn-established.pcap) with one frame "
        f"removed: the SYN in frame {PROVOKING} (a new ISN, on the tuple of an ESTABLISHED "
        "connection) must be answered by a challenge ACK (RFC 5961 §4.2; RFC 9293 §3.10.7.4, "
        "fourth). Linux sent it (frame 9 of the original); here the server's next segment is "
        "its data a second later.",
        "RFC 5961 §4.2",
        (("challenge-ack-missing", PROVOKING),),
    )


def unacceptable_segment_not_acked() -> Crafted:
    frames = without(real_frames("reply-data-beyond-window"), ANSWER)
    return Crafted(
        frames,
        "reply-data-beyond-window without Linux's ACK for the segment beyond the window",
        f"Real Linux traffic (captures/linux/reply-data-beyond-window.pcap) with one frame "
        f"removed: the 45 bytes in frame {PROVOKING} lie wholly beyond the server's window, so "
        "they fail the acceptability test and the server owes <SEQ=SND.NXT><ACK=RCV.NXT>"
        "<CTL=ACK> (RFC 9293 §3.10.7.4, first). Linux sent it (frame 9 of the original); here "
        "its next segment is data a second later. The injected segment itself stays "
        "seq-out-of-window (its sender's fault).",
        "RFC 9293 §3.10.7.4",
        (("seq-out-of-window", PROVOKING), ("unacceptable-segment-not-acked", PROVOKING)),
    )


def unacceptable_segment_not_acked_paws() -> Crafted:
    frames = without(real_frames("reply-paws"), ANSWER)
    return Crafted(
        frames,
        "reply-paws without Linux's ACK for the segment PAWS drops",
        f"Real Linux traffic (captures/linux/reply-paws.pcap) with one frame removed: frame "
        f"{PROVOKING} carries a TSval 1000 ticks older than the client's latest, so PAWS drops "
        "it and the server owes an ACK (RFC 7323 §5.3, R1). Linux sent it (frame 9 of the "
        "original); here its next segment is data a second later.",
        "RFC 7323 §5.3",
        (("paws-timestamp-regression", PROVOKING),
         ("unacceptable-segment-not-acked", PROVOKING)),
    )


def unacceptable_segment_not_acked_unsent() -> Crafted:
    frames = without(real_frames("reply-ack-unsent"), ANSWER)
    return Crafted(
        frames,
        "reply-ack-unsent without Linux's ACK for the acknowledgment of unsent data",
        f"Real Linux traffic (captures/linux/reply-ack-unsent.pcap) with one frame removed: "
        f"the pure ACK in frame {PROVOKING} acknowledges 1000 bytes the server never sent (its "
        "next data, frame 10, starts below it), so the server owes an ACK (RFC 9293 "
        "§3.10.7.4, fifth: 'If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then "
        "send an ACK, drop the segment, and return'; RFC 5961 §5.2). Linux sent it (frame 9 "
        "of the original); here its next segment is data a second later. The over-ACK itself "
        "stays ack-unsent-data (its sender's fault).",
        "RFC 9293 §3.10.7.4; RFC 5961 §5.2",
        (("ack-unsent-data", PROVOKING), ("unacceptable-segment-not-acked", PROVOKING)),
    )


def unacceptable_segment_accepted() -> Crafted:
    # Frame 10 of the original is the genuine client's request at the same sequence numbers
    # as the PAWS-failing one: without it, the server's ACK of those bytes (frame 11, now 10)
    # can only have come from the segment it had to drop.
    frames = without(real_frames("reply-paws"), 10)
    return Crafted(
        frames,
        "reply-paws without the client's genuine request: the server's later ACK then covers "
        "the bytes of the segment PAWS made it drop",
        f"Real Linux traffic (captures/linux/reply-paws.pcap) with one frame removed: frame "
        f"{PROVOKING} fails PAWS (RFC 7323 §5.3), and the server answers it with an ACK (frame "
        f"{ANSWER}). In the original the client then sends the same 45 bytes with a fresh "
        "TSval (frame 10), which the server takes; here that frame is gone, so the server's "
        "next ACK (frame 10, ACK 91) covers bytes only the dropped segment carried: the "
        "receiver took a segment it had to drop.",
        "RFC 7323 §5.3",
        (("paws-timestamp-regression", PROVOKING),),
        (("unacceptable-segment-accepted", PROVOKING),),
    )


def wrong_reply() -> Crafted:
    original = real_frames("reply-rst-in-window")
    ack = tcp_field(original, ANSWER, "ack")
    frames = with_tcp(original, ANSWER, ack=(ack - 40) & 0xFFFFFFFF)
    return Crafted(
        frames,
        "reply-rst-in-window with the challenge ACK's acknowledgment number 40 below RCV.NXT",
        f"Real Linux traffic (captures/linux/reply-rst-in-window.pcap) with one number changed "
        f"and the TCP checksum recomputed: the challenge ACK in frame {ANSWER}, owed to the "
        f"inexact RST in frame {PROVOKING}, acknowledges 40 bytes less than the server had "
        "already acknowledged (RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and RCV.NXT "
        "never goes back). A genuine peer would take the wrong RCV.NXT for its exact reset.",
        "RFC 5961 §3.2",
        (("wrong-reply", PROVOKING),),
        (("rst-seq-not-exact", PROVOKING),),
    )


def reset_not_sent() -> Crafted:
    # reply-bad-third-ack: scapy completes the handshake with ACK 1001 (frame 3), Linux in
    # SYN-RECEIVED answers <SEQ=1001><CTL=RST> (frame 4) and retransmits its SYN-ACK 1 s later.
    frames = without(real_frames("reply-bad-third-ack"), 4)
    return Crafted(
        frames,
        "reply-bad-third-ack without Linux's reset: the listener retransmits its SYN-ACK "
        "instead",
        "Real Linux traffic (captures/linux/reply-bad-third-ack.pcap) with one frame removed: "
        "the third segment of the handshake (frame 3) acknowledges 1001, not the server's SYN, "
        "so the server in SYN-RECEIVED owes <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.4, "
        "fifth). Linux sent it (frame 4 of the original); here the server's next segment is "
        "its SYN-ACK retransmission (frame 4) a second later. The bad ACK itself stays "
        "handshake-bad-ack (its sender's fault).",
        "RFC 9293 §3.10.7.4",
        (("handshake-bad-ack", 3), ("reset-not-sent", 3)),
    )


def _no_connection(name: str, what: str) -> Crafted:
    # reply-closed-port / reply-ack-to-listener: scapy sends an ACK-bearing segment on a tuple
    # the server has no connection on (1), Linux resets (2); again 1 s later (3, 4); then a
    # genuine connection from the same client host to the server host's listener (5-).
    frames = without(real_frames(f"reply-{name}"), 4)
    return Crafted(
        frames,
        f"reply-{name} without Linux's second reset: {what} goes unanswered while the host "
        "goes on serving the client's host",
        f"Real Linux traffic (captures/linux/reply-{name}.pcap) with one frame removed: the "
        f"server answered {what} in frame 1 with <SEQ=SEG.ACK><CTL=RST> (frame 2), so it has "
        "no connection on that four-tuple; the same segment again (frame 3) is owed the same "
        "reset (RFC 9293 §3.10.7.1: 'An incoming segment not containing a RST causes a RST to "
        "be sent in response'; §3.10.7.2 for a listener). Linux sent it (frame 4 of the "
        "original); here none comes, while the server's host answers the client's host on "
        "another connection a second later (frame 5 on).",
        "RFC 9293 §3.10.7.1, §3.10.7.2",
        (("reset-not-sent", 3),),
    )


def reset_not_sent_closed_port() -> Crafted:
    return _no_connection("closed-port", "a data segment to a port nothing listens on")


def reset_not_sent_listener() -> Crafted:
    return _no_connection("ack-to-listener", "a bare ACK to a listening port")


def ack_withheld() -> Crafted:
    # reply-fin-zero-window: the client's FIN (10), Linux's ACK of it (11, 44 ms later), the
    # server's response data (12, 1 s later) and its FIN (13), both acknowledging the FIN.
    original = without(real_frames("reply-fin-zero-window"), 11)
    fin_end = tcp_field(original, 11, "ack")
    frames = with_tcp(original, 11, ack=(fin_end - 1) & 0xFFFFFFFF)
    return Crafted(
        frames,
        "reply-fin-zero-window without Linux's ACK of the client's FIN, and the server's data "
        "a second later acknowledging everything but the FIN",
        "Real Linux traffic (captures/linux/reply-fin-zero-window.pcap) with one frame removed "
        "and one number changed (TCP checksum recomputed): the server's ACK of the client's FIN "
        "(frame 10) is gone, and its data 1 s later (frame 11) acknowledges one less, leaving "
        "the FIN out; its FIN right after (frame 12) acknowledges it. The server had the FIN "
        "all along (nothing was sent again) and withheld its ACK far past Linux's 200 ms "
        "delayed-ACK maximum (RFC 9293 §3.10.7.4, eighth; §3.8.6.3). The FIN went into a zero "
        "window, so the server also owed a pure ACK for it as an unacceptable segment, and "
        "sent none: unacceptable-segment-not-acked at the same frame.",
        "RFC 9293 §3.10.7.4, §3.8.6.3",
        (("ack-withheld", 10), ("unacceptable-segment-not-acked", 10)),
    )


def ack_withheld_data() -> Crafted:
    # ci-run-1, its fifth connection: the client's request (36), the server's response (38,
    # TSval 3253879888, above every earlier one), the client's ACK of it (39, at once), its
    # keepalive a second later (40, TSecr 3253879888). Both ACK fields go back to the request's.
    original = real_frames("ci-run-1")
    before = tcp_field(original, 36, "ack")
    frames = with_tcp(with_tcp(original, 39, ack=before), 40, ack=before)
    return Crafted(
        frames,
        "ci-run-1 with the client's ACKs of the server's response set back, their TSecr "
        "showing the response had arrived",
        "Real Linux traffic (captures/linux/ci-run-1.pcap) with two numbers changed (TCP "
        "checksums recomputed): the client's ACK right after the server's response (frame 38) "
        "and its keepalive a second later (frame 40) acknowledge only what they did before "
        "the response. The keepalive's TSecr echoes the response's TSval, above every earlier "
        "one of the server: the client's TS.Recent moved to it, which RFC 7323 §4.3 allows "
        "only for SEG.SEQ =< Last.ACK.sent, so the client had the response in order, and the "
        "server never sent it again. Its ACK was withheld far past Linux's 200 ms delayed-ACK "
        "maximum (RFC 9293 §3.8.6.3). The stale ACK at frame 39 reads as a duplicate ACK "
        "(info).",
        "RFC 9293 §3.8.6.3; RFC 7323 §4.3",
        (("ack-withheld", 38),),
        (("duplicate-ack", 39),),
    )


def unacceptable_segment_not_acked_old_duplicate() -> Crafted:
    frames = without(real_frames("reply-old-duplicate"), ANSWER)
    return Crafted(
        frames,
        "reply-old-duplicate without Linux's ACK for the old duplicate",
        f"Real Linux traffic (captures/linux/reply-old-duplicate.pcap) with one frame removed: "
        f"frame {PROVOKING} sends the client's first request again, wholly below the server's "
        "RCV.NXT (it acknowledged it at frame 5), so it fails the acceptability test and the "
        "server owes <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 9293 §3.10.7.4, first). Linux "
        "sent it at once, with a D-SACK (frame 9 of the original); here the server's next "
        "segment is its ACK of the client's next request a second later, which acknowledges "
        "new data, not the copy. The copy itself stays spurious-retransmission (info).",
        "RFC 9293 §3.10.7.4",
        (("unacceptable-segment-not-acked", PROVOKING),),
        (("spurious-retransmission", PROVOKING),),
    )


SCENARIOS: dict[str, Callable[[], Crafted]] = {
    "challenge-ack-missing": challenge_ack_missing,
    "challenge-ack-missing-syn": challenge_ack_missing_syn,
    "unacceptable-segment-not-acked": unacceptable_segment_not_acked,
    "unacceptable-segment-not-acked-paws": unacceptable_segment_not_acked_paws,
    "unacceptable-segment-not-acked-unsent": unacceptable_segment_not_acked_unsent,
    "unacceptable-segment-not-acked-old-duplicate": unacceptable_segment_not_acked_old_duplicate,
    "unacceptable-segment-accepted": unacceptable_segment_accepted,
    "wrong-reply": wrong_reply,
    "reset-not-sent": reset_not_sent,
    "reset-not-sent-closed-port": reset_not_sent_closed_port,
    "reset-not-sent-listener": reset_not_sent_listener,
    "ack-withheld": ack_withheld,
    "ack-withheld-data": ack_withheld_data,
}
"""Name -> builder, in the README table's order."""
