"""One shard of a capture: the connections of one hash bucket, analysed in one process.

``tcpcheck analyze --jobs N`` splits a capture among N processes by a hash of each segment's
normalised four-tuple (the same for both directions, and the same in every process: CRC-32,
not Python's per-process ``hash``). Every process reads the whole file, so frame numbers,
times and damage stay those of the file; it decides each record's shard from the raw bytes
where the link and IP layout allow (Ethernet, IPv4 without options: a slice and a CRC),
decodes only its own shard's records, and lets another shard's segments only move its clock
on (``Tracker.pass_by``), so that connections end at the capture times they end at in one
process. A record the cheap test cannot place is decoded to find its four-tuple; a record
that is not TCP is counted by shard 0 only.

``run_shard`` returns a ``ShardResult``: a picklable partial result that
``tcpcheck.merge`` turns, with the other shards', into what one process reports.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from tcpcheck.checks import Context
from tcpcheck.decode import Decoder
from tcpcheck.engine import Analyzer
from tcpcheck.fold import Handshake, Target
from tcpcheck.handoff import Handoff, hand_off
from tcpcheck.model.events import Event
from tcpcheck.pipeline import Job, analyze_records
from tcpcheck.progress import ReadProgress
from tcpcheck.readfilter import ReadFilter
from tcpcheck.result import (
    RESULT_ROWS,
    CaptureSummary,
    ConnectionSummary,
    Finding,
    FoldedConnections,
)
from tcpcheck.segment import Record
from tcpcheck.sources import open_capture
from tcpcheck.spill import DEFAULT_LIMITS, SpillLimits
from tcpcheck.timeline import Recording, Timeline
from tcpcheck.track import Tracker

# What the decoder's fast path reads (tcpcheck.decode._FAST): Ethernet + IPv4 (IHL 5) + TCP,
# from the EtherType on: ethertype, version/IHL, total length, flags/fragment offset,
# protocol, then the TCP data offset. Addresses and ports are sliced, not unpacked.
_PLACE = struct.Struct("!HBxHxxHxB")
_OFFSET = 46  # TCP data offset byte: Ethernet 14 + IPv4 20 + 12
_FAST_END = 54
_PORT = struct.Struct("!H")
_KNOWN = 1 << 16
"""Directed four-tuples whose shard ``shard_records`` remembers at most (~6 MB; the bench
capture has 24,000): at 1 << 18 this cache was a tenth of a shard's memory on 10 M packets."""
FINDING_FIELDS = tuple(f.name for f in fields(Finding))
_finding_fields = attrgetter(*FINDING_FIELDS)


@dataclass(frozen=True, slots=True)
class ShardTask:
    """One shard of one capture to analyse: what a worker process is given."""

    job: Job
    index: int
    count: int
    """Shards the capture is split into; 1: the whole capture, analysed as one process does."""
    recording: Recording | None = None
    max_connections: int | None = None
    filter_expression: str | None = None
    """``--filter``, compiled again in the worker (a compiled filter is not picklable)."""
    spill_after: SpillLimits | None = DEFAULT_LIMITS
    """Findings and rows kept in memory before the rest are written out, in the merge and
    (half of them when the capture is split) in the worker (``tcpcheck.spill``)."""
    hand_off: bool = False
    """The merge runs on this machine: spilled findings and rows are handed over in a file
    (``tcpcheck.handoff``), not in the result."""


@dataclass(frozen=True, slots=True)
class ShardResult:
    """What one shard found, with its connections numbered within the shard."""

    task: ShardTask
    summary: CaptureSummary
    """This shard's counters: the records it decoded (shard 0 also the non-TCP ones)."""
    start_ts: int
    findings: tuple[tuple, ...] | Handoff
    """Each finding as the tuple of its fields (``FINDING_FIELDS``), in the report's order:
    tuples pickle several times faster than frozen dataclasses, and a shard of a busy capture
    has 100,000s (then in a file: ``ShardTask.hand_off``)."""
    connections: tuple[ConnectionSummary, ...] | Handoff
    """The rows listed, by id: with a finding (all of them when nothing is folded)."""
    pooled: tuple[ConnectionSummary, ...]
    """Rows without a finding, the shard's lowest ids (``--max-connections``)."""
    folded: FoldedConnections | None
    handshakes: tuple[tuple[Target, Handshake], ...]
    """Handshakes that never completed, for the flood watch (``Analyzer.handshakes``)."""
    timelines: tuple[Timeline, ...]
    first_frames: array
    """Each connection's first frame, by its id in the shard."""
    isn_keys: frozenset[tuple[bytes, int]]
    """Every (host, ISN) the shard remembered for isn-weak."""
    linked: bool
    """Connections were tied together across the capture (``Tracker.linked``)."""
    naming: dict[int, tuple[Event, Context]]
    """Findings whose message names another connection, by position in ``findings``
    (``Analyzer.naming``)."""


