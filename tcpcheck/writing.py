"""Writing files without losing a byte: outputs are checked against the inputs before anything
is read, and every file is written beside its target and renamed over it only when complete.

A run that fails (a full disk, an I/O error, Ctrl-C, SIGTERM) leaves every file it would have
written exactly as it was, and no temporary file behind. ``StagedWrites`` gathers one run's
files and renames them into place one after the other at the very end, so that a failure while
any of them is written changes none of them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterator, Sequence
from typing import IO, NamedTuple, TextIO

_STOPS = frozenset({signal.SIGINT, signal.SIGTERM})
"""The signals that stop a run: held back while its files are put in place."""

_TEMP_ATTEMPTS = 100

_OPEN_FILES = ("/dev/stdout", "/dev/stderr")
_OPEN_FILE_FOLDERS = ("/dev/fd/", "/proc/")


class WriteError(Exception):
    """An output that cannot or must not be written; the message is one user-facing line."""


class Target(NamedTuple):
    """An output path and how the user named it, for messages: ``-o report.json``."""

    label: str
    path: str


def check_target(target: Target) -> None:
    """Refuse, before any analysis, an output that cannot be written: a folder, a path whose
    folder does not exist or is not writable. Raises WriteError."""
    path = target.path
    if not path:
        raise WriteError(f"{target.label}: the path is empty")
    if os.path.isdir(path):
        raise WriteError(f"{target.label}: is a folder; give a file path")
    if _written_in_place(path):
        return
    folder = os.path.dirname(os.path.realpath(path))  # where the temporary file will go
    if not os.path.isdir(folder):
        problem = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise WriteError(f"{target.label}: {folder} {problem}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(f"{target.label}: cannot create files in {folder}: permission denied")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        # A rename would replace it all the same; a read-only file says "keep me".
        raise WriteError(f"{target.label}: the file is read-only")


def refuse_overwrites(targets: Sequence[Target], inputs: Sequence[str]) -> None:
    """Refuse outputs that are an input capture, or the same file as another output: the same
    path once normalised, a symlink to it, or a hard link (same device and inode).

    Raises WriteError naming both, before anything is read or written.
    """
    for i, target in enumerate(targets):
        # A device or FIFO is written in place: writing it changes no input file.
        for path in () if _written_in_place(target.path) else inputs:
            if same_file(target.path, path):
                raise WriteError(f"{target.label}: is the input capture {path}; tcpcheck never "
                                 "writes over its input (choose another output path)")
        for other in targets[i + 1:]:
            if same_file(target.path, other.path):
                raise WriteError(f"{target.label} and {other.label} name the same file")


def same_file(a: str, b: str) -> bool:
    """Whether writing ``a`` would change the file at ``b``."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:  # one does not exist (yet): only its path could name the other
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _written_in_place(path: str) -> bool:
    """A device, a FIFO, or a name of an already open file (/dev/stdout, /dev/fd/3): written
    into, never replaced (the file behind /dev/stdout is the one the shell's ``>>`` opened)."""
    name = os.path.abspath(path)
    if name in _OPEN_FILES or name.startswith(_OPEN_FILE_FOLDERS):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


