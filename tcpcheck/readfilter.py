"""``--filter``: tcpdump's filter expressions, compiled by libpcap, applied to capture records.

The expression language is libpcap's (``man pcap-filter``) and so is the compiler: ``ctypes`` on
the system's libpcap, no parser of our own. A filter is compiled the way ``tcpdump -r`` compiles
it, against a savefile of the records' link type (libpcap opens a 24-byte pcap header held in
memory), so that libpcap maps link types and refuses what a savefile cannot answer
(``inbound`` on Ethernet) exactly as it does for tcpdump; the netmask is 0, as tcpdump's for a
file. Each record is then matched by libpcap's BPF interpreter before it is decoded; the records
kept keep their frame numbers, those of the whole file.

A pcapng file may hold interfaces of several link types: the expression is compiled once per
link type. Records of a link type tcpcheck does not decode pass through unfiltered when libpcap
cannot compile the expression for it: the decoder counts them as skipped, as without a filter.

Known difference from tcpdump: records carry their captured bytes only, so ``len``, ``greater``
and ``less`` compare the captured length, which is shorter than the length on the wire when
the capture was cut by a snapshot length.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import weakref
from collections.abc import Iterable, Iterator
from functools import cache

from tcpcheck.capture import MAX_CAPLEN, Capture
from tcpcheck.decode import SUPPORTED_LINKTYPES, linktype_name
from tcpcheck.segment import Record

__all__ = ["FilterError", "ReadFilter"]

INSTALL_HINT = "apt-get install libpcap0.8 (it comes with tcpdump)"

# Link types tcpcheck decodes under a number this libpcap does not know: DLT_RAW is 14 on
# OpenBSD, and the decoder reads such records as raw IP, so the filter does too.
_AS_LIBPCAP = {14: 101}
_NETMASK = 0  # what tcpdump passes for a file: 'ip broadcast' then means 0 or all-ones


class FilterError(Exception):
    """A filter that cannot be used: libpcap missing, or an expression libpcap refuses.

    The message is one user-facing line.
    """


class _Program(ctypes.Structure):
    """``struct bpf_program``."""

    _fields_ = (("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p))


class _Libpcap:
    """The few libpcap (and C library) functions a read filter needs, typed."""

    def __init__(self, pcap: ctypes.CDLL, libc: ctypes.CDLL):
        ptr, text = ctypes.c_void_p, ctypes.c_char_p
        # The header is read through a FILE: fmemopen makes one of bytes, no file on disk.
        self.fmemopen = _typed(libc.fmemopen, ptr, [text, ctypes.c_size_t, text])
        self.fopen_offline = _typed(pcap.pcap_fopen_offline, ptr, [ptr, text])
        self.compile = _typed(pcap.pcap_compile, ctypes.c_int,
                              [ptr, ctypes.POINTER(_Program), text, ctypes.c_int,
                               ctypes.c_uint32])
        self.geterr = _typed(pcap.pcap_geterr, text, [ptr])
        self.close = _typed(pcap.pcap_close, None, [ptr])
        self.freecode = _typed(pcap.pcap_freecode, None, [ctypes.POINTER(_Program)])
        # bpf_filter(insns, packet, wire length, captured length) is what pcap_offline_filter
        # runs, without a pcap_pkthdr to fill per record. Called untyped, on the hot path:
        # ctypes' argument conversion doubled the cost of a record (~2 us instead of ~1 us);
        # the arguments are always a c_void_p, bytes and two ints below 2**31.
        self.bpf_filter = pcap.bpf_filter
        self.bpf_filter.restype = ctypes.c_uint


def _typed(func: ctypes._CFuncPtr, restype: object, argtypes: list[object]) -> ctypes._CFuncPtr:
    func.restype = restype
    func.argtypes = argtypes
    return func


@cache
def _libpcap() -> _Libpcap:
    """The system's libpcap, loaded once per process; FilterError when it is missing."""
    name = ctypes.util.find_library("pcap")
    if name is None:
        raise FilterError(f"--filter needs libpcap, which is not installed: {INSTALL_HINT}")
    try:
        return _Libpcap(ctypes.CDLL(name), ctypes.CDLL(None))
    except (OSError, AttributeError) as exc:
        raise FilterError(f"--filter needs libpcap, which cannot be loaded ({exc}): "
                          f"{INSTALL_HINT}") from None