def run_shard(task: ShardTask, progress: ReadProgress | None = None) -> ShardResult:
    """Analyse one shard of a capture (raises ``CaptureError`` as ``analyze_capture``),
    telling ``progress`` how far the file is read."""
    job = task.job
    read_filter = None if task.filter_expression is None else ReadFilter(task.filter_expression)
    sharded = task.count > 1
    spill_after = task.spill_after
    if sharded and spill_after is not None:
        # A shard also keeps what the merge needs (first frames, ISNs, its pooled rows): with
        # half the findings and rows of one process in memory, it peaks as one does.
        spill_after = SpillLimits(spill_after.findings // 2, spill_after.connections // 2)
    with open_capture(job.path) as capture:
        capture.progress = progress
        analyzer = Analyzer(job.profile, input_name=job.path, setup=job.setup,
                            recording=task.recording, max_connections=task.max_connections,
                            spill_after=spill_after, sharded=sharded)
        decoder = Decoder(verify_checksums=job.setup.verify_checksums)
        tracker = analyzer.tracker
        if sharded:
            tracker.isn_keys = set()
        shard = None if not sharded else (
            lambda records: shard_records(records, task.index, task.count, tracker))
        summary = analyze_records(capture, analyzer, decoder, read_filter, shard=shard)
    pooled, folded = analyzer.pooled() if sharded else ([], None)
    first_frames = analyzer.first_frames or {}
    findings, rows = analyzer.sorted_findings(), analyzer.sorted_connections()
    naming = analyzer.naming
    return ShardResult(
        task, summary, analyzer.start_ts, _shipped(map(_finding_fields, findings), findings, task),
        _shipped(rows, rows, task, RESULT_ROWS), tuple(pooled), folded,
        tuple(analyzer.handshakes or ()), tuple(analyzer.timelines),
        array("q", (first_frames[i] for i in range(len(first_frames)))),
        frozenset(tracker.isn_keys or ()), tracker.linked,
        {i: naming[f] for i, f in enumerate(findings) if f in naming} if naming else {})


def _shipped(items: Iterable[Any], like: Collection[Any], task: ShardTask,
             plain: tuple[type, ...] = ()) -> tuple[Any, ...] | Handoff:
    """A shard's findings or rows as its result carries them: in a file when they were
    spilled and the merge is on this machine, else a tuple."""
    return hand_off(items, like, plain) if task.hand_off else tuple(items)


def shard_of(a: bytes, b: bytes, count: int) -> int:
    """The shard of the connection between endpoints ``a`` and ``b`` (packed address and
    port), whichever sent the segment: CRC-32 of the two in byte order, the same in every
    process and on every machine."""
    return zlib.crc32(a + b if a < b else b + a) % count


def shard_records(records: Iterable[Record], index: int, count: int,
                  tracker: Tracker) -> Iterator[Record]:
    """The records of shard ``index`` of ``count``; the other shards' TCP segments move
    ``tracker``'s clock on instead (``Tracker.pass_by``), as feeding them would.

    The clock moves only when a lingering connection is due, and once at the end (to the
    last segment's time, which ends the capture for every connection): the records are
    pulled one at a time, so the tracker has taken every earlier segment of this shard when
    another shard's segment is seen.
    """
    place = _PLACE.unpack_from
    probe = Decoder(verify_checksums=False).decode  # its counters are thrown away
    pack = _PORT.pack
    # The shard of each directed four-tuple seen (source and destination address, ports,
    # as the IPv4 header and TCP ports lie in a frame): one slice and one lookup per record.
    known: dict[bytes, int] = {}
    due = tracker.next_expiry
    last = None
    for record in records:
        buf = record[3]
        shard = None
        if record[2] == 1 and len(buf) >= _FAST_END:
            et, vihl, tot, frag, proto = place(buf, 12)
            if et == 0x0800 and vihl == 0x45 and proto == 6 and not frag & 0x3FFF:
                hl = (buf[_OFFSET] >> 2) & 0x3C
                # The decoder's own conditions for its fast path: what passes is a segment.
                if hl >= 20 and tot - 20 - hl >= 0 and len(buf) >= 34 + hl:
                    directed = buf[26:38]
                    shard = known.get(directed)
                    if shard is None:
                        if len(known) >= _KNOWN:  # a scan or a flood: millions of tuples
                            known.clear()
                        shard = known[directed] = shard_of(
                            directed[:4] + directed[8:10], directed[4:8] + directed[10:12],
                            count)
        if shard is None:
            seg = probe(record)
            if seg is None:  # not a TCP segment: counted once, by shard 0
                if index == 0:
                    yield record
                continue
            shard = shard_of(seg.src + pack(seg.sport), seg.dst + pack(seg.dport), count)
        ts = record[1]
        last = ts
        if shard == index:
            yield record
            due = tracker.next_expiry
        elif ts >= due:
            tracker.pass_by(ts)
            due = tracker.next_expiry
    if last is not None:
        tracker.pass_by(last)
