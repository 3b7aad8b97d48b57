"""Capture file formats tcpcheck does not parse itself, read through Wireshark's ``editcap``.

Microsoft Network Monitor, Sniffer, Sun snoop and the other formats below are recognised by
their first bytes (never by their names) and converted with ``editcap -F pcapng IN OUT`` into a
private temporary folder; the pcapng file is opened, then removed at once, so it is gone however
the analysis ends. editcap writes every record of the input, in order, so frame N of the
conversion is frame N of the original, as Wireshark numbers it. Nothing is ever written next to
the input. Standard input is first copied to the same private folder, as editcap reads files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

from tcpcheck.capture import CHUNK, CaptureError

INSTALL = ("install Wireshark's command-line tools (apt-get install tshark, "
           "brew install wireshark, dnf install wireshark-cli)")
"""How to get editcap, as the error for a format that needs it says."""


class ForeignFormat(NamedTuple):
    """A capture file format libwiretap reads and tcpcheck does not."""

    name: str
    """What users call it, e.g. ``Microsoft Network Monitor 2``."""
    wiretap: str
    """Wireshark's name for it (``editcap -F``), e.g. ``netmon2``."""
    magic: bytes
    """The bytes every file of the format starts with: those libwiretap checks (wiretap/netmon.c,
    ngsniffer.c, netxray.c, snoop.c, observer.c, visual.c, nettl.c, libpcap.c), and what
    editcap 4.0 writes."""


FORMATS = (
    ForeignFormat("Microsoft Network Monitor 1", "netmon1", b"RTSS"),
    ForeignFormat("Microsoft Network Monitor 2", "netmon2", b"GMBU"),
    ForeignFormat("Sniffer (DOS)", "ngsniffer", b"TRSNIFF data    \x1a"),
    ForeignFormat("Sniffer (Windows) / NetXray", "ngwsniffer", b"XCP\0"),
    ForeignFormat("Sun snoop", "snoop", b"snoop\0\0\0"),
    ForeignFormat("Viavi Observer", "observer", b"ObserverPktBufferVersion"),
    ForeignFormat("Visual Networks", "visual", b"\x05VNF"),
    ForeignFormat("HP-UX nettl", "nettl", b"\x54\x52\x00\x64\x00"),
    ForeignFormat("modified (Kuznetzov) pcap", "modpcap", b"\x34\xcd\xb2\xa1"),
    ForeignFormat("modified (Kuznetzov) pcap", "modpcap", b"\xa1\xb2\xcd\x34"),
)
# Left out: formats whose first bytes are too common to tell them (5View's 0xAAAAAAAA,
# LANalyzer's first record type) -- a folder search would take other files for captures --
# and those without a magic at all (ERF, K12 text).
MAGIC_BYTES = max(len(f.magic) for f in FORMATS)
"""How many first bytes tell every format here."""


class ForeignCapture(Exception):  # a capture to convert first, not an error
    """Raised by the readers for a file of a ``ForeignFormat``, with what they read of it."""

    def __init__(self, form: ForeignFormat, head: bytes, read: Callable[[int], bytes]):
        super().__init__(form.name)
        self.format = form
        self.head = head
        """The bytes already read from the stream."""
        self.read = read
        """Reads the rest of the stream (after ``head``)."""


def foreign_format(head: bytes) -> ForeignFormat | None:
    """The format whose magic ``head`` starts with, if any."""
    for form in FORMATS:
        if head.startswith(form.magic):
            return form
    return None


def converted(name: str, foreign: ForeignCapture, path: str | None
              ) -> tuple[BinaryIO, str | None]:
    """The pcapng conversion of the capture ``name`` (the file ``path``, or the rest of the
    stream ``foreign`` was raised from when ``path`` is None), open, its file already removed;
    and editcap's complaint when it converted only the first part of a damaged file.

    Raises ``CaptureError`` (one line) when editcap is not installed or converts nothing.
    """
    form = foreign.format
    editcap = shutil.which("editcap")
    if editcap is None:
        raise CaptureError(f"{name}: a {form.name} capture, which tcpcheck reads through "
                           f"Wireshark's editcap, not installed here: {INSTALL}")
    folder = tempfile.mkdtemp(prefix="tcpcheck-")  # mode 0700: private to this user
    try:
        source = path if path is not None else _spooled(foreign, folder)
        out = os.path.join(folder, "converted.pcapng")
        proc = subprocess.run([editcap, "-F", "pcapng", source, out], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, check=False)
        complaint = _complaint(proc)
        if complaint is not None:  # editcap names its input: the user's, never the copy
            complaint = complaint.replace(source, name)
        if proc.returncode != 0 and (not os.path.exists(out) or not os.path.getsize(out)):
            raise CaptureError(f"{name}: a {form.name} capture editcap could not convert "
                               f"({complaint})")
        # Opened before the folder goes (below): the open file outlives its name.
        return open(out, "rb"), complaint
    except OSError as exc:
        raise CaptureError(f"{name}: cannot convert this {form.name} capture with editcap "
                           f"({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _spooled(foreign: ForeignCapture, folder: str) -> str:
    """Copy the stream to a file in ``folder`` for editcap."""
    path = os.path.join(folder, "input")
    with open(path, "wb") as out:
        out.write(foreign.head)
        while chunk := foreign.read(CHUNK):
            out.write(chunk)
    return path


def _complaint(proc: subprocess.CompletedProcess[str]) -> str | None:
    """What editcap said went wrong (its last line, which names itself), if anything."""
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    if lines:
        return lines[-1] if lines[-1].startswith("editcap") else f"editcap: {lines[-1]}"
    return f"editcap: exit status {proc.returncode}" if proc.returncode else None
