"""The ladder (sequence) diagram of one connection, laid out once for every renderer.

The terminal (``tcpcheck show``) and the HTML report draw the same rows: each segment as an
arrow from its sender to its receiver, each endpoint's RFC 9293 state written where it changes,
and the segments that findings point at highlighted. This module decides *what* is drawn;
the renderers only decide how.

A reply a receiver owed (``ReplyOwed``: a challenge ACK for an inexact RST, an ACK for an
unacceptable segment, a reset...) is drawn at the segment that caused it, saying what was owed
and how it was settled, and the segment that answered it says which one it answers.

A long connection keeps what a reader looks for — the handshake, the teardown, every state
change, every finding and every owed reply with a segment of context either side — and
collapses each uneventful stretch between them into one ``Collapsed`` line with a count.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain

from tcpcheck.model.events import ReplyKind, ReplyOutcome, ReplyOwed
from tcpcheck.result import Finding, Severity
from tcpcheck.segment import ACK, flag_names
from tcpcheck.timeline import (
    FROM_CLIENT,
    RETRANSMISSIONS,
    Columns,
    Step,
    Steps,
    Timeline,
    state_code,
    state_names,
)

FULL_LIMIT = 60
"""A connection of at most this many segments is drawn whole."""
HEAD = 8
"""Segments always drawn from the start (the handshake and the first exchange)."""
TAIL = 8
"""Segments always drawn at the end (the teardown)."""
CONTEXT = 1
"""Segments drawn either side of a finding's segment."""
INFO_ROWS = 100
"""Segments with only info findings drawn per connection: a lossy transfer has thousands of
duplicate ACKs, each an info finding; past this they stay in the findings table only."""
REPLY_ROWS = 50
"""Owed replies settled without a finding (answered, rate-limited, not judged) whose segments
are drawn per connection: every keepalive and zero-window probe owes an ACK."""

OWED = {
    ReplyKind.ACK_UNACCEPTABLE: "an ACK",
    ReplyKind.CHALLENGE_RST: "a challenge ACK",
    ReplyKind.CHALLENGE_SYN: "a challenge ACK",
    ReplyKind.RESET_CLOSED: "a reset",
    ReplyKind.RESET_LISTEN: "a reset",
    ReplyKind.RESET_SYN_RECEIVED: "a reset",
    ReplyKind.ACK_FIN: "an ACK of the FIN",
    ReplyKind.ACK_HOLE: "an immediate ACK",
    ReplyKind.ACK_DATA: "an ACK",
}
"""What a receiver owes, in words, by kind (``ReplyOwed.expected`` gives its form)."""


@dataclass(frozen=True, slots=True)
class OwedReply:
    """A reply an endpoint owed, as the ladder draws it."""

    reply: ReplyOwed
    findings: tuple[Finding, ...]
    """The findings the rules made of it (same frame, side and position)."""
    label: Callable[[int], str] = str
    """How a frame number is written (``Ladder.label``: its own file's number)."""

    @property
    def severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def note(self, at_frame: int) -> str:
        """What the receiver owed and how it was settled, written at the row of ``at_frame``:
        ``server owes a challenge ACK <SEQ=1><ACK=46><CTL=ACK> (RFC 5961 §3.2) → answered
        by frame 9``."""
        return f"{self.owes(at_frame)} → {self.settled()}"

    def owes(self, at_frame: int) -> str:
        """``server owes a challenge ACK <SEQ=1><ACK=46><CTL=ACK> (RFC 5961 §3.2)``, naming
        the provoking frame when the row of ``at_frame`` is another one."""
        reply = self.reply
        text = " ".join(filter(None, (f"{reply.side} owes {OWED[reply.kind]}", reply.expected,
                                      f"({reply.reference})" if reply.reference else "")))
        return text if at_frame == reply.frame else f"{text} to frame {self.label(reply.frame)}"

    def settled(self) -> str:
        """How the obligation was settled: ``answered by frame 9``, ``none came:
        challenge-ack-missing``..."""
        reply = self.reply
        outcome, observed = reply.outcome, reply.observed
        frame = None if reply.reply_frame is None else self.label(reply.reply_frame)
        rules = ", ".join(dict.fromkeys(f.rule for f in self.findings))
        if outcome is ReplyOutcome.MISSING:
            return _detailed("none came", rules or observed)
        if outcome is ReplyOutcome.UNJUDGED:
            return f"not judged: nothing from the {reply.side} afterwards"
        text = {
            ReplyOutcome.ANSWERED: f"answered by frame {frame}",
            ReplyOutcome.WRONG: _detailed(f"frame {frame} answers wrongly", observed),
            ReplyOutcome.LATE: _detailed(f"answered late by frame {frame}", observed),
            ReplyOutcome.RATE_LIMITED: _detailed("rate-limited", observed),
            ReplyOutcome.ACCEPTED: f"accepted: frame {frame} acknowledges it",
        }[outcome]
        return f"{text} ({rules})" if rules else text

    def answer(self) -> str:
        """Written at the reply's own row: ``answers frame 7``."""
        outcome, frame = self.reply.outcome, self.label(self.reply.frame)
        if outcome is ReplyOutcome.WRONG:
            return f"answers frame {frame} wrongly"
        if outcome is ReplyOutcome.ACCEPTED:
            return f"accepts frame {frame}, which had to be dropped"
        if outcome is ReplyOutcome.LATE:
            return f"answers frame {frame}, late"
        return f"answers frame {frame}"


