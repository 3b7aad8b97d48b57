"""Replies owed, for the tests: hand-built segments replayed through one ``Connection``
(``replay_segments``), and real connections whose timelines carry the replies their receivers
owed, for the pictures' tests.

``captures/linux/keepalive.pcap`` is real Linux traffic in which a receiver owes replies: each
keepalive probe (frames 8, 10, 12: seq = SND.NXT - 1, below the server's RCV.NXT) fails the
acceptability test, so the server owes ``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` (RFC 9293
§3.10.7.4), and it answers each at once (frames 9, 11, 13). ``keepalive_with_replies`` gives
that connection's real timeline carrying those obligations as ``ReplyOwed`` records, settled
as asked: the pictures are tested on the record the model keeps, whatever rule reads it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tcpcheck.model.connection import Connection
from tcpcheck.model.events import ReplyKind, ReplyOutcome, ReplyOwed
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.result import AnalysisResult
from tcpcheck.segment import Segment
from tcpcheck.timeline import Recording

KEEPALIVE = Path(__file__).resolve().parents[1] / "captures/linux/keepalive.pcap"
PROBES = {8: 9, 10: 11, 12: 13}
"""Each keepalive probe's frame and the frame of the server's ACK answering it."""
EXPECTED = "<SEQ=53><ACK=46><CTL=ACK>"
"""The ACK the server owes each probe: its SND.NXT and RCV.NXT, relative."""


def probe_reply(frame: int, outcome: ReplyOutcome = ReplyOutcome.ANSWERED, *,
                observed: str = "") -> ReplyOwed:
    """The server's obligation to the keepalive at ``frame``, settled by ``outcome`` (by its
    real answer when the outcome names one)."""
    answered = outcome in (ReplyOutcome.ANSWERED, ReplyOutcome.WRONG, ReplyOutcome.LATE,
                           ReplyOutcome.ACCEPTED)
    return ReplyOwed(frame, 0, "server", ReplyKind.ACK_UNACCEPTABLE, outcome,
                     PROBES[frame] if answered else None, EXPECTED, observed,
                     "keepalive at seq 45, below RCV.NXT 46", "RFC 9293 §3.10.7.4",
                     load_profile("linux"))


def keepalive_with_replies(*replies: ReplyOwed) -> AnalysisResult:
    """keepalive.pcap analysed as ``tcpcheck show`` does, its one timeline carrying
    ``replies``."""
    result = analyze_jobs([Job(str(KEEPALIVE), load_profile("linux"))], Recording(all=True))
    (timeline,) = result.timelines
    return replace(result, timelines=(replace(timeline, replies=replies),))


def replay_segments(segs: list[Segment], profile: str = "linux",
                    ) -> tuple[list[ReplyOwed], list[tuple[str, str]]]:
    """Replay segments built by hand through one ``Connection``: the replies owed it records,
    and both endpoints' states after every segment."""
    conn = Connection(0, load_profile(profile), (segs[0].src, segs[0].sport), False, segs[0])
    states = []
    for seg in segs:
        conn.apply(seg, (seg.src, seg.sport) == conn.client_key)
        states.append((conn.client.state.value, conn.server.state.value))
    conn.finish()
    return [e for e in conn.events if isinstance(e, ReplyOwed)], states


def settled(events: list[ReplyOwed]) -> list[tuple[str, str, int, int | None]]:
    """(kind, outcome, frame, reply frame) of each reply owed."""
    return [(e.kind.value, e.outcome.value, e.frame, e.reply_frame) for e in events]
