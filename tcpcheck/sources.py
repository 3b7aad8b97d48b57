"""Capture files to Records: classic pcap, pcapng, and both gzip-compressed.

The format is sniffed from the magic, never the file name. Reading is strictly sequential, in
large chunks, without seeking, so a pipe from dumpcap/tshark (live mode) goes through the same
code as a file, and memory is bounded by one chunk plus one record whatever the file size.

A damaged file (truncated last record, corrupt record header or block) is read up to the damage:
everything before it is yielded and ``Capture.damage`` says where and why reading stopped. Only
input that cannot be read at all raises ``CaptureError``.
"""

from __future__ import annotations

import gzip
import os
import select
import stat
import struct
import sys
from collections.abc import Callable, Iterator
from typing import BinaryIO

from tcpcheck.capture import (
    CHUNK,
    MAX_CAPLEN,
    READ_ERRORS,
    ByteCount,
    Capture,
    CaptureError,
    Input,
    check_linktypes,
    fill_header,
    read_failure,
)
from tcpcheck.foreign import MAGIC_BYTES, ForeignCapture, converted, foreign_format
from tcpcheck.pcapng import PcapngCapture
from tcpcheck.segment import Record
from tcpcheck.stitched import CaptureSet, StitchedCapture

__all__ = ["STDIN", "Capture", "CaptureError", "CaptureSet", "open_capture", "open_stream"]

STDIN = "-"
"""The path that names standard input, as in ``tcpdump -r -`` (a file named ``-`` is ``./-``)."""


_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # microseconds, little-endian
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
_OTHER_MAGICS = {
    b"\xfd7zX": "xz-compressed: decompress it first (tcpcheck reads gzip only)",
    b"\x28\xb5\x2f\xfd": "zstd-compressed: decompress it first (tcpcheck reads gzip only)",
    b"\x04\x22\x4d\x18": "lz4-compressed: decompress it first (tcpcheck reads gzip only)",
}


class _PcapCapture(Capture):
    format = "pcap"

    def __init__(self, name: str, inp: Input, compressed: bool, closers: list[BinaryIO]):
        super().__init__(name, inp, compressed, closers)
        order, self._mul = _PCAP_MAGICS[inp.buf[:4]]
        self.big_endian = order == ">"
        fill_header(name, inp, 24, "the pcap file header")
        _, major, minor, _, _, snaplen, network = struct.unpack_from(order + "IHHiIII", inp.buf)
        if major != 2:
            raise CaptureError(f"{name}: unsupported pcap version {major}.{minor}")
        inp.pos = 24
        # The upper bits of the link type field carry FCS information (libpcap LT_LINKTYPE).
        self.linktype = network & 0x03FFFFFF
        self.link_types.add(self.linktype)
        check_linktypes(name, [self.linktype])
        # libpcap never writes caplen > snaplen; tolerate writers with a too-small snaplen
        # up to 64 KiB, but a length past that is a corrupt header, not a packet.
        self._limit = MAX_CAPLEN if snaplen == 0 else min(MAX_CAPLEN, max(snaplen, 65535))
        self._rec = struct.Struct(order + "III4x")

    def _records(self) -> Iterator[Record]:
        inp = self._in
        read = inp.read
        buf, pos, base = inp.buf, inp.pos, inp.base
        unpack = self._rec.unpack_from
        lt, mul, limit = self.linktype, self._mul, self._limit
        frame = 0
        while True:
            # Every whole record in the buffer, without a call per record to the file.
            n = len(buf)
            while pos + 16 <= n:
                sec, frac, caplen = unpack(buf, pos)
                end = pos + 16 + caplen
                if end > n or caplen > limit:
                    break
                frame += 1
                yield frame, sec * 1_000_000_000 + frac * mul, lt, buf[pos + 16:end]
                pos = end
            left = n - pos
            where = f"record {frame + 1} at byte offset {base + pos}"
            if left >= 16:
                caplen = unpack(buf, pos)[2]
                if caplen > limit:
                    self._damaged(f"corrupt record header in {where}: captured length "
                                  f"{caplen} exceeds {limit}")
                    return
            if self.progress is not None:
                self.progress(self.name, self.bytes_read(), self.size, frame)
            try:
                chunk = read(CHUNK)
            except READ_ERRORS as exc:
                self._damaged(f"{read_failure(exc)} in {where}")
                return
            if not chunk:
                if left >= 16:
                    self._damaged(f"file truncated in {where}: header says {caplen} bytes, "
                                  f"{left - 16} remain")
                elif left:
                    self._damaged(f"file truncated in {where}: record header needs 16 bytes, "
                                  f"{left} remain")
                return
            base += pos
            buf = buf[pos:] + chunk
            pos = 0


