"""What ``tcpcheck analyze PATH...`` reads: files, folders searched recursively, glob patterns.

Capture files are recognised by their first bytes (pcap, pcapng, the formats editcap converts,
gzip-compressed or not), never by their names: CI artefact folders hold ``traffic``,
``run-3.cap`` and ``report.xml`` side by side. A file named on the command line is always
read, so that a file that is not a capture is reported as such instead of silently skipped.
``-`` is standard input, as for ``tcpdump -r -``.
"""

from __future__ import annotations

import glob
import gzip
import os
import stat
import zlib
from collections.abc import Sequence
from typing import NoReturn

from tcpcheck.capture import CaptureError
from tcpcheck.foreign import MAGIC_BYTES, foreign_format
from tcpcheck.sources import STDIN

_MAGICS = (
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",  # pcap, microseconds
    b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",  # pcap, nanoseconds
    b"\x0a\x0d\x0d\x0a",  # pcapng section header block
)
_GZIP = b"\x1f\x8b"
_GLOB_CHARS = frozenset("*?[")


def is_capture(path: str) -> bool:
    """True when ``path`` is a regular file that starts like a pcap or pcapng file, or a
    format Wireshark's editcap converts (``tcpcheck.foreign``), also inside gzip.

    Only regular files are opened: a FIFO in a folder of artefacts would block the search
    until something writes to it, and a device could be read without end.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(MAGIC_BYTES)
            if head[:2] == _GZIP:
                fh.seek(0)
                with gzip.GzipFile(fileobj=fh) as inner:
                    head = inner.read(MAGIC_BYTES)
    except (OSError, EOFError, zlib.error):
        return False
    return head[:4] in _MAGICS or foreign_format(head) is not None


def expand_inputs(args: Sequence[str]) -> list[str]:
    """The capture files ``args`` name, in order, each once.

    Raises ``CaptureError`` for a folder without captures, a folder (or one below it) that
    cannot be read, or a pattern that matches none; a path that does not exist is passed on,
    for the reader to report. ``-`` stays ``-`` (standard input), even beside a file named so.
    """
    out: dict[str, None] = {}
    for arg in args:
        if arg == STDIN:
            found = [arg]
        elif os.path.isdir(arg):
            found = list(_captures_under(arg))
            if not found:
                raise CaptureError(f"{arg}: no capture files (pcap or pcapng) in this folder")
        elif not os.path.exists(arg) and _GLOB_CHARS & set(arg):
            found = _glob(arg)
        else:
            found = [arg]
        out.update(dict.fromkeys(found))
    return list(out)


def not_captures(args: Sequence[str]) -> list[str]:
    """The files below the folders among ``args`` that are not captures (``expand_inputs``
    leaves them out), sorted by path; hidden folders are not searched."""
    found = []
    for arg in args:
        if arg != STDIN and os.path.isdir(arg):
            found.extend(path for path in _files_under(arg) if not is_capture(path))
    return found


def _glob(pattern: str) -> list[str]:
    matches = sorted(glob.glob(pattern, recursive=True))
    if not matches:
        raise CaptureError(f"{pattern}: no file matches this pattern")
    found: list[str] = []
    for path in matches:
        if os.path.isdir(path):
            found.extend(_captures_under(path))
        elif is_capture(path):
            found.append(path)
    if not found:
        raise CaptureError(f"{pattern}: matches {len(matches)} path(s), none of them a capture "
                           "file (pcap or pcapng)")
    return found


def _captures_under(folder: str) -> list[str]:
    """Capture files below ``folder``, sorted by path; hidden folders (.git, .venv) skipped."""
    return [path for path in _files_under(folder) if is_capture(path)]


def _files_under(folder: str) -> list[str]:
    """Every file below ``folder``, sorted by path; hidden folders (.git, .venv) skipped."""
    found = []
    for root, dirs, files in os.walk(folder, onerror=_unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, name) for name in files)
    # By path components, so that a folder's files stay together: a/b.pcap before a-b.pcap.
    return sorted(found, key=lambda path: path.split(os.sep))


def _unreadable(error: OSError) -> NoReturn:
    """A folder os.walk cannot list: its captures would be silently missing from the run."""
    raise CaptureError(f"{error.filename}: cannot read this folder: "
                       f"{error.strerror or error}")