class Replacement:
    """The new content of ``path``, written to a hidden temporary file in the same folder
    (``.NAME.RANDOM.tmp``) until ``commit`` renames it over ``path`` in one step.

    Until then ``path`` is untouched; ``close`` without a commit removes the temporary file.
    A symlink is followed, so the file it points to is replaced and the link kept. A device, a
    FIFO or /dev/stdout cannot be replaced: it is written into.
    """

    def __init__(self, path: str, *, binary: bool = False) -> None:
        self.target = os.path.realpath(path)
        self.temp: str | None = None
        self._committed = False
        if _written_in_place(path):
            # Appending: /dev/stdout opened with O_TRUNC would truncate the file behind it,
            # which `>> file` asked to keep.
            self.file: IO = _open(path, binary, mode="a")
            return
        # Signals wait: one raised between creating the file and noting it here would leave
        # the file behind, or close its descriptor twice.
        with _held_signals():
            self.temp, fd = _create_beside(self.target)
            try:
                self._keep_owner_and_mode(fd)
                self.file = _open(fd, binary)
            except BaseException:
                os.close(fd)
                os.unlink(self.temp)
                raise

    def _keep_owner_and_mode(self, fd: int) -> None:
        """Give the new file the permission bits (and, for root, the owner) of the one it
        replaces, when there is one: ``sudo tcpcheck ... -o report`` keeps the user's file."""
        try:
            old = os.stat(self.target)
        except FileNotFoundError:
            return  # created as open() would: 0o666 less the umask
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, old.st_uid, old.st_gid)
        os.fchmod(fd, stat.S_IMODE(old.st_mode))

    def sync(self) -> None:
        """Flush what was written to the disk (so that a rename never publishes a file whose
        blocks are not there yet)."""
        self.file.flush()
        if self.temp is not None:
            os.fsync(self.file.fileno())

    def commit(self) -> None:
        """Put the file in place: ``path`` is now the new file. Writing may go on (a capture
        being saved): the open file is the one renamed."""
        if self.temp is None or self._committed:
            return
        self.sync()
        os.replace(self.temp, self.target)
        self._committed = True
        _sync_folder(os.path.dirname(self.target))

    def close(self) -> None:
        """Close the file; without a commit, remove it: ``path`` stays as it was."""
        try:
            self.file.close()
        finally:
            self._remove_uncommitted()

    def _remove_uncommitted(self) -> None:
        if self.temp is not None and not self._committed:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)


def _open(file: str | int, binary: bool, mode: str = "w") -> IO:
    if binary:
        return open(file, mode + "b")
    return open(file, mode, encoding="utf-8")


def _create_beside(target: str) -> tuple[str, int]:
    """A new hidden file next to ``target``: its path and an open descriptor.

    Created with mode 0o666 as open() does, so that the umask (and a folder's default ACL)
    apply as they would to a file written directly; mkstemp would make it 0o600.
    """
    folder, name = os.path.split(target)
    for _ in range(_TEMP_ATTEMPTS):
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (a crash right after it keeps the new file)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync a folder
            os.fsync(fd)
    finally:
        os.close(fd)


class StagedWrites:
    """The files one run writes, staged beside their targets and put in place together.

    Use as a context manager: ``open`` each file and write it, then ``commit``. Leaving the
    block without a commit (an error, SIGINT, SIGTERM) removes every temporary file and leaves
    the targets as they were. From ``commit`` to the end of the block SIGINT and SIGTERM are
    held back and then dropped: once the files are in place the run is over, and a late
    Ctrl-C must not turn a finished run into an interrupted one.
    """

    def __init__(self) -> None:
        self._files: list[Replacement] = []
        self._mask: set[signal.Signals] | None = None

    def __enter__(self) -> StagedWrites:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for replacement in self._files:
            with contextlib.suppress(OSError):  # a full disk fails the close's last flush
                replacement.close()
        if self._mask is not None:
            _drop_held_signals(self._mask)

    @contextlib.contextmanager
    def open(self, path: str) -> Iterator[TextIO]:
        """A text file that will replace ``path`` at ``commit``; synced to disk when the block
        ends, so that ``commit`` is only renames."""
        # A Ctrl-C between creating the temporary file and noting it would leave it behind.
        with _held_signals():
            replacement = Replacement(path)
            self._files.append(replacement)
        yield replacement.file
        replacement.sync()

    def commit(self) -> None:
        """Rename every staged file over its target. SIGINT or SIGTERM that arrived before
        this point interrupts here, before any target changed."""
        if threading.current_thread() is threading.main_thread():
            # Python runs the handler of a signal already received when the mask changes:
            # KeyboardInterrupt or Terminated is raised here, with every target intact. The
            # mask to return to is read first, so that __exit__ restores it even then.
            self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        for replacement in self._files:
            replacement.commit()
        for replacement in self._files:
            replacement.close()
        self._files.clear()


@contextlib.contextmanager
def _held_signals() -> Iterator[None]:
    """SIGINT and SIGTERM wait for the end of the block (and then raise as usual)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _drop_held_signals(mask: set[signal.Signals]) -> None:
    """Unblock SIGINT and SIGTERM as they were before ``mask`` was saved, dropping the ones
    that arrived meanwhile."""
    handlers = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOPS
                if signum not in mask}
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