def _detailed(text: str, detail: str) -> str:
    return f"{text}: {detail}" if detail else text


@dataclass(frozen=True, slots=True)
class LadderRow:
    """One segment drawn as an arrow."""

    step: Step
    client_change: tuple[str, str] | None
    """(before, after) when this segment moved the client's state."""
    server_change: tuple[str, str] | None
    findings: tuple[Finding, ...]
    """The findings anchored at this segment's frame: the row is highlighted."""
    owed: tuple[OwedReply, ...] = ()
    """The replies this segment left its receiver owing (and those caused by a segment
    outside the drawn connection that this row answers or follows)."""
    answering: tuple[OwedReply, ...] = ()
    """The owed replies this segment is the reply to (``ReplyOwed.reply_frame``)."""

    @property
    def severity(self) -> Severity | None:
        """The highest severity among the row's findings (None: not highlighted)."""
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True, slots=True)
class Collapsed:
    """An uneventful stretch of segments drawn as one line."""

    count: int
    first_frame: int
    last_frame: int
    start: float
    """Capture time of its first segment (seconds since the capture's first record)."""
    end: float
    client_bytes: int
    """Payload bytes the client sent in the stretch (retransmissions included)."""
    server_bytes: int
    retransmissions: int


@dataclass(frozen=True, slots=True)
class FileChange:
    """Where a stitched set's next file starts among the rows (``Timeline.files``): the rows
    after it are numbered by that file's frames."""

    path: str


Item = LadderRow | Collapsed | FileChange


@dataclass(frozen=True, slots=True)
class Ladder:
    """What a ladder diagram of one connection shows."""

    timeline: Timeline
    items: tuple[Item, ...]
    findings: tuple[Finding, ...]
    """Every finding of the connection, in frame order."""
    undrawn: int
    """Segments with info findings left out of the rows beyond ``INFO_ROWS``."""
    final_client_change: tuple[str, str] | None
    """A state change the end of the capture made without a segment (e.g. a server that
    never answered a SYN is taken back to LISTEN)."""
    final_server_change: tuple[str, str] | None
    unseen_replies: int = 0
    """Owed replies without a finding left in the collapsed stretches (past ``REPLY_ROWS``)."""

    @property
    def rows(self) -> tuple[LadderRow, ...]:
        return tuple(item for item in self.items if isinstance(item, LadderRow))

    def label(self, frame: int) -> str:
        """How the ladder writes its timeline's frame ``frame``: that frame's number in its
        own file (a ``FileChange`` before the rows says which file)."""
        return str(self.timeline.locate(frame)[1])


def segment_label(step: Step) -> str:
    """What an arrow says: ``SYN, ACK seq=0 ack=1 len=0 win=65160``."""
    ack = f" ack={step.ack}" if step.flags & ACK and step.ack is not None else ""
    return (f"{flag_names(step.flags)} seq={step.seq}{ack} len={step.length} "
            f"win={step.window}")


