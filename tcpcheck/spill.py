"""Findings and connection rows kept on disk, so an analysis's memory does not grow with its file.

A capture of ten million packets gives hundreds of thousands of findings and connection rows,
each kept for the sorted report: in memory they were most of the peak (about 80 MB per
million packets of the bench capture). A ``SortedSpill`` keeps at most ``limit`` of them in
memory; when it holds more, it sorts them and writes them to an unnamed temporary file as a
sorted run, in small pickled chunks. ``rows`` then gives every item in key order: today's
sorted tuple when nothing was written (small captures stay on the in-memory path), else the
runs merged (``heapq.merge``, stable like ``sorted``, one chunk per run in memory) into one
run of a new file, and a ``Rows`` view that reads it, a chunk at a time, each time it is
iterated.

The file is made by ``tempfile.TemporaryFile`` (in TMPDIR): it has no name once created, so
the operating system removes it when the process ends, on an error, Ctrl-C or a kill too.
"""

from __future__ import annotations

import copyreg
import dataclasses
import heapq
import io
import itertools
import operator
import os
import pickle
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")

@dataclass(frozen=True, slots=True)
class SpillLimits:
    """How many findings and connection rows an analysis keeps in memory before it writes
    them out. The defaults are above the 64,140 findings and 12,017 connections of the
    1 M-packet bench capture, so that it and every smaller capture are analysed without
    touching the disk; a row with its statistics holds about twice a finding's memory, and a
    capture has several findings per connection, so fewer rows are kept."""

    findings: int = 100_000
    connections: int = 25_000


DEFAULT_LIMITS = SpillLimits()

CHUNK = 2_000
"""Items per pickled chunk: what one run holds in memory while the runs are merged."""

Chunk = tuple[int, int]
"""A chunk's offset and length in the file."""


class SpillError(Exception):
    """The temporary file cannot be made or written (TMPDIR missing, read-only or full)."""


def failed(exc: OSError) -> SpillError:
    """The ``SpillError`` of a temporary file that cannot be made or written."""
    return SpillError(f"cannot keep findings in a temporary file in {tempfile.gettempdir()}: "
                      f"{exc.strerror or exc} (set TMPDIR to a folder with room)")


class SpillFile:
    """An unnamed temporary file of pickled chunks, appended to and read at any offset.

    Reads use ``os.pread``, so the runs of one file are read by independent iterators.
    Instances of the ``plain`` dataclasses are pickled as a call of the class with their
    fields: pickle's own way for a slotted dataclass (``__getstate__`` and ``__setstate__``
    asking ``dataclasses.fields`` each time) took four times as long.
    """

    def __init__(self, plain: tuple[type, ...] = ()) -> None:
        try:
            # Lives as long as the views that read it; no name to remove: no context manager.
            self._file: IO[bytes] = tempfile.TemporaryFile(prefix="tcpcheck-")  # noqa: SIM115
        except OSError as exc:
            raise failed(exc) from None
        self._end = 0
        self._reducers = copyreg.dispatch_table | {cls: by_fields(cls) for cls in plain}

    def write(self, items: list[Any]) -> list[Chunk]:
        """Append ``items`` in chunks of ``CHUNK``; their places in the file. Raises
        SpillError when the file cannot take them."""
        try:
            return self._write(items)
        except OSError as exc:
            raise failed(exc) from None

    def _write(self, items: list[Any]) -> list[Chunk]:
        chunks = []
        for start in range(0, len(items), CHUNK):
            out = io.BytesIO()
            pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = self._reducers
            pickler.dump(items[start:start + CHUNK])
            blob = out.getvalue()
            self._file.write(blob)
            chunks.append((self._end, len(blob)))
            self._end += len(blob)
        self._file.flush()
        return chunks

    def read(self, chunks: Iterable[Chunk]) -> Iterator[Any]:
        """The items of ``chunks``, in order, one chunk in memory at a time."""
        fd = self._file.fileno()
        for offset, length in chunks:
            yield from pickle.loads(os.pread(fd, length, offset))

    def close(self) -> None:
        self._file.close()


def by_fields(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]]:
    """A pickle reducer giving a dataclass instance as ``cls(*fields)``."""
    names = [f.name for f in dataclasses.fields(cls)]
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (cls, (get(obj),))
    return lambda obj: (cls, get(obj))


