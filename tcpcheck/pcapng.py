"""pcapng: sections, every interface with its own link type and clock, packets of every kind.

Block types handled: section header (byte order per section, interfaces reset), interface
description (link type, snaplen, if_tsresol as a power of 10 or 2, if_tsoffset), enhanced,
simple and obsolete packet blocks; every other block is skipped by its length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from tcpcheck.capture import (
    CHUNK,
    MAX_CAPLEN,
    READ_ERRORS,
    Capture,
    CaptureError,
    Input,
    check_linktypes,
    fill_header,
    read_failure,
)
from tcpcheck.segment import Record

MAX_BLOCK = 16 << 20
"""Largest block we accept (name resolution and secrets blocks can be large)."""
SHB = 0x0A0D0D0A  # a palindrome: recognisable before the byte order is known
_IDB, _PB, _SPB, _EPB, _SJE = 1, 2, 3, 6, 9


class _Interface:
    """One pcapng Interface Description Block: link type and how to read its timestamps."""

    __slots__ = ("linktype", "snaplen", "mul", "offset", "_shift", "_div")

    def __init__(self, linktype: int, snaplen: int, tsresol: int, tsoffset: int):
        self.linktype = linktype
        self.snaplen = snaplen
        self.offset = tsoffset * 1_000_000_000
        # Units of 10^-n s with n <= 9 (nearly every file) convert by an exact integer factor;
        # finer decimal units and 2^-n units go through ts(), floored as Wireshark does.
        self.mul = 10 ** (9 - tsresol) if tsresol <= 9 else 0
        self._shift = tsresol & 0x7F if tsresol & 0x80 else 0
        self._div = 1 if tsresol & 0x80 else 10 ** tsresol

    def ts(self, units: int) -> int:
        """A timestamp in this interface's units to integer nanoseconds since the epoch."""
        if self.mul:
            return units * self.mul + self.offset
        return ((units * 1_000_000_000) >> self._shift) // self._div + self.offset


