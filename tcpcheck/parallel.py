"""``--jobs N``: captures analysed in N processes, with the report of one.

Several captures are spread over the processes; fewer captures than processes are each split
into shards by connection (``tcpcheck.shards``), whose results ``tcpcheck.merge`` puts back
together. What cannot be read twice (standard input, a FIFO) and captures too small to be
worth a process (with the default ``--jobs``) are analysed in this process, as ``--jobs 1``
does. A capture whose shards turn out to be tied together is analysed again in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import islice
from typing import Protocol

from tcpcheck.engine import Analyzer
from tcpcheck.merge import merge
from tcpcheck.pipeline import Job, analyze_capture, analyze_set
from tcpcheck.progress import ReadProgress
from tcpcheck.readfilter import ReadFilter
from tcpcheck.result import CaptureSummary
from tcpcheck.set_results import FileResult
from tcpcheck.shards import ShardResult, ShardTask, run_shard
from tcpcheck.sources import STDIN
from tcpcheck.spill import DEFAULT_LIMITS, SpillLimits
from tcpcheck.timeline import Recording

MIN_SHARD_BYTES = 4_000_000
"""Bytes of capture per shard at least with the default ``--jobs`` (about 40,000 packets,
half a second in one process): below that, starting a process and reading the file again
costs more than it saves."""

Run = tuple[CaptureSummary, Analyzer | FileResult]


class WorkerError(Exception):
    """A worker process died (killed, out of memory): one user-facing line."""


class Pending(Protocol):
    """A shard being analysed elsewhere: a ``concurrent.futures`` or a Dask future."""

    def result(self) -> ShardResult: ...


Submit = Callable[[Callable[[ShardTask], ShardResult], ShardTask], Pending]
"""Start ``run_shard`` on a task elsewhere (a process pool's or a Dask client's ``submit``)."""


def analyze_in_processes(jobs: Sequence[Job], workers: int, *,
                         recording: Recording | None = None,
                         max_connections: int | None = None,
                         read_filter: ReadFilter | None = None,
                         min_shard_bytes: int = 0,
                         on_wait: Callable[[str], None] | None = None,
                         progress: ReadProgress | None = None,
                         spill_after: SpillLimits | None = DEFAULT_LIMITS) -> list[Run]:
    """Each job's summary and finished analyzer, in the order of ``jobs``, as
    ``analyze_capture`` gives them, computed by up to ``workers`` processes.

    ``min_shard_bytes`` keeps a capture whole when its shards would be smaller. Errors of a
    capture are raised as ``analyze_capture`` raises them. ``progress`` is told how far this
    process reads: the captures it analyses whole, and the first shard's file (every process
    reads the whole file, at about the same pace). ``spill_after`` is ``analyze_capture``'s,
    for every shard and merge; what a worker wrote out comes back in a file
    (``tcpcheck.handoff``), so that no process holds all of a large capture's findings.
    """
    plan = Plan(jobs, _shard_counts(jobs, workers, min_shard_bytes), recording,
                max_connections, read_filter, on_wait, progress, spill_after, hand_off=True)
    if len(plan.tasks) < 2:
        return plan.without_tasks().run(_unused, first_here=False)
    pool = ProcessPoolExecutor(min(workers, len(plan.tasks)) - 1 or 1, mp_context=_context())
    try:
        # This process analyses the first shard itself: one process fewer to start, and one
        # result fewer to pickle and unpickle.
        return plan.run(pool.submit, first_here=True)
    except BrokenProcessPool:
        raise WorkerError("a worker process of --jobs died (killed, or out of memory?): "
                          "try --jobs 1") from None
    finally:
        # After an error, the shards not started yet are not worth starting.
        pool.shutdown(cancel_futures=True)


@dataclass(frozen=True)
class Plan:
    """Which captures are split into how many shards (0: analysed whole in this process)."""

    jobs: Sequence[Job]
    counts: Sequence[int]
    recording: Recording | None = None
    max_connections: int | None = None
    read_filter: ReadFilter | None = None
    on_wait: Callable[[str], None] | None = None
    progress: ReadProgress | None = None
    spill_after: SpillLimits | None = DEFAULT_LIMITS
    hand_off: bool = False
    """The shards run on this machine: spilled findings come back in files
    (``ShardTask.hand_off``)."""

    @property
    def tasks(self) -> list[ShardTask]:
        return [self._task(job, index, count)
                for job, count in zip(self.jobs, self.counts, strict=True)
                for index in range(count)]

    def without_tasks(self) -> Plan:
        """Every capture analysed in this process."""
        return replace(self, counts=[0] * len(self.jobs))

    def run(self, submit: Submit, *, first_here: bool) -> list[Run]:
        """Each job's summary and analyzer, in order: shards started with ``submit`` (the
        first one analysed here with ``first_here``), merged; a capture whose shards are tied
        together is analysed again whole."""
        tasks = self.tasks
        pending: list[ShardResult | Pending] = [submit(run_shard, task)
                                                for task in tasks[first_here:]]
        if first_here and tasks:
            pending.insert(0, run_shard(tasks[0], self.progress))
        results = iter(pending)
        runs: list[list[Run] | None] = []
        for job, count in zip(self.jobs, self.counts, strict=True):
            if not count:
                runs.append(self._here(job))
                continue
            merged = merge([_result(item) for item in islice(results, count)])
            runs.append(None if merged is None else [merged])
        # The shards' results are merged: not held while a capture is analysed again.
        pending.clear()
        again = {i: submit(run_shard, self._task(job, 0, 1))
                 for i, (job, run) in enumerate(zip(self.jobs, runs, strict=True))
                 if run is None}
        return [item for i, run in enumerate(runs)
                for item in (run if run is not None else [_whole(again[i])])]

    def _task(self, job: Job, index: int, count: int) -> ShardTask:
        expression = None if self.read_filter is None else self.read_filter.expression
        return ShardTask(job, index, count, self.recording, self.max_connections, expression,
                         self.spill_after, self.hand_off)

    def _here(self, job: Job) -> list[Run]:
        if job.stitch is not None:  # one result per file of the set
            return list(analyze_set(job.stitch, job.profile, job.setup, self.recording,
                                    self.max_connections, read_filter=self.read_filter,
                                    progress=self.progress))
        return [analyze_capture(job.path, job.profile, job.setup, self.recording,
                                self.max_connections, on_wait=self.on_wait,
                                read_filter=self.read_filter, progress=self.progress,
                                spill_after=self.spill_after)]


def _unused(function: Callable[[ShardTask], ShardResult], task: ShardTask) -> Pending:
    raise AssertionError("a plan without tasks submits nothing")


def _result(item: ShardResult | Pending) -> ShardResult:
    return item if isinstance(item, ShardResult) else item.result()


def _whole(pending: Pending) -> Run:
    run = merge([pending.result()])
    assert run is not None  # a whole capture always merges
    return run


def _shard_counts(jobs: Sequence[Job], workers: int, min_shard_bytes: int) -> list[int]:
    """How many shards each job is split into: 0 for one analysed in this process."""
    sizes = [capture_size(job) for job in jobs]
    shardable = sum(size is not None for size in sizes)
    per_file = max(1, workers // max(1, shardable))
    counts = []
    for size in sizes:
        if size is None:
            counts.append(0)
        elif min_shard_bytes:
            counts.append(min(per_file, size // min_shard_bytes))
        else:
            counts.append(per_file)
    return counts


def capture_size(job: Job) -> int | None:
    """The size of a capture that can be split: a file, read again by each process; None for
    a stitched set (``--stitch``: analysed in this process, as one capture) and what
    ``file_size`` refuses."""
    return None if job.stitch is not None else file_size(job.path)


def file_size(path: str) -> int | None:
    """The size of a regular file that can be read again; None for anything else
    (standard input, a FIFO, a missing file: this process reports it as ``--jobs 1``)."""
    if path == STDIN:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _context() -> multiprocessing.context.BaseContext:
    """Fork where there is fork (Linux): a worker starts in milliseconds, with the catalog
    already loaded; elsewhere the platform's default."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
