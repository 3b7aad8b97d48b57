"""Rotated capture sets read as one capture (``tcpcheck analyze --stitch``).

``tcpdump -C/-G/-W``, ``dumpcap -b`` ring buffers and ``editcap -c`` splits cut one capture
into files; a connection that crosses a cut is one connection, not a pickup mid-stream in one
file and a cut-off in the other. ``StitchedCapture`` chains the files, ordered by their first
record's timestamp, into one stream of records whose frame numbers run on over the whole set;
``FrameMap`` turns such a frame number back into (file, frame of that file), as a user opens
them in Wireshark.

A damaged file is read up to its damage and the next file continues: the model sees the
records lost to the damage as packets the capture missed. Files whose time ranges overlap
are no rotation (two interfaces, or two runs): reading them as one would reorder time, so
they are refused with ``CaptureError``.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tcpcheck.capture import Capture, CaptureError
from tcpcheck.progress import ReadProgress
from tcpcheck.segment import Record


@dataclass(frozen=True, slots=True)
class CaptureSet:
    """Capture files to read as one capture, in reading order (``stitch_order`` sorts them)."""

    paths: tuple[str, ...]

    @property
    def name(self) -> str:
        """How messages and progress name the set: its first file, and how many follow."""
        more = len(self.paths) - 1
        return self.paths[0] if not more else f"{self.paths[0]} (+{more} rotated files)"


@dataclass(frozen=True, slots=True)
class Part:
    """One file of a set, as it was read."""

    path: str
    format: str
    offset: int
    """How many records of the set come before this file's first one."""
    records: int
    first_ts: int | None
    """The timestamp of its first record in ns (None: the file has none)."""
    damage: str | None


Opener = Callable[[str], Capture]
"""Opens one capture file (``tcpcheck.sources.open_capture``)."""


def stitch_order(paths: Sequence[str], opener: Opener) -> CaptureSet:
    """``paths`` ordered by their first record's timestamp (files without a record last, by
    name; the path breaks ties), as a rotation wrote them whatever their names say.

    Raises ``CaptureError`` for a file that is no capture.
    """
    firsts = []
    for path in paths:
        with opener(path) as capture:
            first = next(capture.records(), None)
        firsts.append((first is None, 0 if first is None else first[1], path))
    return CaptureSet(tuple(path for _, _, path in sorted(firsts)))


class StitchedCapture(Capture):
    """The records of every file of a ``CaptureSet``, in order, numbered over the whole set.

    ``parts`` lists the files read so far; ``on_part`` is called with each as soon as its
    last record has been taken (before the next file is opened), so that a caller can note
    what its own counters say about that file.
    """

    def __init__(self, files: CaptureSet, opener: Opener) -> None:
        self.name = files.name
        self.damage = None
        self.link_types = set()
        self.format = "stitched"
        self._files = files
        self._opener = opener
        self._current: Capture | None = None
        self._started = False
        self._closers = []
        self.parts: list[Part] = []
        self.on_part: Callable[[Part], None] | None = None
        self.size = _total_size(files.paths)

    @property
    def big_endian(self) -> bool:  # type: ignore[override]
        """The byte order of the file being read."""
        return self._current is not None and self._current.big_endian

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def _records(self) -> Iterator[Record]:
        offset = done_bytes = 0
        last_ts: int | None = None
        previous = ""
        for path in self._files.paths:
            member = self._current = self._opener(path)
            self.link_types |= member.link_types
            member.progress = self._relay(done_bytes, offset)
            records = member.records()
            first = next(records, None)
            frame = 0
            if first is not None:
                if last_ts is not None and first[1] < last_ts:
                    raise CaptureError(_overlap(path, first[1], previous, last_ts))
                frame, ts = first[0], first[1]
                yield frame + offset, ts, first[2], first[3]
                for frame, ts, lt, data in records:
                    yield frame + offset, ts, lt, data
                last_ts, previous = ts, path
            self._finish(member, Part(path, member.format, offset, frame,
                                      None if first is None else first[1], member.damage))
            offset += frame
            done_bytes += member.bytes_read()

    def _finish(self, member: Capture, part: Part) -> None:
        self.link_types |= member.link_types
        if part.damage is not None and self.damage is None:
            self.damage = f"{part.path}: {part.damage}"
        member.close()
        self._current = None
        self.parts.append(part)
        if self.on_part is not None:
            self.on_part(part)

    def _relay(self, done_bytes: int, offset: int) -> ReadProgress | None:
        """A member's progress, told as the set's."""
        progress = self.progress
        if progress is None:
            return None
        name, total = self.name, self.size

        def relay(_: str, done: int, _total: int | None, records: int) -> None:
            progress(name, done_bytes + done, total, offset + records)
        return relay


def _total_size(paths: Sequence[str]) -> int | None:
    """The bytes of every file of a set; None when one of them is no regular file."""
    total = 0
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        total += info.st_size
    return total


def _overlap(path: str, first_ts: int, previous: str, last_ts: int) -> str:
    return (f"{path}: starts at {_clock(first_ts)}, before {previous} ends "
            f"({_clock(last_ts)}): files whose times overlap are not one rotated capture; "
            "analyse them without --stitch")


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class FrameMap:
    """A frame number of a stitched set → (file, frame number in that file)."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self._parts = [part for part in parts if part.records]
        self._offsets = [part.offset for part in self._parts]

    def part_of(self, frame: int) -> Part:
        """The file that holds the set's frame ``frame`` (1-based)."""
        return self._parts[max(bisect.bisect_left(self._offsets, frame) - 1, 0)]

    def locate(self, frame: int) -> tuple[str, int]:
        """``(file, frame number in that file)`` of the set's frame ``frame``."""
        part = self.part_of(frame)
        return part.path, frame - part.offset