def connection_findings(findings: Iterable[Finding], timeline: Timeline) -> tuple[Finding, ...]:
    """The findings of the timeline's connection (in a stitched set, those of the later files
    its connection reaches too), in frame order."""
    key = (timeline.input, timeline.connection)
    mine = [f for f in findings if f.connection == timeline.connection
            and f.connection_key == key and timeline.frame_of(f.input, f.frame) is not None]
    return tuple(sorted(mine, key=lambda f: (timeline.frame_of(f.input, f.frame), f.code)))


def build_ladder(timeline: Timeline, findings: Iterable[Finding], *, full: bool = False,
                 frames: Iterable[int] = ()) -> Ladder:
    """Lay out the ladder of ``timeline``; ``findings`` may be the whole result's (those of
    other connections are ignored). ``full`` draws every segment; ``frames`` (e.g. the one a
    user asked for) are drawn with their context, like findings."""
    mine = connection_findings(findings, timeline)
    steps = timeline.steps
    columns = steps.columns()
    states = columns.states
    count = len(states)
    initial = state_code(timeline.client_state, timeline.server_state)
    # Rows are made only for the segments drawn: a big connection has a million.
    changes = [i for i, (before, after) in enumerate(zip(chain((initial,), states), states,
                                                           strict=False)) if before != after]
    by_index: dict[int, list[Finding]] = {}
    for finding in mine:
        index = steps.index_of(timeline.frame_of(finding.input, finding.frame) or 0)
        if index is not None:
            by_index.setdefault(index, []).append(finding)
    asked = {i for i in map(steps.index_of, frames) if i is not None}
    owed, answering = _replies(timeline, mine)
    keep = _kept(count, full, changes, by_index, asked | _reply_marks(owed, steps))
    files = _file_starts(timeline, columns)
    items: list[Item] = []
    previous = -1
    for index in sorted(keep):
        if index > previous + 1:
            _collapse_by_file(items, columns, previous + 1, index, files)
        _mark_file(items, files, index)
        before = states[index - 1] if index else initial
        items.append(_row(steps[index], before, states[index], tuple(by_index.get(index, ())),
                          tuple(owed.get(index, ())), tuple(answering.get(index, ()))))
        previous = index
    if previous + 1 < count:
        _collapse_by_file(items, columns, previous + 1, count, files)
    last_client, last_server = state_names(states[-1] if count else initial)
    return Ladder(
        timeline, tuple(items), mine, sum(1 for index in by_index if index not in keep),
        _change(last_client, timeline.final_client_state),
        _change(last_server, timeline.final_server_state),
        sum(len(items) for index, items in owed.items() if index not in keep))


def _row(step: Step, before: int, after: int, findings: tuple[Finding, ...],
         owed: tuple[OwedReply, ...], answering: tuple[OwedReply, ...]) -> LadderRow:
    (client_before, server_before), (client, server) = state_names(before), state_names(after)
    return LadderRow(step, _change(client_before, client), _change(server_before, server),
                     findings, owed, answering)


def _replies(timeline: Timeline, findings: tuple[Finding, ...]
             ) -> tuple[dict[int, list[OwedReply]], dict[int, list[OwedReply]]]:
    """The owed replies by the index of the row that tells them (the provoking segment's; the
    answer's or the last one before, when the provoking segment belongs to another connection)
    and by the index of the row that answered them."""
    owed: dict[int, list[OwedReply]] = {}
    answering: dict[int, list[OwedReply]] = {}
    steps = timeline.steps
    if not timeline.replies or not len(steps):
        return owed, answering
    made_of: dict[tuple[int | None, str, str], list[Finding]] = {}
    for finding in findings:
        made_of.setdefault((timeline.frame_of(finding.input, finding.frame), finding.side,
                            finding.position), []).append(finding)
    frames = steps.columns().frames
    label = _labeller(timeline)
    for reply in sorted(timeline.replies, key=lambda r: (r.frame, r.reply_frame or 0)):
        item = OwedReply(reply, tuple(made_of.get((reply.frame, reply.side,
                                                   reply.position()), ())), label)
        answer = None if reply.reply_frame is None else steps.index_of(reply.reply_frame)
        anchor = steps.index_of(reply.frame)
        if anchor is None:
            anchor = answer if answer is not None else max(0, bisect_right(frames,
                                                                           reply.frame) - 1)
        owed.setdefault(anchor, []).append(item)
        # A note told at the answer's own row already says what answered it.
        if answer is not None and answer != anchor:
            answering.setdefault(answer, []).append(item)
    return owed, answering


