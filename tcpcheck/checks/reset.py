"""Reset diagnostics (RFC 9293 §3.10.7, RFC 5961)."""

from __future__ import annotations

from tcpcheck.checks.base import Context, Explanation
from tcpcheck.model import events as ev
from tcpcheck.segment import format_mac


def connection_reset(e: ev.ConnectionReset, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    if e.refused:
        return Explanation(
            f"{ctx.name(e.side)} refused the connection: RST answering the SYN",
            "SYN-ACK",
            "RST (nothing listening, or the port is rejected)",
        )
    if e.new_attempt:
        return Explanation(
            f"{ctx.name(e.side)} opened a new connection on this four-tuple; the {peer}, still "
            f"in {e.state} on this one, answered its SYN with an ACK (RFC 5961 §4), and the "
            f"new attempt in SYN-SENT answered that ACK with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 "
            f"§3.10.7.3): exactly this connection's RCV.NXT, so the {peer} drops the "
            f"connection the {e.side} had already forgotten",
            "the old connection closed before its four-tuple is reused",
            "RST from the new attempt in SYN-SENT",
        )
    if e.no_connection:
        return Explanation(
            f"{ctx.name(e.side)} answered the {peer}'s segment with <SEQ=SEG.ACK><CTL=RST>, "
            f"the reply of a host with no connection (RFC 9293 §3.10.7.1): it had lost the "
            f"connection (a restart, an expired state) while the {peer} was in {e.state}",
            "the connection kept until it is closed",
            "RST from a host with no connection",
        )
    if e.answers:
        return Explanation(
            f"{ctx.name(e.side)}, in SYN-RECEIVED, answered the {peer}'s unacceptable ACK at "
            f"frame {ctx.frame(e.answers, e.frame)} with <SEQ=SEG.ACK><CTL=RST>, the reply RFC "
            f"9293 §3.10.7.4 (fifth) asks for, and stays in SYN-RECEIVED: not an abort. The {peer} "
            + ("went on without it: its sequence number, the bad SEG.ACK, is not the "
               f"{peer}'s RCV.NXT" if e.went_on else "accepts it (it is at its RCV.NXT)"),
            "<SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK in SYN-RECEIVED",
            f"RST answering frame {ctx.frame(e.answers, e.frame)} ({peer} in {e.state})",
        )
    verdict = ("the receiver accepts it" if e.accepted else
               "the receiver went on as if it never arrived (ignored, or lost after the "
               "capture point)" if e.went_on else
               "its sequence number is outside the receiver's window, so the receiver ignores it")
    return Explanation(
        f"{ctx.name(e.side)} reset the connection while the {peer} was in {e.state}; {verdict}",
        "an orderly close with FIN",
        f"RST (receiver in {e.state})",
    )


def rst_out_of_window(e: ev.RstOutOfWindow, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    return Explanation(
        f"{ctx.name(e.side)} sent a RST with seq {e.seq}, outside the {peer}'s receive window "
        f"[{e.rcv_nxt}, {e.right_edge}); a conformant receiver ignores it. Reset injection "
        f"(a forged RST) or a middlebox with stale state are the usual senders",
        f"RST seq in [{e.rcv_nxt}, {e.right_edge}), ideally exactly {e.rcv_nxt} (RCV.NXT)",
        f"RST seq {e.seq}",
    )


def rst_seq_not_exact(e: ev.RstNotExact, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    return Explanation(
        f"{ctx.name(e.side)} sent a RST with seq {e.seq}: inside the {peer}'s window but not "
        f"its RCV.NXT {e.rcv_nxt}; an RFC 5961 receiver answers with a challenge ACK and keeps "
        f"the connection",
        f"RST seq {e.rcv_nxt} (RCV.NXT)",
        f"RST seq {e.seq} ({e.seq - e.rcv_nxt:+d})",
    )


def data_after_rst(e: ev.DataAfterRst, ctx: Context) -> Explanation:
    return Explanation(
        f"{ctx.name(e.side)} sent {e.what} on the connection after its own RST (frame "
        f"{ctx.frame(e.rst_frame, e.frame)}), which the {ctx.peer(e.side)} had accepted; a reset "
        f"deletes the TCB, so nothing more can follow on it",
        "nothing after the RST (or another RST)",
        f"{e.what} after the RST",
    )


_RECEIVER_TAKES = {
    "exact": "accepts it (its sequence number is RCV.NXT) and is reset",
    "inexact": "keeps the connection and owes a challenge ACK (RFC 5961 §3.2)",
    "outside": "drops it (its sequence number is outside the window)",
    "ignored": "drops it (it has no synchronized state to reset)",
    "unsigned": "drops it, having no key for its signature (RFC 2385 §2.0, RFC 5925 §7.3)",
    "closes": "takes it (it is in sequence) and closes its receiving side (RFC 9293 §3.10.7.4, "
              "eighth), so it acknowledges sequence space the {side} never sent, which the "
              "{side} drops as acknowledging \"something not yet sent\" (fifth)",
    "queued": "queues it beyond RCV.NXT, where it waits for bytes the {side} may never send",
}
_FIN_RECEIVER_DROPS = {
    "outside": "drops it (it fails the acceptability test) and owes an ACK",
    "ignored": "drops it (it has no synchronized state to close)",
}
_SIGNATURES = {19: "TCP-MD5", 29: "TCP-AO"}


def injected_segment(e: ev.InjectedSegment, ctx: Context) -> Explanation:
    peer = ctx.peer(e.side)
    usual = ", ".join(str(ttl) for ttl in e.sender_ttls)
    if e.copies_frame:
        second = (f"IP ID {e.ip_id:#06x} copies frame {ctx.frame(e.copies_frame, e.frame)}'s, "
                  f"the {peer}'s segment it answers")
    elif e.sequence_frame:
        second = (f"IP ID {e.ip_id:#06x} is far outside the {e.side}'s own sequence (its "
                  f"latest segment, frame {ctx.frame(e.sequence_frame, e.frame)}, had "
                  f"{e.sequence_id:#06x})")
    else:
        second = (f"the {e.side} carried on at frame {ctx.frame(e.carried_on, e.frame)} with "
                  f"its own TTL, as if it had sent no {'FIN' if e.control == 'FIN' else 'reset'}")
    first = []
    if e.signed:
        first.append(f"it carries a {_SIGNATURES[e.signed]} signature (option {e.signed}), "
                     f"which none of the {e.side}'s segments on this connection carry")
    elif e.ttl not in e.sender_ttls:
        first.append(f"TTL {e.ttl}, the {e.side}'s segments arrive with TTL {usual}")
    own_macs = ", ".join(format_mac(mac) for mac in e.sender_macs)
    if e.mac:
        first.append(f"sent from MAC {format_mac(e.mac)}, the {e.side}'s segments come from "
                     f"{own_macs}")
    evidence = "; ".join((*first, second))
    takes = (_FIN_RECEIVER_DROPS.get(e.verdict) if e.control == "FIN" else None) or \
        _RECEIVER_TAKES[e.verdict].format(side=e.side)
    what = f"FIN and the {e.text} bytes of text before it" if e.text else e.control
    return Explanation(
        f"a middlebox (firewall, IPS, censor) or a tool on the host forged this {what} in the "
        f"name of the {ctx.name(e.side)}: {evidence}. The {e.side} never sent it, so it is "
        f"not held against the {e.side}, whose state it leaves as it was; the {peer}, in "
        f"{e.state}, {takes}",
        f"the {e.side}'s own IP header: TTL {usual}, its own IP ID sequence"
        + (f"; its own link layer: MAC {own_macs}" if e.mac else ""),
        evidence,
    )
