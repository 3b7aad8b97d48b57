"""Plain output that survives a pipe: the terminal report written to a pipe, a file or a CI log.

rich lays text out for an 80-column terminal when the output is not one: an address or a path
is cut mid-token (``192.0.2.`` / ``2:9000``) and ``grep 192.0.2.1:38846`` finds nothing, and
table cells are padded with spaces to the end of the line. A ``PlainConsole`` is as wide as
its content instead: nothing wraps, tables take the width of their content (the terminal
report also lays each connection out as one record per line there, as ``tshark -z conv``
does), and trailing spaces are cut from every line before it is written.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console

PLAIN_WIDTH = 100_000
"""The width a plain console lays out for: wider than any line of a report, so that nothing
wraps, while tables still take only the width of their content."""


class _TrimmedLines:
    """A text file that writes each line without its trailing spaces."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        if lines:
            self._file.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self._file, "encoding", None) or "utf-8"


class PlainConsole(Console):
    """A rich console for output that is not a terminal; see the module's docstring.

    A closed pipe (``| head``) raises BrokenPipeError, which the command line turns into its
    quiet exit status; rich's own handler would exit with 1, which means findings.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def plain_console(file: TextIO, *, color: bool = False) -> PlainConsole:
    """A console writing plain lines to ``file``; ``color`` keeps ANSI colours (``--color
    always`` into ``less -R``)."""
    return PlainConsole(file=_TrimmedLines(file), width=PLAIN_WIDTH, soft_wrap=True,
                        force_terminal=color, no_color=not color)


def is_plain(console: Console) -> bool:
    """Is ``console`` laid out for a pipe or a file rather than for a terminal's width?"""
    return isinstance(console, PlainConsole)