def _describe_start(head: bytes) -> str:
    sample = head[:8]
    if all(32 <= b < 127 for b in sample):
        return repr(sample.decode("ascii"))
    return " ".join(f"{b:02x}" for b in sample)


class _Prefixed:
    """A file object that first returns the bytes already read while sniffing the magic.

    Lets gzip decompress a pipe from its first byte without ever seeking back.
    """

    def __init__(self, prefix: bytes, read: Callable[[int], bytes]):
        self._prefix = prefix
        self._read = read

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n < 0 or n >= len(self._prefix):
                data, self._prefix = self._prefix, b""
            else:
                data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self._read(n)


def _sniff(read: Callable[[int], bytes]) -> bytes:
    """The first chunk of the stream, at least the bytes that tell every format we know
    (``MAGIC_BYTES``) unless the stream is shorter."""
    head = b""
    while len(head) < MAGIC_BYTES:
        chunk = read(CHUNK)
        if not chunk:
            break
        head += chunk
    return head


def _reader(f: BinaryIO) -> Callable[[int], bytes]:
    # read1 returns what is available after at most one raw read: a pipe delivers each
    # record as soon as it is written, instead of blocking until a whole chunk is in.
    return getattr(f, "read1", None) or f.read


def open_stream(fileobj: BinaryIO, name: str = "<stream>") -> Capture:
    """Open a capture from a binary file object, read strictly sequentially (pipes work).

    The caller keeps ownership of ``fileobj``: ``Capture.close()`` does not close it.
    """
    try:
        return _open(fileobj, name, [])
    except ForeignCapture as foreign:
        return _open_converted(name, foreign, None)


FIFO_PATIENCE_MS = 1000
"""How long a FIFO may stay without a writer before ``open_capture`` says it is waiting."""


