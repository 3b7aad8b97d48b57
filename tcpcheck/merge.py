"""The shards of one capture (``tcpcheck.shards``) merged into what one process reports.

Each shard numbered its connections in order of appearance among its own; a connection's
number over the capture is its rank by first frame among every shard's connections (each
connection opens at one frame, and numbers follow frames in one process too). What needs
every connection is decided here, on the renumbered parts, by the same code one process
runs at its end (``Analyzer.finish``): floods over every shard's unfinished handshakes, and
which connections without a finding are listed (``--max-connections``: the lowest ids).

Two things tie connections together in ways a shard cannot see, both rare in real traffic:
a host shown silent by its traffic on other connections, and a host's ISN repeated across
connections (isn-weak). When either may have crossed shards, ``merge`` returns None and
the capture is analysed again in one process, so that the report is still the same.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from tcpcheck.decode import DecodeCounters
from tcpcheck.engine import Analyzer
from tcpcheck.fold import Handshake
from tcpcheck.handoff import discard
from tcpcheck.result import CaptureSummary, Finding
from tcpcheck.shards import FINDING_FIELDS, ShardResult

_CONNECTION = FINDING_FIELDS.index("connection")


def merge(parts: Sequence[ShardResult]) -> tuple[CaptureSummary, Analyzer] | None:
    """One capture's result from all of its shards (in shard order); None when the
    shards' connections were tied together and one process must analyse the capture."""
    task = parts[0].task
    job = task.job
    merged = Analyzer(job.profile, input_name=job.path, setup=job.setup,
                      max_connections=task.max_connections, spill_after=task.spill_after)
    if task.count == 1:  # the whole capture, finished as one process finishes it
        whole = parts[0]
        merged.take_results((Finding(*fields) for fields in whole.findings), whole.connections)
        merged.timelines.extend(whole.timelines)
        return whole.summary, merged
    if _linked(parts):
        for part in parts:
            discard(part.findings)
            discard(part.connections)
        return None
    merged.start_ts = parts[0].start_ts
    for part, ids in zip(parts, _numbering(parts), strict=True):
        naming = part.naming
        merged.take_results(
            (merged.renumbered(Finding(*fields), *naming[i], ids) if i in naming
             else Finding(*fields[:_CONNECTION], ids[fields[_CONNECTION]],
                          *fields[_CONNECTION + 1:])
             for i, fields in enumerate(part.findings)),
            (replace(c, id=ids[c.id]) for c in part.connections))
        merged.timelines.extend(replace(t, connection=ids[t.connection])
                                for t in part.timelines)
        merged.take_pooled((replace(c, id=ids[c.id]) for c in part.pooled), part.folded)
        for target, handshake in part.handshakes:
            merged.take_handshake(target, _renumbered(handshake, ids))
    merged.finish()
    if task.recording is not None and merged.flooded:
        # Which members of a flood keep their timeline depends on when the flood was
        # recognised, in the order connections ended over the whole capture.
        return None
    return _summary(parts, merged), merged


def _linked(parts: Sequence[ShardResult]) -> bool:
    """Were connections of different shards tied together (or may they have been)?"""
    if any(part.linked for part in parts):
        return True
    seen: set[tuple[bytes, int]] = set()
    for part in parts:
        if not seen.isdisjoint(part.isn_keys):
            return True
        seen |= part.isn_keys
    return False


def _numbering(parts: Sequence[ShardResult]) -> list[list[int]]:
    """For each shard, its connections' numbers over the capture, by their number in it."""
    numbers = [[0] * len(part.first_frames) for part in parts]
    by_frame = heapq.merge(*(_tagged(shard, part.first_frames)
                             for shard, part in enumerate(parts)))
    for number, (_, shard, local) in enumerate(by_frame):
        numbers[shard][local] = number
    return numbers


def _tagged(shard: int, first_frames: Iterable[int]) -> Iterator[tuple[int, int, int]]:
    """(first frame, shard, number in the shard) of a shard's connections."""
    for local, frame in enumerate(first_frames):
        yield frame, shard, local


def _renumbered(handshake: Handshake, ids: list[int]) -> Handshake:
    number = ids[handshake.conn_id]
    finding = handshake.finding
    return replace(handshake, conn_id=number, row=replace(handshake.row, id=number),
                   finding=None if finding is None else replace(finding, connection=number))


def _summary(parts: Sequence[ShardResult], merged: Analyzer) -> CaptureSummary:
    """The capture's counters (every record was decoded by exactly one shard) and hosts."""
    counters = DecodeCounters()
    for part in parts:
        counters.packets += part.summary.packets
        counters.tcp += part.summary.tcp_packets
        merged.hosts.absorb(part.summary.hosts)
        for reason, count in part.summary.skipped.items():
            name = reason.replace("-", "_")
            setattr(counters, name, getattr(counters, name) + count)
    return replace(parts[0].summary, packets=counters.packets, tcp_packets=counters.tcp,
                   skipped=counters.skipped(), folded=merged.folded, hosts=merged.hosts.rows())
