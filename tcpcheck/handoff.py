"""A shard's spilled findings and rows handed to the process that merges them, through a file.

A worker of ``--jobs`` whose findings or rows outgrew memory (``tcpcheck.spill``) would
otherwise turn all of them into one pickled result: on a 10 M-packet capture, 400,000
findings held at once in the worker, in the pipe and again in the parent, which is the
memory the spill saves. Instead the worker writes them, in the order it would have sent
them, to a named temporary file in small pickled chunks, and sends a ``Handoff``: the
file's path and how many items it holds. The parent reads it once, a chunk at a time, and
removes it. Both processes are on one machine (a process pool of ``--jobs``); a Dask worker
on another host cannot hand a file over, and sends its items in its result as before.
"""

from __future__ import annotations

import copyreg
import itertools
import os
import pickle
import tempfile
from collections.abc import Collection, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tcpcheck.spill import CHUNK, by_fields, failed, on_disk


@dataclass(frozen=True, slots=True)
class Handoff:
    """Items written to a named temporary file by ``hand_off``: iterated once (the file is
    removed then), or ``discard``-ed unread."""

    path: str
    count: int

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        try:
            with open(self.path, "rb") as file:
                while True:
                    try:
                        chunk = pickle.load(file)
                    except EOFError:
                        return
                    yield from chunk
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the file (a result that is not merged after all)."""
        with suppress(FileNotFoundError):
            os.unlink(self.path)


def hand_off(items: Iterable[Any], like: Collection[Any], plain: tuple[type, ...] = ()
             ) -> tuple[Any, ...] | Handoff:
    """``items`` as a tuple when ``like`` (what they are read from) is in memory, else
    written to a file for another process (``plain``: the dataclasses among them to pickle by
    their fields, as ``tcpcheck.spill.SpillFile`` does)."""
    if not on_disk(like):
        return tuple(items)
    reducers = copyreg.dispatch_table | {cls: by_fields(cls) for cls in plain}
    count = 0
    path = None
    try:
        # Named, and kept after closing: the merging process reads and removes it.
        with tempfile.NamedTemporaryFile(prefix="tcpcheck-shard-", delete=False) as file:
            path = file.name
            pickler = pickle.Pickler(file, pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = reducers
            source = iter(items)
            while chunk := list(itertools.islice(source, CHUNK)):
                pickler.dump(chunk)
                pickler.clear_memo()
                count += len(chunk)
    except OSError as exc:
        if path is not None:
            Handoff(path, count).discard()
        raise failed(exc) from None
    return Handoff(path, count)


def discard(items: Iterable[Any]) -> None:
    """Remove a ``Handoff``'s file; nothing for items in memory."""
    if isinstance(items, Handoff):
        items.discard()
