"""The pipeline: open the sources → decode → engine → result.

The file side of an analysis: it opens capture files (``tcpcheck.sources``), decodes their
records into segments (``tcpcheck.decode``) and feeds them to the engine's ``Analyzer``, which
never touches a file. ``analyze_jobs`` is what ``tcpcheck analyze`` runs; a live capture feeds
its pipe through ``analyze_records`` the same way.
"""

from __future__ import annotations

import copy
import gc
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tcpcheck.decode import DecodeCounters, Decoder
from tcpcheck.engine import Analyzer, RuleSetup, combine
from tcpcheck.host_profiles import HostProfiles
from tcpcheck.profiles import Profile
from tcpcheck.progress import ReadProgress
from tcpcheck.readfilter import ReadFilter
from tcpcheck.result import AnalysisResult, CaptureSummary
from tcpcheck.segment import Record
from tcpcheck.set_results import FileResult, split_by_file
from tcpcheck.sources import Capture, CaptureSet, open_capture
from tcpcheck.spill import DEFAULT_LIMITS, SpillLimits
from tcpcheck.timeline import Recording


@dataclass(frozen=True, slots=True)
class Job:
    """One capture file to analyse, with the profile and rules that apply to it."""

    path: str
    profile: Profile | HostProfiles
    """One profile for every side, or ``--profile auto``'s choice per side."""
    setup: RuleSetup = field(default_factory=RuleSetup)
    stitch: CaptureSet | None = None
    """The rotated files read as one capture (``--stitch``), ``path`` the first of them;
    None: ``path`` alone."""


def analyze_capture(path: str, profile: Profile | HostProfiles, setup: RuleSetup | None = None,
                    recording: Recording | None = None,
                    max_connections: int | None = None, *,
                    on_wait: Callable[[str], None] | None = None,
                    read_filter: ReadFilter | None = None,
                    progress: ReadProgress | None = None,
                    spill_after: SpillLimits | None = DEFAULT_LIMITS,
                    ) -> tuple[CaptureSummary, Analyzer]:
    """Run one capture file through the whole pipeline (recording the timelines
    ``recording`` chooses; listing at most ``max_connections`` connections without a
    finding). ``on_wait`` is told when a FIFO input has no writer yet (``open_capture``);
    with a ``read_filter``, only the records it matches are decoded. Beyond ``spill_after``'s
    numbers of findings or connections (None: never) they are kept in a temporary file
    (``tcpcheck.spill``), so memory does not grow with the file.

    Raises ``tcpcheck.sources.CaptureError`` when the file cannot be read as a capture at all;
    a file damaged part-way is analysed up to the damage, which the summary reports.
    """
    with open_capture(path, on_wait=on_wait) as capture:
        capture.progress = progress
        analyzer = Analyzer(profile, input_name=path, setup=setup, recording=recording,
                            max_connections=max_connections, spill_after=spill_after)
        decoder = Decoder(verify_checksums=setup is None or setup.verify_checksums)
        return analyze_records(capture, analyzer, decoder, read_filter), analyzer


def analyze_set(files: CaptureSet, profile: Profile | HostProfiles, setup: RuleSetup | None = None,
                recording: Recording | None = None, max_connections: int | None = None, *,
                read_filter: ReadFilter | None = None, progress: ReadProgress | None = None,
                ) -> list[tuple[CaptureSummary, FileResult]]:
    """Run a rotated set of capture files through the pipeline as one capture; what it
    found is told file by file (``tcpcheck.set_results``), in the order the files were read.
    """
    with open_capture(files) as capture:
        capture.progress = progress
        analyzer = Analyzer(profile, input_name=files.paths[0], setup=setup,
                            recording=recording, max_connections=max_connections,
                            frame_names=capture.frame_names.number)
        decoder = Decoder(verify_checksums=setup is None or setup.verify_checksums)
        counters: list[DecodeCounters] = []
        capture.on_part = lambda _: counters.append(copy.copy(decoder.counters))
        whole = analyze_records(capture, analyzer, decoder, read_filter)
        return split_by_file(capture.parts, counters, whole, analyzer.findings,
                             analyzer.connections, analyzer.timelines)