class Rows(Collection[T]):
    """Items read back from one run of a ``SpillFile``, in the order written. Sized, and
    iterable as often as needed (each iteration reads the file again)."""

    def __init__(self, spill: SpillFile, run: list[Chunk], count: int) -> None:
        self._spill = spill
        self._run = run
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        return self._spill.read(self._run)

    def __contains__(self, item: object) -> bool:
        return any(row == item for row in self)


class SortedSpill(Generic[T]):
    """Items added in any order, given back sorted by ``key``; at most ``limit`` (None: no
    limit) of them in memory at a time, the others in sorted runs on disk (``plain``: the
    dataclasses among them to pickle by their fields, see ``SpillFile``)."""

    def __init__(self, key: Callable[[T], Any], limit: int | None,
                 plain: tuple[type, ...] = ()) -> None:
        self._key = key
        self._limit = limit
        self._plain = plain
        self.held: list[T] = []
        """The items in memory, in the order added: all of them until ``limit`` is passed.
        Always the same list, emptied when its items are written out."""
        self._runs: list[list[Chunk]] = []
        self._spilled = 0
        self._spill: SpillFile | None = None

    def __len__(self) -> int:
        return self._spilled + len(self.held)

    def __iter__(self) -> Iterator[T]:
        """Every item, in key order."""
        return iter(self.rows())

    def append(self, item: T) -> None:
        self.held.append(item)
        if self._limit is not None and len(self.held) > self._limit:
            self._write_run()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def rows(self, without: Callable[[T], bool] | None = None) -> Collection[T]:
        """Every item in key order, but those ``without`` is true of: a tuple when none was
        written out, else a ``Rows`` view of the file.

        The runs are merged once, here, into a file of their own (the items ``without``
        leaves out are dropped for good): a report reads its findings several times, and
        reading one run costs a quarter of merging several."""
        if self._spill is None:
            kept = self.held if without is None else itertools.filterfalse(without, self.held)
            return tuple(sorted(kept, key=self._key))
        if self.held:
            self._write_run()
        if len(self._runs) > 1 or without is not None:
            reads = [self._spill.read(run) for run in self._runs]
            merged = heapq.merge(*reads, key=self._key)
            rows = written(merged if without is None else itertools.filterfalse(without, merged),
                           self._plain)
            # The old file closes with the last view still reading it.
            self._spill, self._runs, self._spilled = rows._spill, [rows._run], len(rows)
        return Rows(self._spill, self._runs[0], self._spilled)

    def _write_run(self) -> None:
        if self._spill is None:
            self._spill = SpillFile(self._plain)
        self.held.sort(key=self._key)
        self._runs.append(self._spill.write(self.held))
        self._spilled += len(self.held)
        self.held.clear()


def written(rows: Iterable[T], plain: tuple[type, ...] = ()) -> Rows[T]:
    """``rows``, in their order, written to a spill file of their own, ``CHUNK`` at a time."""
    spill = SpillFile(plain)
    run: list[Chunk] = []
    count = 0
    items = iter(rows)
    while chunk := list(itertools.islice(items, CHUNK)):
        run.extend(spill.write(chunk))
        count += len(chunk)
    return Rows(spill, run, count)


def spooled(rows: Iterable[T], like: Collection[T], plain: tuple[type, ...] = ()
            ) -> Collection[T]:
    """``rows`` (already in order) kept the way ``like`` is: a tuple when ``like`` is in
    memory, else ``written`` to a file of their own. For a step that filters or rewrites a
    result's findings (a baseline, folded artefacts) without holding them all."""
    return written(rows, plain) if on_disk(like) else tuple(rows)


class Chained(Collection[T]):
    """Several collections one after the other (the captures of a run), some of them
    ``Rows`` views: sized, and iterable as often as needed."""

    def __init__(self, parts: list[Collection[T]]) -> None:
        self._parts = parts

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def __iter__(self) -> Iterator[T]:
        return itertools.chain.from_iterable(self._parts)

    def __contains__(self, item: object) -> bool:
        return any(item in part for part in self._parts)


def chained(parts: list[Collection[T]]) -> Collection[T]:
    """``parts`` one after the other: one tuple when all of them are in memory (the result of
    a small analysis, as it always was), else a ``Chained`` view."""
    if all(isinstance(part, tuple) for part in parts):
        return tuple(itertools.chain.from_iterable(parts))
    return Chained(parts)


def on_disk(rows: Collection[Any]) -> bool:
    """Are ``rows`` read from a spill file (a view), not held in memory?"""
    return isinstance(rows, Rows | Chained)