class PcapngCapture(Capture):
    format = "pcapng"

    def __init__(self, name: str, inp: Input, compressed: bool, closers: list[BinaryIO]):
        super().__init__(name, inp, compressed, closers)
        self._ifaces: list[_Interface] = []
        self._frame = 0
        self._last_ts = 0
        fill_header(name, inp, 12, "the pcapng section header")
        btype, total, problem = self._header(inp.buf, 0)
        if problem:
            raise CaptureError(f"{name}: {problem}")
        fill_header(name, inp, total, "the pcapng section header")
        self._block(inp.buf, 0, btype, total, 0)
        if self.damage:
            raise CaptureError(f"{name}: {self.damage}")
        inp.pos = total
        # Read the interface descriptions ahead of the first packet, so that a file of only
        # unsupported link types fails here, as a pcap header does. Interfaces declared later
        # (in a new section) just yield records that the decoder counts as non-IP.
        try:
            while inp.fill(12):
                btype, total, problem = self._header(inp.buf, inp.pos)
                if problem or btype in (_EPB, _SPB, _PB, _SJE) or not inp.fill(total):
                    break  # records() reports any damage, after what came before it
                self._block(inp.buf, inp.pos, btype, total, inp.base + inp.pos)
                if self.damage:
                    break
                inp.pos += total
        except READ_ERRORS as exc:
            self._damaged(f"{read_failure(exc)} at byte offset {inp.base + inp.pos}")
        check_linktypes(name, [i.linktype for i in self._ifaces])

    def _set_byte_order(self, buf: bytes, pos: int) -> bool:
        """Take the byte order from the section header's byte-order magic at ``pos``."""
        bom = buf[pos + 8:pos + 12]
        order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
        if not order:
            return False
        self._order = order
        self.big_endian = order == ">"
        self._head = struct.Struct(order + "II")
        self._epb = struct.Struct(order + "IIII")
        self._u32 = struct.Struct(order + "I")
        return True

    def _header(self, buf: bytes, pos: int) -> tuple[int, int, str | None]:
        """(type, total length, problem or None) of the block at ``pos`` (12 bytes there).

        A section header first switches the byte order: its own length is written in it.
        """
        if buf[pos:pos + 4] == b"\x0a\x0d\x0d\x0a" and not self._set_byte_order(buf, pos):
            return SHB, 0, "corrupt section header (bad byte-order magic)"
        btype, total = self._head.unpack_from(buf, pos)
        if total < 12 or total & 3 or total > MAX_BLOCK:
            return btype, total, f"impossible block length {total}"
        return btype, total, None

    def _records(self) -> Iterator[Record]:
        if self.damage:  # found while reading ahead in __init__
            return
        inp = self._in
        read = inp.read
        buf, pos, base = inp.buf, inp.pos, inp.base
        head, epb, u32 = self._head.unpack_from, self._epb.unpack_from, self._u32.unpack_from
        ifaces = self._ifaces
        frame, last = self._frame, self._last_ts
        while True:
            n = len(buf)
            while n - pos >= 12:
                btype, total = head(buf, pos)
                end = pos + total
                if btype == _EPB and total >= 32 and end <= n:
                    iface, hi, lo, caplen = epb(buf, pos + 8)
                    # Anything odd (undefined interface, impossible caplen, bad trailer,
                    # unusual time resolution) goes to the general path below.
                    if (iface < len(ifaces) and caplen <= total - 32 and caplen <= MAX_CAPLEN
                            and u32(buf, end - 4)[0] == total):
                        i = ifaces[iface]
                        if i.mul:
                            frame += 1
                            last = ((hi << 32) | lo) * i.mul + i.offset
                            yield frame, last, i.linktype, buf[pos + 28:pos + 28 + caplen]
                            pos = end
                            continue
                # The general path: every other block, and EPBs the fast path doubted.
                btype, total, problem = self._header(buf, pos)
                if btype == SHB:  # the byte order may have changed
                    head, epb, u32 = (self._head.unpack_from, self._epb.unpack_from,
                                      self._u32.unpack_from)
                if problem:
                    self._damaged(f"corrupt block at byte offset {base + pos} (after record "
                                  f"{frame}): {problem}")
                    return
                end = pos + total
                if end > n:
                    break
                self._frame, self._last_ts = frame, last
                record = self._block(buf, pos, btype, total, base + pos)
                if self.damage:
                    return
                frame, last, ifaces = self._frame, self._last_ts, self._ifaces
                if record is not None:
                    yield record
                pos = end
            if self.progress is not None:
                self.progress(self.name, self.bytes_read(), self.size, frame)
            try:
                chunk = read(CHUNK)
            except READ_ERRORS as exc:
                self._damaged(f"{read_failure(exc)} at byte offset {base + pos} "
                              f"(after record {frame})")
                return
            if not chunk:
                left = n - pos
                if left:
                    btype, total = head(buf, pos) if left >= 8 else (-1, 0)
                    what = f"record {frame + 1}" if btype in (_EPB, _SPB, _PB) else "a block"
                    says = f"block says {total} bytes" if left >= 8 else "its header needs 8 bytes"
                    self._damaged(f"file truncated in {what} at byte offset {base + pos}: "
                                  f"{says}, {left} remain")
                return
            base += pos
            buf = buf[pos:] + chunk
            pos = 0

    def _block(self, buf: bytes, pos: int, btype: int, total: int, at: int) -> Record | None:
        """Handle one whole block (sane length) at ``pos``, stream offset ``at``.

        A packet block becomes a Record; damage sets ``self.damage`` and returns None.
        """
        end = pos + total
        u32 = self._u32.unpack_from
        trailer = u32(buf, end - 4)[0]
        if trailer != total:
            self._damaged(f"corrupt block at byte offset {at} (after record {self._frame}): "
                          f"trailing length {trailer} does not match leading length {total}")
            return None
        order = self._order
        if btype == SHB:
            if total < 28:
                self._damaged(f"corrupt section header at byte offset {at}: {total} bytes")
                return None
            major, minor = struct.unpack_from(order + "HH", buf, pos + 12)
            if major != 1:
                self._damaged(f"unsupported pcapng version {major}.{minor} at byte offset {at}")
                return None
            self._ifaces = []  # interface ids are numbered per section
        elif btype == _IDB:
            if total < 20:
                self._damaged(f"corrupt interface block at byte offset {at}: {total} bytes")
                return None
            linktype, _, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
            tsresol, tsoffset = _idb_options(buf[pos + 16:end - 4], order)
            self._ifaces.append(_Interface(linktype, snaplen, tsresol, tsoffset))
            self.link_types.add(linktype)
        elif btype in (_EPB, _PB):
            return self._packet(buf, pos, btype, total, at)
        elif btype == _SPB:
            if total < 16 or not self._ifaces:
                why = f"{total} bytes" if self._ifaces else "no interface 0 in this section"
                self._damaged(f"corrupt record {self._frame + 1} at byte offset {at}: {why}")
                return None
            iface = self._ifaces[0]
            caplen = min(u32(buf, pos + 8)[0], total - 16)
            if iface.snaplen:
                caplen = min(caplen, iface.snaplen)
            self._frame += 1
            # A simple packet block has no timestamp: reuse the last one seen.
            return self._frame, self._last_ts, iface.linktype, buf[pos + 12:pos + 12 + caplen]
        elif btype == _SJE:
            # Wireshark shows systemd journal entries as frames: count them so that frame
            # numbers keep matching frame.number, but they are not packets.
            self._frame += 1
        return None  # statistics, name resolution, secrets, custom...: skipped by length

    def _packet(self, buf: bytes, pos: int, btype: int, total: int, at: int) -> Record | None:
        """An enhanced (or obsolete) packet block."""
        where = f"record {self._frame + 1} at byte offset {at}"
        if total < 32:
            self._damaged(f"corrupt {where}: block of {total} bytes")
            return None
        if btype == _EPB:
            iface_id, hi, lo, caplen = self._epb.unpack_from(buf, pos + 8)
        else:  # obsolete packet block: 16-bit interface id, then a drops counter
            iface_id, _, hi, lo, caplen = struct.unpack_from(self._order + "HHIII", buf, pos + 8)
        if iface_id >= len(self._ifaces):
            self._damaged(f"corrupt {where}: interface {iface_id} is not defined")
            return None
        if caplen > MAX_CAPLEN:
            self._damaged(f"corrupt {where}: captured length {caplen} exceeds {MAX_CAPLEN}")
            return None
        if caplen > total - 32:
            self._damaged(f"corrupt {where}: captured length {caplen} does not fit the "
                          f"{total}-byte block")
            return None
        iface = self._ifaces[iface_id]
        self._frame += 1
        self._last_ts = iface.ts((hi << 32) | lo)
        return self._frame, self._last_ts, iface.linktype, buf[pos + 28:pos + 28 + caplen]


def _idb_options(opts: bytes, order: str) -> tuple[int, int]:
    """(if_tsresol, if_tsoffset) from an interface block's options; defaults 6 and 0."""
    tsresol, tsoffset = 6, 0
    i = 0
    while i + 4 <= len(opts):
        code, length = struct.unpack_from(order + "HH", opts, i)
        if code == 0:  # opt_endofopt
            break
        if code == 9 and length >= 1 and i + 5 <= len(opts):
            tsresol = opts[i + 4]
        elif code == 14 and length == 8 and i + 12 <= len(opts):
            tsoffset = struct.unpack_from(order + "q", opts, i + 4)[0]
        i += 4 + ((length + 3) & ~3)
    return tsresol, tsoffset