def analyze_records(capture: Capture, analyzer: Analyzer, decoder: Decoder,
                    read_filter: ReadFilter | None = None, *,
                    shard: Callable[[Iterable[Record]], Iterable[Record]] | None = None,
                    ) -> CaptureSummary:
    """Feed every record of an open capture (a file, or a live capture's pipe) through
    ``decoder`` into ``analyzer``, finish it, and summarise the capture. With a
    ``read_filter``, only the records it matches go to the decoder (and are counted); with a
    ``shard`` (``tcpcheck.shards``), only the records it keeps of those.

    The analyzer's time origin is set from the first record, filtered or not, so that times
    are those of the whole file, as frame numbers are. ``decoder.counters`` are current
    while this runs, for a live view to read.
    """
    start_ts, records = _first_and_rest(capture.records())
    analyzer.start_ts = start_ts or 0
    if read_filter is not None:  # once per capture: the unfiltered loop stays as it was
        records = read_filter.apply(capture, records)
    if shard is not None:
        records = shard(records)
    with _rare_full_collections():
        analyzer.feed_all(decoder.segments(records))
        analyzer.finish()
    counters = decoder.counters
    return CaptureSummary(
        input=analyzer.input_name, format=capture.format, packets=counters.packets,
        tcp_packets=counters.tcp, skipped=counters.skipped(), damage=capture.damage,
        capture_start=None if start_ts is None else start_ts / 1e9,
        profile=analyzer.profile.name, folded=analyzer.folded, hosts=analyzer.hosts.rows())


FULL_COLLECTION_EVERY = 100
"""Collections of the middle generation between two full collections while a capture is
analysed (the interpreter's default is 10)."""


@contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Let the garbage collector's full collections come ten times more rarely.

    What an analysis keeps lives long and holds no cycle: each open connection (lingering
    ones stay for the whole TIME_WAIT) is ~17 objects the collector tracks (the endpoints'
    grouped TCBs), each finding one more. A full collection walks all of them; on the
    1 M-packet bench capture the default schedule made five, which freed nothing and cost 8 %
    of the analysis time. Young garbage is still collected as before, and a live capture that
    runs for hours still gets its full collections, only ten times fewer. The thresholds are
    the process's: they are restored when the analysis ends.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], threshold[1], max(threshold[2], FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _first_and_rest(records: Iterator[Record]) -> tuple[int | None, Iterable[Record]]:
    """The first record's timestamp (the capture's time origin) and all records again."""
    first = next(records, None)
    if first is None:
        return None, ()
    return first[1], itertools.chain((first,), records)


def analyze_jobs(jobs: Sequence[Job], recording: Recording | None = None,
                 max_connections: int | None = None, *,
                 on_wait: Callable[[str], None] | None = None,
                 read_filter: ReadFilter | None = None,
                 progress: ReadProgress | None = None,
                 spill_after: SpillLimits | None = DEFAULT_LIMITS) -> AnalysisResult:
    """Analyse capture files in order; one combined, deterministically ordered result.

    The result's ``profile`` is the profile every file was checked against, or the names of
    all of them when per-path configuration chose several. With a ``recording``, the result
    carries the timelines it chooses. ``max_connections`` bounds the connections without a
    finding listed per capture (None: all); the others are counted in each capture's
    ``folded``. ``on_wait`` is told when a FIFO input has no writer yet. A ``read_filter``
    (``--filter``) keeps the records of every file it matches. ``progress`` is told how far
    the reading of each capture is (``tcpcheck.progress``). ``spill_after`` is
    ``analyze_capture``'s (a stitched set is kept in memory).
    """
    runs: list[tuple[CaptureSummary, Analyzer | FileResult]] = []
    for job in jobs:
        if job.stitch is not None:
            runs.extend(analyze_set(job.stitch, job.profile, job.setup, recording,
                                    max_connections, read_filter=read_filter,
                                    progress=progress))
            continue
        runs.append(analyze_capture(job.path, job.profile, job.setup, recording,
                                    max_connections, on_wait=on_wait, read_filter=read_filter,
                                    progress=progress, spill_after=spill_after))
    return combine(runs)


def analyze_files(paths: Sequence[str], profile: Profile | HostProfiles,
                  setup: RuleSetup | None = None,
                  spill_after: SpillLimits | None = DEFAULT_LIMITS) -> AnalysisResult:
    """Analyse capture files with one profile and one rule setup."""
    return analyze_jobs([Job(path, profile, setup or RuleSetup()) for path in paths],
                        spill_after=spill_after)


def skip_reason(path: str, frame: int) -> str | None:
    """Why the decoder passes over frame ``frame`` of a capture file (a reason of its
    ``skipped`` counters, e.g. ``non-tcp``), read again from the file; None when the frame is a
    TCP segment or the file has no such frame."""
    decoder = Decoder()
    with open_capture(path) as capture:
        for record in capture.records():
            if record[0] == frame:
                decoder.decode(record)
                break
    return next(iter(decoder.counters.skipped()), None)


def kept_by(read_filter: ReadFilter, path: str, frame: int) -> bool | None:
    """Whether ``read_filter`` keeps frame ``frame`` of a capture file, read again from the
    file; None when the file has no such frame."""
    with open_capture(path) as capture:
        for record in capture.records():
            if record[0] == frame:
                return any(True for _ in read_filter.apply(capture, (record,)))
    return None