class ReadFilter:
    """A tcpdump filter expression, compiled by libpcap for each link type it meets.

    Creating one checks the expression: ``FilterError`` when libpcap is missing or when the
    expression compiles for none of the link types tcpcheck decodes (a syntax error, an
    unknown host or port name). ``apply`` then filters one capture's records. ``close`` (or
    the ``with`` block, or garbage collection) frees the compiled programs.
    """

    def __init__(self, expression: str):
        if "\0" in expression:  # C would end the expression there and filter on the rest
            raise FilterError(f"invalid filter {expression!r}: it contains a NUL character")
        self.expression = expression
        self._lib = _libpcap()
        # The compiled programs, to free; their instructions by (link type, big-endian file),
        # None for a link type whose records pass unfiltered.
        self._programs: list[_Program] = []
        self._code: dict[tuple[int, bool], ctypes.c_void_p | None] = {}
        self._finalizer = weakref.finalize(self, _free, self._lib, self._programs, self._code)
        # Valid when it compiles for one link type we decode, Ethernet first: each compile
        # may look host names up, so stop at the first that succeeds.
        errors = []
        for linktype in sorted(SUPPORTED_LINKTYPES, key=lambda lt: lt != 1):
            compiled = self._compile(linktype, False)
            if isinstance(compiled, _Program):
                self._keep((linktype, False), compiled)
                break
            errors.append(compiled)
        else:
            raise FilterError(f"invalid filter {expression!r}: {errors[0]}")

    def apply(self, capture: Capture, records: Iterable[Record] | None = None,
              ) -> Iterator[Record]:
        """The records of ``capture`` the expression matches, their frame numbers unchanged.

        ``records`` are the capture's records when some have already been taken from
        ``capture.records()`` (and put back); by default, ``capture.records()``.

        Raises ``FilterError`` now when the expression does not apply to the link type of one
        of the capture's interfaces (``vlan`` on Linux cooked captures), or later, while
        iterating, for an interface first declared part-way through a pcapng file.
        """
        if not self._finalizer.alive:
            raise ValueError("apply() on a closed ReadFilter")
        for linktype in sorted(capture.link_types):
            self._instructions(linktype, capture)
        return self._filtered(capture.records() if records is None else records, capture)

    def _filtered(self, records: Iterable[Record], capture: Capture) -> Iterator[Record]:
        matches = self._lib.bpf_filter
        code: dict[int, ctypes.c_void_p | None] = {}  # this capture's, by link type
        for record in records:
            linktype = record[2]
            if linktype not in code:
                code[linktype] = self._instructions(linktype, capture)
            insns = code[linktype]
            if insns is None:
                yield record
                continue
            data = record[3]
            size = len(data)
            if matches(insns, data, size, size):
                yield record

    def _instructions(self, linktype: int, capture: Capture) -> ctypes.c_void_p | None:
        """The program for ``linktype`` in a file of ``capture``'s byte order, compiled once
        (None: records pass unfiltered); FilterError when the expression does not apply.

        The byte order matters to BSD loopback captures, whose AF value is in the writer's
        order: libpcap compares it byte-swapped in a file of the other order, as tcpdump does.
        """
        key = (linktype, capture.big_endian)
        if key in self._code:
            return self._code[key]
        compiled = self._compile(*key)
        if isinstance(compiled, _Program):
            self._keep(key, compiled)
        elif linktype in SUPPORTED_LINKTYPES:
            raise FilterError(f"{capture.name}: filter {self.expression!r} does not apply to "
                              f"link type {linktype} ({linktype_name(linktype)}): {compiled}")
        else:  # records the decoder would only count as skipped: it still counts them
            self._code[key] = None
        return self._code[key]

    def _keep(self, key: tuple[int, bool], program: _Program) -> None:
        self._programs.append(program)
        self._code[key] = ctypes.c_void_p(program.bf_insns)

    def _compile(self, linktype: int, big_endian: bool) -> _Program | str:
        """The expression compiled for ``linktype``, or libpcap's reason why it cannot be."""
        lib = self._lib
        # A pcap file header, as tcpdump -r reads it, for libpcap's savefile reader.
        head = struct.pack(">IHHiIII" if big_endian else "<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0,
                           MAX_CAPLEN, _AS_LIBPCAP.get(linktype, linktype))
        stream = lib.fmemopen(head, len(head), b"rb")
        if not stream:
            raise FilterError("cannot compile the filter: out of memory")
        errbuf = ctypes.create_string_buffer(256)
        pcap = lib.fopen_offline(stream, errbuf)  # owns the stream from here on
        if not pcap:
            return errbuf.value.decode(errors="replace")
        try:
            program = _Program()
            if lib.compile(pcap, ctypes.byref(program), self.expression.encode(), 1, _NETMASK):
                return (lib.geterr(pcap) or b"").decode(errors="replace")
            return program
        finally:
            lib.close(pcap)

    def close(self) -> None:
        """Free the compiled programs."""
        self._finalizer()

    def __enter__(self) -> ReadFilter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free(lib: _Libpcap, programs: list[_Program],
          code: dict[tuple[int, bool], ctypes.c_void_p | None]) -> None:
    code.clear()  # first: no instruction pointer may outlive its program
    for program in programs:
        lib.freecode(ctypes.byref(program))
    programs.clear()
