"""An open capture file: the ``Capture`` every reader returns, and ``CaptureError``.

Shared by the classic pcap reader (``sources``) and the pcapng reader (``pcapng``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from tcpcheck.decode import SUPPORTED_LINKTYPES, linktype_name
from tcpcheck.progress import ReadProgress
from tcpcheck.segment import Record

CHUNK = 1 << 20
"""Bytes per read: large enough that per-call overhead vanishes, small enough to stay cache-warm."""
MAX_CAPLEN = 262_144
"""libpcap's MAXIMUM_SNAPLEN: a record claiming more is a corrupt header, not a packet."""

# Errors a read can raise mid-file: I/O errors, and a truncated or corrupt gzip stream
# (gzip.BadGzipFile is an OSError).
READ_ERRORS = (OSError, EOFError, zlib.error)


class CaptureError(Exception):
    """A capture that cannot be read at all; the message is one user-facing line."""


class Capture:
    """An open capture: iterate ``records()`` once, then read ``damage``.

    ``format`` is ``pcap`` or ``pcapng`` (``+gzip`` when compressed); ``link_types`` holds the
    link type of every interface seen so far (complete once ``records()`` is exhausted).
    ``big_endian`` is the byte order of the file (of the current section of a pcapng): that of
    the host that wrote it, which is also the order of a BSD loopback header's AF value.
    """

    format: str
    link_types: set[int]
    damage: str | None
    big_endian: bool
    size: int | None = None
    """The file's size in bytes; None when it is no regular file (a pipe, standard input)."""
    progress: ReadProgress | None = None
    """Told how far reading is once per chunk read (``CHUNK``), never per record; set it
    before iterating ``records()``."""
    counted: ByteCount | None = None
    """What counts the bytes read from the file (``bytes_read``)."""

    def __init__(self, name: str, inp: Input, compressed: bool, closers: list[BinaryIO]):
        self.name = name
        self.damage = None
        self.link_types = set()
        self.big_endian = False
        self._in = inp
        self._closers = closers
        self._started = False
        self.format += "+gzip" if compressed else ""

    def records(self) -> Iterator[Record]:
        """Yield ``(frame_number, timestamp_ns, link_type, bytes)`` for every packet record.

        Single pass: the source may be a pipe. Stops early, without raising, on damage.
        """
        if self._started:
            raise RuntimeError("Capture.records() can be iterated only once")
        self._started = True
        return self._records()

    __iter__ = records

    def bytes_read(self) -> int:
        """Bytes read from the file so far: compressed bytes for a gzip file, so that they
        compare with ``size``."""
        return 0 if self.counted is None else self.counted.done

    def close(self) -> None:
        """Close what this capture opened (not a file object given to ``open_stream``)."""
        for f in self._closers:
            f.close()
        self._closers = []

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _records(self) -> Iterator[Record]:
        raise NotImplementedError

    def _damaged(self, message: str) -> None:
        if self.damage is None:
            self.damage = message


class ByteCount:
    """A read function that counts the bytes it returned."""

    __slots__ = ("_read", "done")

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self.done = 0

    def read(self, n: int = -1) -> bytes:
        data = self._read(n)
        self.done += len(data)
        return data


class Input:
    """The read-ahead buffer: ``buf[pos:]`` is unread, ``base`` is the stream offset of buf[0]."""

    __slots__ = ("base", "buf", "pos", "read")

    def __init__(self, read: Callable[[int], bytes], head: bytes):
        self.read = read
        self.buf = head
        self.pos = 0
        self.base = 0

    def fill(self, need: int) -> bool:
        """Make ``need`` unread bytes available; False when the stream ends first."""
        while len(self.buf) - self.pos < need:
            chunk = self.read(CHUNK)
            if not chunk:
                return False
            self.base += self.pos
            self.buf = self.buf[self.pos:] + chunk
            self.pos = 0
        return True


def fill_header(name: str, inp: Input, need: int, what: str) -> None:
    """Read a file header fully, or refuse the file: there is nothing before it to keep."""
    try:
        complete = inp.fill(need)
    except READ_ERRORS as exc:
        raise CaptureError(f"{name}: {read_failure(exc)} in {what}") from None
    if not complete:
        raise CaptureError(f"{name}: file truncated in {what}")


def read_failure(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "gzip stream truncated"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip stream ({exc})"
    return f"read error ({getattr(exc, 'strerror', None) or exc})"


def check_linktypes(name: str, linktypes: list[int]) -> None:
    """Refuse a capture none of whose interfaces we can decode."""
    if linktypes and not any(lt in SUPPORTED_LINKTYPES for lt in linktypes):
        lt = linktypes[0]
        raise CaptureError(
            f"{name}: unsupported link type {lt} ({linktype_name(lt)}); tcpcheck reads "
            f"{READ_LINKS} captures")


READ_LINKS = ("Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback, PPP, PPPoE, Cisco HDLC, "
              "Frame Relay, IP over InfiniBand and ARCNET")
"""The link layers tcpcheck decodes, as the error for a capture of another one lists them."""
