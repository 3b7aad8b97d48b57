"""Findings and connection rows kept on disk, so an analysis's memory does not grow with its file.

A capture of ten million packets gives hundreds of thousands of findings and connection rows,
each kept for the sorted report: in memory they were most of the peak (about 80 MB per
million packets of the bench capture). A ``SortedSpill`` keeps at most ``limit`` of them in
memory; when it holds more, it sorts them and writes them to an unnamed temporary file as a
sorted run, in small pickled chunks. ``rows`` then gives every item in key order: today's
sorted tuple when nothing was written (small captures stay on the in-memory path), else a
``Rows`` view that merges the runs (``heapq.merge``, stable like ``sorted``) each time it is
iterated, holding one chunk per run.

The file is made by ``tempfile.TemporaryFile`` (in TMPDIR): it has no name once created, so
the operating system removes it when the process ends, on an error, Ctrl-C or a kill too.
"""

from __future__ import annotations

import heapq
import itertools
import os
import pickle
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 100_000
"""Items a store keeps in memory before it writes them out: above the 64,140 findings and
12,017 connection rows of the 1 M-packet bench capture, so that it and every smaller capture
are analysed without touching the disk."""

CHUNK = 2_000
"""Items per pickled chunk: what one run holds in memory while the runs are merged."""

Chunk = tuple[int, int]
"""A chunk's offset and length in the file."""


class SpillFile:
    """An unnamed temporary file of pickled chunks, appended to and read at any offset.

    Reads use ``os.pread``, so the runs of one file are read by independent iterators.
    """

    def __init__(self) -> None:
        # Lives as long as the views that read it; no name to remove, so no context manager.
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="tcpcheck-")  # noqa: SIM115
        self._end = 0

    def write(self, items: list[Any]) -> list[Chunk]:
        """Append ``items`` in chunks of ``CHUNK``; their places in the file."""
        chunks = []
        for start in range(0, len(items), CHUNK):
            blob = pickle.dumps(items[start:start + CHUNK], pickle.HIGHEST_PROTOCOL)
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


class Rows(Collection[T]):
    """Items read back from a ``SpillFile``: sorted runs merged by ``key``, those whose
    ``ident`` is in ``without`` left out. Sized, and iterable as often as needed (each
    iteration reads the file again)."""

    def __init__(self, spill: SpillFile, runs: list[list[Chunk]], count: int,
                 key: Callable[[T], Any] | None, without: Callable[[T], bool] | None = None
                 ) -> None:
        self._spill = spill
        self._runs = runs
        self._count = count
        self._key = key
        self._without = without

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        reads = [self._spill.read(run) for run in self._runs]
        merged = reads[0] if len(reads) == 1 else heapq.merge(*reads, key=self._key)
        if self._without is None:
            return merged
        return itertools.filterfalse(self._without, merged)

    def __contains__(self, item: object) -> bool:
        return any(row == item for row in self)


class SortedSpill(Generic[T]):
    """Items added in any order, given back sorted by ``key``; at most ``limit`` (None: no
    limit) of them in memory at a time, the others in sorted runs on disk."""

    def __init__(self, key: Callable[[T], Any], limit: int | None = DEFAULT_LIMIT) -> None:
        self._key = key
        self._limit = limit
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
        written out, else a ``Rows`` view of the file (the items in memory are written out
        first, so the view holds none of them)."""
        if self._spill is None:
            kept = self.held if without is None else itertools.filterfalse(without, self.held)
            return tuple(sorted(kept, key=self._key))
        if self.held:
            self._write_run()
        count = self._spilled if without is None else sum(
            1 for _ in itertools.filterfalse(without, Rows(self._spill, self._runs,
                                                           self._spilled, self._key)))
        return Rows(self._spill, list(self._runs), count, self._key, without)

    def _write_run(self) -> None:
        if self._spill is None:
            self._spill = SpillFile()
        self.held.sort(key=self._key)
        self._runs.append(self._spill.write(self.held))
        self._spilled += len(self.held)
        self.held.clear()


def spooled(rows: Iterable[T], like: Collection[T]) -> Collection[T]:
    """``rows`` (already in order) kept the way ``like`` is: a tuple when ``like`` is in
    memory, else written to a file of their own as one run. For a step that filters or
    rewrites a result's findings (a baseline, folded artefacts) without holding them all."""
    if not on_disk(like):
        return tuple(rows)
    spill = SpillFile()
    run: list[Chunk] = []
    count = 0
    items = iter(rows)
    while chunk := list(itertools.islice(items, CHUNK)):
        run.extend(spill.write(chunk))
        count += len(chunk)
    return Rows(spill, [run], count, key=None)


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