def _reply_marks(owed: dict[int, list[OwedReply]], steps: Steps) -> set[int]:
    """Indexes of the rows of owed replies to draw with their context (the telling row and
    the answer's): every one whose obligation became a finding, and the first ``REPLY_ROWS``
    of the others."""
    marks: set[int] = set()
    quiet = 0
    for anchor in sorted(owed):
        for item in owed[anchor]:
            if item.severity is None:
                if quiet >= REPLY_ROWS:
                    continue
                quiet += 1
            marks.add(anchor)
            frame = item.reply.reply_frame
            answer = None if frame is None else steps.index_of(frame)
            if answer is not None:
                marks.add(answer)
    return marks


def _change(before: str, after: str) -> tuple[str, str] | None:
    return (before, after) if before != after else None


def _kept(count: int, full: bool, changes: list[int], findings: dict[int, list[Finding]],
          asked: set[int]) -> set[int]:
    """Indexes of the segments drawn."""
    if full or count <= FULL_LIMIT:
        return set(range(count))
    keep = set(range(min(HEAD, count))) | set(range(max(0, count - TAIL), count))
    keep.update(changes)
    marked = sorted(asked)
    info_rows = 0
    for index in sorted(findings):
        if max(f.severity for f in findings[index]) is Severity.INFO:
            if info_rows >= INFO_ROWS:
                continue
            info_rows += 1
        marked.append(index)
    for index in marked:
        keep.update(range(max(0, index - CONTEXT), min(count, index + CONTEXT + 1)))
    # A single hidden segment takes as much room as its summary line: draw it instead.
    for index in range(1, count - 1):
        if index not in keep and index - 1 in keep and index + 1 in keep:
            keep.add(index)
    return keep


def _labeller(timeline: Timeline) -> Callable[[int], str]:
    """``Ladder.label`` of a ladder of ``timeline`` (``str`` for one capture file)."""
    if not timeline.files:
        return str
    return lambda frame: str(timeline.locate(frame)[1])


def _file_starts(timeline: Timeline, columns: Columns) -> dict[int, str]:
    """The step indexes where a later file of a stitched set starts, and those files."""
    return {bisect_right(columns.frames, after): path for path, after in timeline.files[1:]}


def _mark_file(items: list[Item], files: dict[int, str], index: int) -> None:
    """A ``FileChange`` before the row of step ``index`` when the file changes since the
    last item drawn."""
    if not files:
        return
    starts = [start for start in files if start <= index]
    if not starts:
        return
    path = files[max(starts)]
    shown = next((item.path for item in reversed(items) if isinstance(item, FileChange)), None)
    if shown != path:
        items.append(FileChange(path))


def _collapse_by_file(items: list[Item], columns: Columns, start: int, stop: int,
                      files: dict[int, str]) -> None:
    """Add ``_collapse`` of the steps ``start`` to ``stop`` to ``items``, one stretch per
    file they are in, each after its ``FileChange``."""
    cuts = sorted(cut for cut in files if start < cut < stop)
    for low, high in zip([start, *cuts], [*cuts, stop], strict=True):
        _mark_file(items, files, low)
        items.append(_collapse(columns, low, high))


def _collapse(columns: Columns, start: int, stop: int) -> Collapsed:
    """The segments ``start`` to ``stop`` (exclusive) as one line."""
    client = server = retransmissions = 0
    observations = columns.observations
    for index, meta, length in zip(range(start, stop), columns.meta[start:stop],
                                   columns.lengths[start:stop], strict=True):
        if meta & FROM_CLIENT:
            client += length
        else:
            server += length
        seen = observations.get(index)
        if seen and not RETRANSMISSIONS.isdisjoint(seen):
            retransmissions += 1
    return Collapsed(stop - start, columns.frames[start], columns.frames[stop - 1],
                     columns.times[start], columns.times[stop - 1], client, server,
                     retransmissions)
