"""What one analysis of a stitched capture set found, told file by file.

The engine numbers frames over the whole set (``tcpcheck.stitched``); a user opens one file
of it in Wireshark. Here every finding is moved to the file that holds its frame, with that
file's frame number, and every connection row to the file of its first frame. Times are
seconds since the first record of the file named, as for a file analysed alone, so that
each file's ``capture_start`` plus a time is the frame's clock time.

A row's ``last_frame`` counts on from its own file through the files after it: a connection
that crosses into the next file ends past its file's last frame, and ``first_frame ..
last_frame`` still spans it (the next file's frame ``n`` is its file's last frame + ``n``).
A timeline (the html report's and ``tcpcheck show``'s ladders) goes with its connection's
row: named by the file of its first frame, its frames and times counted as the row's are,
and its ``files`` say where each later file it reaches starts, so that a ladder names every
segment by its own file's frame number and finds the findings of the later files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from tcpcheck.decode import DecodeCounters
from tcpcheck.result import CaptureSummary, ConnectionSummary, Finding
from tcpcheck.stitched import FrameMap, Part
from tcpcheck.timeline import FileStart, Timeline


@dataclass(frozen=True, slots=True)
class FileResult:
    """The findings, connections and timelines one file of a set is named by, as
    ``tcpcheck.engine.combine`` takes them from an analyzer."""

    findings: list[Finding]
    connections: list[ConnectionSummary]
    timelines: list[Timeline]


def split_by_file(parts: Sequence[Part], counters: Sequence[DecodeCounters],
                  whole: CaptureSummary, findings: Sequence[Finding],
                  connections: Sequence[ConnectionSummary],
                  timelines: Sequence[Timeline]) -> list[tuple[CaptureSummary, FileResult]]:
    """One capture summary and result per file of the set, in reading order.

    ``counters`` are the decoder's counters as each part ended (cumulative); ``whole`` is
    the summary of the set read as one capture. Connections not listed (``--max-connections``)
    are counted on the first file's summary: the set was analysed as one capture.
    """
    frames = FrameMap(parts)
    set_start = next((p.first_ts for p in parts if p.first_ts is not None), 0)
    shift = {p.path: ((p.first_ts or set_start) - set_start) / 1e9 for p in parts}
    offset = {p.path: p.offset for p in parts}
    results = {p.path: FileResult([], [], []) for p in parts}
    row_paths = {}
    for row in connections:
        path, first = frames.locate(row.first_frame)
        row_paths[row.id] = path
        results[path].connections.append(dataclasses.replace(
            row, input=path, first_frame=first, last_frame=row.last_frame - offset[path],
            start=row.start - shift[path], end=row.end - shift[path]))
    for finding in findings:
        path, frame = frames.locate(finding.frame)
        row_path = row_paths.get(finding.connection, path)
        results[path].findings.append(dataclasses.replace(
            finding, input=path, frame=frame, time=finding.time - shift[path],
            connection_input="" if row_path == path else row_path))
    for timeline in timelines:
        path = frames.part_of(timeline.steps[0].frame).path if len(timeline.steps) else \
            parts[0].path
        results[path].timelines.append(_rebased(timeline, path, parts, shift[path]))
    summaries = _summaries(parts, counters, whole)
    return [(summary, results[part.path]) for summary, part in zip(summaries, parts,
                                                                    strict=True)]


def _rebased(timeline: Timeline, path: str, parts: Sequence[Part], seconds: float) -> Timeline:
    """``timeline`` numbered from the file ``path`` on, its times from that file's start."""
    [start] = [part.offset for part in parts if part.path == path]
    last = timeline.steps[-1].frame if len(timeline.steps) else start
    files = tuple(FileStart(part.path, part.offset - start) for part in parts
                  if part.records and start <= part.offset < last)
    replies = tuple(dataclasses.replace(
        reply, frame=reply.frame - start,
        reply_frame=None if reply.reply_frame is None else reply.reply_frame - start)
        for reply in timeline.replies)
    return dataclasses.replace(timeline, input=path, steps=timeline.steps.rebased(
        start, seconds), replies=replies, files=files)


def _summaries(parts: Sequence[Part], counters: Sequence[DecodeCounters],
               whole: CaptureSummary) -> list[CaptureSummary]:
    out = []
    before = DecodeCounters()
    for index, (part, after) in enumerate(zip(parts, counters, strict=True)):
        delta = DecodeCounters(**{f.name: getattr(after, f.name) - getattr(before, f.name)
                                  for f in dataclasses.fields(DecodeCounters)})
        out.append(CaptureSummary(
            input=part.path, format=part.format, packets=delta.packets,
            tcp_packets=delta.tcp, skipped=delta.skipped(), damage=part.damage,
            capture_start=None if part.first_ts is None else part.first_ts / 1e9,
            profile=whole.profile, folded=whole.folded if index == 0 else None,
            hosts=whole.hosts if index == 0 else ()))
        before = after
    return out