def open_capture(path: str | os.PathLike[str] | CaptureSet, *,
                 on_wait: Callable[[str], None] | None = None) -> Capture:
    """Open a pcap or pcapng file, gzip-compressed or not, read-only; ``-`` (``STDIN``) is
    standard input, read as a pipe is (``tcpdump -w - | tcpcheck analyze -``). A
    ``CaptureSet`` opens as one ``StitchedCapture`` of its files (``--stitch``).

    A FIFO (``mkfifo``, a pipe on standard input, or ``/dev/stdin`` from a pipe) is waited on
    until its writer sends something; when that takes longer than ``FIFO_PATIENCE_MS``,
    ``on_wait`` is called once with the input's name, so that a user is told why nothing
    happens.

    Raises ``CaptureError`` (one user-facing line) when the file cannot be read as a capture.
    """
    if isinstance(path, CaptureSet):
        return StitchedCapture(path, open_capture)
    name = os.fspath(path)
    name = name if isinstance(name, str) else name.decode(errors="replace")
    if name == STDIN:
        return _open_stdin(on_wait)
    try:
        f = _open_binary(path, name, on_wait)
    except FileNotFoundError:
        raise CaptureError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{name}: is a directory, not a capture file") from None
    except PermissionError:
        raise CaptureError(f"{name}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"{name}: cannot open ({exc.strerror or exc})") from None
    try:
        return _open(f, name, [f])
    except ForeignCapture as foreign:
        try:
            return _open_converted(name, foreign, name if _regular_size(f) is not None else None)
        finally:
            f.close()
    except BaseException:
        f.close()
        raise


def _open_converted(name: str, foreign: ForeignCapture, path: str | None) -> Capture:
    """A capture of a format only Wireshark reads (``tcpcheck.foreign``), through its
    conversion to pcapng by editcap, named as the original everywhere."""
    f, complaint = converted(name, foreign, path)
    try:
        capture = _open(f, name, [f])
    except BaseException:
        f.close()
        raise
    capture.format = f"{foreign.format.wiretap} (converted by editcap)"
    capture.damage = complaint
    return capture


_STDIN_NAME = "standard input"
"""How messages name ``-``: "-: empty file" would read as a typo."""


def _open_stdin(on_wait: Callable[[str], None] | None) -> Capture:
    """Standard input as a capture, left open when the capture is closed (it is not ours).

    A terminal is refused at once: nobody types a capture, and reading would wait silently.
    """
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise CaptureError(f"{_STDIN_NAME}: is closed, there is no capture to read")
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # a stream without a descriptor (an embedding program's)
        fd = None
    if fd is not None:
        try:
            mode = os.fstat(fd).st_mode
        except OSError as exc:
            raise CaptureError(f"{_STDIN_NAME}: cannot read ({exc.strerror or exc})") from None
        if os.isatty(fd):
            raise CaptureError(f"{_STDIN_NAME}: is a terminal, not a capture: pipe one in "
                               "(tcpdump -w - | tcpcheck analyze -) or redirect a file "
                               "(tcpcheck analyze - < capture.pcap)")
        if stat.S_ISFIFO(mode):
            _wait_for_writer(fd, _STDIN_NAME, on_wait)
    try:
        return _open(stream, _STDIN_NAME, [])
    except ForeignCapture as foreign:
        return _open_converted(_STDIN_NAME, foreign, None)


def _open_binary(path: str | os.PathLike[str], name: str,
                 on_wait: Callable[[str], None] | None) -> BinaryIO:
    """The file opened for reading; a FIFO only once its writer has sent something.

    A plain open of a FIFO blocks, silently, until a writer opens it. Opened non-blocking it
    returns at once, and poll() says when there is data (or a writer came and went).
    """
    try:
        fifo = stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        fifo = False  # open() below says what is wrong
    if not fifo:
        return open(path, "rb")
    # The file object owns the descriptor from the start: closing a bare descriptor after a
    # signal raised inside fdopen() closed it twice, and EBADF hid the signal.
    f = open(path, "rb", opener=_open_nonblocking)  # noqa: SIM115 (returned open)
    try:
        _wait_for_writer(f.fileno(), name, on_wait)
        os.set_blocking(f.fileno(), True)
    except BaseException:
        f.close()
        raise
    return f


def _wait_for_writer(fd: int, name: str, on_wait: Callable[[str], None] | None) -> None:
    """Return once the FIFO ``fd`` has data or its writer has gone; call ``on_wait`` once
    if that takes longer than ``FIFO_PATIENCE_MS``."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    if not poller.poll(FIFO_PATIENCE_MS):
        if on_wait is not None:
            on_wait(name)
        poller.poll()


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def _open(f: BinaryIO, name: str, closers: list[BinaryIO]) -> Capture:
    capture = _open_counted(f, name, closers)
    capture.size = _regular_size(f)
    return capture


def _regular_size(f: BinaryIO) -> int | None:
    """The size of the file ``f`` reads, when it is a regular file (what progress compares
    with)."""
    try:
        info = os.fstat(f.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _open_counted(f: BinaryIO, name: str, closers: list[BinaryIO]) -> Capture:
    """The capture ``f`` holds, with the bytes read from ``f`` counted (``bytes_read``)."""
    counted = ByteCount(_reader(f))
    try:
        head = _sniff(counted.read)
    except OSError as exc:
        raise CaptureError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise CaptureError(f"{name}: empty file")
    read = counted.read
    compressed = head[:2] == b"\x1f\x8b"
    if compressed:
        sniffed = counted.done
        counted = ByteCount(f.read)
        counted.done = sniffed
        gz = gzip.GzipFile(fileobj=_Prefixed(head, counted.read),  # type: ignore[arg-type]
                           mode="rb")
        closers = [gz, *closers]
        read = gz.read1
        try:
            head = _sniff(read)
        except READ_ERRORS as exc:
            raise CaptureError(f"{name}: unreadable gzip file ({read_failure(exc)})") from None
        if not head:
            raise CaptureError(f"{name}: empty file (after gzip decompression)")
    magic = head[:4]
    inp = Input(read, head)
    capture: Capture | None = None
    if magic in _PCAP_MAGICS:
        capture = _PcapCapture(name, inp, compressed, closers)
    elif magic == b"\x0a\x0d\x0d\x0a":
        capture = PcapngCapture(name, inp, compressed, closers)
    if capture is not None:
        capture.counted = counted
        return capture
    form = foreign_format(head)
    if form is not None:
        raise ForeignCapture(form, head, read)
    if magic in _OTHER_MAGICS or head[:3] == b"BZh":
        kind = _OTHER_MAGICS.get(magic, "bzip2-compressed: decompress it first (tcpcheck "
                                        "reads gzip only)")
        raise CaptureError(f"{name}: not a plain pcap or pcapng file: {kind}")
    if len(head) < 4:
        raise CaptureError(f"{name}: too short to be a capture ({len(head)} bytes)")
    inner = " after gzip decompression" if compressed else ""
    raise CaptureError(f"{name}: not a pcap or pcapng file (starts with "
                       f"{_describe_start(head)}{inner})")
